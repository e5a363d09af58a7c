"""Azure DevOps plugged into the sandbox machinery: Basic auth with a PAT, PAT scopes, ADO's error body
and its rate-limit headers."""

import base64
import binascii

from django.urls import reverse

from apps.sandbox.machinery import VendorAdapter, VendorError, token_lookup
from apps.sandbox.machinery.vendor import json_response

# Each scope grants the ones listed after it (a "Full access" PAT grants everything).
SCOPE_IMPLIES = {
    "vso.work_full": {"vso.work_write", "vso.work"},
    "vso.work_write": {"vso.work"},
    "vso.project_manage": {"vso.project_write", "vso.project"},
    "vso.project_write": {"vso.project"},
    "vso.identity_manage": {"vso.identity"},
    "vso.graph_manage": {"vso.graph"},
}
FULL_ACCESS = "full"

ERROR_TYPES = {
    400: ("Microsoft.VisualStudio.Services.Common.VssServiceException, Microsoft.VisualStudio.Services.Common", "VssServiceException"),
    401: ("Microsoft.VisualStudio.Services.Common.VssUnauthorizedException, Microsoft.VisualStudio.Services.Common", "VssUnauthorizedException"),
    403: ("Microsoft.TeamFoundation.Framework.Server.UnauthorizedRequestException, Microsoft.TeamFoundation.Framework.Server", "UnauthorizedRequestException"),
    404: ("Microsoft.VisualStudio.Services.Common.VssResourceNotFoundException, Microsoft.VisualStudio.Services.Common", "VssResourceNotFoundException"),
    409: ("Microsoft.VisualStudio.Services.Common.VssServiceException, Microsoft.VisualStudio.Services.Common", "VssServiceException"),
    413: ("Microsoft.VisualStudio.Services.WebApi.VssRequestContentTooLargeException, Microsoft.VisualStudio.Services.WebApi", "VssRequestContentTooLargeException"),
    429: ("Microsoft.TeamFoundation.Framework.Server.RequestBlockedException, Microsoft.TeamFoundation.Framework.Server", "RequestBlockedException"),
    500: ("System.Exception, mscorlib", "Exception"),
    503: ("Microsoft.VisualStudio.Services.Common.VssServiceUnavailableException, Microsoft.VisualStudio.Services.Common", "VssServiceUnavailableException"),
}


def ado_error_body(status: int, message: str, *, type_key: str = "", type_name: str = "", event_id: int = 3000) -> dict:
    default_name, default_key = ERROR_TYPES.get(status, ERROR_TYPES[400])
    return {
        "$id": "1",
        "innerException": None,
        "message": message,
        "typeName": type_name or (f"Microsoft.VisualStudio.Services.Common.{type_key}, Microsoft.VisualStudio.Services.Common" if type_key else default_name),
        "typeKey": type_key or default_key,
        "errorCode": 0,
        "eventId": event_id,
    }


