"""The data of the local Azure DevOps: one `SandboxSite` of kind "ado" is one organisation."""

import uuid

from django.db import models

from apps.sandbox.models import SandboxSite


class AdoCounter(models.Model):
    """Organisation-wide number sequences (work item ids, comment ids, node ids), as ADO has."""

    site = models.OneToOneField(SandboxSite, on_delete=models.CASCADE, related_name="ado_counter")
    next_work_item_id = models.PositiveIntegerField(default=1)
    next_comment_id = models.PositiveIntegerField(default=1)
    next_node_id = models.PositiveIntegerField(default=1)

    def __str__(self):
        return f"counters of {self.site_id}"


class AdoIdentity(models.Model):
    site = models.ForeignKey(SandboxSite, on_delete=models.CASCADE, related_name="ado_identities")
    guid = models.UUIDField(default=uuid.uuid4)
    display_name = models.CharField(max_length=200)
    unique_name = models.CharField(max_length=200)  # the sign-in e-mail
    is_active = models.BooleanField(default=True)  # inactive: left the company, still in history
    is_deleted = models.BooleanField(default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["site", "unique_name"], name="ado_identity_unique_name")]

    def __str__(self):
        return f"{self.display_name} <{self.unique_name}>"


class AdoProject(models.Model):
    class Process(models.TextChoices):
        AGILE = "Agile"
        SCRUM = "Scrum"
        BASIC = "Basic"
        CMMI = "CMMI"

    site = models.ForeignKey(SandboxSite, on_delete=models.CASCADE, related_name="ado_projects")
    guid = models.UUIDField(default=uuid.uuid4)
    name = models.CharField(max_length=64)
    description = models.TextField(blank=True)
    process = models.CharField(max_length=10, choices=Process.choices, default=Process.AGILE)
    visibility = models.CharField(max_length=10, default="private")
    revision = models.PositiveIntegerField(default=1)
    last_update_time = models.DateTimeField()

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["site", "name"], name="ado_project_unique_name")]

    def __str__(self):
        return self.name


class AdoTeam(models.Model):
    project = models.ForeignKey(AdoProject, on_delete=models.CASCADE, related_name="teams")
    guid = models.UUIDField(default=uuid.uuid4)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class AdoNode(models.Model):
    """An area or an iteration. `path` is the form work item fields use: `Project\\Parent\\Name`."""

    project = models.ForeignKey(AdoProject, on_delete=models.CASCADE, related_name="nodes")
    node_id = models.PositiveIntegerField()
    guid = models.UUIDField(default=uuid.uuid4)
    structure = models.CharField(max_length=10, choices=[("area", "area"), ("iteration", "iteration")])
    name = models.CharField(max_length=255)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE, related_name="children")
    path = models.CharField(max_length=2000)
    start_date = models.DateTimeField(null=True, blank=True)
    finish_date = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["node_id"]
        indexes = [models.Index(fields=["project", "structure", "path"])]

    def __str__(self):
        return self.path


class AdoField(models.Model):
    """A custom field of the organisation (system fields are defined by the processes module)."""

    site = models.ForeignKey(SandboxSite, on_delete=models.CASCADE, related_name="ado_fields")
    reference_name = models.CharField(max_length=200)
    name = models.CharField(max_length=200)
    type = models.CharField(max_length=30)  # string, integer, double, dateTime, html, identity, boolean, plainText
    description = models.TextField(blank=True)
    picklist = models.JSONField(default=list, blank=True)  # allowed values; empty = not a picklist
    work_item_types = models.JSONField(default=list, blank=True)  # empty = every type

    class Meta:
        constraints = [models.UniqueConstraint(fields=["site", "reference_name"], name="ado_field_unique_ref")]

    def __str__(self):
        return self.reference_name


class AdoWorkItem(models.Model):
    site = models.ForeignKey(SandboxSite, on_delete=models.CASCADE, related_name="ado_work_items")
    project = models.ForeignKey(AdoProject, on_delete=models.CASCADE, related_name="work_items")
    item_id = models.PositiveIntegerField()
    rev = models.PositiveIntegerField(default=1)
    work_item_type = models.CharField(max_length=100)
    state = models.CharField(max_length=100)
    changed_date = models.DateTimeField()
    # Every field value as the REST API returns it (identities as IdentityRef objects).
    fields = models.JSONField(default=dict)
    # [{"rel", "url", "attributes"}], in the order they were added.
    relations = models.JSONField(default=list)
    is_deleted = models.BooleanField(default=False)
    deleted_date = models.DateTimeField(null=True, blank=True)
    deleted_by = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["item_id"]
        constraints = [models.UniqueConstraint(fields=["site", "item_id"], name="ado_work_item_unique_id")]
        indexes = [models.Index(fields=["project", "is_deleted", "item_id"])]

    def __str__(self):
        return f"{self.work_item_type} {self.item_id}"


class AdoUpdate(models.Model):
    """One revision's change: field old/new values and relations added/removed, as `updates` returns."""

    work_item = models.ForeignKey(AdoWorkItem, on_delete=models.CASCADE, related_name="updates")
    rev = models.PositiveIntegerField()
    revised_by = models.JSONField(default=dict)
    revised_date = models.DateTimeField()
    fields = models.JSONField(default=dict)
    relations = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["work_item", "rev"]
        constraints = [models.UniqueConstraint(fields=["work_item", "rev"], name="ado_update_unique_rev")]

    def __str__(self):
        return f"{self.work_item_id} rev {self.rev}"


class AdoComment(models.Model):
    work_item = models.ForeignKey(AdoWorkItem, on_delete=models.CASCADE, related_name="comments")
    comment_id = models.PositiveIntegerField()
    version = models.PositiveIntegerField(default=1)
    text = models.TextField()
    format = models.CharField(max_length=10, default="html")  # html or markdown
    created_by = models.JSONField(default=dict)
    created_date = models.DateTimeField()
    modified_by = models.JSONField(default=dict)
    modified_date = models.DateTimeField()
    is_deleted = models.BooleanField(default=False)

    class Meta:
        ordering = ["work_item", "comment_id"]
        constraints = [models.UniqueConstraint(fields=["work_item", "comment_id"], name="ado_comment_unique")]

    def __str__(self):
        return f"comment {self.comment_id}"


class AdoAttachment(models.Model):
    site = models.ForeignKey(SandboxSite, on_delete=models.CASCADE, related_name="ado_attachments")
    guid = models.UUIDField(default=uuid.uuid4)
    file_name = models.CharField(max_length=255)
    content = models.BinaryField(default=b"")
    size = models.PositiveBigIntegerField(default=0)
    expected_size = models.PositiveBigIntegerField(null=True, blank=True)  # chunked uploads
    is_complete = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["site", "guid"], name="ado_attachment_unique")]

    def __str__(self):
        return self.file_name
