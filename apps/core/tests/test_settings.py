import os
import subprocess
import sys

import pytest
from django.conf import settings

# A valid Fernet key, so that production start-up gets as far as the variable under test.
FERNET_KEY = "x5Qh0m6k1r7Jm4cY3n6s0fJ9fQ2w8tT1bq1m2mC8y1Y="


def _start(env_overrides: dict) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "MIGRAYT_", "DATABASE_", "CELERY_"))}
    env.update({"DJANGO_SETTINGS_MODULE": "migrayt.settings", "MIGRAYT_VAR_DIR": str(settings.VAR_DIR)})
    env.update(env_overrides)
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); print('started')"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"DATABASE_URL": "mysql://x/y"}, "DATABASE_URL"),
        ({"CELERY_BROKER_URL": "amqp://guest@localhost//"}, "CELERY_BROKER_URL"),
        ({"DJANGO_DEBUG": "maybe"}, "DJANGO_DEBUG"),
        ({"MIGRAYT_ENV": "staging"}, "MIGRAYT_ENV"),
        ({"CELERY_TASK_TIME_LIMIT": "ten"}, "CELERY_TASK_TIME_LIMIT"),
        ({"MIGRAYT_ENV": "production"}, "DJANGO_SECRET_KEY"),
        (
            {"MIGRAYT_ENV": "production", "DJANGO_SECRET_KEY": "x" * 60, "MIGRAYT_ENCRYPTION_KEYS": FERNET_KEY},
            "DJANGO_ALLOWED_HOSTS",
        ),
    ],
)
def test_bad_configuration_stops_start_up_naming_the_variable(overrides, named):
    result = _start(overrides)
    assert result.returncode != 0
    assert named in result.stderr
    assert "started" not in result.stdout


def test_embedded_defaults_need_no_server():
    result = _start({})
    assert result.returncode == 0, result.stderr
    assert "started" in result.stdout
