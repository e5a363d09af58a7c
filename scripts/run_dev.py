"""`make run`: a Celery worker and the web server together. Stopping either (or Ctrl-C, or SIGTERM)
stops both, so no worker is left behind."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
os.chdir(ROOT)
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "migrayt.settings")

import django  # noqa: E402

django.setup()
from django.conf import settings  # noqa: E402

port = os.environ.get("PORT", "8000")
log_dir = Path(settings.VAR_DIR) / "log"
log_dir.mkdir(parents=True, exist_ok=True)
python = sys.executable

worker_log = open(log_dir / "worker.log", "ab")  # noqa: SIM115 - kept open for the worker's lifetime
worker = subprocess.Popen(
    [python, "-m", "celery", "-A", "migrayt", "worker", "--loglevel=INFO", "--concurrency=2", "--hostname=worker@%h"],
    stdout=worker_log,
    stderr=subprocess.STDOUT,
)
web = subprocess.Popen([python, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"])

print(
    f"""
  Migrayt is running at  http://127.0.0.1:{port}/
  Log in as              {settings.DEMO_USER_EMAIL} / {settings.DEMO_USER_PASSWORD}
  API docs               http://127.0.0.1:{port}/api/docs/"""
    + (f"\n  Sandbox                http://127.0.0.1:{port}/sandbox/" if settings.SANDBOX_ENABLED else "")
    + f"\n  Celery worker log      {log_dir / 'worker.log'}   (Ctrl-C stops both)\n",
    flush=True,
)


def stop(*_):
    for process in (web, worker):
        if process.poll() is None:
            process.terminate()
    for process in (web, worker):
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
    sys.exit(0)


signal.signal(signal.SIGTERM, stop)
signal.signal(signal.SIGINT, stop)
while web.poll() is None and worker.poll() is None:
    time.sleep(0.5)
if worker.poll() is not None:
    print(f"The Celery worker stopped (exit {worker.returncode}); see {log_dir / 'worker.log'}.", flush=True)
stop()
