"""Writes on the shared sandbox state: sites, tokens, controls, seeding and reset."""

from __future__ import annotations

import secrets

from django.db import transaction
from django.utils import timezone

from apps.core.exceptions import ApplicationError
from apps.sandbox.machinery.vendor import adapter_for_kind
from apps.sandbox.models import SandboxRateWindow, SandboxRequest, SandboxSite, SandboxToken, token_hash

# The fields the control API and the admin may change at run time.
CONTROL_FIELDS = (
    "name", "rate_window_seconds", "rate_limit_site", "rate_limit_token", "delay_after_percent", "delay_ms",
    "latency_ms", "latency_jitter_ms", "fault_rate", "fault_kinds", "slow_ms", "seed", "log_requests",
)


def site_create(*, kind: str, slug: str, name: str = "", **controls) -> SandboxSite:
    if kind not in SandboxSite.Kind.values:
        raise ApplicationError(f"Unknown sandbox kind {kind!r}; use one of {', '.join(SandboxSite.Kind.values)}.")
    if SandboxSite.objects.filter(slug=slug).exists():
        raise ApplicationError(f"A sandbox site named {slug!r} exists already.")
    try:
        options = adapter_for_kind(kind).default_site_options()
    except LookupError:
        options = {}
    site = SandboxSite(kind=kind, slug=slug, name=name or slug, options=options)
    _apply_controls(site, controls)
    site.full_clean()
    site.save()
    return site


def site_get_or_create(*, kind: str, slug: str, name: str = "") -> SandboxSite:
    site = SandboxSite.objects.filter(slug=slug).first()
    if site is None:
        return site_create(kind=kind, slug=slug, name=name)
    if site.kind != kind:
        raise ApplicationError(f"The sandbox site {slug!r} is a {site.kind} site, not {kind}.")
    return site


def _apply_controls(site: SandboxSite, controls: dict) -> None:
    unknown = set(controls) - set(CONTROL_FIELDS)
    if unknown:
        raise ApplicationError(f"Unknown control(s): {', '.join(sorted(unknown))}.", extra={"allowed": CONTROL_FIELDS})
    if "fault_rate" in controls:
        rate = controls["fault_rate"]
        if not isinstance(rate, int | float) or isinstance(rate, bool) or not 0 <= rate <= 1:
            raise ApplicationError("fault_rate must be a number between 0 and 1.")
    if "fault_kinds" in controls:
        kinds = controls["fault_kinds"]
        if not isinstance(kinds, list) or any(k not in SandboxSite.FAULT_KINDS for k in kinds):
            raise ApplicationError(f"fault_kinds must be a list drawn from {', '.join(SandboxSite.FAULT_KINDS)}.")
    if "delay_after_percent" in controls and not 0 <= int(controls["delay_after_percent"]) <= 100:
        raise ApplicationError("delay_after_percent must be between 0 and 100.")
    for key, value in controls.items():
        if key == "log_requests" and not isinstance(value, bool):
            raise ApplicationError("log_requests must be true or false.")
        if key == "name" and (not isinstance(value, str) or len(value) > 200):
            raise ApplicationError("name must be text of 200 characters at most.")
        if key in ("fault_rate", "fault_kinds", "name", "log_requests"):
            setattr(site, key, value)
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ApplicationError(f"{key} must be a whole number, 0 or more.")
        if key == "rate_window_seconds" and value < 1:
            raise ApplicationError("rate_window_seconds must be at least 1.")
        setattr(site, key, value)


@transaction.atomic
def site_controls_update(*, site: SandboxSite, controls: dict) -> SandboxSite:
    """Change budgets, latency, faults or the seed of a running site. A new seed restarts the sequence of
    faults from the beginning."""
    site = SandboxSite.objects.select_for_update().get(pk=site.pk)
    _apply_controls(site, controls)
    if "seed" in controls:
        site.request_seq = 0
    site.save()
    if any(k.startswith("rate_") for k in controls):
        SandboxRateWindow.objects.filter(site=site).delete()
    return site


def token_create(*, site: SandboxSite, name: str, scopes: list[str], principal: dict | None = None,
                 secret: str | None = None, expires_at=None) -> tuple[SandboxToken, str]:
    """A new credential; returns it with its secret, which is shown once and kept only as a hash. A known
    `secret` may be given for the demo and the tests."""
    secret = secret or secrets.token_urlsafe(39)
    if SandboxToken.objects.filter(token_hash=token_hash(secret)).exists():
        raise ApplicationError("That token secret is in use already.")
    token = SandboxToken.objects.create(
        site=site, name=name, token_hash=token_hash(secret), token_prefix=secret[:6],
        scopes=list(scopes), principal=principal or {}, expires_at=expires_at,
    )
    return token, secret


def site_seed(*, site: SandboxSite, items: int, seed: int = 1, **options) -> dict:
    if items < 0:
        raise ApplicationError("items must be 0 or more.")
    adapter = adapter_for_kind(site.kind)
    summary = adapter.seed(site, items=items, seed=seed, **options)
    SandboxSite.objects.filter(pk=site.pk).update(seeded_at=timezone.now(), seed_summary=summary)
    site.refresh_from_db()
    return summary


def site_import(*, site: SandboxSite, path) -> dict:
    adapter = adapter_for_kind(site.kind)
    summary = adapter.import_export(site, path)
    SandboxSite.objects.filter(pk=site.pk).update(seeded_at=timezone.now(), seed_summary=summary)
    site.refresh_from_db()
    return summary


@transaction.atomic
def site_reset(*, site: SandboxSite, keep_log: bool = False) -> None:
    """Empty the site: the vendor's data, the counters and (unless kept) the request log. The site's
    controls and tokens stay, so a reset demo still accepts the same credentials."""
    adapter_for_kind(site.kind).reset(site)
    SandboxRateWindow.objects.filter(site=site).delete()
    if not keep_log:
        SandboxRequest.objects.filter(site=site).delete()
    SandboxSite.objects.filter(pk=site.pk).update(seeded_at=None, seed_summary={}, request_seq=0)
    site.refresh_from_db()


def request_log_clear(*, site: SandboxSite) -> int:
    return SandboxRequest.objects.filter(site=site).delete()[0]
