"""Single sign-on per organisation: one OpenID Connect provider (Microsoft Entra ID or any standard one)
beside passwords, and the identities (issuer + subject) people signed in with."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from apps.connections.secret_store import SecretReferenceField
from apps.core.tenancy import OrganisationOwned


class SsoProvider(OrganisationOwned):
    class Kind(models.TextChoices):
        ENTRA = "entra", "Microsoft Entra ID"
        OIDC = "oidc", "OpenID Connect (any standard provider)"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    issuer = models.CharField(max_length=500)  # the issuer exactly as the ID tokens carry it
    client_id = models.CharField(max_length=200)
    client_secret_ref = SecretReferenceField()  # secret_store.py: never the secret itself
    # People whose e-mail is at one of these domains may sign in this way (empty: any, when they are members).
    email_domains = models.JSONField(default=list, blank=True)
    # Someone the provider vouches for who is not a member yet joins as a member on first sign-in.
    auto_join = models.BooleanField(default=False)
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organisation"], name="sso_one_provider_per_org")]

    def __str__(self):
        return f"{self.get_kind_display()} for {self.organisation_id}"


class SsoIdentity(OrganisationOwned):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    issuer = models.CharField(max_length=500)
    subject = models.CharField(max_length=255)
    created_at = models.DateTimeField(default=timezone.now)
    last_login_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["issuer", "subject"], name="sso_identity_unique")]

    def __str__(self):
        return f"{self.subject} at {self.issuer}"
