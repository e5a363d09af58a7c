"""SSO sign-in with OpenID Connect, per organisation.

Libraries: **Authlib** (its httpx OAuth 2 client builds the authorization URL with PKCE and exchanges the
code) and **joserfc** (Authlib's JOSE library: the ID token's RS256 signature against the provider's JWKS
and the iss / aud / exp / nonce claims). Every request to the provider (discovery, JWKS, token) goes
through the connectors' SSRF guard, so an organisation cannot point SSO at an internal address.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.accounts.models import Membership, Organisation
from apps.connections.connectors import ssrf
from apps.connections.connectors.errors import ConnectorError
from apps.connections.connectors.http import HttpClient
from apps.connections.secret_store import SecretStoreUnavailable, SecretUnreadable, secret_read, secret_save
from apps.connections.services import connection_ssrf_policy
from apps.core.exceptions import ApplicationError
from apps.core.services import audit_record
from apps.sso.models import SsoIdentity, SsoProvider

logger = logging.getLogger(__name__)
User = get_user_model()
SCOPES = "openid email profile"
ANY_STATUS = tuple(range(200, 600))


@dataclass(frozen=True)
class Discovery:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str


def sso_issuer_for(*, kind: str, issuer: str = "", tenant: str = "") -> str:
    """Entra ID's issuer is made from the directory (tenant) id; any other provider's is typed in."""
    if kind == SsoProvider.Kind.ENTRA:
        tenant = (tenant or "").strip()
        if not tenant or tenant in ("common", "organizations", "consumers") or "/" in tenant:
            raise ApplicationError("Give your Microsoft Entra directory (tenant) id, for example "
                                   "72f988bf-86f1-41af-91ab-2d7cd011db47.", extra={"field": "tenant"})
        return f"{settings.ENTRA_AUTHORITY.rstrip('/')}/{tenant}/v2.0"
    issuer = (issuer or "").strip().rstrip("/")
    if not issuer:
        raise ApplicationError("Give the provider's issuer address.", extra={"field": "issuer"})
    return issuer


def _http(url: str) -> HttpClient:
    parts = urlsplit(url)
    return HttpClient(base_url=f"{parts.scheme}://{parts.netloc}", policy=connection_ssrf_policy(),
                      timeout=httpx.Timeout(10.0, connect=5.0), max_attempts=2, max_retry_after=5.0)


def _get_json(url: str, what: str) -> dict:
    try:
        ssrf.url_check(url, connection_ssrf_policy(), resolve_host=False)
        with _http(url) as http:
            response = http.request("GET", url, accept=ANY_STATUS, endpoint=what)
    except ConnectorError as exc:
        raise ApplicationError(f"The identity provider's {what} could not be read: {exc.message}",
                               extra={"field": "issuer", "code": exc.code}) from None
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.status_code != 200 or not isinstance(body, dict):
        raise ApplicationError(f"The identity provider's {what} is not there (HTTP {response.status_code}). Check "
                               "the issuer address.", extra={"field": "issuer"})
    return body


def sso_discover(issuer: str) -> Discovery:
    body = _get_json(f"{issuer}/.well-known/openid-configuration", "OpenID configuration")
    if str(body.get("issuer", "")).rstrip("/") != issuer.rstrip("/"):
        raise ApplicationError("The provider's OpenID configuration names another issuer "
                               f"({str(body.get('issuer'))[:200]}); use exactly that address.", extra={"field": "issuer"})
    try:
        return Discovery(issuer=body["issuer"], authorization_endpoint=body["authorization_endpoint"],
                         token_endpoint=body["token_endpoint"], jwks_uri=body["jwks_uri"])
    except KeyError as exc:
        raise ApplicationError(f"The provider's OpenID configuration lacks {exc.args[0]}.", extra={"field": "issuer"}) from None


def _clean_domains(text) -> list[str]:
    items = text if isinstance(text, list) else str(text or "").replace(",", " ").split()
    domains = []
    for item in items:
        domain = item.strip().lower().lstrip("@")
        if domain and ("." not in domain or "/" in domain or " " in domain):
            raise ApplicationError(f"{item!r} is not an e-mail domain (like example.com).", extra={"field": "email_domains"})
        if domain:
            domains.append(domain)
    return sorted(set(domains))


@transaction.atomic
def sso_provider_save(*, organisation, actor, kind: str, client_id: str, client_secret: str = "", issuer: str = "",
                      tenant: str = "", email_domains=None, auto_join: bool = False, enabled: bool = True) -> SsoProvider:
    """Set up (or change) the organisation's provider. The discovery document is read first, so a wrong
    address is refused now rather than at someone's sign-in. A blank secret keeps the stored one."""
    if kind not in SsoProvider.Kind.values:
        raise ApplicationError(f"Unknown kind of provider {kind!r}.", extra={"field": "kind"})
    issuer = sso_issuer_for(kind=kind, issuer=issuer, tenant=tenant)
    sso_discover(issuer)
    client_id = (client_id or "").strip()
    if not client_id:
        raise ApplicationError("Give the client (application) id.", extra={"field": "client_id"})
    provider = SsoProvider.objects.for_organisation(organisation).first() or SsoProvider(organisation=organisation)
    client_secret = (client_secret or "").strip()
    if not client_secret and not provider.client_secret_ref:
        raise ApplicationError("Give the client secret.", extra={"field": "client_secret"})
    if client_secret:
        try:
            provider.client_secret_ref = secret_save(value=client_secret, label=f"org-{organisation.pk}/sso-client-secret",
                                                     reference=provider.client_secret_ref)
        except SecretStoreUnavailable as exc:
            raise ApplicationError(str(exc), extra={"field": "client_secret"}) from None
    provider.kind, provider.issuer, provider.client_id = kind, issuer, client_id
    provider.email_domains = _clean_domains(email_domains or [])
    provider.auto_join, provider.enabled, provider.updated_at = auto_join, enabled, timezone.now()
    provider.save()
    audit_record(organisation=organisation, actor=actor, actor_kind="user", action="sso.configured", target=provider,
                 data={"kind": kind, "issuer": issuer, "enabled": enabled, "auto_join": auto_join,
                       "secret_changed": bool(client_secret)})
    return provider


