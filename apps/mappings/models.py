"""Mapping sets: how one scanned source project maps onto one scanned destination project.

A mapping set holds one row per element of the source schema (type, field, state, value, person,
iteration, area, tag, link type), drafted by the layers of `drafting/` and decided by a person. Approval
freezes the rows into an immutable `MappingVersion`; a run always uses one frozen version.

Zero Data Retention: nothing here holds ticket content. The schemas are copied from the scans (names of
types, fields, states, allowed values, people, sprints, components and link types) so that a version
stays valid after a scan is deleted; rows hold ids, names, reasons and numbers.
"""

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

from apps.core.tenancy import OrganisationOwned
from apps.mappings.drafting.proposals import Kind, Transform


class MappingSet(OrganisationOwned):
    class DraftStatus(models.TextChoices):
        NEW = "new", "Not drafted yet"
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Drafting"
        DONE = "done", "Drafted"
        FAILED = "failed", "Failed"

    class MissingLevel(models.TextChoices):
        FLATTEN = "flatten", "Flatten: keep the item, attach its children to its parent"
        LINK = "link", "Link: keep the item, replace the parent link with a plain link"
        SKIP = "skip", "Skip: leave the items of that level out"

    name = models.CharField(max_length=120)
    source_scan = models.ForeignKey("catalog.Scan", null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    destination_scan = models.ForeignKey("catalog.Scan", null=True, blank=True, on_delete=models.SET_NULL,
                                         related_name="+")
    source_kind = models.CharField(max_length=20)
    destination_kind = models.CharField(max_length=20)
    source_project = models.CharField(max_length=255)
    destination_project = models.CharField(max_length=255)
    # Snapshots of the scans' schemas (connectors.serialise.catalog_to_dict): names and types only.
    source_schema = models.JSONField()
    destination_schema = models.JSONField()
    # Known destination workflows: {type id: {"initial": status, "transitions": [[from, to], ...]}}.
    # Given through import or the API; without one the engine finds the path at run time.
    destination_workflows = models.JSONField(default=dict, blank=True)

    # What to carry besides fields, and the set-wide choices the plan needs.
    default_person = models.CharField(max_length=255, blank=True,
                                      help_text="Destination account that receives what an unmatched person did.")
    areas_as_labels = models.BooleanField(default=False, help_text="Areas become labels instead of components.")
    comments = models.BooleanField(default=True)
    attachments = models.BooleanField(default=True)
    links = models.BooleanField(default=True)
    history = models.BooleanField(default=True)

    draft_status = models.CharField(max_length=20, choices=DraftStatus.choices, default=DraftStatus.NEW)
    draft_message = models.TextField(blank=True)
    draft_requested_at = models.DateTimeField(null=True, blank=True)
    drafted_at = models.DateTimeField(null=True, blank=True)
    # The hash of the model payload a person saw and asked to send; the task sends only that payload.
    llm_requested_sha256 = models.CharField(max_length=64, blank=True)

    # The consent gate: an organisation admin agrees, per mapping set, before any call to an outside model.
    llm_consent_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                       related_name="+")
    llm_consent_at = models.DateTimeField(null=True, blank=True)
    # Categories the sanitiser may let through (sanitise.CONSENTABLE); secrets never go.
    llm_consent_categories = models.JSONField(default=list, blank=True)

    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-updated_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "name"], name="mapping_set_unique_name_per_org"),
        ]

    def __str__(self):
        return f"{self.name} ({self.source_project} → {self.destination_project})"

    @property
    def has_llm_consent(self) -> bool:
        return self.llm_consent_at is not None

    # A draft takes seconds; one queued or running far longer than the task's time limit was lost (a worker
    # died, the broker dropped it) and may be asked for again.
    DRAFT_STALE_AFTER = timedelta(minutes=10)

    @property
    def is_drafting(self) -> bool:
        if self.draft_status not in (self.DraftStatus.QUEUED, self.DraftStatus.RUNNING):
            return False
        return self.draft_requested_at is None or timezone.now() - self.draft_requested_at < self.DRAFT_STALE_AFTER

    @property
    def direction(self) -> str:
        return f"{self.source_kind}->{self.destination_kind}"


class MappingRow(OrganisationOwned):
    """One element of the source schema and what happens to it. `proposed_*` keep what the drafter said,
    so an edit never hides the machine's proposal from the reviewer or the audit."""

    class Decision(models.TextChoices):
        PENDING = "pending", "Needs a decision"
        ACCEPTED = "accepted", "Accepted"
        EDITED = "edited", "Edited"
        REJECTED = "rejected", "Rejected"

    mapping_set = models.ForeignKey(MappingSet, on_delete=models.CASCADE, related_name="rows")
    kind = models.CharField(max_length=20, choices=[(k.value, k.value.replace("_", " ")) for k in Kind])
    scope = models.CharField(max_length=255, blank=True)  # a state's type, a value's field
    source = models.CharField(max_length=255)
    source_label = models.CharField(max_length=255, blank=True)
    # None means "nothing receives this element", a decision in itself; "" would be ambiguous.
    target = models.CharField(max_length=255, null=True, blank=True)  # noqa: DJ001
    target_label = models.CharField(max_length=255, blank=True)
    transform = models.CharField(max_length=30, blank=True,
                                 choices=[(t.value, t.value.replace("_", " ")) for t in Transform])
    confidence = models.FloatField(default=0.0)
    reason = models.TextField(blank=True)
    layer = models.CharField(max_length=20, blank=True)  # standard, semantic, llm, fallback, person, import
    warnings = models.JSONField(default=list, blank=True)
    # Row-specific choices: {"missing_level": ...} for types, {"transition_path": [...]} for states.
    options = models.JSONField(default=dict, blank=True)
    proposed_target = models.CharField(max_length=255, null=True, blank=True)  # noqa: DJ001
    proposed_layer = models.CharField(max_length=20, blank=True)
    decision = models.CharField(max_length=20, choices=Decision.choices, default=Decision.PENDING, db_index=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["mapping_set", "kind", "scope", "source"], name="mapping_row_unique_element"),
        ]

    def __str__(self):
        return f"{self.kind} {self.scope + ':' if self.scope else ''}{self.source} → {self.target or '—'}"

    @property
    def is_decided(self) -> bool:
        return self.decision != self.Decision.PENDING

    @property
    def effective_target(self) -> str | None:
        """What the row sends its element to: nothing once rejected."""
        return None if self.decision == self.Decision.REJECTED else self.target

    def key(self) -> tuple[str, str, str]:
        return (self.kind, self.scope, self.source)


class MappingVersion(OrganisationOwned):
    """An approved, frozen mapping: the export document of the set at approval, never changed again."""

    mapping_set = models.ForeignKey(MappingSet, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    content = models.JSONField()  # services.mapping_document(): format, version, source, destination, rows
    content_sha256 = models.CharField(max_length=64)
    warnings = models.JSONField(default=list, blank=True)  # the lossy rows, as the reviewer saw them
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    approved_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(fields=["mapping_set", "number"], name="mapping_version_unique_number"),
        ]

    def __str__(self):
        return f"{self.mapping_set.name} v{self.number}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise RuntimeError("An approved mapping version is frozen; approve a new version instead.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise RuntimeError("An approved mapping version is frozen and cannot be deleted.")
