from django.conf import settings
from django.db import models
from django.utils import timezone

from apps.core.tenancy import OrganisationOwned


class WorkerHeartbeat(models.Model):
    """The last time each Celery worker said it was alive (written by a worker bootstep)."""

    hostname = models.CharField(max_length=255, unique=True)
    last_seen_at = models.DateTimeField()

    def __str__(self):
        return f"{self.hostname} @ {self.last_seen_at:%Y-%m-%d %H:%M:%S}"


class WorkerProbe(models.Model):
    """A round trip through the broker: made by the web side, answered by a worker."""

    created_at = models.DateTimeField(default=timezone.now)
    answered_at = models.DateTimeField(null=True, blank=True)
    answered_by = models.CharField(max_length=255, blank=True)

    def __str__(self):
        return f"probe {self.pk} answered by {self.answered_by or 'nobody yet'}"


class AuditEvent(OrganisationOwned):
    """Append-only record of who did what, when. It names objects by type and id and never holds ticket
    content or secrets: `data` is for identifiers, counts and hashes only."""

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # "user", "api_token", "system", "staff" or "model:<name>" for an AI model that drafted something.
    actor_kind = models.CharField(max_length=40, default="user")
    action = models.CharField(max_length=80, db_index=True)
    target_type = models.CharField(max_length=80, blank=True)
    target_id = models.CharField(max_length=80, blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.action} {self.target_type}:{self.target_id}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise RuntimeError("Audit events are append-only.")
        super().save(*args, **kwargs)
