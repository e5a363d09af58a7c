from django.conf import settings
from django.db import models
from django.utils import timezone

from apps.connections.connectors.base import CheckStatus, ConnectionKind
from apps.core.tenancy import OrganisationOwned


class Connection(OrganisationOwned):
    """One Azure DevOps organisation or Jira site, with the credentials to reach it.

    The token is kept only as ciphertext (`secret_ciphertext`, see crypto.py) and is read back only by
    `services.connection_config()` when a connector needs it: no property, form, serializer, admin page or
    log line ever shows it."""

    class Kind(models.TextChoices):
        AZURE_DEVOPS = ConnectionKind.AZURE_DEVOPS.value, "Azure DevOps Services"
        JIRA_CLOUD = ConnectionKind.JIRA_CLOUD.value, "Jira Cloud"
        JIRA_DATA_CENTER = ConnectionKind.JIRA_DATA_CENTER.value, "Jira Data Center"

    TestStatus = models.TextChoices("TestStatus", [(s.value, s.value.replace("_", " ")) for s in CheckStatus])

    kind = models.CharField(max_length=20, choices=Kind.choices)
    name = models.CharField(max_length=120)
    base_url = models.CharField("address", max_length=500)
    # Jira Cloud only: the Atlassian account the API token belongs to. Not a secret.
    email = models.EmailField("account e-mail", blank=True)
    secret_ciphertext = models.TextField(editable=False)
    secret_updated_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    last_tested_at = models.DateTimeField(null=True, blank=True)
    last_test_status = models.CharField(max_length=40, choices=TestStatus.choices, blank=True)
    last_test_message = models.TextField(blank=True)
    last_test_details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "name"], name="connection_unique_name_per_org"),
        ]

    def __str__(self):
        return f"{self.name} ({self.get_kind_display()})"

    @property
    def last_test_ok(self) -> bool:
        return self.last_test_status == CheckStatus.OK

    @property
    def secret_label(self) -> str:
        return {"azure_devops": "personal access token", "jira_cloud": "API token",
                "jira_data_center": "personal access token"}[self.kind]
