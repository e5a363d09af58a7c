"""The authorization servers' rules: registered clients, consent, codes with PKCE, rotating refresh
tokens, revocation, OIDC id tokens. Errors are `OAuthError(error, description)`, rendered as RFC 6749
JSON (`{"error", "error_description"}`) by the views."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import uuid
from datetime import timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.sandbox.models import SandboxSite, SandboxToken, token_hash
from apps.sandbox.oauth.models import (
    Flavour,
    OAuthAccessToken,
    OAuthClient,
    OAuthCode,
    OAuthGrant,
    OAuthRefreshToken,
    OAuthSigningKey,
)

ACCESS_TOKEN_SECONDS = 3600
CODE_SECONDS = 600
REFRESH_IDLE_DAYS = 90  # Atlassian and Entra both retire a refresh token unused this long
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}
ATLASSIAN_SCOPES = ("read:jira-work", "write:jira-work", "read:jira-user", "manage:jira-configuration",
                    "offline_access", "read:me")
ADO_RESOURCE = "499b84ac-1321-427f-aa17-267ca6975798"
# What Migrayt's own Entra app registration lists as Azure DevOps delegated permissions in the sandbox.
ENTRA_ADO_SCOPES = ["vso.work_write", "vso.project", "vso.identity"]
OIDC_SCOPES = ("openid", "email", "profile", "offline_access")
DEPLOYMENT_CALLBACKS = ["/connections/oauth/callback/"]


class OAuthError(Exception):
    def __init__(self, error: str, description: str, status: int = 400):
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status


def _hash(secret: str) -> str:
    return token_hash(secret)


# --- clients -----------------------------------------------------------------------------------------


def client_register(*, flavour: str, client_id: str, secret: str, redirect_uris: list[str], scopes: list[str],
                    name: str = "Migrayt") -> OAuthClient:
    client, _ = OAuthClient.objects.update_or_create(
        client_id=client_id,
        defaults={"flavour": flavour, "secret_hash": _hash(secret), "redirect_uris": list(redirect_uris),
                  "scopes": list(scopes), "name": name},
    )
    return client


def _deployment_client(client_id: str) -> OAuthClient | None:
    """This deployment's own Atlassian and Entra apps (MIGRAYT_ATLASSIAN_CLIENT_ID / MIGRAYT_ENTRA_CLIENT_ID,
    set to sandbox values in development) are registered on first use, as if in the vendors' consoles."""
    for flavour, cid, secret, scopes in (
        (Flavour.ATLASSIAN, settings.ATLASSIAN_CLIENT_ID, settings.ATLASSIAN_CLIENT_SECRET, list(ATLASSIAN_SCOPES)),
        (Flavour.ENTRA, settings.ENTRA_CLIENT_ID, settings.ENTRA_CLIENT_SECRET, ENTRA_ADO_SCOPES),
    ):
        if cid and secret and client_id == cid:
            return client_register(flavour=flavour, client_id=cid, secret=secret, redirect_uris=DEPLOYMENT_CALLBACKS,
                                   scopes=scopes)
    return None


def client_get(*, flavour: str, client_id: str) -> OAuthClient:
    client = OAuthClient.objects.filter(client_id=client_id, flavour=flavour).first() or _deployment_client(client_id)
    if client is None or client.flavour != flavour:
        raise OAuthError("invalid_client", "Unknown client_id: no app is registered with this id.", 401)
    return client


def client_authenticate(*, flavour: str, client_id: str, client_secret: str) -> OAuthClient:
    client = client_get(flavour=flavour, client_id=client_id)
    if not client_secret or not hmac.compare_digest(client.secret_hash, _hash(client_secret)):
        raise OAuthError("invalid_client", "Client authentication failed: the client secret is wrong.", 401)
    return client


