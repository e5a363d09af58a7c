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


class PeriodicTasksStep(bootsteps.StartStopStep):
    """Sends the housekeeping tasks of `periodic_tasks()` every so often from each worker, so no separate
    beat process is needed (the tasks are idempotent: two workers sending the same one is harmless)."""

    requires = {"celery.worker.components:Timer"}

    def __init__(self, worker, **kwargs):
        self.trefs = []

    def start(self, worker):
        for name, seconds in periodic_tasks().items():
            self.trefs.append(worker.timer.call_repeatedly(seconds, periodic_send, (name,)))

    def stop(self, worker):
        for tref in self.trefs:
            tref.cancel()
        self.trefs = []


def periodic_tasks() -> dict[str, int]:
    """{task name: every so many seconds}."""
    from django.conf import settings

    return {"runs.purge_expired_previews": settings.RUNS_PURGE_EVERY_SECONDS}


def periodic_send(name: str) -> None:
    try:
        app.send_task(name)
    except Exception:  # noqa: BLE001 - a broker hiccup must never stop the worker; the next tick sends again
        import logging

        logging.getLogger(__name__).exception("could not send the periodic task %s", name)


app.steps["worker"].add(HeartbeatStep)
app.steps["worker"].add(PeriodicTasksStep)
