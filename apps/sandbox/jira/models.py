"""The data of the local Jira: one `SandboxSite` of kind `jira_cloud` or `jira_dc` is one Jira site.

Statuses, workflows, priorities, resolutions and link types are the same on every site and live in code
(`catalog.py`); what a site owns is here. Rich text (descriptions, comments, paragraph fields) is kept in
the site's own format: ADF documents on Cloud, wiki markup strings on Data Center.
"""

import uuid

from django.db import models

from apps.sandbox.models import SandboxSite


class JiraUser(models.Model):
    site = models.ForeignKey(SandboxSite, on_delete=models.CASCADE, related_name="jira_users")
    account_id = models.CharField(max_length=128)  # Cloud
    name = models.CharField(max_length=255)  # Data Center user name
    key = models.CharField(max_length=255)  # Data Center user key (JIRAUSER10100)
    display_name = models.CharField(max_length=255)
    email = models.CharField(max_length=255, blank=True)
    # Cloud hides the address of people whose profile visibility says so.
    email_visible = models.BooleanField(default=True)
    active = models.BooleanField(default=True)
    account_type = models.CharField(max_length=20, default="atlassian")
    time_zone = models.CharField(max_length=64, default="Europe/London")

    class Meta:
        ordering = ["display_name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["site", "account_id"], name="jira_user_account_id"),
            models.UniqueConstraint(fields=["site", "name"], name="jira_user_name"),
        ]

    def __str__(self):
        return self.display_name


class JiraProject(models.Model):
    class Style(models.TextChoices):
        CLASSIC = "classic", "company-managed"
        NEXT_GEN = "next-gen", "team-managed"

    site = models.ForeignKey(SandboxSite, on_delete=models.CASCADE, related_name="jira_projects")
    key = models.CharField(max_length=50)
    name = models.CharField(max_length=80)
    description = models.TextField(blank=True)
    style = models.CharField(max_length=10, choices=Style.choices, default=Style.CLASSIC)
    project_type = models.CharField(max_length=20, default="software")
    template = models.CharField(max_length=20, default="scrum")  # scrum or kanban
    lead = models.ForeignKey(JiraUser, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    next_number = models.PositiveIntegerField(default=1)
    uuid = models.UUIDField(default=uuid.uuid4)

    class Meta:
        ordering = ["key"]
        constraints = [models.UniqueConstraint(fields=["site", "key"], name="jira_project_key")]

    def __str__(self):
        return self.key

    @property
    def simplified(self):
        return self.style == self.Style.NEXT_GEN


class JiraIssueType(models.Model):
    """Company-managed types belong to the site (project null); team-managed projects have their own."""

    site = models.ForeignKey(SandboxSite, on_delete=models.CASCADE, related_name="jira_issue_types")
    project = models.ForeignKey(JiraProject, null=True, blank=True, on_delete=models.CASCADE, related_name="own_issue_types")
    name = models.CharField(max_length=60)
    description = models.CharField(max_length=255, blank=True)
    hierarchy_level = models.SmallIntegerField(default=0)  # -1 sub-task, 0 standard, 1 epic
    avatar_id = models.PositiveIntegerField(default=10318)

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return self.name

    @property
    def subtask(self):
        return self.hierarchy_level == -1


class JiraField(models.Model):
    """A custom field of the site. `kind` is one of catalog.CUSTOM_FIELD_KINDS."""

    site = models.ForeignKey(SandboxSite, on_delete=models.CASCADE, related_name="jira_fields")
    field_id = models.CharField(max_length=40)  # customfield_10016
    name = models.CharField(max_length=255)
    kind = models.CharField(max_length=30)
    description = models.CharField(max_length=255, blank=True)
    # For select kinds: [{"id": "10100", "value": "High"}]. For imported fields, `schema` as the export said.
    options = models.JSONField(default=list, blank=True)
    schema = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["site", "field_id"], name="jira_field_id")]

    def __str__(self):
        return self.field_id


