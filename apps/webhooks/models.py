"""Outgoing webhooks: an organisation's endpoints for run events, and every delivery made to them (the
delivery log). A delivery carries ids and counts, never ticket content."""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from apps.connections.secret_store import SecretReferenceField
from apps.core.tenancy import OrganisationOwned

EVENTS = {
    "run.started": "a run started",
    "run.paused": "a run was paused",
    "run.failed": "a run failed",
    "run.finished": "a run finished",
    "run.report_ready": "a run's verification report is ready",
}


class WebhookEndpoint(OrganisationOwned):
    url = models.CharField(max_length=500)
    description = models.CharField(max_length=200, blank=True)
    events = models.JSONField(default=list)  # a subset of EVENTS
    secret_ref = SecretReferenceField()  # the signing secret, in the secret store
    enabled = models.BooleanField(default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return self.url


class WebhookDelivery(OrganisationOwned):
    class State(models.TextChoices):
        PENDING = "pending", "pending"
        SENDING = "sending", "sending"
        RETRYING = "retrying", "waiting to retry"
        DELIVERED = "delivered", "delivered"
        FAILED = "failed", "failed"
        BLOCKED = "blocked", "blocked (address not allowed)"

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=40)
    # Same for every endpoint an event went to and every retry: receivers de-duplicate on it.
    event_id = models.UUIDField(default=uuid.uuid4)
    payload = models.JSONField(default=dict)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING, db_index=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)  # plain words; never the secret or the receiver's body
    last_duration_ms = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [models.UniqueConstraint(fields=["endpoint", "event_id"], name="webhook_delivery_once")]

    def __str__(self):
        return f"{self.event} -> {self.endpoint_id} ({self.state})"
