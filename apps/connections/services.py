"""Connections: create, change, delete and test them. Every write leaves an audit row that names the
connection and what changed, never the secret."""

import logging
from urllib.parse import urlsplit

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.connections.connectors import ssrf
from apps.connections.connectors.base import (
    CheckResult,
    CheckStatus,
    ConnectionConfig,
    ConnectionKind,
    Connector,
)
from apps.connections.connectors.errors import BlockedAddressError, ConfigError
from apps.connections.connectors.registry import connector_for
from apps.connections.models import Connection
from apps.connections.secret_store import (
    SecretStoreUnavailable,
    SecretUnreadable,
    secret_delete,
    secret_read,
    secret_save,
)
from apps.core.exceptions import ApplicationError
from apps.core.services import actor_kind_of as _actor_kind
from apps.core.services import audit_record

logger = logging.getLogger(__name__)

MAX_TOKEN_LENGTH = 2000


def connection_ssrf_policy() -> ssrf.SsrfPolicy:
    """Production reaches public HTTPS addresses only; development and tests may reach the sandbox on
    127.0.0.1 over plain HTTP (MIGRAYT_ALLOW_PRIVATE_URLS)."""
    if settings.ALLOW_PRIVATE_URLS:
        return ssrf.SsrfPolicy.permissive_local()
    return ssrf.SsrfPolicy(allow_private=False, require_https=True)


def _clean_base_url(base_url: str) -> str:
    """The address, normalised, or an ApplicationError saying what is wrong with it. A host that does not
    resolve yet may be saved (the connection test will say so); one that resolves to a refused address
    may not."""
    policy = connection_ssrf_policy()
    try:
        url = ssrf.url_check(base_url, policy, resolve_host=False)
        host = _host(url)
        try:
            ssrf.resolve_checked(host, 443, policy)
        except BlockedAddressError:
            raise
        except ConfigError as exc:
            if exc.code != "unknown_host":
                raise
    except ConfigError as exc:
        raise ApplicationError(exc.message, extra={"field": "base_url", "code": exc.code}) from None
    return url


def _host(url: str) -> str:
    return urlsplit(url).hostname or ""


def _clean_secret(token: str) -> str:
    token = (token or "").strip()
    if not token:
        raise ApplicationError("Enter the token.", extra={"field": "token"})
    if len(token) > MAX_TOKEN_LENGTH or any(c.isspace() for c in token):
        raise ApplicationError("That does not look like a token: it has spaces or is far too long.",
                               extra={"field": "token"})
    return token


def _clean(kind: str, name: str, email: str, *, oauth: bool = False) -> tuple[str, str, str]:
    if kind not in Connection.Kind.values:
        raise ApplicationError(f"Unknown kind of connection {kind!r}.",
                               extra={"field": "kind", "allowed": list(Connection.Kind.values)})
    name = (name or "").strip()
    if not name:
        raise ApplicationError("Give the connection a name.", extra={"field": "name"})
    email = (email or "").strip().lower()
    if kind == Connection.Kind.JIRA_CLOUD and not email and not oauth:
        raise ApplicationError("Jira Cloud needs the e-mail address of the Atlassian account the API token "
                               "belongs to.", extra={"field": "email"})
    if kind != Connection.Kind.JIRA_CLOUD:
        email = ""  # only Jira Cloud signs in with an e-mail; a stray one would only confuse
    return kind, name, email


def _secret_save(organisation, token: str, *, reference: str = "") -> str:
    """The token into the secret store (secret_store.py); the connection keeps only the reference."""
    try:
        return secret_save(value=token, label=f"org-{organisation.pk}/connection-token", reference=reference)
    except SecretStoreUnavailable as exc:
        raise ApplicationError(str(exc), extra={"field": "token"}) from None


def _save(connection: Connection, **kwargs) -> None:
    try:
        with transaction.atomic():
            connection.save(**kwargs)
    except IntegrityError:
        raise ApplicationError("There is already a connection with this name. Choose another name.",
                               extra={"field": "name"}) from None


