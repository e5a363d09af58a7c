"""The sandbox's authorization servers: registered apps (clients), grants a person consented to, and the
codes and tokens issued under them. Every code and token is stored as a SHA-256 hash, like the vendors'
own tokens (`SandboxToken`). Not customer data: these rows belong to no organisation.

An access token for Jira Cloud (through the `/ex/jira/<cloud id>/` gateway) or Azure DevOps is also a
`SandboxToken` of the site the person chose at consent, with the same secret: the vendor emulators then
accept it as they accept any credential of theirs, and revoking the grant deactivates it.
"""

from django.db import models

from apps.sandbox.models import SandboxSite, SandboxToken


class Flavour(models.TextChoices):
    ATLASSIAN = "atlassian", "Atlassian OAuth 2.0 (3LO)"
    ENTRA = "entra", "Microsoft Entra ID"
    OIDC = "oidc", "OpenID Connect provider"


class OAuthClient(models.Model):
    """An app registered with one of the servers (Atlassian's developer console, an Entra app registration,
    an OIDC client)."""

    flavour = models.CharField(max_length=20, choices=Flavour.choices)
    client_id = models.CharField(max_length=100, unique=True)
    secret_hash = models.CharField(max_length=64)
    name = models.CharField(max_length=200, default="Migrayt")
    # Exact redirect URIs; an entry that is only a path ("/sso/callback/") allows that path on a loopback
    # host at any port (tests and the demo run on 127.0.0.1 with a port chosen at start).
    redirect_uris = models.JSONField(default=list)
    # What the app may be granted: Jira scopes (Atlassian), the Azure DevOps scopes its registration lists
    # (Entra's `.default`), or OIDC scopes.
    scopes = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"{self.name} ({self.client_id})"


class OAuthSigningKey(models.Model):
    """The RSA key id tokens are signed with. A fake identity provider's key: kept in clear on purpose."""

    kid = models.CharField(max_length=64, unique=True)
    private_pem = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return self.kid


class OAuthGrant(models.Model):
    """What a person consented to: an app, the scopes, and (Atlassian, Entra) the site it reaches."""

    client = models.ForeignKey(OAuthClient, on_delete=models.CASCADE, related_name="grants")
    tenant = models.CharField(max_length=100, blank=True)  # Entra tenant or OIDC issuer name
    subject = models.JSONField(default=dict)  # sub, email, name (+ vendor principal fields)
    site = models.ForeignKey(SandboxSite, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    scopes = models.JSONField(default=list)
    offline = models.BooleanField(default=False)  # a refresh token was asked for (offline_access)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"grant {self.pk} of {self.client.client_id}"


class OAuthCode(models.Model):
    grant = models.ForeignKey(OAuthGrant, on_delete=models.CASCADE, related_name="codes")
    code_hash = models.CharField(max_length=64, unique=True)
    redirect_uri = models.CharField(max_length=1000)
    code_challenge = models.CharField(max_length=200, blank=True)
    code_challenge_method = models.CharField(max_length=10, blank=True)
    nonce = models.CharField(max_length=200, blank=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"code of grant {self.grant_id}"


class OAuthAccessToken(models.Model):
    grant = models.ForeignKey(OAuthGrant, on_delete=models.CASCADE, related_name="access_tokens")
    token_hash = models.CharField(max_length=64, unique=True)
    sandbox_token = models.ForeignKey(SandboxToken, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    expires_at = models.DateTimeField()

    def __str__(self):
        return f"access token of grant {self.grant_id}"


class OAuthRefreshToken(models.Model):
    """Rotating refresh tokens: each use gives a new one and retires this one (`rotated_at`); using a
    retired one again is refused."""

    grant = models.ForeignKey(OAuthGrant, on_delete=models.CASCADE, related_name="refresh_tokens")
    token_hash = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField()
    rotated_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"refresh token of grant {self.grant_id}"
