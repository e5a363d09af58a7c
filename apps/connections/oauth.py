"""OAuth 2.0 connections, beside tokens.

* **Jira Cloud through Atlassian OAuth 2.0 (3LO)**: authorization code with PKCE (S256) and `state`; the
  accessible-resources call lists the sites the person gave access to and they pick one; API calls go
  through Atlassian's gateway with the site's cloud id (`https://api.atlassian.com/ex/jira/<cloud id>/rest/
  api/3/...`); refresh tokens rotate (each refresh returns a new one, and the old one stops working).
* **Azure DevOps through Microsoft Entra ID**: authorization code with PKCE, the Azure DevOps resource
  scope `499b84ac-1321-427f-aa17-267ca6975798/.default` plus `offline_access`; the access token goes to
  `https://dev.azure.com/<organisation>` as a Bearer token; refresh tokens rotate too.

Access and refresh tokens live only in the secret store (secret_store.py); the models keep references.
A refresh happens under a row lock, so two workers never spend the same rotating refresh token. When the
provider refuses a refresh (expired, revoked) the connection is marked and every user of it gets
`OAuthAuthorisationLost`, a `SecretUnreadable` with the reason in plain words and how to fix it.

The provider addresses and Migrayt's client ids and secrets come from settings (MIGRAYT_ATLASSIAN_*,
MIGRAYT_ENTRA_*); with the sandbox on they default to the sandbox's authorization servers.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import secrets
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import urlencode, urlsplit

import httpx
from django.conf import settings
from django.db import connection as db_connection
from django.db import transaction
from django.utils import timezone

from apps.connections.connectors.base import CheckStatus, ConnectionConfig, ConnectionKind
from apps.connections.connectors.errors import ConnectorError
from apps.connections.connectors.http import HttpClient
from apps.connections.crypto import secret_decrypt, secret_encrypt
from apps.connections.models import Connection, OAuthAuthorisation, OAuthCredential, OAuthProvider
from apps.connections.secret_store import (
    SecretStoreUnavailable,
    SecretUnreadable,
    secret_delete,
    secret_read,
    secret_save,
)
from apps.core.exceptions import ApplicationError
from apps.core.services import audit_record

logger = logging.getLogger(__name__)

ADO_RESOURCE = "499b84ac-1321-427f-aa17-267ca6975798"
# Least privilege: read and write issues and comments, read people (to map them); offline_access for a
# refresh token. No manage:jira-configuration: Migrayt never changes a site's configuration.
ATLASSIAN_SCOPES = ("read:jira-work", "write:jira-work", "read:jira-user", "offline_access")
# Entra's `.default` asks for the Azure DevOps permissions listed on Migrayt's app registration: Work items
# (read and write) vso.work_write, Project and team (read) vso.project, Identity (read) vso.identity.
ENTRA_SCOPES = (f"{ADO_RESOURCE}/.default", "offline_access")
AUTHORISATION_SECONDS = 600
REFRESH_MARGIN = timedelta(seconds=120)
ANY_STATUS = tuple(range(200, 600))


@dataclass(frozen=True)
class Provider:
    key: str
    label: str  # "Atlassian", "Microsoft"
    kind: ConnectionKind
    client_id: str
    client_secret: str = field(repr=False)
    authorize_url: str
    token_url: str
    scopes: tuple[str, ...]
    resources_url: str = ""
    api_url: str = ""


def oauth_provider(key: str) -> Provider:
    """The provider's addresses and Migrayt's app registration, or an ApplicationError when the operator has
    not registered Migrayt with it."""
    if key == OAuthProvider.ATLASSIAN:
        if not (settings.ATLASSIAN_CLIENT_ID and settings.ATLASSIAN_CLIENT_SECRET):
            raise ApplicationError("Signing in with Atlassian is not set up on this server (the operator sets "
                                   "MIGRAYT_ATLASSIAN_CLIENT_ID and MIGRAYT_ATLASSIAN_CLIENT_SECRET). Use an API "
                                   "token instead.", extra={"code": "oauth_not_configured"})
        auth, api = settings.ATLASSIAN_AUTH_URL.rstrip("/"), settings.ATLASSIAN_API_URL.rstrip("/")
        return Provider(key=key, label="Atlassian", kind=ConnectionKind.JIRA_CLOUD,
                        client_id=settings.ATLASSIAN_CLIENT_ID, client_secret=settings.ATLASSIAN_CLIENT_SECRET,
                        authorize_url=f"{auth}/authorize", token_url=f"{auth}/oauth/token", scopes=ATLASSIAN_SCOPES,
                        resources_url=f"{api}/oauth/token/accessible-resources", api_url=api)
    if key == OAuthProvider.ENTRA:
        if not (settings.ENTRA_CLIENT_ID and settings.ENTRA_CLIENT_SECRET):
            raise ApplicationError("Signing in with Microsoft is not set up on this server (the operator sets "
                                   "MIGRAYT_ENTRA_CLIENT_ID and MIGRAYT_ENTRA_CLIENT_SECRET). Use a personal access "
                                   "token instead.", extra={"code": "oauth_not_configured"})
        root = f"{settings.ENTRA_AUTHORITY.rstrip('/')}/{settings.ENTRA_TENANT}/oauth2/v2.0"
        return Provider(key=key, label="Microsoft", kind=ConnectionKind.AZURE_DEVOPS,
                        client_id=settings.ENTRA_CLIENT_ID, client_secret=settings.ENTRA_CLIENT_SECRET,
                        authorize_url=f"{root}/authorize", token_url=f"{root}/token", scopes=ENTRA_SCOPES)
    raise ApplicationError(f"Unknown sign-in provider {key!r}.", extra={"allowed": list(OAuthProvider.values)})


class OAuthAuthorisationLost(SecretUnreadable):
    """The provider no longer accepts the connection's refresh token. `status` is a CheckStatus."""

    def __init__(self, status: CheckStatus, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _pkce_challenge(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def _http(url: str) -> HttpClient:
    from apps.connections.services import connection_ssrf_policy

    parts = urlsplit(url)
    return HttpClient(base_url=f"{parts.scheme}://{parts.netloc}", policy=connection_ssrf_policy(),
                      timeout=httpx.Timeout(15.0, connect=5.0), max_attempts=2, max_retry_after=5.0)


def _label(organisation) -> str:
    return f"org-{organisation.pk}/oauth"


def _save_secret(organisation, value: str, reference: str = "") -> str:
    try:
        return secret_save(value=value, label=_label(organisation), reference=reference)
    except SecretStoreUnavailable as exc:
        raise ApplicationError(str(exc)) from None


# --- starting a sign-in --------------------------------------------------------------------------------


def oauth_start(*, organisation, user, provider: str, name: str = "", base_url: str = "", redirect_uri: str,
                connection: Connection | None = None) -> str:
    """Record a sign-in in progress and return the provider's authorization URL to send the person to.
    `connection` signs an existing OAuth connection in again (after an expiry or a revocation)."""
    from apps.connections.services import _clean_base_url

    config = oauth_provider(provider)
    if connection is not None:
        if not connection.is_oauth or connection.oauth.provider != provider:
            raise ApplicationError("This connection does not sign in with this provider.")
        name, base_url = connection.name, connection.base_url
    else:
        name = (name or "").strip()
        if not name:
            raise ApplicationError("Give the connection a name.", extra={"field": "name"})
        if Connection.objects.for_organisation(organisation).filter(name=name).exists():
            raise ApplicationError("There is already a connection with this name. Choose another name.",
                                   extra={"field": "name"})
        if config.kind == ConnectionKind.AZURE_DEVOPS:
            if not (base_url or "").strip():
                raise ApplicationError("Enter the address of the Azure DevOps organisation "
                                       "(https://dev.azure.com/<organisation>).", extra={"field": "base_url"})
            base_url = _clean_base_url(base_url)
        else:
            base_url = ""
    oauth_authorisations_purge(organisation=organisation)
    state, verifier = secrets.token_urlsafe(32), secrets.token_urlsafe(64)
    OAuthAuthorisation.objects.create(
        organisation=organisation, provider=provider, state_hash=_hash(state),
        code_verifier_ref=secret_encrypt(verifier), user=user, name=name, base_url=base_url,
        redirect_uri=redirect_uri, connection=connection,
        expires_at=timezone.now() + timedelta(seconds=AUTHORISATION_SECONDS),
    )
    params = {"client_id": config.client_id, "response_type": "code", "redirect_uri": redirect_uri,
              "scope": " ".join(config.scopes), "state": state, "code_challenge": _pkce_challenge(verifier),
              "code_challenge_method": "S256"}
    if provider == OAuthProvider.ATLASSIAN:
        params |= {"audience": "api.atlassian.com", "prompt": "consent"}
    else:
        params |= {"response_mode": "query", "prompt": "select_account"}
    return f"{config.authorize_url}?{urlencode(params)}"


def oauth_authorisations_purge(*, organisation) -> int:
    """Forget sign-ins that expired (an hour after they started), with any tokens a person never used (an
    Atlassian site never picked, an exchange that failed half-way)."""
    old = OAuthAuthorisation.objects.for_organisation(organisation).filter(
        expires_at__lt=timezone.now() - timedelta(hours=1))
    for row in old:
        for reference in (row.access_token_ref, row.refresh_token_ref):
            if reference:
                secret_delete(reference)
    return old.delete()[0]


# --- the provider sends the person back -------------------------------------------------------------------


@dataclass
class CallbackOutcome:
    connection: Connection | None = None
    authorisation: OAuthAuthorisation | None = None  # Atlassian gave several sites: the person picks one


def _token_request(config: Provider, data: dict) -> dict:
    """POST to the token endpoint; the answer, or an OAuthRefused with the provider's error code."""
    body = {"client_id": config.client_id, "client_secret": config.client_secret, **data}
    try:
        with _http(config.token_url) as http:
            if config.key == OAuthProvider.ATLASSIAN:  # Atlassian documents a JSON body
                response = http.request("POST", config.token_url, json=body, accept=ANY_STATUS, endpoint="oauth/token")
            else:
                response = http.request("POST", config.token_url, data=body, accept=ANY_STATUS, endpoint="oauth2/token")
    except ConnectorError as exc:
        raise OAuthRefused("unreachable", f"{config.label}'s sign-in service could not be reached: {exc.message}") from None
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        raise OAuthRefused("server_error", f"{config.label}'s sign-in service answered with something that is not "
                           f"OAuth (HTTP {response.status_code}). Try again in a few minutes.")
    if response.status_code >= 400 or "error" in answer:
        raise OAuthRefused(str(answer.get("error") or "error"), str(answer.get("error_description") or "")[:300])
    if not answer.get("access_token"):
        raise OAuthRefused("server_error", f"{config.label} answered without an access token.")
    return answer


class OAuthRefused(Exception):
    def __init__(self, error: str, description: str):
        super().__init__(description)
        self.error = error
        self.description = description


def _authorisation_for_state(*, user, state: str) -> OAuthAuthorisation:
    row = OAuthAuthorisation.unscoped.select_related("organisation").filter(state_hash=_hash(state or "")).first()
    # Another person's sign-in is answered exactly as an unknown one.
    if row is None or row.user_id != user.pk:
        raise ApplicationError("This sign-in link is unknown or belongs to someone else. Start again from "
                               "Connections → New connection.", extra={"code": "unknown_state"})
    if row.completed_at is not None:
        raise ApplicationError("This sign-in was finished already (the link was used twice). Start again if the "
                               "connection is missing.", extra={"code": "state_used"})
    if row.expires_at <= timezone.now():
        raise ApplicationError("This sign-in took longer than ten minutes and has expired. Start again.",
                               extra={"code": "state_expired"})
    return row


def _denied_message(config: Provider, error: str, description: str) -> str:
    if error == "access_denied" or "AADSTS65004" in description:
        return (f"You declined the access Migrayt asked for in {config.label}, so no connection was made. To "
                "connect, start again and choose Accept; Migrayt asks only for the permissions listed there.")
    if error == "invalid_scope":
        return (f"{config.label} refused the permissions Migrayt asked for ({description or error}). The operator "
                "must add them to Migrayt's app registration.")
    if error in ("unauthorized_client", "invalid_client"):
        return (f"{config.label} does not recognise Migrayt's app registration ({error}). The operator must check "
                "the client id and secret.")
    return f"{config.label} did not complete the sign-in ({error}{': ' + description if description else ''})."


def oauth_callback(*, user, params: dict) -> CallbackOutcome:
    """Finish a sign-in from the provider's redirect (`code` and `state`, or `error`)."""
    authorisation = _authorisation_for_state(user=user, state=params.get("state", ""))
    config = oauth_provider(authorisation.provider)
    authorisation.completed_at = timezone.now()  # single use, whatever happens next
    authorisation.save(update_fields=["completed_at"])
    if params.get("error"):
        raise ApplicationError(_denied_message(config, params["error"], params.get("error_description", "")),
                               extra={"code": params["error"][:40]})
    if not params.get("code"):
        raise ApplicationError(f"{config.label} sent you back without a sign-in code. Start again.",
                               extra={"code": "no_code"})
    try:
        answer = _token_request(config, {"grant_type": "authorization_code", "code": params["code"],
                                         "redirect_uri": authorisation.redirect_uri,
                                         "code_verifier": secret_decrypt(authorisation.code_verifier_ref)})
    except OAuthRefused as exc:
        message = (f"{config.label} refused the sign-in code: it expired or was used already. Start again."
                   if exc.error == "invalid_grant" else _denied_message(config, exc.error, exc.description))
        raise ApplicationError(message, extra={"code": exc.error[:40]}) from None
    if not answer.get("refresh_token"):
        raise ApplicationError(f"{config.label} gave no refresh token (offline_access was not granted), so the "
                               "connection would stop working within the hour. Start again and accept all the "
                               "listed permissions.", extra={"code": "no_refresh_token"})
    organisation = authorisation.organisation
    authorisation.access_token_ref = _save_secret(organisation, answer["access_token"])
    authorisation.refresh_token_ref = _save_secret(organisation, answer["refresh_token"])
    authorisation.access_expires_at = timezone.now() + timedelta(seconds=int(answer.get("expires_in") or 3600))
    authorisation.scopes = str(answer.get("scope") or " ".join(config.scopes)).split()
    if config.key == OAuthProvider.ATLASSIAN:
        authorisation.resources = _accessible_resources(config, answer["access_token"])
        authorisation.save()
        if authorisation.connection is not None:
            cloud = authorisation.connection.oauth.cloud_id
            if not any(r["id"] == cloud for r in authorisation.resources):
                raise ApplicationError("The Atlassian account you signed in with has no access to this connection's "
                                       "site. Sign in with an account of that site.", extra={"code": "site_missing"})
            return CallbackOutcome(connection=oauth_site_choose(authorisation=authorisation, user=user, cloud_id=cloud))
        if len(authorisation.resources) == 1:
            return CallbackOutcome(connection=oauth_site_choose(authorisation=authorisation, user=user,
                                                                cloud_id=authorisation.resources[0]["id"]))
        return CallbackOutcome(authorisation=authorisation)
    authorisation.save()
    return CallbackOutcome(connection=_connection_save(authorisation, base_url=authorisation.base_url, cloud_id="",
                                                       api_base_url="", account=""))


def _accessible_resources(config: Provider, access_token: str) -> list[dict]:
    try:
        with _http(config.resources_url) as http:
            response = http.request("GET", config.resources_url, headers={"Authorization": f"Bearer {access_token}"},
                                    accept=ANY_STATUS, endpoint="oauth/token/accessible-resources")
    except ConnectorError as exc:
        raise ApplicationError(f"Atlassian could not be reached to list your sites: {exc.message}") from None
    body = response.json() if response.status_code == 200 else None
    if not isinstance(body, list):
        raise ApplicationError(f"Atlassian did not list the sites you gave access to (HTTP {response.status_code}). "
                               "Start again.", extra={"code": "resources_failed"})
    sites = [{"id": str(r.get("id", "")), "url": str(r.get("url", "")), "name": str(r.get("name", "")),
              "scopes": list(r.get("scopes") or [])} for r in body if isinstance(r, dict) and r.get("id")]
    if not sites:
        raise ApplicationError("Your Atlassian account gave Migrayt access to no Jira site. Start again and choose a "
                               "site on the consent page.", extra={"code": "no_site"})
    return sites


@transaction.atomic
def oauth_site_choose(*, authorisation: OAuthAuthorisation, user, cloud_id: str) -> Connection:
    """Make (or sign in again) the Jira Cloud connection for one of the sites Atlassian listed."""
    if authorisation.user_id != user.pk or not authorisation.access_token_ref:
        raise ApplicationError("This sign-in is not yours or is not finished. Start again.")
    site = next((r for r in authorisation.resources if r["id"] == cloud_id), None)
    if site is None:
        raise ApplicationError("Choose one of the sites listed.", extra={"field": "cloud_id"})
    config = oauth_provider(authorisation.provider)
    from apps.connections.services import _clean_base_url

    connection = _connection_save(authorisation, base_url=_clean_base_url(site["url"]), cloud_id=cloud_id,
                                  api_base_url=f"{config.api_url}/ex/jira/{cloud_id}", account=site["name"])
    # The tokens now belong to the connection; the sign-in keeps no reference to them.
    authorisation.access_token_ref = authorisation.refresh_token_ref = ""
    authorisation.save(update_fields=["access_token_ref", "refresh_token_ref"])
    return connection


def _connection_save(authorisation: OAuthAuthorisation, *, base_url: str, cloud_id: str, api_base_url: str,
                     account: str) -> Connection:
    from apps.connections.services import _save

    organisation = authorisation.organisation
    config = oauth_provider(authorisation.provider)
    now = timezone.now()
    tokens = {"access_token_ref": authorisation.access_token_ref, "refresh_token_ref": authorisation.refresh_token_ref,
              "access_expires_at": authorisation.access_expires_at, "scopes": authorisation.scopes,
              "status": OAuthCredential.Status.ACTIVE, "status_message": "", "refreshed_at": now}
    connection = authorisation.connection
    if connection is not None:
        credential = connection.oauth
        old = (credential.access_token_ref, credential.refresh_token_ref)
        for key, value in tokens.items():
            setattr(credential, key, value)
        credential.save()
        for reference in old:
            if reference:
                secret_delete(reference)
        connection.secret_updated_at = connection.updated_at = now
        connection.last_tested_at, connection.last_test_status = None, ""
        connection.last_test_message, connection.last_test_details = "", {}
        connection.save()
        action = "connection.oauth_renewed"
    else:
        connection = Connection(organisation=organisation, kind=config.kind, auth_method=Connection.AuthMethod.OAUTH,
                                name=authorisation.name, base_url=base_url, secret_ciphertext="",
                                created_by=authorisation.user)
        _save(connection)
        OAuthCredential.objects.create(organisation=organisation, connection=connection, provider=config.key,
                                       cloud_id=cloud_id, api_base_url=api_base_url, account=account, **tokens)
        action = "connection.created"
    audit_record(organisation=organisation, actor=authorisation.user, actor_kind="user", action=action,
                 target=connection, data={"kind": connection.kind, "name": connection.name, "auth": "oauth",
                                          "provider": config.key, "scopes": authorisation.scopes})
    return connection


# --- using the connection ----------------------------------------------------------------------------------


def _lost(config: Provider, error: str, description: str) -> OAuthAuthorisationLost:
    text = description.lower()
    if "revoked" in text or "aadsts50173" in text:
        return OAuthAuthorisationLost(
            CheckStatus.AUTHORISATION_REVOKED,
            f"{config.label} access for this connection was revoked (by the person who gave it, or by an admin "
            f"under {'Connected apps' if config.key == OAuthProvider.ATLASSIAN else 'Enterprise applications'}). "
            f"Open the connection and choose “Sign in with {config.label} again”.")
    if "expired" in text or "aadsts700082" in text or "aadsts70008" in text:
        return OAuthAuthorisationLost(
            CheckStatus.AUTHORISATION_EXPIRED,
            f"The {config.label} sign-in of this connection has expired (it went unused for too long). Open the "
            f"connection and choose “Sign in with {config.label} again”; nothing else is lost.")
    return OAuthAuthorisationLost(
        CheckStatus.AUTHORISATION_REVOKED,
        f"{config.label} no longer accepts this connection's sign-in ({error}). It was revoked or replaced. Open "
        f"the connection and choose “Sign in with {config.label} again”.")


def oauth_access_token(connection: Connection, *, force_refresh: bool = False) -> str:
    """A current access token for an OAuth connection, refreshed when it is about to expire (or when
    `force_refresh`, after the vendor refused the current one). Raises OAuthAuthorisationLost when the
    provider refuses the refresh, SecretUnreadable when the store cannot give the token back."""
    credential = OAuthCredential.unscoped.get(connection_id=connection.pk)
    config = oauth_provider(credential.provider)
    if credential.status != OAuthCredential.Status.ACTIVE:
        raise _lost(config, credential.status, credential.status)
    fresh = credential.access_expires_at and credential.access_expires_at > timezone.now() + REFRESH_MARGIN
    if fresh and not force_refresh:
        return secret_read(credential.access_token_ref)
    seen_access = credential.access_token_ref
    failure = None
    # The row lock makes concurrent workers refresh one at a time (a rotating refresh token works once).
    # SQLite has no row locks, and a transaction held open across the HTTP call would block every other
    # writer, the sandbox answering that call included: there the refresh runs outside a transaction.
    with transaction.atomic() if db_connection.features.has_select_for_update else nullcontext():
        credential = OAuthCredential.unscoped.select_for_update().get(pk=credential.pk)
        if credential.access_token_ref != seen_access and credential.status == OAuthCredential.Status.ACTIVE:
            return secret_read(credential.access_token_ref)  # another worker refreshed while we waited
        try:
            answer = _token_request(config, {"grant_type": "refresh_token",
                                             "refresh_token": secret_read(credential.refresh_token_ref)})
        except OAuthRefused as exc:
            if exc.error in ("unreachable", "server_error"):
                raise SecretUnreadable(exc.description) from None
            failure = _lost(config, exc.error, exc.description)
        else:
            organisation = connection.organisation
            credential.access_token_ref = _save_secret(organisation, answer["access_token"], credential.access_token_ref)
            if answer.get("refresh_token"):  # rotation: the old refresh token is dead now
                credential.refresh_token_ref = _save_secret(organisation, answer["refresh_token"],
                                                            credential.refresh_token_ref)
            credential.access_expires_at = timezone.now() + timedelta(seconds=int(answer.get("expires_in") or 3600))
            credential.refreshed_at = timezone.now()
            credential.save()
            return answer["access_token"]
    # Recorded outside the refresh's transaction, which is over: the mark stays even though we raise.
    status = (OAuthCredential.Status.REVOKED if failure.status == CheckStatus.AUTHORISATION_REVOKED
              else OAuthCredential.Status.EXPIRED)
    OAuthCredential.unscoped.filter(pk=credential.pk).update(status=status, status_message=failure.message)
    audit_record(organisation=connection.organisation, actor=None, actor_kind="system", action="connection.oauth_lost",
                 target=connection, data={"status": status})
    logger.warning("connection %s: OAuth refresh refused (%s)", connection.pk, status)
    raise failure


def oauth_connection_config(connection: Connection, *, force_refresh: bool = False) -> ConnectionConfig:
    credential = OAuthCredential.unscoped.get(connection_id=connection.pk)
    return ConnectionConfig(kind=ConnectionKind(connection.kind), base_url=connection.base_url,
                            token=oauth_access_token(connection, force_refresh=force_refresh), bearer=True,
                            api_base_url=credential.api_base_url)


def oauth_credential_delete(connection: Connection) -> None:
    credential = OAuthCredential.unscoped.filter(connection_id=connection.pk).first()
    if credential is not None:
        for reference in (credential.access_token_ref, credential.refresh_token_ref):
            if reference:
                secret_delete(reference)