@transaction.atomic
def connection_create(*, organisation, actor, kind: str, name: str, base_url: str, token: str, email: str = "",
                      actor_kind: str | None = None) -> Connection:
    kind, name, email = _clean(kind, name, email)
    connection = Connection(
        organisation=organisation,
        kind=kind,
        name=name,
        base_url=_clean_base_url(base_url),
        email=email,
        secret_ciphertext=_secret_save(organisation, _clean_secret(token)),
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    _save(connection)
    audit_record(organisation=organisation, actor=actor, actor_kind=_actor_kind(actor, actor_kind),
                 action="connection.created", target=connection,
                 data={"kind": kind, "name": name, "host": _host(connection.base_url)})
    return connection


@transaction.atomic
def connection_update(*, connection: Connection, actor, kind: str | None = None, name: str | None = None,
                      base_url: str | None = None, email: str | None = None, token: str | None = None,
                      actor_kind: str | None = None) -> Connection:
    """Change what is given; a blank or missing token keeps the stored one. Changing the kind needs a new
    token (each kind signs in differently). Any change to how we connect clears the last test result."""
    new_kind, new_name, new_email = _clean(
        kind if kind is not None else connection.kind,
        name if name is not None else connection.name,
        email if email is not None else connection.email,
        oauth=connection.is_oauth,
    )
    changed = []
    if connection.is_oauth and ((token or "").strip() or new_kind != connection.kind
                                or (base_url is not None and connection.kind == Connection.Kind.JIRA_CLOUD
                                    and base_url.strip().rstrip("/") != connection.base_url.rstrip("/"))):
        raise ApplicationError("This connection signs in with OAuth: it has no token, and its kind and site come "
                               "from the sign-in. To change them, make a new connection; to renew the sign-in, "
                               "choose “Sign in again” on the connection's page.", extra={"field": "token"})
    if new_kind != connection.kind:
        if not (token or "").strip():
            raise ApplicationError("Changing the kind of connection needs the token again: each kind signs in "
                                   "differently.", extra={"field": "token"})
        connection.kind = new_kind
        changed.append("kind")
    if new_name != connection.name:
        connection.name = new_name
        changed.append("name")
    if base_url is not None:
        url = _clean_base_url(base_url)
        if url != connection.base_url:
            connection.base_url = url
            changed.append("base_url")
    if new_email != connection.email:
        connection.email = new_email
        changed.append("email")
    if token is not None and token.strip():
        connection.secret_ciphertext = _secret_save(connection.organisation, _clean_secret(token),
                                                    reference=connection.secret_ciphertext)
        connection.secret_updated_at = timezone.now()
        changed.append("secret")
    if not changed:
        return connection
    if set(changed) - {"name"}:
        connection.last_tested_at = None
        connection.last_test_status = ""
        connection.last_test_message = ""
        connection.last_test_details = {}
    connection.updated_at = timezone.now()
    _save(connection)
    audit_record(organisation=connection.organisation, actor=actor, actor_kind=_actor_kind(actor, actor_kind),
                 action="connection.updated", target=connection, data={"changed": changed})
    return connection


@transaction.atomic
def connection_delete(*, connection: Connection, actor, actor_kind: str | None = None) -> None:
    audit_record(organisation=connection.organisation, actor=actor, actor_kind=_actor_kind(actor, actor_kind),
                 action="connection.deleted", target=connection,
                 data={"kind": connection.kind, "name": connection.name})
    if connection.secret_ciphertext:
        secret_delete(connection.secret_ciphertext)
    if connection.is_oauth:
        from apps.connections.oauth import oauth_credential_delete

        oauth_credential_delete(connection)
    connection.delete()


def connection_config(connection: Connection, *, force_refresh: bool = False) -> ConnectionConfig:
    """What a connector needs, with the secret decrypted. For connectors only: never render or log it.
    Raises SecretUnreadable when no configured key opens the secret; for an OAuth connection, a current
    access token (refreshed when due), or OAuthAuthorisationLost (a SecretUnreadable) saying why not."""
    if connection.is_oauth:
        from apps.connections.oauth import oauth_connection_config

        return oauth_connection_config(connection, force_refresh=force_refresh)
    return ConnectionConfig(
        kind=ConnectionKind(connection.kind),
        base_url=connection.base_url,
        token=secret_read(connection.secret_ciphertext),
        email=connection.email,
    )


def connection_connector(connection: Connection, *, quick: bool = False) -> Connector:
    """The connector for a connection, with its secret and this deployment's SSRF policy: what the catalog
    and the engine use. Use it as a context manager (it holds a connection pool). Raises SecretUnreadable."""
    return connector_for(connection_config(connection), policy=connection_ssrf_policy(), quick=quick)


def _connection_check(connection: Connection, *, force_refresh: bool = False) -> CheckResult:
    from apps.connections.oauth import OAuthAuthorisationLost

    try:
        config = connection_config(connection, force_refresh=force_refresh)
    except OAuthAuthorisationLost as exc:
        return CheckResult(exc.status, exc.message)
    except SecretUnreadable as exc:
        return CheckResult(CheckStatus.SECRET_UNREADABLE, str(exc))
    with connector_for(config, policy=connection_ssrf_policy(), quick=True) as connector:
        try:
            result = connector.check()
        except Exception:
            # A bug of ours, not an answer about the connection: logged with its traceback (which holds
            # no secret: the token lives only in the auth object), and said plainly to the person.
            logger.exception("connection %s: the test itself failed", connection.pk)
            result = CheckResult(CheckStatus.ERROR, "The test could not finish because of an error on our "
                                 "side. It has been logged; try again in a few minutes.")
        result.details["requests"] = connector.http.stats.total
    return result


def connection_test(*, connection: Connection, actor, actor_kind: str | None = None) -> CheckResult:
    """Call the real endpoints and record the answer, in plain words, on the connection."""
    result = _connection_check(connection)
    if connection.is_oauth and result.status == CheckStatus.WRONG_CREDENTIALS:
        # The vendor refused the access token before its hour was up: a revoked grant, most likely. A refresh
        # tells revoked from merely stale, and a fresh token gets one more try.
        result = _connection_check(connection, force_refresh=True)
        if result.status == CheckStatus.WRONG_CREDENTIALS:
            result.message = ("The access token was refused although the sign-in is current. Sign in again with "
                              "an account that can reach this site.")
    connection.last_tested_at = timezone.now()
    connection.last_test_status = result.status.value
    connection.last_test_message = result.message
    connection.last_test_details = result.details
    connection.save(update_fields=["last_tested_at", "last_test_status", "last_test_message", "last_test_details"])
    audit_record(organisation=connection.organisation, actor=actor, actor_kind=_actor_kind(actor, actor_kind),
                 action="connection.tested", target=connection, data={"status": result.status.value})
    logger.info("connection %s tested: %s", connection.pk, result.status.value,
                extra={"connection_id": connection.pk, "status": result.status.value})
    return result
