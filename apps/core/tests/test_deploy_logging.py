"""Production logs: one JSON object per line, secrets never written."""

import json
import logging
import subprocess
import sys

from cryptography.fernet import Fernet
from django.conf import settings

from apps.core.logging import JsonFormatter


def _format(logger_name="migrayt.test", msg="hello %s", args=("world",), extra=None, exc_info=None) -> dict:
    record = logging.getLogger(logger_name).makeRecord(
        logger_name, logging.WARNING, __file__, 1, msg, args, exc_info, extra=extra
    )
    return json.loads(JsonFormatter().format(record))


def test_a_record_is_one_json_object_with_its_extra_fields():
    entry = _format(extra={"run_id": 42, "organisation_id": 7})
    assert entry["message"] == "hello world"
    assert entry["level"] == "WARNING"
    assert entry["logger"] == "migrayt.test"
    assert entry["run_id"] == 42 and entry["organisation_id"] == 7
    assert entry["time"].endswith("+00:00")


def test_secrets_are_redacted_from_fields_messages_and_tracebacks():
    try:
        raise ValueError("rejected Authorization: Bearer abc.def-123")
    except ValueError:
        entry = _format(
            msg="token %s used",
            args=("mgy_supersecretvalue",),
            extra={"api_token": "mgy_x", "connection": {"url": "https://x.atlassian.net", "password": "hunter2"}},
            exc_info=sys.exc_info(),
        )
    text = json.dumps(entry)
    assert "hunter2" not in text and "supersecret" not in text and "abc.def-123" not in text
    assert entry["api_token"] == "[redacted]"
    assert entry["connection"] == {"url": "https://x.atlassian.net", "password": "[redacted]"}
    assert entry["message"] == "token [redacted] used"
    assert "ValueError" in entry["exception"]


def test_production_settings_log_json_lines():
    code = "import django, logging; django.setup(); logging.getLogger('migrayt.probe').warning('ready', extra={'run_id': 5})"
    env = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "migrayt.settings",
        "MIGRAYT_VAR_DIR": str(settings.VAR_DIR),
        "MIGRAYT_ENV": "production",
        "DJANGO_SECRET_KEY": "s" * 60,
        "DJANGO_ALLOWED_HOSTS": "migrayt.example.com",
        "MIGRAYT_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
    }
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    line = json.loads(result.stderr.strip().splitlines()[-1])
    assert line["message"] == "ready" and line["run_id"] == 5 and line["logger"] == "migrayt.probe"
