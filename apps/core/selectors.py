from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone

from apps.core.models import AuditEvent, WorkerHeartbeat


@dataclass
class HealthReport:
    database: bool
    broker: bool
    worker: bool
    worker_last_seen_at: object
    broker_error: str = ""
    database_error: str = ""

    @property
    def ok(self) -> bool:
        return self.database and self.broker

    def as_dict(self) -> dict:
        return {
            "status": "ok" if self.ok else "error",
            "database": {"ok": self.database, "error": self.database_error},
            "broker": {"ok": self.broker, "error": self.broker_error},
            "worker": {
                "ok": self.worker,
                "last_seen_at": self.worker_last_seen_at.isoformat() if self.worker_last_seen_at else None,
            },
        }


def health_check() -> HealthReport:
    database_ok, database_error = True, ""
    last_seen = None
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        latest = WorkerHeartbeat.objects.order_by("-last_seen_at").first()
        last_seen = latest.last_seen_at if latest else None
    except Exception as exc:  # noqa: BLE001 - health reports failures, it does not raise them
        database_ok, database_error = False, exc.__class__.__name__

    broker_ok, broker_error = True, ""
    try:
        from migrayt.celery import app

        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:  # noqa: BLE001
        broker_ok, broker_error = False, exc.__class__.__name__

    stale_after = timedelta(seconds=settings.WORKER_STALE_SECONDS)
    worker_ok = last_seen is not None and timezone.now() - last_seen < stale_after
    return HealthReport(
        database=database_ok,
        broker=broker_ok,
        worker=worker_ok,
        worker_last_seen_at=last_seen,
        broker_error=broker_error,
        database_error=database_error,
    )


def audit_events_for_organisation(*, organisation, limit: int = 200):
    return AuditEvent.objects.for_organisation(organisation).select_related("actor")[:limit]