def redirect_uri_allowed(client: OAuthClient, uri: str) -> bool:
    parts = urlsplit(uri)
    if parts.scheme not in ("http", "https") or parts.fragment:
        return False
    for allowed in client.redirect_uris:
        if allowed.startswith("/"):
            if parts.path == allowed and (parts.hostname or "") in LOOPBACK_HOSTS:
                return True
        elif uri == allowed:
            return True
    return False


def scopes_requested(client: OAuthClient, scope: str) -> list[str]:
    """The requested scopes the app may have, in order. Entra's `<resource>/.default` means the scopes the
    app registration lists; unknown scopes are an error, as the vendors answer."""
    requested = [s for s in (scope or "").split() if s]
    if not requested:
        raise OAuthError("invalid_scope", "No scope was requested.")
    granted = []
    for item in requested:
        if client.flavour == Flavour.ENTRA:
            if item == f"{ADO_RESOURCE}/.default":
                granted += client.scopes
                continue
            if item in ("offline_access", "openid", "profile", "email"):
                granted.append(item)
                continue
            raise OAuthError("invalid_scope", f"AADSTS70011: The provided value for the input parameter 'scope' is "
                             f"not valid. The scope {item} is not valid.")
        if item not in client.scopes:
            raise OAuthError("invalid_scope", f"The scope {item} is not allowed for this app.")
        granted.append(item)
    return list(dict.fromkeys(granted))


# --- consent and codes --------------------------------------------------------------------------------