class AdoAdapter(VendorAdapter):
    kinds = ("ado",)
    url_prefix = "ado"
    urls_module = "apps.sandbox.ado.urls"
    label = "Azure DevOps"
    full_scopes = (FULL_ACCESS,)

    def authenticate(self, request, site):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "basic":
            try:
                decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                return None
            # ADO ignores the user name part of a PAT's Basic credential.
            return token_lookup(site, decoded.partition(":")[2])
        if scheme.lower() == "bearer":
            return token_lookup(site, value.strip())
        return None

    def token_has_scope(self, token, scope):
        if scope is None:
            return True
        granted = set(token.scopes or [])
        if FULL_ACCESS in granted or scope in granted:
            return True
        return any(scope in SCOPE_IMPLIES.get(g, ()) for g in granted)

    def unauthenticated_response(self, request, site):
        response = self.error_response(request, VendorError(
            401, "TF400813: The user '' is not authorized to access this resource. "
                 "Send a personal access token with Basic authentication.", type_key="VssUnauthorizedException"))
        response["WWW-Authenticate"] = 'Basic realm="https://dev.azure.com/"'
        return response

    def forbidden_response(self, request, site, scope):
        return self.error_response(request, VendorError(
            403, f"TF400813: The personal access token is not authorized to access this resource: it needs the scope {scope}.",
            type_key="UnauthorizedRequestException"))

    def error_response(self, request, error):
        body = ado_error_body(error.status, error.message, type_key=error.type_key)
        response = json_response(body, status=error.status)
        for key, value in error.headers.items():
            response[key] = value
        return response

    def not_found_site_response(self, request, slug):
        return self.error_response(request, VendorError(
            404, f"VS800075: The organization '{slug}' could not be found.", type_key="OrganizationNotFoundException"))

    def rate_limit_headers(self, decision):
        # ADO sends these once a request is being delayed or blocked, not on every response.
        if not decision.limited or not (decision.blocked or decision.delay_s):
            return {}
        return {
            "X-RateLimit-Resource": "Core" if decision.resource == "token" else "ATCPU",
            "X-RateLimit-Delay": f"{decision.delay_s:.3f}",
            "X-RateLimit-Limit": str(decision.limit),
            "X-RateLimit-Remaining": str(decision.remaining),
            "X-RateLimit-Reset": str(decision.reset_epoch),
        }

    def rate_limited_response(self, request, decision):
        namespace = "User" if decision.resource == "token" else "Organization"
        return self.error_response(request, VendorError(
            429,
            f"TF400733: The request has been canceled: Request was blocked due to exceeding usage of resource "
            f"'{'Core' if decision.resource == 'token' else 'ATCPU'}' in namespace '{namespace}'.",
            type_key="RequestBlockedException",
            headers={"Retry-After": str(decision.retry_after)},
        ))

    def default_site_options(self):
        # 130 MB is the service's limit for one attachment upload.
        return {"attachment_max_bytes": 130 * 1024 * 1024}

    def default_principal(self, site):
        return {"unique_name": "sandbox.admin@migrayt.local", "display_name": "Sandbox Admin"}

    def seed(self, site, *, items, seed, **options):
        from apps.sandbox.ado.seeding import ado_site_seed

        return ado_site_seed(site=site, items=items, seed=seed, **options)

    def import_export(self, site, path):
        from apps.sandbox.ado.importer import ado_export_import

        return ado_export_import(site=site, path=path)

    def reset(self, site):
        from apps.sandbox.ado.services import ado_site_reset

        ado_site_reset(site=site)

    def bench_plan(self, site, secret, *, seed):
        """What a migration's reads look like: a WIQL query now and then (2 %), 200-id batches, single items
        with relations, their updates and comments."""
        import random

        from apps.sandbox.ado.models import AdoWorkItem

        rng = random.Random(seed)
        ids = list(AdoWorkItem.objects.filter(site=site, is_deleted=False).values_list("item_id", flat=True))
        project = site.ado_projects.order_by("pk").first()
        headers = {"Authorization": "Basic " + base64.b64encode(f":{secret}".encode()).decode()}
        base = f"ado/{site.slug}"
        plan = []
        for n in range(500):
            item = rng.choice(ids)
            kind = n % 10
            if n % 50 == 0:
                plan.append(("POST", f"{base}/{project.name}/_apis/wit/wiql?api-version=7.1&$top=1000", {
                    "query": "SELECT [System.Id] FROM WorkItems WHERE [System.TeamProject] = @project "
                             "AND [System.State] <> 'Removed' ORDER BY [System.ChangedDate] DESC"}))
            elif kind == 1:
                start = rng.randrange(max(1, len(ids) - 200))
                plan.append(("POST", f"{base}/_apis/wit/workitemsbatch?api-version=7.1",
                             {"ids": ids[start:start + 200], "$expand": "relations"}))
            elif kind in (2, 3, 4):
                plan.append(("GET", f"{base}/_apis/wit/workitems/{item}?api-version=7.1&$expand=all", None))
            elif kind in (5, 6):
                plan.append(("GET", f"{base}/_apis/wit/workitems/{item}/updates?api-version=7.1", None))
            elif kind in (7, 8):
                plan.append(("GET", f"{base}/{project.name}/_apis/wit/workitems/{item}/comments?api-version=7.1-preview.4", None))
            else:
                plan.append(("GET", f"{base}/_apis/wit/workitems?ids={','.join(map(str, rng.sample(ids, min(50, len(ids)))))}&api-version=7.1", None))
        return headers, plan

    def page_url(self, site):
        return reverse("sandbox:ado:site_page", kwargs={"site": site.slug})


ado_adapter = AdoAdapter()
