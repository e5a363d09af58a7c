from django.conf import settings
from django.db import models
from django.utils import timezone

from apps.connections.connectors.base import CheckStatus, ConnectionKind
from apps.connections.secret_store import SecretReferenceField
from apps.core.tenancy import OrganisationOwned


class Connection(OrganisationOwned):
    """One Azure DevOps organisation or Jira site, with the credentials to reach it.

    The token is kept only as a secret-store reference (`secret_ciphertext`: Fernet ciphertext, or an AWS
    Secrets Manager ARN, see secret_store.py) and is read back only by
    `services.connection_config()` when a connector needs it: no property, form, serializer, admin page or
    log line ever shows it."""

    class Kind(models.TextChoices):
        AZURE_DEVOPS = ConnectionKind.AZURE_DEVOPS.value, "Azure DevOps Services"
        JIRA_CLOUD = ConnectionKind.JIRA_CLOUD.value, "Jira Cloud"
        JIRA_DATA_CENTER = ConnectionKind.JIRA_DATA_CENTER.value, "Jira Data Center"

    TestStatus = models.TextChoices("TestStatus", [(s.value, s.value.replace("_", " ")) for s in CheckStatus])

    class AuthMethod(models.TextChoices):
        TOKEN = "token", "Token"
        OAUTH = "oauth", "OAuth 2.0"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    auth_method = models.CharField(max_length=10, choices=AuthMethod.choices, default=AuthMethod.TOKEN)
    name = models.CharField(max_length=120)
    base_url = models.CharField("address", max_length=500)
    # Jira Cloud only: the Atlassian account the API token belongs to. Not a secret.
    email = models.EmailField("account e-mail", blank=True)
    secret_ciphertext = SecretReferenceField()  # the reference, never the token (blank for OAuth)
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
    def is_oauth(self) -> bool:
        return self.auth_method == self.AuthMethod.OAUTH

    @property
    def secret_label(self) -> str:
        return {"azure_devops": "personal access token", "jira_cloud": "API token",
                "jira_data_center": "personal access token"}[self.kind]


class OAuthProvider(models.TextChoices):
    ATLASSIAN = "atlassian", "Atlassian (OAuth 2.0 3LO)"
    ENTRA = "entra", "Microsoft Entra ID"


class OAuthCredential(OrganisationOwned):
    """The OAuth side of a connection: references to the access and refresh tokens in the secret store
    (never the tokens), when the access token expires, the scopes granted and, for Jira Cloud, the cloud id
    API calls go through. See oauth.py."""

    class Status(models.TextChoices):
        ACTIVE = "active", "active"
        EXPIRED = "expired", "expired: sign in again"
        REVOKED = "revoked", "revoked: sign in again"

    connection = models.OneToOneField(Connection, on_delete=models.CASCADE, related_name="oauth")
    provider = models.CharField(max_length=20, choices=OAuthProvider.choices)
    access_token_ref = SecretReferenceField()
    refresh_token_ref = SecretReferenceField()
    access_expires_at = models.DateTimeField(null=True, blank=True)
    scopes = models.JSONField(default=list, blank=True)
    cloud_id = models.CharField(max_length=100, blank=True)  # Atlassian
    api_base_url = models.CharField(max_length=500, blank=True)  # .../ex/jira/<cloud id> for Jira Cloud
    account = models.CharField(max_length=255, blank=True)  # the site name or account that consented: not a secret
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    status_message = models.TextField(blank=True)
    refreshed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"OAuth ({self.get_provider_display()}) of connection {self.connection_id}"


class OAuthAuthorisation(OrganisationOwned):
    """An OAuth sign-in in progress: started by a person, finished when the provider sends them back with
    the `state` (kept as a hash) and a code, which we exchange with the PKCE verifier (kept encrypted).
    When Atlassian gives access to several sites, the tokens wait here (in the secret store) while the
    person picks one. Expires after ten minutes; used once."""

    provider = models.CharField(max_length=20, choices=OAuthProvider.choices)
    state_hash = models.CharField(max_length=64, unique=True)
    code_verifier_ref = SecretReferenceField()
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=120)
    base_url = models.CharField(max_length=500, blank=True)  # Azure DevOps: the organisation's address
    redirect_uri = models.CharField(max_length=500)
    # Signing in again for an existing connection (expired or revoked) rather than making a new one.
    connection = models.ForeignKey(Connection, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    access_token_ref = SecretReferenceField()
    refresh_token_ref = SecretReferenceField()
    access_expires_at = models.DateTimeField(null=True, blank=True)
    scopes = models.JSONField(default=list, blank=True)
    resources = models.JSONField(default=list, blank=True)  # Atlassian sites: id, url, name (no secret)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"{self.get_provider_display()} sign-in for {self.name!r}"
