"""The vendor contract (see the package docstring) and the registry of vendors."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from django.http import HttpResponse
from django.utils import timezone

from apps.sandbox.models import SandboxSite, SandboxToken, token_hash

if TYPE_CHECKING:
    from apps.sandbox.machinery.ratelimit import RateDecision


class VendorError(Exception):
    """An answer in the vendor's error shape. `code` is the vendor's own (ADO: `VS403474`)."""

    def __init__(self, status: int, message: str, *, code: str = "", type_key: str = "", extra=None,
                 headers: dict | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.type_key = type_key
        self.extra = extra or {}
        self.headers = headers or {}


class VendorAdapter:
    kinds: tuple[str, ...] = ()
    url_prefix: str = ""
    urls_module: str | None = None
    label: str = ""

    # --- auth -------------------------------------------------------------------------------------
    def authenticate(self, request, site: SandboxSite) -> SandboxToken | None:
        raise NotImplementedError

    def token_has_scope(self, token: SandboxToken, scope: str | None) -> bool:
        return scope is None or scope in (token.scopes or [])

    def unauthenticated_response(self, request, site) -> HttpResponse:
        return self.error_response(request, VendorError(401, "Authentication is required."))

    def forbidden_response(self, request, site, scope: str) -> HttpResponse:
        return self.error_response(request, VendorError(403, f"The token lacks the scope {scope}."))

    # --- errors -----------------------------------------------------------------------------------
    def error_response(self, request, error: VendorError) -> HttpResponse:
        response = json_response({"message": error.message, "code": error.code}, status=error.status)
        for key, value in error.headers.items():
            response[key] = value
        return response

    def not_found_site_response(self, request, slug: str) -> HttpResponse:
        return self.error_response(request, VendorError(404, f"No sandbox site named {slug!r}."))

    # --- rate limiting ----------------------------------------------------------------------------
    def rate_limit_headers(self, decision: RateDecision) -> dict:
        return {}

    def rate_limit_headers_for(self, site: SandboxSite, decision: RateDecision) -> dict:
        """What the pipeline calls: a vendor serving several kinds of site (Jira Cloud and Data Center
        send different headers) overrides this; the default is `rate_limit_headers(decision)`."""
        return self.rate_limit_headers(decision)

    def rate_limited_response(self, request, decision: RateDecision) -> HttpResponse:
        return self.error_response(
            request,
            VendorError(429, "Too many requests.", headers={"Retry-After": str(decision.retry_after)}),
        )

    # --- seeding ----------------------------------------------------------------------------------
    def seed(self, site: SandboxSite, *, items: int, seed: int, **options) -> dict:
        raise NotImplementedError(f"{self.label or self.kinds} has no seeder yet.")

    def import_export(self, site: SandboxSite, path) -> dict:
        raise NotImplementedError(f"{self.label or self.kinds} cannot import exports yet.")

    def reset(self, site: SandboxSite) -> None:
        """Delete the vendor's data of the site (the site, its settings and tokens stay)."""
        raise NotImplementedError

    def default_site_options(self) -> dict:
        return {}

    def bench_plan(self, site: SandboxSite, secret: str, *, seed: int) -> tuple[dict, list[tuple[str, str, object]]]:
        """For bench/sandbox.py: the headers that authenticate with `secret`, and a list of typical read
        requests `(method, path below /sandbox/, JSON body or None)` against a seeded site."""
        raise NotImplementedError(f"{self.label or self.kinds} has no benchmark plan yet.")

    # --- read-only page ---------------------------------------------------------------------------
    def page_url(self, site: SandboxSite) -> str | None:
        return None

    # --- endpoints --------------------------------------------------------------------------------
    def endpoint(self, *, name: str, scope: str | None = None, auth: bool = True):
        from apps.sandbox.machinery.pipeline import sandbox_endpoint

        return sandbox_endpoint(self, name=name, scope=scope, auth=auth)


def json_response(data, *, status: int = 200, content_type: str = "application/json; charset=utf-8"):
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return HttpResponse(body, status=status, content_type=content_type)


_REGISTRY: dict[str, VendorAdapter] = {}


def register_vendor(adapter: VendorAdapter) -> None:
    for kind in adapter.kinds:
        if kind not in SandboxSite.Kind.values:
            raise ValueError(f"Unknown sandbox kind {kind!r}; add it to SandboxSite.Kind first.")
        _REGISTRY[kind] = adapter


def adapter_for_kind(kind: str) -> VendorAdapter:
    try:
        return _REGISTRY[kind]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY)) or "none"
        raise LookupError(f"No sandbox vendor is registered for {kind!r} (registered: {known}).") from None


def registered_adapters() -> list[VendorAdapter]:
    seen, out = set(), []
    for adapter in _REGISTRY.values():
        if id(adapter) not in seen:
            seen.add(id(adapter))
            out.append(adapter)
    return out


def token_lookup(site: SandboxSite, secret: str) -> SandboxToken | None:
    """The active, unexpired token of `site` whose secret this is."""
    if not secret:
        return None
    token = SandboxToken.objects.filter(site=site, token_hash=token_hash(secret), is_active=True).first()
    if token is None or (token.expires_at and token.expires_at <= timezone.now()):
        return None
    return token
