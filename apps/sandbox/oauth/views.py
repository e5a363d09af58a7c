"""HTTP faces of the sandbox authorization servers.

Atlassian (https://auth.atlassian.com, https://api.atlassian.com):  atlassian/authorize,
atlassian/oauth/token, atlassian/oauth/revoke (RFC 7009; Atlassian's own is the "Connected apps" page),
atlassian/oauth/token/accessible-resources, atlassian/ex/jira/<cloud id>/... (the API gateway).
Microsoft Entra ID (https://login.microsoftonline.com): entra/<tenant>/oauth2/v2.0/authorize and /token,
entra/<tenant>/v2.0/.well-known/openid-configuration, entra/<tenant>/discovery/v2.0/keys.
Any OpenID Connect provider: oidc/<tenant>/.well-known/openid-configuration, authorize, token, jwks,
userinfo, revoke.  And grants/: the person's "Connected apps" page, where a grant is revoked.
"""

import base64
import json
from urllib.parse import urlencode

from django.http import HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import Resolver404, resolve
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from apps.sandbox.models import SandboxSite
from apps.sandbox.oauth import services
from apps.sandbox.oauth.models import Flavour, OAuthGrant
from apps.sandbox.oauth.services import OAuthError

SCOPE_WORDS = {
    "read:jira-work": "View Jira issue data: read project and issue data, search for issues, and objects "
                      "associated with issues like attachments and worklogs",
    "write:jira-work": "Create and manage issues: create and edit issues, comments, worklogs and attachments",
    "read:jira-user": "View user profiles: view user information in Jira that you have access to",
    "manage:jira-configuration": "Manage Jira global settings",
    "offline_access": "Keep access: use these permissions when you are not there (a refresh token)",
    "read:me": "View your profile",
    "vso.work_write": "Work items (read and write)",
    "vso.work": "Work items (read)",
    "vso.project": "Project and team (read)",
    "vso.identity": "Identity (read)",
    "openid": "Sign you in",
    "email": "View your e-mail address",
    "profile": "View your basic profile",
}


def _oauth_error(exc: OAuthError) -> JsonResponse:
    return JsonResponse({"error": exc.error, "error_description": exc.description}, status=exc.status)


def _base(request) -> str:
    return request.build_absolute_uri("/sandbox/oauth").rstrip("/")


def _issuer(request, flavour: str, tenant: str) -> str:
    if flavour == Flavour.ENTRA:
        return f"{_base(request)}/entra/{tenant}/v2.0"
    if flavour == Flavour.OIDC:
        return f"{_base(request)}/oidc/{tenant}"
    return f"{_base(request)}/atlassian"


def _redirect_with(uri: str, params: dict) -> HttpResponseRedirect:
    joiner = "&" if "?" in uri else "?"
    return HttpResponseRedirect(uri + joiner + urlencode({k: v for k, v in params.items() if v is not None}))


def _body(request) -> dict:
    if request.content_type == "application/json":
        try:
            data = json.loads(request.body or b"{}")
        except ValueError:
            return {}
        return {k: str(v) for k, v in data.items()} if isinstance(data, dict) else {}
    return request.POST.dict()


def _client_credentials(request, body: dict) -> tuple[str, str]:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if header.lower().startswith("basic "):
        try:
            client_id, _, secret = base64.b64decode(header[6:]).decode().partition(":")
            return client_id, secret
        except (ValueError, UnicodeDecodeError):
            return "", ""
    return body.get("client_id", ""), body.get("client_secret", "")


def _bearer(request) -> str:
    scheme, _, value = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else ""


# --- authorize (consent) ---------------------------------------------------------------------------------


def _sites_for(flavour: str, scopes: list[str]):
    if flavour == Flavour.ATLASSIAN:
        return SandboxSite.objects.filter(kind="jira_cloud").order_by("slug")
    if flavour == Flavour.ENTRA and any(s.startswith("vso.") for s in scopes):
        return SandboxSite.objects.filter(kind="ado").order_by("slug")
    return SandboxSite.objects.none()


def _subject(flavour: str, site, email: str, name: str) -> tuple[dict | None, str]:
    """Who consents: for Atlassian a person of the chosen Jira site, else anyone with an e-mail."""
    email = (email or "").strip().lower()
    if "@" not in email:
        return None, "Enter the e-mail address you sign in with."
    if flavour == Flavour.ATLASSIAN:
        from apps.sandbox.jira.models import JiraUser
        from apps.sandbox.jira.services import jira_principal, jira_site_bootstrap

        jira_site_bootstrap(site=site)
        user = JiraUser.objects.filter(site=site, email__iexact=email, active=True).first()
        if user is None:
            return None, f"{email} has no account on {site.slug}. Use the site admin, sandbox.admin@migrayt.local."
        return jira_principal(user=user) | {"sub": user.account_id}, ""
    subject = services.subject_for_email(email, name)
    if site is not None:  # Azure DevOps reads the person from the token's principal
        subject |= {"unique_name": email, "display_name": subject["name"]}
    return subject, ""