def sso_provider_for(*, organisation_slug: str = "", email: str = "") -> SsoProvider | None:
    """The enabled provider of an organisation named by its slug, or of the one whose domains hold the e-mail."""
    qs = SsoProvider.unscoped.select_related("organisation").filter(enabled=True)
    if organisation_slug:
        return qs.filter(organisation__slug=organisation_slug.strip().lower()).first()
    domain = email.strip().lower().rpartition("@")[2]
    if domain:
        for provider in qs:
            if domain in provider.email_domains:
                return provider
    return None


def _authorization_url(provider: SsoProvider, endpoint: str, redirect_uri: str, *, state: str, nonce: str,
                       verifier: str) -> str:
    from authlib.oauth2.rfc6749.parameters import prepare_grant_uri
    from authlib.oauth2.rfc7636 import create_s256_code_challenge

    return prepare_grant_uri(endpoint, client_id=provider.client_id, response_type="code", redirect_uri=redirect_uri,
                             scope=SCOPES, state=state, nonce=nonce, code_challenge=create_s256_code_challenge(verifier),
                             code_challenge_method="S256")


def _token_exchange(provider: SsoProvider, discovery: Discovery, *, code: str, redirect_uri: str, verifier: str) -> dict:
    """The code for tokens, through the SSRF-guarded client (Authlib's own client runs on another HTTP
    library, which the guard does not cover)."""
    body = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
            "client_id": provider.client_id, "client_secret": secret_read(provider.client_secret_ref),
            "code_verifier": verifier}
    with _http(discovery.token_endpoint) as http:
        response = http.request("POST", discovery.token_endpoint, data=body, accept=ANY_STATUS, endpoint="token")
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if response.status_code != 200 or not isinstance(answer, dict) or "error" in answer:
        error = answer.get("error", "") if isinstance(answer, dict) else ""
        raise ApplicationError("Your identity provider did not accept the sign-in code (it expired or was used"
                               f"{': ' + str(error)[:60] if error else ''}). Start again.", extra={"code": "token_refused"})
    return answer


def sso_login_start(*, provider: SsoProvider, redirect_uri: str) -> tuple[str, dict]:
    """The provider's authorization URL and what the session must keep until the person comes back."""
    discovery = sso_discover(provider.issuer)
    state, nonce, verifier = secrets.token_urlsafe(32), secrets.token_urlsafe(32), secrets.token_urlsafe(64)
    url = _authorization_url(provider, discovery.authorization_endpoint, redirect_uri, state=state, nonce=nonce,
                             verifier=verifier)
    return url, {"provider_id": provider.pk, "state": state, "nonce": nonce, "verifier": verifier,
                 "redirect_uri": redirect_uri, "started": timezone.now().timestamp()}


def _validate_id_token(provider: SsoProvider, discovery: Discovery, id_token: str, nonce: str) -> dict:
    from joserfc import jwt
    from joserfc.errors import JoseError
    from joserfc.jwk import KeySet

    keys = KeySet.import_key_set(_get_json(discovery.jwks_uri, "signing keys"))
    try:
        token = jwt.decode(id_token, keys, algorithms=["RS256", "ES256", "PS256"])
        jwt.JWTClaimsRegistry(
            iss={"essential": True, "value": provider.issuer}, aud={"essential": True, "value": provider.client_id},
            sub={"essential": True}, exp={"essential": True}, nonce={"essential": True, "value": nonce},
            leeway=60,
        ).validate(token.claims)
    except (JoseError, ValueError) as exc:
        logger.warning("sso: an ID token was refused (%s)", type(exc).__name__)
        raise ApplicationError("The identity provider's answer could not be verified (its signature or claims are "
                               "wrong), so you were not signed in. Try again; if it keeps happening, ask your "
                               "administrator to check the single sign-on settings.", extra={"code": "bad_id_token"}) from None
    return token.claims


