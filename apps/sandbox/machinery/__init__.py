"""The machinery every sandbox vendor shares. How a vendor plugs in:

1. **Adapter.** Subclass `VendorAdapter` (machinery/vendor.py) and register one instance from your app's
   `AppConfig.ready()` with `register_vendor(adapter)`. Set `kinds` (the `SandboxSite.Kind` values you
   serve, e.g. `("jira_cloud", "jira_dc")`), `url_prefix` (`"ado"` -> `/sandbox/ado/<site>/...`) and
   `urls_module` (your urlpatterns; every pattern takes the site slug as the `site` URL kwarg).
2. **Auth hook.** `authenticate(request, site) -> SandboxToken | None` reads the vendor's credential shape
   (ADO: Basic with a PAT as password; Jira Cloud: Basic e-mail:API token; Jira DC: Bearer PAT) and calls
   `token_lookup(site, secret)`. Return None for "no or bad credential" (the pipeline answers 401).
   `token_has_scope(token, scope)` decides 403; the default checks `scope in token.scopes`, and a vendor
   may widen it (ADO: `vso.work_full` implies `vso.work_write` implies `vso.work`).
3. **Rate-limit policy.** The pipeline counts requests per site and per token (fixed windows, budgets on
   the site) and hands a `RateDecision` to `rate_limit_headers(decision)` (headers for every response:
   ADO sends `X-RateLimit-*` once a request is delayed) and `rate_limited_response(request, decision)`
   (the 429 body and headers, with `Retry-After`).
4. **Error body shape.** Views raise `VendorError(status, message, code=..., type_key=...)`;
   `error_response(request, error)` renders it the vendor's way (ADO: `$id`, `innerException`, `message`,
   `typeName`, `typeKey`, `errorCode`, `eventId`; Jira: `errorMessages` / `errors`).
5. **Endpoints.** Decorate each view with `adapter.endpoint(name="...", scope="...")`. The view is called
   as `view(request, ctx, **url_kwargs)` where `ctx` is a `SandboxContext` (site, token). `scope` is one
   scope or a dict per HTTP method (`{"GET": "read", "*": "write"}`). The pipeline
   does, in order: site lookup (404), request number and seeded generator, auth (401/403), rate limit
   (delay or 429), latency, fault injection (500/503, a dropped connection, a slow answer), the view,
   the request log.
6. **Seed registry.** `seed(site, items=..., seed=..., **options)`, `import_export(site, path)` and
   `reset(site)` back the `sandbox_seed` and `sandbox_reset` commands, the bench and the control API.
   `seed` must be idempotent per site only through `reset` (the command's `--if-empty` checks
   `site.seeded_at`). `bench_plan(site, secret, seed=...)` gives bench/sandbox.py the requests to time.
7. **Read-only page.** `page_url(site)` names the vendor's read-only page (projects, items, one item with
   fields, comments, links, attachments, history); the sandbox index links to it.

Faults, latency and budgets are columns of `SandboxSite`, changed at run time through the Django admin or
the control API (`/sandbox/control/sites/<slug>/`, staff only). The request log is `SandboxRequest`;
`request_log_summary(site)` gives counts and bytes per endpoint and status.
"""

from apps.sandbox.machinery.pipeline import SandboxContext
from apps.sandbox.machinery.ratelimit import RateDecision
from apps.sandbox.machinery.vendor import (
    VendorAdapter,
    VendorError,
    adapter_for_kind,
    register_vendor,
    registered_adapters,
    token_lookup,
)

__all__ = [
    "RateDecision",
    "SandboxContext",
    "VendorAdapter",
    "VendorError",
    "adapter_for_kind",
    "register_vendor",
    "registered_adapters",
    "token_lookup",
]
