"""Start a real Celery worker process against the database the tests are using."""

import os
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.db import connection

BASE_DIR = Path(settings.BASE_DIR)


def database_url_for_tests() -> str:
    s = connection.settings_dict
    if s["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{s['NAME']}"
    host = s.get("HOST") or "127.0.0.1"
    port = s.get("PORT") or 5432
    auth = s.get("USER") or ""
    if s.get("PASSWORD"):
        auth += f":{s['PASSWORD']}"
    return f"postgres://{auth + '@' if auth else ''}{host}:{port}/{s['NAME']}"


@contextmanager
def celery_worker_process(*, concurrency: int = 1, extra_env: dict | None = None, log_path: Path | None = None):
    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": database_url_for_tests(),
            "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
            "MIGRAYT_VAR_DIR": str(settings.VAR_DIR),
            "MIGRAYT_WORKER_HEARTBEAT_SECONDS": "1",
            "DJANGO_SETTINGS_MODULE": "migrayt.settings",
        }
    )
    env.update(extra_env or {})
    log_path = log_path or Path(settings.VAR_DIR) / "log" / "test-worker.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            [
                sys.executable, "-m", "celery", "-A", "migrayt", "worker",
                "--loglevel=INFO", f"--concurrency={concurrency}", "--pool=prefork",
                "--without-gossip", "--without-mingle", "--hostname=test-worker@%h",
            ],
            cwd=BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def wait_for(predicate, *, timeout: float = 60.0, interval: float = 0.2, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(interval)
    raise AssertionError(f"Timed out after {timeout:.0f}s waiting for {what}.")