class JiraComponent(models.Model):
    project = models.ForeignKey(JiraProject, on_delete=models.CASCADE, related_name="components")
    name = models.CharField(max_length=255)
    description = models.TextField(blank=True)
    lead = models.ForeignKey(JiraUser, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class JiraVersion(models.Model):
    """A project version (fix version, release)."""

    project = models.ForeignKey(JiraProject, on_delete=models.CASCADE, related_name="versions")
    name = models.CharField(max_length=255)
    description = models.TextField(blank=True)
    archived = models.BooleanField(default=False)
    released = models.BooleanField(default=False)
    start_date = models.DateField(null=True, blank=True)
    release_date = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return self.name


class JiraBoard(models.Model):
    site = models.ForeignKey(SandboxSite, on_delete=models.CASCADE, related_name="jira_boards")
    project = models.ForeignKey(JiraProject, on_delete=models.CASCADE, related_name="boards")
    name = models.CharField(max_length=255)
    type = models.CharField(max_length=20, default="scrum")

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return self.name


class JiraSprint(models.Model):
    class State(models.TextChoices):
        FUTURE = "future"
        ACTIVE = "active"
        CLOSED = "closed"

    site = models.ForeignKey(SandboxSite, on_delete=models.CASCADE, related_name="jira_sprints")
    board = models.ForeignKey(JiraBoard, on_delete=models.CASCADE, related_name="sprints")
    name = models.CharField(max_length=255)
    state = models.CharField(max_length=10, choices=State.choices, default=State.FUTURE)
    goal = models.TextField(blank=True)
    start_date = models.DateTimeField(null=True, blank=True)
    end_date = models.DateTimeField(null=True, blank=True)
    complete_date = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField()

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return self.name


class JiraIssue(models.Model):
    site = models.ForeignKey(SandboxSite, on_delete=models.CASCADE, related_name="jira_issues")
    project = models.ForeignKey(JiraProject, on_delete=models.CASCADE, related_name="issues")
    issue_type = models.ForeignKey(JiraIssueType, on_delete=models.PROTECT, related_name="+")
    number = models.PositiveIntegerField()
    key = models.CharField(max_length=64)
    summary = models.CharField(max_length=255)
    description = models.JSONField(null=True, blank=True)  # ADF (Cloud) or wiki string (DC)
    environment = models.JSONField(null=True, blank=True)
    status_id = models.CharField(max_length=20)
    priority_id = models.CharField(max_length=20, blank=True)
    resolution_id = models.CharField(max_length=20, blank=True)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children")
    reporter = models.ForeignKey(JiraUser, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    creator = models.ForeignKey(JiraUser, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    assignee = models.ForeignKey(JiraUser, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    labels = models.JSONField(default=list, blank=True)
    # "|a|b|" so that a label is found with a plain `contains` on every database.
    labels_index = models.TextField(blank=True, default="")
    component_ids = models.JSONField(default=list, blank=True)
    # Project versions by id: fixVersions (where it is fixed), versions (those it affects); shown in the
    # project's order of versions, as Jira shows them.
    fix_version_ids = models.JSONField(default=list, blank=True)
    affects_version_ids = models.JSONField(default=list, blank=True)
    custom = models.JSONField(default=dict, blank=True)  # {"customfield_10016": 5.0, ...} in API form
    sprints = models.ManyToManyField(JiraSprint, blank=True, related_name="issues")
    rank = models.BigIntegerField(default=0)
    duedate = models.DateField(null=True, blank=True)
    created = models.DateTimeField()
    updated = models.DateTimeField()
    resolutiondate = models.DateTimeField(null=True, blank=True)
    # Time tracking, in seconds (Jira's timeoriginalestimate and timeestimate; timespent is the worklogs' sum).
    original_estimate_seconds = models.PositiveIntegerField(null=True, blank=True)
    remaining_estimate_seconds = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["site", "key"], name="jira_issue_key")]
        indexes = [
            models.Index(fields=["site", "project", "number"]),
            models.Index(fields=["site", "updated"]),
        ]

    def __str__(self):
        return self.key


class JiraChangelog(models.Model):
    issue = models.ForeignKey(JiraIssue, on_delete=models.CASCADE, related_name="changelogs")
    author = models.ForeignKey(JiraUser, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created = models.DateTimeField()
    # [{"field", "fieldtype", "fieldId", "from", "fromString", "to", "toString"}]
    items = models.JSONField(default=list)

    class Meta:
        ordering = ["created", "id"]

    def __str__(self):
        return f"{self.issue_id} @ {self.created:%Y-%m-%d %H:%M}"


class JiraComment(models.Model):
    issue = models.ForeignKey(JiraIssue, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(JiraUser, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    update_author = models.ForeignKey(JiraUser, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    body = models.JSONField()
    visibility = models.JSONField(null=True, blank=True)
    created = models.DateTimeField()
    updated = models.DateTimeField()

    class Meta:
        ordering = ["created", "id"]

    def __str__(self):
        return f"comment {self.pk} on {self.issue_id}"


class JiraWorklog(models.Model):
    """Work logged on an issue (/rest/api/3/issue/{id}/worklog)."""

    issue = models.ForeignKey(JiraIssue, on_delete=models.CASCADE, related_name="worklogs")
    author = models.ForeignKey(JiraUser, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    comment = models.JSONField(null=True, blank=True)  # ADF (Cloud) or wiki string (DC)
    started = models.DateTimeField()
    time_spent_seconds = models.PositiveIntegerField()
    created = models.DateTimeField()
    updated = models.DateTimeField()

    class Meta:
        ordering = ["started", "id"]

    def __str__(self):
        return f"worklog {self.pk} on {self.issue_id}"


class JiraIssueLink(models.Model):
    site = models.ForeignKey(SandboxSite, on_delete=models.CASCADE, related_name="jira_links")
    link_type_id = models.CharField(max_length=20)
    inward_issue = models.ForeignKey(JiraIssue, on_delete=models.CASCADE, related_name="inward_links")
    outward_issue = models.ForeignKey(JiraIssue, on_delete=models.CASCADE, related_name="outward_links")

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["link_type_id", "inward_issue", "outward_issue"],
                                               name="jira_link_unique")]

    def __str__(self):
        return f"{self.outward_issue_id} -[{self.link_type_id}]-> {self.inward_issue_id}"


class JiraRemoteLink(models.Model):
    issue = models.ForeignKey(JiraIssue, on_delete=models.CASCADE, related_name="remote_links")
    global_id = models.CharField(max_length=255, blank=True)
    relationship = models.CharField(max_length=255, blank=True)
    object = models.JSONField(default=dict)
    application = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return self.global_id or str(self.object.get("url", ""))


class JiraAttachment(models.Model):
    issue = models.ForeignKey(JiraIssue, on_delete=models.CASCADE, related_name="attachments")
    author = models.ForeignKey(JiraUser, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    filename = models.CharField(max_length=255)
    mime_type = models.CharField(max_length=255, default="application/octet-stream")
    size = models.PositiveBigIntegerField(default=0)
    content = models.BinaryField(default=b"")
    # The id an ADF `media` node names to show the file inline.
    media_id = models.UUIDField(default=uuid.uuid4)
    created = models.DateTimeField()

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return self.filename


class JiraEntityProperty(models.Model):
    issue = models.ForeignKey(JiraIssue, on_delete=models.CASCADE, related_name="properties")
    key = models.CharField(max_length=255)
    value = models.JSONField(null=True)

    class Meta:
        ordering = ["key"]
        constraints = [models.UniqueConstraint(fields=["issue", "key"], name="jira_property_key")]

    def __str__(self):
        return self.key


class JiraIssueWriteWindow(models.Model):
    """Writes counted per issue in a fixed window, for Jira Cloud's per-issue write limit."""

    issue = models.ForeignKey(JiraIssue, on_delete=models.CASCADE, related_name="+")
    window_start = models.BigIntegerField()
    used = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["issue", "window_start"], name="jira_issue_write_window")]

    def __str__(self):
        return f"{self.issue_id} @ {self.window_start}: {self.used}"
