from django.utils import timezone

from apps.core.models import AuditEvent, WorkerHeartbeat, WorkerProbe


def worker_heartbeat_record(*, hostname: str) -> None:
    WorkerHeartbeat.objects.update_or_create(hostname=hostname, defaults={"last_seen_at": timezone.now()})


def worker_probe_answer(*, probe_id: int, hostname: str) -> None:
    # Idempotent: a redelivered probe keeps the first answer.
    WorkerProbe.objects.filter(pk=probe_id, answered_at__isnull=True).update(
        answered_at=timezone.now(), answered_by=hostname
    )


def actor_kind_of(actor, actor_kind: str | None = None) -> str:
    """Who acted, for the audit trail: the kind given, else a signed-in user, else the system."""
    return actor_kind or ("user" if getattr(actor, "is_authenticated", False) else "system")


def audit_record(
    *,
    organisation,
    action: str,
    actor=None,
    actor_kind: str = "user",
    target=None,
    target_type: str = "",
    target_id: str = "",
    data: dict | None = None,
) -> AuditEvent:
    """Write one audit row. Pass identifiers, counts and hashes in `data`, never ticket content or secrets."""
    if target is not None:
        target_type = target_type or target._meta.label_lower
        target_id = target_id or str(target.pk)
    return AuditEvent.objects.create(
        organisation=organisation,
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        actor_kind=actor_kind,
        action=action,
        target_type=target_type,
        target_id=str(target_id),
        data=data or {},
    )
