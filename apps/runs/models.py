"""Runs: a preview or a live migration of one project under one frozen mapping version.

Nothing here holds ticket content. A run keeps ids (source ids, destination ids and keys), counts, hashes of
what was written, and reasons for errors in plain words; titles, descriptions and comments are read from
the source when needed and never stored.
"""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from apps.core.tenancy import OrganisationOwned

PHASES = ("plan", "structure", "items", "states", "links", "attachments", "comments", "history", "remote_links",
          "sprints", "verify")
PHASE_LABELS = {
    "plan": "Plan", "structure": "Components and sprints", "items": "Items", "states": "States",
    "links": "Links", "attachments": "Attachments and inline images", "comments": "Comments",
    "history": "History", "remote_links": "Links back to the source", "sprints": "Sprints filled, started, closed",
    "verify": "Verification",
}


def empty_progress() -> dict:
    return {phase: {"done": 0, "total": 0, "failed": 0, "skipped": 0} for phase in PHASES}


class Run(OrganisationOwned):
    class Kind(models.TextChoices):
        PREVIEW = "preview", "Preview"
        LIVE = "live", "Live run"

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        PAUSED = "paused", "Paused"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"
        FINISHED = "finished", "Finished"
        ROLLING_BACK = "rolling_back", "Rolling back"
        ROLLED_BACK = "rolled_back", "Rolled back"

    ACTIVE_STATES = (State.QUEUED, State.RUNNING, State.ROLLING_BACK)

    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)  # travels in entity properties
    kind = models.CharField(max_length=10, choices=Kind.choices)
    state = models.CharField(max_length=20, choices=State.choices, default=State.QUEUED, db_index=True)
    phase = models.CharField(max_length=20, default="plan")
    mapping_version_id = models.PositiveIntegerField(null=True, blank=True)
    plan = models.JSONField()  # the frozen MappingPlan (schema-level names and ids, no ticket content)
    source_connection = models.ForeignKey("connections.Connection", null=True, on_delete=models.SET_NULL,
                                          related_name="+")
    destination_connection = models.ForeignKey("connections.Connection", null=True, on_delete=models.SET_NULL,
                                               related_name="+")
    source_project = models.CharField(max_length=255)
    destination_project = models.CharField(max_length=255)
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    progress = models.JSONField(default=empty_progress)
    # Where each phase got to: the source read state, the last ordinal done ... (ids only)
    cursor = models.JSONField(default=dict, blank=True)
    warnings = models.JSONField(default=dict, blank=True)  # code -> {"message", "count", "examples": [source ids]}
    stats = models.JSONField(default=dict, blank=True)  # requests by endpoint, throttled seconds
    estimate = models.JSONField(default=dict, blank=True)  # duration and price
    # The chain of tasks: `step` is the number the next task must carry; a redelivered older one is dropped.
    step = models.PositiveIntegerField(default=0)
    lease_owner = models.CharField(max_length=120, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    pause_requested = models.BooleanField(default=False)
    cancel_requested = models.BooleanField(default=False)
    error_code = models.CharField(max_length=60, blank=True)
    error_message = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)  # previews expire; their detail is recomputed

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.get_kind_display()} #{self.pk} ({self.state})"

    @property
    def is_preview(self) -> bool:
        return self.kind == self.Kind.PREVIEW

    @property
    def is_active(self) -> bool:
        return self.state in self.ACTIVE_STATES

    @property
    def is_expired(self) -> bool:
        return bool(self.expires_at and self.expires_at <= timezone.now())