@require_http_methods(["GET", "POST"])
def authorize(request, flavour: str, tenant: str = ""):
    params = request.POST if request.method == "POST" else request.GET
    try:
        client = services.client_get(flavour=flavour, client_id=params.get("client_id", ""))
    except OAuthError as exc:
        return render(request, "sandbox_oauth/error.html", {"message": exc.description}, status=400)
    redirect_uri = params.get("redirect_uri", "")
    if not services.redirect_uri_allowed(client, redirect_uri):
        # Never redirect to an address the app did not register (an open redirector otherwise).
        return render(request, "sandbox_oauth/error.html",
                      {"message": "redirect_uri is not registered for this app."}, status=400)
    state = params.get("state", "")
    if params.get("response_type") != "code":
        return _redirect_with(redirect_uri, {"error": "unsupported_response_type", "state": state,
                                             "error_description": "Only response_type=code is supported."})
    if flavour == Flavour.ATLASSIAN and params.get("audience") != "api.atlassian.com":
        return _redirect_with(redirect_uri, {"error": "invalid_request", "state": state,
                                             "error_description": "audience must be api.atlassian.com."})
    try:
        scopes = services.scopes_requested(client, params.get("scope", ""))
    except OAuthError as exc:
        return _redirect_with(redirect_uri, {"error": exc.error, "error_description": exc.description, "state": state})
    sites = _sites_for(flavour, scopes)
    context = {"client": client, "flavour": flavour, "tenant": tenant, "scopes": [(s, SCOPE_WORDS.get(s, s)) for s in scopes],
               "sites": sites, "params": {k: params.get(k, "") for k in (
                   "client_id", "redirect_uri", "scope", "state", "response_type", "audience", "code_challenge",
                   "code_challenge_method", "nonce", "prompt")},
               "email": params.get("login_email", "sandbox.admin@migrayt.local" if flavour != Flavour.OIDC else ""),
               "name": params.get("login_name", ""), "error": ""}
    if request.method == "GET":
        return render(request, "sandbox_oauth/consent.html", context)
    if params.get("decision") != "accept":
        description = ("AADSTS65004: User declined to consent to access the app." if flavour == Flavour.ENTRA
                       else "The user declined access.")
        return _redirect_with(redirect_uri, {"error": "access_denied", "error_description": description, "state": state,
                                             **({"error_subcode": "cancel"} if flavour == Flavour.ENTRA else {})})
    site = None
    if sites.exists():
        site = sites.filter(slug=params.get("site", "")).first()
        if site is None:
            context["error"] = "Choose the site to give access to."
            return render(request, "sandbox_oauth/consent.html", context, status=400)
    subject, problem = _subject(flavour, site, params.get("login_email", ""), params.get("login_name", ""))
    if subject is None:
        context["error"] = problem
        return render(request, "sandbox_oauth/consent.html", context, status=400)
    try:
        code = services.consent_grant(client=client, subject=subject, scopes=scopes, redirect_uri=redirect_uri,
                                      site=site, tenant=tenant, code_challenge=params.get("code_challenge", ""),
                                      code_challenge_method=params.get("code_challenge_method", ""),
                                      nonce=params.get("nonce", ""))
    except OAuthError as exc:
        return _redirect_with(redirect_uri, {"error": exc.error, "error_description": exc.description, "state": state})
    return _redirect_with(redirect_uri, {"code": code, "state": state})


# --- token, revoke ---------------------------------------------------------------------------------------


@csrf_exempt
@require_POST
def token(request, flavour: str, tenant: str = ""):
    body = _body(request)
    client_id, client_secret = _client_credentials(request, body)
    try:
        client = services.client_authenticate(flavour=flavour, client_id=client_id, client_secret=client_secret)
        issuer = _issuer(request, flavour, tenant)
        grant_type = body.get("grant_type", "")
        if grant_type == "authorization_code":
            answer = services.code_exchange(client=client, code=body.get("code", ""), issuer=issuer,
                                            redirect_uri=body.get("redirect_uri", ""),
                                            code_verifier=body.get("code_verifier", ""))
        elif grant_type == "refresh_token":
            answer = services.refresh_exchange(client=client, refresh_token=body.get("refresh_token", ""), issuer=issuer)
        else:
            raise OAuthError("unsupported_grant_type", "grant_type must be authorization_code or refresh_token.")
    except OAuthError as exc:
        return _oauth_error(exc)
    response = JsonResponse(answer)
    response["Cache-Control"] = "no-store"
    return response


