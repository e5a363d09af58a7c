import os

from celery import Celery, bootsteps

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "migrayt.settings")

app = Celery("migrayt")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


class HeartbeatStep(bootsteps.StartStopStep):
    """Records, every few seconds, that this worker is alive, so /healthz can say whether one answered."""

    requires = {"celery.worker.components:Timer"}

    def __init__(self, worker, **kwargs):
        self.tref = None

    def start(self, worker):
        from django.conf import settings

        from apps.core.services import worker_heartbeat_record

        hostname = worker.hostname

        def beat():
            try:
                worker_heartbeat_record(hostname=hostname)
            except Exception:  # noqa: BLE001 - a failed heartbeat must never stop the worker
                import logging

                logging.getLogger(__name__).exception("worker heartbeat failed")

        beat()
        self.tref = worker.timer.call_repeatedly(settings.WORKER_HEARTBEAT_SECONDS, beat)

    def stop(self, worker):
        if self.tref is not None:
            self.tref.cancel()


app.steps["worker"].add(HeartbeatStep)