class RunItem(OrganisationOwned):
    """One source item of a run's plan: ids and its place in the order (parents before children)."""

    class State(models.TextChoices):
        PENDING = "pending"
        SENDING = "sending"  # a create request may be on its way: reconcile before writing again
        CREATED = "created"
        FAILED = "failed"
        SKIPPED = "skipped"

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="items")
    source_id = models.CharField(max_length=120)
    parent_source_id = models.CharField(max_length=120, blank=True)
    type_id = models.CharField(max_length=255, blank=True)
    iteration_id = models.CharField(max_length=255, blank=True)
    target_status = models.CharField(max_length=255, blank=True)  # the destination status name (schema)
    depth = models.PositiveIntegerField(default=0)
    ordinal = models.PositiveIntegerField(default=0)  # set once depths are known: the creation order
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    sending_since = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    error_phase = models.CharField(max_length=20, blank=True)
    error_code = models.CharField(max_length=60, blank=True)
    error_message = models.TextField(blank=True)  # reasons in plain words; never ticket content

    class Meta:
        constraints = [models.UniqueConstraint(fields=["run", "source_id"], name="runitem_unique_source")]
        indexes = [models.Index(fields=["run", "state", "ordinal"]), models.Index(fields=["run", "ordinal"])]


class RunLink(OrganisationOwned):
    """A link between two source items, once per pair and type (ADO keeps both ends; we write one)."""

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="links")
    link_type = models.CharField(max_length=255)
    from_source_id = models.CharField(max_length=120)
    to_source_id = models.CharField(max_length=120)
    ordinal = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["run", "link_type", "from_source_id", "to_source_id"],
                                               name="runlink_unique")]

    @property
    def key(self) -> str:
        return f"{self.link_type}|{self.from_source_id}|{self.to_source_id}"


class IdMapEntry(OrganisationOwned):
    """What this run wrote, keyed on the source: written in the same transaction as the checkpoint."""

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="id_map")
    phase = models.CharField(max_length=20)
    source_id = models.CharField(max_length=400)  # an item id, a link key, an iteration or area id
    destination_id = models.CharField(max_length=120, blank=True)
    destination_key = models.CharField(max_length=120, blank=True)
    payload_sha256 = models.CharField(max_length=64, blank=True)  # of what was written, not the content
    adopted = models.BooleanField(default=False)  # found by reconciliation after a crash, not recorded live
    rolled_back = models.BooleanField(default=False)
    written_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["run", "phase", "source_id"], name="idmap_unique")]
        indexes = [models.Index(fields=["run", "phase", "written_at"])]


class RunSample(OrganisationOwned):
    """Throughput over time: one row per checkpoint."""

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="samples")
    at = models.DateTimeField(default=timezone.now)
    phase = models.CharField(max_length=20)
    done = models.PositiveIntegerField(default=0)  # units done in the whole run so far
    requests = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["at", "id"]


class RunError(OrganisationOwned):
    """Why something was not written, in plain words (never ticket content)."""

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="errors")
    at = models.DateTimeField(default=timezone.now)
    phase = models.CharField(max_length=20)
    source_id = models.CharField(max_length=400, blank=True)
    code = models.CharField(max_length=60, blank=True)
    message = models.TextField()
    resolved = models.BooleanField(default=False)  # retried since

    class Meta:
        ordering = ["-at", "-id"]


class VerificationDifference(OrganisationOwned):
    """One difference the verification found between what a run should have written and what the destination
    holds when read back. Structure only: ids, the check's name, counts, lengths, hashes, status and type
    names; never a summary, a description or a comment (Zero Data Retention)."""

    class Kind(models.TextChoices):
        MISSING = "missing", "Missing"
        EXTRA = "extra", "Extra"
        DIFFERS = "differs", "Differs"

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="differences")
    source_id = models.CharField(max_length=120)
    destination_key = models.CharField(max_length=120, blank=True)
    check_name = models.CharField(max_length=40)  # exists, type, status, parent, links, summary, comment_count ...
    kind = models.CharField(max_length=10, choices=Kind.choices)
    # The preview said so (an unmapped value, cut text, an attachment over the limit): listed after the others.
    announced = models.BooleanField(default=False)
    explanation = models.CharField(max_length=500)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["announced", "source_id", "check_name", "id"]
        constraints = [models.UniqueConstraint(fields=["run", "source_id", "check_name"],
                                               name="verification_difference_unique")]
        indexes = [models.Index(fields=["run", "announced", "check_name"])]