@csrf_exempt
@require_POST
def revoke(request, flavour: str, tenant: str = ""):
    body = _body(request)
    client_id, client_secret = _client_credentials(request, body)
    try:
        client = services.client_authenticate(flavour=flavour, client_id=client_id, client_secret=client_secret)
    except OAuthError as exc:
        return _oauth_error(exc)
    services.token_revoke(client=client, token=body.get("token", ""))
    return HttpResponse(status=200)


# --- Atlassian API ---------------------------------------------------------------------------------------


def _gateway_unauthorized() -> JsonResponse:
    return JsonResponse({"code": 401, "message": "Unauthorized"}, status=401)


def accessible_resources(request):
    grant = services.access_token_grant(_bearer(request))
    if grant is None or grant.client.flavour != Flavour.ATLASSIAN:
        return _gateway_unauthorized()
    site = grant.site
    return JsonResponse([{
        "id": services.cloud_id(site), "name": site.slug, "scopes": grant.scopes, "avatarUrl": "",
        "url": request.build_absolute_uri(f"/sandbox/jira/{site.slug}"),
    }], safe=False)


@csrf_exempt
def jira_gateway(request, cloud_id: str, rest: str):
    """api.atlassian.com/ex/jira/<cloud id>/...: checks the OAuth access token, then hands the request to the
    site with the same token as its credential (the site knows it: it is a SandboxToken of the grant)."""
    site = services.site_for_cloud_id(cloud_id)
    if site is None:
        return JsonResponse({"code": 404, "message": "Not Found: no site with this cloud id."}, status=404)
    secret = _bearer(request)
    grant = services.access_token_grant(secret)
    if grant is None or grant.site_id != site.pk:
        return _gateway_unauthorized()
    path = f"/sandbox/jira/{site.slug}/{rest}"
    try:
        match = resolve(path)
    except Resolver404:
        return JsonResponse({"code": 404, "message": "Not Found"}, status=404)
    credential = base64.b64encode(f"{grant.subject.get('email', '')}:{secret}".encode()).decode()
    request.META["HTTP_AUTHORIZATION"] = f"Basic {credential}"
    request.path_info = request.path = path
    return match.func(request, *match.args, **match.kwargs)


# --- OpenID Connect ----------------------------------------------------------------------------------------


def openid_configuration(request, flavour: str, tenant: str):
    issuer = _issuer(request, flavour, tenant)
    if flavour == Flavour.ENTRA:
        root = f"{_base(request)}/entra/{tenant}"
        endpoints = {"authorization_endpoint": f"{root}/oauth2/v2.0/authorize",
                     "token_endpoint": f"{root}/oauth2/v2.0/token", "jwks_uri": f"{root}/discovery/v2.0/keys",
                     "userinfo_endpoint": f"{root}/oidc/userinfo"}
    else:
        endpoints = {"authorization_endpoint": f"{issuer}/authorize", "token_endpoint": f"{issuer}/token",
                     "jwks_uri": f"{issuer}/jwks", "userinfo_endpoint": f"{issuer}/userinfo",
                     "revocation_endpoint": f"{issuer}/revoke"}
    return JsonResponse({
        "issuer": issuer, **endpoints, "response_types_supported": ["code"],
        "subject_types_supported": ["public"], "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": list(services.OIDC_SCOPES), "grant_types_supported": ["authorization_code", "refresh_token"],
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        "code_challenge_methods_supported": ["S256"], "claims_supported": ["sub", "email", "email_verified", "name"],
    })


def jwks(request, flavour: str = "", tenant: str = ""):
    return JsonResponse(services.jwks())


def userinfo(request, flavour: str, tenant: str):
    grant = services.access_token_grant(_bearer(request))
    if grant is None or "openid" not in grant.scopes:
        response = JsonResponse({"error": "invalid_token"}, status=401)
        response["WWW-Authenticate"] = 'Bearer error="invalid_token"'
        return response
    subject = grant.subject
    return JsonResponse({"sub": subject["sub"], "email": subject.get("email", ""), "name": subject.get("name", ""),
                         "email_verified": True})


# --- the person's "Connected apps" page ----------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def grants(request):
    if request.method == "POST":
        grant = get_object_or_404(OAuthGrant, pk=request.POST.get("grant"))
        services.grant_revoke(grant=grant)
        return redirect("sandbox_oauth:grants")
    rows = OAuthGrant.objects.select_related("client", "site").order_by("-id")[:100]
    return render(request, "sandbox_oauth/grants.html", {"grants": rows})
