"""Jira plugged into the sandbox machinery, both kinds of site:

- Jira Cloud (`jira_cloud`): Basic auth with an e-mail and an API token (the token's principal names the
  e-mail), the `X-AAccountId` header on every answer, scoped tokens answered 401 "scope does not match",
  and Cloud's rate-limit headers (`X-RateLimit-Limit/-Remaining/-Reset/-NearLimit`, `RateLimit-Reason`,
  `Retry-After` on 429).
- Jira Data Center 9.x (`jira_dc`): personal access tokens as `Authorization: Bearer`, and its token
  bucket headers (`X-RateLimit-Limit/-Remaining/-Interval-Seconds/-FillRate`).

Both answer errors as `{"errorMessages": [...], "errors": {...}}`.
"""

import base64
import binascii
from datetime import UTC, datetime

from django.urls import reverse

from apps.sandbox.machinery import VendorAdapter, VendorError, token_lookup
from apps.sandbox.machinery.vendor import json_response

SCOPE_READ = "read:jira-work"
SCOPE_WRITE = "write:jira-work"
SCOPE_USER = "read:jira-user"
SCOPE_MANAGE = "manage:jira-configuration"
FULL_SCOPES = (SCOPE_READ, SCOPE_WRITE, SCOPE_USER, SCOPE_MANAGE)
READ_WRITE = {"GET": SCOPE_READ, "*": SCOPE_WRITE}

# Cloud sends X-RateLimit-NearLimit once less than this share of the budget is left.
NEAR_LIMIT_SHARE = 0.2


def jira_error(status: int, message: str = "", errors: dict | None = None, headers: dict | None = None) -> VendorError:
    """An answer in Jira's error shape: `message` goes to errorMessages, `errors` names fields."""
    return VendorError(status, message, extra=errors or {}, headers=headers)


def jira_error_body(message: str, errors: dict | None = None) -> dict:
    return {"errorMessages": [message] if message else [], "errors": errors or {}}


def jira_datetime(value: datetime | None) -> str | None:
    """Jira's timestamp form: 2024-01-15T10:30:00.000+0000."""
    if value is None:
        return None
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}+0000"


def respond(request, data, *, status: int = 200):
    response = json_response(data, status=status)
    _identify(request, response)
    return response


def respond_empty(request, *, status: int = 204):
    from django.http import HttpResponse

    response = HttpResponse(status=status)
    _identify(request, response)
    return response


def _identify(request, response):
    """Who Jira says answered: Cloud names the account (X-AAccountId), Data Center the user name."""
    account_id = getattr(request, "jira_account_id", None)
    if account_id:
        response["X-AAccountId"] = account_id
    username = getattr(request, "jira_username", None)
    if username:
        response["X-AUSERNAME"] = username