def _sso_user(provider: SsoProvider, claims: dict):
    """The person to sign in, linking or (with auto_join) adding them; an ApplicationError says why not."""
    organisation: Organisation = provider.organisation
    identity = SsoIdentity.unscoped.select_related("user").filter(issuer=provider.issuer, subject=claims["sub"]).first()
    if identity is not None:
        user = identity.user
    else:
        email = str(claims.get("email") or claims.get("preferred_username") or "").strip().lower()
        if "@" not in email:
            raise ApplicationError("Your identity provider did not tell us your e-mail address, so we cannot tell who "
                                   "you are here. Ask your administrator to release the email claim.")
        if provider.kind == SsoProvider.Kind.OIDC and claims.get("email_verified") is False:
            raise ApplicationError("Your identity provider says your e-mail address is not verified. Verify it there "
                                   "first.")
        domain = email.rpartition("@")[2]
        if provider.email_domains and domain not in provider.email_domains:
            raise ApplicationError(f"{organisation.name} signs in people at {', '.join(provider.email_domains)} this "
                                   f"way; {email} is not one of them.")
        user = User.objects.filter(email__iexact=email).first()
        member = user is not None and Membership.objects.for_organisation(organisation).filter(user=user).exists()
        if not member and not provider.auto_join:
            raise ApplicationError(f"You signed in at your identity provider as {email}, but you are not a member of "
                                   f"{organisation.name} in Migrayt. Ask one of its admins to add you.")
        if user is None:
            user = User.objects.create_user(email=email, password=None, full_name=str(claims.get("name") or "")[:150])
        try:
            with transaction.atomic():
                SsoIdentity.objects.create(organisation=organisation, user=user, issuer=provider.issuer,
                                           subject=claims["sub"])
        except IntegrityError:
            pass  # the same person signing in twice at once
        identity = SsoIdentity.unscoped.get(issuer=provider.issuer, subject=claims["sub"])
    if not user.is_active:
        raise ApplicationError("This Migrayt account is deactivated.")
    # An organisation's identity provider vouches for people of that organisation only. A session is the whole
    # account, so an account that also works in other organisations (or staff) signs in with its password:
    # otherwise whoever runs this provider could sign in as that person everywhere.
    if user.is_staff or user.is_superuser:
        raise ApplicationError("Staff accounts sign in with their password, not single sign-on.")
    if Membership.unscoped.filter(user=user).exclude(organisation=organisation).exists():
        raise ApplicationError(f"Your Migrayt account also belongs to other organisations, so it signs in with its "
                               f"password; single sign-on of {organisation.name} is for accounts used only there.")
    if not Membership.objects.for_organisation(organisation).filter(user=user).exists():
        if not provider.auto_join:
            raise ApplicationError(f"You are no longer a member of {organisation.name} in Migrayt. Ask one of its "
                                   "admins to add you again.")
        membership = Membership.objects.create(organisation=organisation, user=user, role=Membership.Role.MEMBER)
        audit_record(organisation=organisation, actor=user, actor_kind="system", action="membership.added",
                     target=membership, data={"role": membership.role, "user_id": user.pk, "via": "sso"})
    SsoIdentity.unscoped.filter(pk=identity.pk).update(last_login_at=timezone.now())
    return user


def sso_login_finish(*, pending: dict | None, params: dict):
    """Check the provider's answer against what the session kept; returns (user, organisation)."""
    if not pending or pending.get("state") != params.get("state") or not params.get("state"):
        raise ApplicationError("This sign-in link is unknown, was used already, or was opened in another browser. "
                               "Start again.", extra={"code": "unknown_state"})
    if timezone.now().timestamp() - float(pending.get("started", 0)) > 600:
        raise ApplicationError("This sign-in took longer than ten minutes. Start again.", extra={"code": "expired"})
    provider = SsoProvider.unscoped.select_related("organisation").filter(pk=pending["provider_id"], enabled=True).first()
    if provider is None:
        raise ApplicationError("Single sign-on has been turned off for this organisation. Sign in with your password.")
    if params.get("error"):
        if params["error"] == "access_denied":
            raise ApplicationError("You cancelled the sign-in at your identity provider, so you were not signed in.",
                                   extra={"code": "access_denied"})
        raise ApplicationError(f"Your identity provider refused the sign-in ({params['error']}: "
                               f"{params.get('error_description', '')[:200]}).", extra={"code": params["error"][:40]})
    discovery = sso_discover(provider.issuer)
    try:
        token = _token_exchange(provider, discovery, code=params.get("code", ""), redirect_uri=pending["redirect_uri"],
                                verifier=pending["verifier"])
    except SecretUnreadable as exc:
        raise ApplicationError(f"Single sign-on's client secret cannot be read: {exc}") from None
    except ConnectorError as exc:
        raise ApplicationError(f"Your identity provider could not be reached: {exc.message}") from None
    if not token.get("id_token"):
        raise ApplicationError("Your identity provider answered without an ID token; it may not be an OpenID Connect "
                               "provider.")
    claims = _validate_id_token(provider, discovery, token["id_token"], pending["nonce"])
    user = _sso_user(provider, claims)
    audit_record(organisation=provider.organisation, actor=user, actor_kind="user", action="sso.login", target=provider,
                 data={"issuer": provider.issuer})
    return user, provider.organisation