def cloud_id(site: SandboxSite) -> str:
    """The Atlassian cloud id of a sandbox Jira Cloud site: stable, derived from its slug."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"migrayt-sandbox-jira:{site.slug}"))


def site_for_cloud_id(value: str) -> SandboxSite | None:
    for site in SandboxSite.objects.filter(kind="jira_cloud"):
        if cloud_id(site) == value:
            return site
    return None


@transaction.atomic
def consent_grant(*, client: OAuthClient, subject: dict, scopes: list[str], redirect_uri: str, site=None,
                  tenant: str = "", code_challenge: str = "", code_challenge_method: str = "",
                  nonce: str = "") -> str:
    """A person said yes: record the grant and return a one-time authorization code."""
    if code_challenge_method and code_challenge_method not in ("S256", "plain"):
        raise OAuthError("invalid_request", "code_challenge_method must be S256.")
    grant = OAuthGrant.objects.create(client=client, subject=subject, site=site, tenant=tenant,
                                      scopes=[s for s in scopes if s != "offline_access"],
                                      offline="offline_access" in scopes)
    code = secrets.token_urlsafe(32)
    OAuthCode.objects.create(grant=grant, code_hash=_hash(code), redirect_uri=redirect_uri,
                             code_challenge=code_challenge, code_challenge_method=code_challenge_method,
                             nonce=nonce, expires_at=timezone.now() + timedelta(seconds=CODE_SECONDS))
    return code


def _pkce_ok(code: OAuthCode, verifier: str) -> bool:
    if not code.code_challenge:
        return True
    if not verifier:
        return False
    if code.code_challenge_method == "plain":
        return hmac.compare_digest(code.code_challenge, verifier)
    digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return hmac.compare_digest(code.code_challenge, digest)


@transaction.atomic
def code_exchange(*, client: OAuthClient, code: str, redirect_uri: str, code_verifier: str, issuer: str = "") -> dict:
    row = OAuthCode.objects.select_for_update().select_related("grant").filter(code_hash=_hash(code or "")).first()
    if row is None or row.grant.client_id != client.pk:
        raise OAuthError("invalid_grant", "The authorization code is unknown or was issued to another app.", 403)
    if row.used_at is not None:
        # RFC 6749 10.5: a code used twice revokes what it gave.
        grant_revoke(grant=row.grant)
        raise OAuthError("invalid_grant", "The authorization code was used already; the tokens it gave are revoked.", 403)
    if row.expires_at <= timezone.now():
        raise OAuthError("invalid_grant", "The authorization code has expired.", 403)
    if row.redirect_uri != redirect_uri:
        raise OAuthError("invalid_grant", "redirect_uri does not match the one the code was issued for.", 403)
    if not _pkce_ok(row, code_verifier):
        raise OAuthError("invalid_grant", "PKCE verification failed: the code_verifier does not match the "
                         "code_challenge.", 403)
    row.used_at = timezone.now()
    row.save(update_fields=["used_at"])
    if row.grant.revoked_at:
        raise OAuthError("invalid_grant", "The grant was revoked.", 403)
    return _issue(row.grant, nonce=row.nonce, issuer=issuer)


@transaction.atomic
def refresh_exchange(*, client: OAuthClient, refresh_token: str, issuer: str = "") -> dict:
    row = (OAuthRefreshToken.objects.select_for_update().select_related("grant")
           .filter(token_hash=_hash(refresh_token or "")).first())
    flavour = client.flavour
    if row is None or row.grant.client_id != client.pk:
        raise OAuthError("invalid_grant", "Unknown or invalid refresh token.", 403 if flavour == Flavour.ATLASSIAN else 400)
    grant = row.grant
    if grant.revoked_at:
        description = ("AADSTS50173: The provided grant has expired due to it being revoked, a fresh auth token is "
                       "needed." if flavour == Flavour.ENTRA else "The refresh token was revoked: the grant was revoked.")
        raise OAuthError("invalid_grant", description, 403 if flavour == Flavour.ATLASSIAN else 400)
    if row.expires_at <= timezone.now():
        description = (f"AADSTS700082: The refresh token has expired due to inactivity. The token was inactive for "
                       f"{REFRESH_IDLE_DAYS}.00:00:00." if flavour == Flavour.ENTRA
                       else "The refresh token has expired due to inactivity.")
        raise OAuthError("invalid_grant", description, 403 if flavour == Flavour.ATLASSIAN else 400)
    if row.rotated_at is not None:
        raise OAuthError("invalid_grant", "Unknown or invalid refresh token (it was rotated already).",
                         403 if flavour == Flavour.ATLASSIAN else 400)
    row.rotated_at = timezone.now()
    row.save(update_fields=["rotated_at"])
    return _issue(grant, nonce="", issuer=issuer, with_id_token=False)


def _issue(grant: OAuthGrant, *, nonce: str, issuer: str, with_id_token: bool = True) -> dict:
    access = secrets.token_urlsafe(40)
    expires_at = timezone.now() + timedelta(seconds=ACCESS_TOKEN_SECONDS)
    sandbox_token = None
    if grant.site is not None:
        sandbox_token = SandboxToken.objects.create(
            site=grant.site, name=f"OAuth grant {grant.pk} ({grant.client.client_id})", token_hash=_hash(access),
            token_prefix=access[:6], scopes=list(grant.scopes), principal=grant.subject, expires_at=expires_at,
        )
    OAuthAccessToken.objects.create(grant=grant, token_hash=_hash(access), sandbox_token=sandbox_token,
                                    expires_at=expires_at)
    answer = {"access_token": access, "token_type": "Bearer", "expires_in": ACCESS_TOKEN_SECONDS,
              "scope": " ".join(grant.scopes + (["offline_access"] if grant.offline else []))}
    if grant.offline:
        refresh = secrets.token_urlsafe(48)
        OAuthRefreshToken.objects.create(grant=grant, token_hash=_hash(refresh),
                                         expires_at=timezone.now() + timedelta(days=REFRESH_IDLE_DAYS))
        answer["refresh_token"] = refresh
    if with_id_token and "openid" in grant.scopes:
        answer["id_token"] = id_token_sign(grant=grant, nonce=nonce, issuer=issuer)
    return answer


def access_token_grant(secret: str) -> OAuthGrant | None:
    """The live grant behind an access token, or None when it is unknown, expired or revoked."""
    row = OAuthAccessToken.objects.select_related("grant", "grant__client").filter(token_hash=_hash(secret or "")).first()
    if row is None or row.expires_at <= timezone.now() or row.grant.revoked_at:
        return None
    return row.grant


# --- revocation and test controls -------------------------------------------------------------------


@transaction.atomic
def grant_revoke(*, grant: OAuthGrant) -> None:
    """What a person does under "Connected apps" (or RFC 7009 revocation does): every token of the grant
    stops working at once."""
    now = timezone.now()
    OAuthGrant.objects.filter(pk=grant.pk, revoked_at__isnull=True).update(revoked_at=now)
    SandboxToken.objects.filter(pk__in=grant.access_tokens.exclude(sandbox_token=None).values("sandbox_token")).update(
        is_active=False)
    grant.refresh_from_db()


def token_revoke(*, client: OAuthClient, token: str) -> None:
    """RFC 7009: revoking an access or refresh token revokes its grant; an unknown token is not an error."""
    digest = _hash(token or "")
    row = (OAuthRefreshToken.objects.filter(token_hash=digest, grant__client=client).select_related("grant").first()
           or OAuthAccessToken.objects.filter(token_hash=digest, grant__client=client).select_related("grant").first())
    if row is not None:
        grant_revoke(grant=row.grant)


def grant_expire_refresh(*, grant: OAuthGrant) -> None:
    """Test control: the grant's refresh tokens have sat unused past their idle lifetime."""
    grant.refresh_tokens.update(expires_at=timezone.now() - timedelta(seconds=1))


