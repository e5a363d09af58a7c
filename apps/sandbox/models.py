"""State every sandbox shares: the sites, their tokens, their rate-limit windows and their request log.

A sandbox is a fake vendor, not customer data: these rows belong to no organisation. Vendor data (work
items, issues ...) lives in each vendor's own app (`apps.sandbox.ado`, `apps.sandbox.jira`) and points at
`SandboxSite`.
"""

import hashlib

from django.db import models


class SandboxSite(models.Model):
    class Kind(models.TextChoices):
        ADO = "ado", "Azure DevOps Services"
        JIRA_CLOUD = "jira_cloud", "Jira Cloud"
        JIRA_DC = "jira_dc", "Jira Data Center"

    FAULT_KINDS = ("http_500", "http_503", "http_429", "drop", "slow")

    kind = models.CharField(max_length=20, choices=Kind.choices)
    # The vendor's own name for the site: the ADO organisation, the Jira site. Part of every URL.
    slug = models.SlugField(max_length=80, unique=True)
    name = models.CharField(max_length=200, blank=True)

    # Rate limiting: a budget of requests per fixed window, for the whole site and for each token
    # (0 = no limit). Past `delay_after_percent` of a budget requests are slowed by `delay_ms` before the
    # site starts refusing them, as Azure DevOps does.
    rate_window_seconds = models.PositiveIntegerField(default=60)
    rate_limit_site = models.PositiveIntegerField(default=0)
    rate_limit_token = models.PositiveIntegerField(default=0)
    delay_after_percent = models.PositiveSmallIntegerField(default=80)
    delay_ms = models.PositiveIntegerField(default=0)

    # Latency added to every request, plus a jitter drawn from the seeded generator.
    latency_ms = models.PositiveIntegerField(default=0)
    latency_jitter_ms = models.PositiveIntegerField(default=0)

    # Faults: each request draws from a generator seeded with (seed, request number), so a run with the
    # same seed and the same requests meets the same faults.
    fault_rate = models.FloatField(default=0.0)
    fault_kinds = models.JSONField(default=list, blank=True)
    slow_ms = models.PositiveIntegerField(default=2000)
    seed = models.BigIntegerField(default=1)
    request_seq = models.BigIntegerField(default=0)

    log_requests = models.BooleanField(default=True)
    # Vendor-specific settings (ADO: attachment size limit ...).
    options = models.JSONField(default=dict, blank=True)
    seeded_at = models.DateTimeField(null=True, blank=True)
    seed_summary = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self):
        return f"{self.slug} ({self.get_kind_display()})"


def token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


class SandboxToken(models.Model):
    """A credential of the fake vendor (ADO personal access token, Jira API token). Stored hashed."""

    site = models.ForeignKey(SandboxSite, on_delete=models.CASCADE, related_name="tokens")
    name = models.CharField(max_length=200)
    token_hash = models.CharField(max_length=64, unique=True)
    token_prefix = models.CharField(max_length=8)
    # Vendor scope strings: `vso.work_write` for ADO, `write:jira-work` for Jira ...
    scopes = models.JSONField(default=list)
    # Who the token acts as, in the vendor's terms (an identity id, an e-mail).
    principal = models.JSONField(default=dict, blank=True)
    is_active = models.BooleanField(default=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["site", "name"]

    def __str__(self):
        return f"{self.name} ({self.token_prefix}…)"


class SandboxRateWindow(models.Model):
    """Requests counted in one fixed window, for the site (token null) or one token."""

    site = models.ForeignKey(SandboxSite, on_delete=models.CASCADE, related_name="+")
    token = models.ForeignKey(SandboxToken, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    window_start = models.BigIntegerField()
    used = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["site", "token", "window_start"], name="sandbox_rate_window_unique"),
            models.UniqueConstraint(
                fields=["site", "window_start"],
                condition=models.Q(token__isnull=True),
                name="sandbox_rate_window_site_unique",
            ),
        ]

    def __str__(self):
        return f"{self.site_id}/{self.token_id} @ {self.window_start}: {self.used}"


class SandboxRequest(models.Model):
    """One request a sandbox served. Never holds headers or bodies, so never a credential."""

    site = models.ForeignKey(SandboxSite, on_delete=models.CASCADE, related_name="requests")
    token = models.ForeignKey(SandboxToken, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    seq = models.BigIntegerField()  # the request number faults were drawn with; 0 when none were on
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)
    endpoint = models.CharField(max_length=120)
    status = models.PositiveSmallIntegerField()
    request_bytes = models.PositiveIntegerField(default=0)
    response_bytes = models.PositiveIntegerField(default=0)
    duration_ms = models.PositiveIntegerField(default=0)
    fault = models.CharField(max_length=20, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["site", "endpoint", "status"])]

    def __str__(self):
        return f"{self.method} {self.path} {self.status}"