class JiraAdapter(VendorAdapter):
    kinds = ("jira_cloud", "jira_dc")
    url_prefix = "jira"
    urls_module = "apps.sandbox.jira.urls"
    label = "Jira"
    full_scopes = FULL_SCOPES

    # --- auth -------------------------------------------------------------------------------------
    def authenticate(self, request, site):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        scheme, _, value = header.partition(" ")
        if site.kind == "jira_dc":
            if scheme.lower() != "bearer":
                return None
            token = token_lookup(site, value.strip())
        else:
            if scheme.lower() != "basic":
                return None
            try:
                decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                return None
            email, _, secret = decoded.partition(":")
            token = token_lookup(site, secret)
            # An API token works only with the e-mail of its owner.
            if token is not None and email.strip().lower() != str(token.principal.get("email", "")).lower():
                return None
        if token is None:
            return None
        request.jira_account_id = token.principal.get("accountId") if site.kind == "jira_cloud" else None
        request.jira_username = token.principal.get("name") if site.kind == "jira_dc" else None
        request.jira_site_kind = site.kind
        return token

    def token_has_scope(self, token, scope):
        return scope is None or scope in (token.scopes or [])

    def unauthenticated_response(self, request, site):
        supplied = bool(request.META.get("HTTP_AUTHORIZATION"))
        message = ("Client must be authenticated to access this resource." if supplied
                   else "You are not authenticated. Authentication required to perform this operation.")
        response = json_response(jira_error_body(message), status=401)
        if supplied:
            response["X-Seraph-LoginReason"] = "AUTHENTICATED_FAILED"
        response["WWW-Authenticate"] = ('Bearer realm="Jira"' if site.kind == "jira_dc"
                                        else 'Basic realm="protected-area"')
        return response

    def forbidden_response(self, request, site, scope):
        if site.kind == "jira_cloud":
            # What Jira Cloud answers a scoped API token that lacks the operation's scope.
            response = json_response({"code": 401, "message": "Unauthorized; scope does not match"}, status=401)
        else:
            response = json_response(jira_error_body(
                f"You do not have the permission required for this operation ({scope})."), status=403)
        _identify(request, response)
        return response

    # --- errors -----------------------------------------------------------------------------------
    def error_response(self, request, error):
        response = json_response(jira_error_body(error.message, error.extra), status=error.status)
        for key, value in error.headers.items():
            response[key] = value
        _identify(request, response)
        return response

    def not_found_site_response(self, request, slug):
        return json_response(jira_error_body(f"Site {slug!r} does not exist."), status=404)

    # --- rate limiting ----------------------------------------------------------------------------
    def rate_limit_headers_for(self, site, decision):
        if site.kind == "jira_dc":
            return DcHeaders.for_decision(site, decision)
        return self.rate_limit_headers(decision)

    def rate_limit_headers(self, decision):
        if not decision.limited:
            return {}
        # Jira Cloud's reset is an ISO 8601 minute.
        reset = datetime.fromtimestamp(decision.reset_epoch, UTC).strftime("%Y-%m-%dT%H:%MZ")
        headers = {
            "X-RateLimit-Limit": str(decision.limit),
            "X-RateLimit-Remaining": str(decision.remaining),
            "X-RateLimit-Reset": reset,
        }
        if decision.remaining < decision.limit * NEAR_LIMIT_SHARE:
            headers["X-RateLimit-NearLimit"] = "true"
        return headers

    def rate_limited_response(self, request, decision):
        headers = {"Retry-After": str(decision.retry_after)}
        if getattr(request, "jira_site_kind", "jira_cloud") == "jira_cloud":
            headers["RateLimit-Reason"] = "jira-burst-based" if decision.resource == "token" else "jira-quota-tenant-based"
        return self.error_response(request, jira_error(429, "Rate limit exceeded.", headers=headers))

    # --- seeding ----------------------------------------------------------------------------------
    def default_site_options(self):
        return {
            "attachment_max_bytes": 10 * 1024 * 1024,
            # Jira Cloud's per-issue write limit; 0 turns it off (the default, like the site budgets).
            "per_issue_write_limit": 0,
            "per_issue_write_window_seconds": 2,
        }

    def default_principal(self, site):
        from apps.sandbox.jira.services import jira_principal, jira_site_admin

        return jira_principal(user=jira_site_admin(site=site))

    def seed(self, site, *, items, seed, **options):
        from apps.sandbox.jira.seeding import jira_site_seed

        return jira_site_seed(site=site, items=items, seed=seed, **options)

    def import_export(self, site, path):
        from apps.sandbox.jira.importer import jira_export_import

        return jira_export_import(site=site, path=path)

    def reset(self, site):
        from apps.sandbox.jira.services import jira_site_reset

        jira_site_reset(site=site)

    def bench_plan(self, site, secret, *, seed):
        """What a migration's reads of Jira look like: search/jql pages of ids now and then, bulk fetches of
        100 issues, single issues with their changelog, changelog and comment pages, bulk changelogs."""
        import random

        from apps.sandbox.jira.models import JiraIssue

        rng = random.Random(seed)
        rows = list(JiraIssue.objects.filter(site=site).values_list("pk", "key"))
        project = site.jira_projects.order_by("pk").first()
        cloud = site.kind == "jira_cloud"
        if cloud:
            principal = self.default_principal(site)
            headers = {"Authorization": "Basic " + base64.b64encode(f"{principal['email']}:{secret}".encode()).decode()}
        else:
            headers = {"Authorization": f"Bearer {secret}"}
        api = f"jira/{site.slug}/rest/api/{'3' if cloud else '2'}"
        plan = []
        for n in range(500):
            pk, key = rng.choice(rows)
            kind = n % 10
            if n % 50 == 0:
                if cloud:
                    plan.append(("POST", f"{api}/search/jql", {"jql": f"project = {project.key} ORDER BY key", "maxResults": 5000}))
                else:
                    plan.append(("GET", f"{api}/search?jql=project%20%3D%20{project.key}&maxResults=100&fields=summary,status", None))
            elif kind == 1 and cloud:
                start = rng.randrange(max(1, len(rows) - 100))
                plan.append(("POST", f"{api}/issue/bulkfetch", {"issueIdsOrKeys": [k for _, k in rows[start:start + 100]],
                                                               "fields": ["*navigable"]}))
            elif kind == 2 and cloud:
                start = rng.randrange(max(1, len(rows) - 50))
                plan.append(("POST", f"{api}/changelog/bulkfetch", {"issueIdsOrKeys": [str(p) for p, _ in rows[start:start + 50]]}))
            elif kind in (3, 4, 5):
                plan.append(("GET", f"{api}/issue/{pk}?expand=changelog" if not cloud else f"{api}/issue/{pk}", None))
            elif kind in (6, 7) and cloud:
                plan.append(("GET", f"{api}/issue/{pk}/changelog", None))
            else:
                plan.append(("GET", f"{api}/issue/{pk}/comment", None))
        return headers, plan

    def page_url(self, site):
        return reverse("sandbox:jira:site_page", kwargs={"site": site.slug})


class DcHeaders:
    """Data Center's rate-limit headers (a token bucket refilled every interval)."""

    @staticmethod
    def for_decision(site, decision) -> dict:
        if not decision.limited:
            return {}
        return {
            "X-RateLimit-Limit": str(decision.limit),
            "X-RateLimit-Remaining": str(decision.remaining),
            "X-RateLimit-Interval-Seconds": str(site.rate_window_seconds),
            "X-RateLimit-FillRate": str(decision.limit),
        }


jira_adapter = JiraAdapter()