def grant_expire_access(*, grant: OAuthGrant) -> None:
    """Test control: the grant's access tokens have reached their hour."""
    past = timezone.now() - timedelta(seconds=1)
    grant.access_tokens.update(expires_at=past)
    SandboxToken.objects.filter(pk__in=grant.access_tokens.exclude(sandbox_token=None).values("sandbox_token")).update(
        expires_at=past)


# --- id tokens ------------------------------------------------------------------------------------


def signing_key() -> OAuthSigningKey:
    key = OAuthSigningKey.objects.order_by("-id").first()
    if key is None:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()).decode()
        key = OAuthSigningKey.objects.create(kid=uuid.uuid4().hex[:16], private_pem=pem)
    return key


def jwks() -> dict:
    from joserfc.jwk import RSAKey

    key = signing_key()
    public = RSAKey.import_key(key.private_pem).as_dict(private=False)
    return {"keys": [public | {"kid": key.kid, "use": "sig", "alg": "RS256"}]}


def id_token_sign(*, grant: OAuthGrant, nonce: str, issuer: str) -> str:
    from joserfc import jwt
    from joserfc.jwk import RSAKey

    key = signing_key()
    now = int(timezone.now().timestamp())
    subject = grant.subject
    claims = {"iss": issuer, "sub": subject["sub"], "aud": grant.client.client_id, "iat": now, "nbf": now,
              "exp": now + ACCESS_TOKEN_SECONDS, "email": subject.get("email", ""), "name": subject.get("name", "")}
    if "email" in grant.scopes or grant.client.flavour == Flavour.OIDC:
        claims["email_verified"] = bool(subject.get("email_verified", True))
    if grant.client.flavour == Flavour.ENTRA:
        claims |= {"tid": grant.tenant, "oid": subject["sub"], "preferred_username": subject.get("email", ""), "ver": "2.0"}
    if nonce:
        claims["nonce"] = nonce
    return jwt.encode({"alg": "RS256", "kid": key.kid}, claims, RSAKey.import_key(key.private_pem))


def subject_for_email(email: str, name: str = "") -> dict:
    """A stable `sub` for a sandbox person: the same e-mail signs in as the same subject."""
    email = email.strip().lower()
    return {"sub": str(uuid.uuid5(uuid.NAMESPACE_URL, f"migrayt-sandbox-person:{email}")), "email": email,
            "name": name or email.split("@")[0]}
