"""Scans of one project (its schema and its volumes), and the price quoted from them.

A scan keeps NO ticket content: titles, descriptions and comments are read, counted and dropped. What it
stores is the schema (`schema`, a serialised `connectors.base.Catalog`: names of types, fields, states,
people, iterations, areas and link types, which mappings need) and numbers (`volumes`).
"""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from apps.core.tenancy import OrganisationOwned


def empty_volumes() -> dict:
    """The shape of `Scan.volumes` (see services.VolumeCounter, which fills it)."""
    return {
        "items": 0,
        "items_by_type": {},
        "items_by_state_category": {},
        "comments": 0,
        "links": 0,
        "links_by_type": {},
        "revisions": 0,
        "attachments": 0,
        "attachment_bytes": 0,
        "inline_images": 0,
        "oldest_item_at": None,
        "newest_item_at": None,
    }


class Scan(OrganisationOwned):
    """One scan of one project of one connection, as a source or as a destination.

    Run by a chain of short Celery tasks (tasks.scan_step). `checkpoint` says where the reading got to:
    {"stream": <current stream>, "state": <the connector's StateCheckpoint.state>, "done": [streams
    finished]}; it is saved in the same transaction as the volumes counted up to it, so a scan killed at
    any moment resumes from its last checkpoint and counts nothing twice."""

    class Role(models.TextChoices):
        SOURCE = "source", "Source"
        DESTINATION = "destination", "Destination"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    connection = models.ForeignKey("connections.Connection", null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="scans")
    # Kept when the connection is deleted, so a finished catalog still says where it came from.
    connection_name = models.CharField(max_length=120, blank=True)
    connection_kind = models.CharField(max_length=20, blank=True)
    project_id = models.CharField("project id", max_length=200, blank=True)
    project_key = models.CharField("project", max_length=200)
    project_name = models.CharField(max_length=255, blank=True)
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.SOURCE)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED, db_index=True)

    # Progress: which stream is being read, how many items are done out of how many the source announced.
    phase = models.CharField(max_length=40, blank=True)
    items_done = models.PositiveIntegerField(default=0)
    items_expected = models.PositiveIntegerField(null=True, blank=True)
    requests_made = models.PositiveIntegerField(default=0)
    steps = models.PositiveIntegerField(default=0)  # task runs so far (each re-enqueues the next)

    schema = models.JSONField(null=True, blank=True)  # connectors.serialise.catalog_to_dict(...)
    volumes = models.JSONField(default=empty_volumes)
    checkpoint = models.JSONField(default=dict, blank=True)

    # Which task run holds the scan, and until when: a step only counts while it holds the lease, so two
    # deliveries of the same step never count a page twice; a dead worker's lease runs out (stale).
    lease_token = models.CharField(max_length=40, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)

    error_code = models.CharField(max_length=60, blank=True)
    error_message = models.TextField(blank=True)

    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)  # the last checkpoint: a stalled scan shows here

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["organisation", "connection", "project_key"])]

    def __str__(self):
        return f"Scan {self.pk} of {self.project_key} ({self.get_role_display()}, {self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED, self.Status.CANCELLED)

    @property
    def progress_percent(self) -> int | None:
        if self.status == self.Status.DONE:
            return 100
        if not self.items_expected:
            return None
        return min(99, int(100 * self.items_done / self.items_expected))


class PricingTable(models.Model):
    """What a migration costs, edited by staff in the admin. Exactly one row is active at a time; quotes
    copy the prices they used, so changing the table never changes a quote already given."""

    name = models.CharField(max_length=120)
    currency = models.CharField(max_length=3, default="EUR", help_text="ISO 4217 code, e.g. EUR, USD, GBP.")
    per_work_item = models.DecimalField(max_digits=10, decimal_places=4, default=Decimal("0.05"),
                                        validators=[MinValueValidator(Decimal("0"))])
    per_gb_attachments = models.DecimalField("per GB of attachments", max_digits=10, decimal_places=2,
                                             default=Decimal("2.00"), validators=[MinValueValidator(Decimal("0"))])
    minimum = models.DecimalField(max_digits=10, decimal_places=2, default=Decimal("49.00"),
                                  validators=[MinValueValidator(Decimal("0"))])
    active = models.BooleanField(default=False)
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-active", "-updated_at"]
        constraints = [
            models.UniqueConstraint(fields=["active"], condition=Q(active=True), name="pricing_one_active_table"),
        ]

    def __str__(self):
        return f"{self.name} ({self.currency}){' — active' if self.active else ''}"


class Quote(OrganisationOwned):
    """A price for migrating what a scan found, with its breakdown and a duration estimate. Prices are
    copied from the pricing table at the time, so the quote stands as given."""

    scan = models.ForeignKey(Scan, on_delete=models.CASCADE, related_name="quotes")
    pricing_table = models.ForeignKey(PricingTable, null=True, blank=True, on_delete=models.SET_NULL,
                                      related_name="+")
    destination_kind = models.CharField(max_length=20, blank=True)
    currency = models.CharField(max_length=3)
    total = models.DecimalField(max_digits=12, decimal_places=2)
    lines = models.JSONField(default=list)  # [{"label", "quantity", "unit", "unit_price", "amount"}]
    estimate_seconds = models.PositiveIntegerField(default=0)
    estimate = models.JSONField(default=dict)  # requests by kind, the rate assumed, the assumptions
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"Quote {self.pk} for scan {self.scan_id}: {self.total} {self.currency}"
