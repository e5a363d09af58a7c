"""The container's processes without Docker: the entry point, gunicorn with the production config, the
health check, with production settings, as ECS runs them."""

import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.conf import settings

from apps.core.testing.aws import free_port
from apps.core.testing.worker import database_url_for_tests

DOCKER = Path(settings.BASE_DIR) / "deploy" / "docker"
TASK_ADDRESS = "10.40.4.5"


class _TaskMetadata(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's name
        body = json.dumps({"Networks": [{"NetworkMode": "awsvpc", "IPv4Addresses": [TASK_ADDRESS]}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # report the redirect itself; never follow it off this machine


def _get(port: int, path: str, host: str) -> int:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"Host": host})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())
    try:
        with opener.open(request, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


@pytest.fixture
def production_web(transactional_db, tmp_path):
    metadata = ThreadingHTTPServer(("127.0.0.1", free_port()), _TaskMetadata)
    threading.Thread(target=metadata.serve_forever, daemon=True).start()
    port = free_port(range(metadata.server_port + 1, 8400))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "MIGRAYT_", "DATABASE_"))}
    env |= {
        "DJANGO_SETTINGS_MODULE": "migrayt.settings",
        "MIGRAYT_ENV": "production",
        "MIGRAYT_VAR_DIR": str(settings.VAR_DIR),
        "DJANGO_SECRET_KEY": Fernet.generate_key().decode() * 2,
        "MIGRAYT_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "DJANGO_ALLOWED_HOSTS": "migrayt.example.com",
        "MIGRAYT_SITE_URL": "https://migrayt.example.com",
        "DATABASE_URL": database_url_for_tests(),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "ECS_CONTAINER_METADATA_URI_V4": f"http://127.0.0.1:{metadata.server_port}/v4/container",
        "PORT": str(port),
        "WEB_CONCURRENCY": "1",
    }
    log_path = tmp_path / "gunicorn.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, str(DOCKER / "entrypoint.py"), sys.executable, "-m", "gunicorn",
             "--config", str(DOCKER / "gunicorn.conf.py"), "migrayt.wsgi:application"],
            cwd=settings.BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while _probe(port) is None:
            assert process.poll() is None, log_path.read_text()[-3000:]
            assert time.monotonic() < deadline, "gunicorn did not start within 60 s"
            time.sleep(0.2)
        yield port, env, log_path
    finally:
        process.terminate()
        process.wait(timeout=30)
        metadata.shutdown()


def _probe(port):
    try:
        return _get(port, "/healthz", "migrayt.example.com")
    except OSError:
        return None


def test_the_web_container_answers_its_health_checks_and_refuses_other_hosts(production_web):
    port, env, log_path = production_web
    # The container's own health check (the Dockerfile's HEALTHCHECK and the ECS task definition's).
    check = subprocess.run([sys.executable, str(DOCKER / "healthcheck.py")], env=env, capture_output=True, timeout=30)
    assert check.returncode == 0, check.stderr
    # The load balancer's health check comes with the task's private address as Host.
    assert _get(port, "/healthz", TASK_ADDRESS) == 200
    # Any other host name is refused by Django (and, before that, by the load balancer's host rule).
    assert _get(port, "/healthz", "attacker.example") == 400
    # Production redirects plain HTTP to HTTPS, except for the health check.
    assert _get(port, "/accounts/login/", "migrayt.example.com") == 301

    lines = [line for line in log_path.read_text().splitlines() if line.startswith("{")]
    access = [json.loads(line) for line in lines if '"gunicorn.access"' in line]
    assert access and all(entry["level"] == "INFO" for entry in access)
    assert any("/healthz" in entry["message"] for entry in access)


def test_the_health_check_fails_when_nothing_answers(tmp_path):
    env = dict(os.environ) | {"PORT": str(free_port()), "DJANGO_ALLOWED_HOSTS": "migrayt.example.com"}
    check = subprocess.run([sys.executable, str(DOCKER / "healthcheck.py")], env=env, capture_output=True, timeout=30)
    assert check.returncode == 1
