"""Outgoing webhooks: endpoints, events, signed deliveries with retries.

**Signature recipe** (also in the README). Each delivery is a POST with a JSON body and the headers
`X-Migrayt-Event`, `X-Migrayt-Delivery` (the event id: the same on every retry, for de-duplication) and
`X-Migrayt-Signature: t=<unix seconds>,v1=<hex>` where

    v1 = HMAC-SHA256(key = the endpoint's signing secret (whsec_...), message = f"{t}.{raw body}")

A receiver recomputes v1 over the raw bytes it received, compares in constant time, and refuses a `t`
more than five minutes from its clock (a replay). `webhook_signature_verify` below is the reference.

**Retries**: a 5xx, 408, 429, timeout or dropped connection is retried after 30 s, 2 min, 10 min, 1 h and
6 h (six attempts in all); any other answer is final. The SSRF guard applies at registration and again at
each attempt, after DNS resolution: in production only public HTTPS addresses are reached.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import secrets
import time
import uuid
from datetime import timedelta
from urllib.parse import urlsplit

import httpx
from django.db import transaction
from django.utils import timezone

from apps.connections.connectors import ssrf
from apps.connections.connectors.errors import BlockedAddressError, ConfigError, ConnectorError
from apps.connections.connectors.http import HttpClient
from apps.connections.secret_store import (
    SecretStoreUnavailable,
    SecretUnreadable,
    secret_delete,
    secret_read,
    secret_save,
)
from apps.connections.services import connection_ssrf_policy
from apps.core.exceptions import ApplicationError
from apps.core.services import audit_record
from apps.webhooks.models import EVENTS, WebhookDelivery, WebhookEndpoint

logger = logging.getLogger(__name__)

RETRY_DELAYS = (30, 120, 600, 3600, 6 * 3600)  # seconds before attempts 2..6
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
RETRYABLE_STATUSES = {408, 429} | set(range(500, 600))
SIGNATURE_TOLERANCE_SECONDS = 300
MAX_ENDPOINTS = 20
_ID_TEXT = re.compile(r"^[A-Za-z0-9_.:@/#+-]{0,120}$")


# --- endpoints --------------------------------------------------------------------------------------------


def _clean_url(url: str) -> str:
    url = (url or "").strip()
    policy = connection_ssrf_policy()
    try:
        ssrf.url_check(url, policy, resolve_host=False)
        parts = urlsplit(url)
        if parts.fragment or parts.username or parts.password:
            raise ConfigError("A webhook address cannot hold a #fragment or a user name and password.", code="bad_url")
        try:
            ssrf.resolve_checked(parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80), policy)
        except BlockedAddressError:
            raise
        except ConfigError as exc:
            if exc.code != "unknown_host":
                raise
    except ConfigError as exc:
        raise ApplicationError(exc.message, extra={"field": "url", "code": exc.code}) from None
    return url


def _clean_events(events) -> list[str]:
    events = [e for e in (events or []) if e]
    unknown = sorted(set(events) - set(EVENTS))
    if unknown:
        raise ApplicationError(f"Unknown event(s): {', '.join(unknown)}.", extra={"field": "events", "allowed": list(EVENTS)})
    if not events:
        raise ApplicationError("Choose at least one event.", extra={"field": "events", "allowed": list(EVENTS)})
    return [e for e in EVENTS if e in events]


def _new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def _store(organisation, value: str, reference: str = "") -> str:
    try:
        return secret_save(value=value, label=f"org-{organisation.pk}/webhook-secret", reference=reference)
    except SecretStoreUnavailable as exc:
        raise ApplicationError(str(exc)) from None


@transaction.atomic
def webhook_endpoint_create(*, organisation, actor, url: str, events, description: str = "") -> tuple[WebhookEndpoint, str]:
    """A new endpoint and its signing secret, which is shown this once and kept only in the secret store."""
    if WebhookEndpoint.objects.for_organisation(organisation).count() >= MAX_ENDPOINTS:
        raise ApplicationError(f"An organisation can have at most {MAX_ENDPOINTS} webhook endpoints.")
    secret = _new_secret()
    endpoint = WebhookEndpoint.objects.create(
        organisation=organisation, url=_clean_url(url), events=_clean_events(events), description=(description or "")[:200],
        secret_ref=_store(organisation, secret), created_by=actor if getattr(actor, "is_authenticated", False) else None)
    audit_record(organisation=organisation, actor=actor, actor_kind="user", action="webhook.created", target=endpoint,
                 data={"host": urlsplit(endpoint.url).hostname, "events": endpoint.events})
    return endpoint, secret


@transaction.atomic
def webhook_endpoint_update(*, endpoint: WebhookEndpoint, actor, url: str | None = None, events=None,
                            description: str | None = None, enabled: bool | None = None) -> WebhookEndpoint:
    if url is not None:
        endpoint.url = _clean_url(url)
    if events is not None:
        endpoint.events = _clean_events(events)
    if description is not None:
        endpoint.description = description[:200]
    if enabled is not None:
        endpoint.enabled = enabled
    endpoint.updated_at = timezone.now()
    endpoint.save()
    audit_record(organisation=endpoint.organisation, actor=actor, actor_kind="user", action="webhook.updated",
                 target=endpoint, data={"events": endpoint.events, "enabled": endpoint.enabled})
    return endpoint


@transaction.atomic
def webhook_secret_rotate(*, endpoint: WebhookEndpoint, actor) -> str:
    secret = _new_secret()
    endpoint.secret_ref = _store(endpoint.organisation, secret, endpoint.secret_ref)
    endpoint.updated_at = timezone.now()
    endpoint.save(update_fields=["secret_ref", "updated_at"])
    audit_record(organisation=endpoint.organisation, actor=actor, actor_kind="user", action="webhook.secret_rotated",
                 target=endpoint, data={})
    return secret


@transaction.atomic
def webhook_endpoint_delete(*, endpoint: WebhookEndpoint, actor) -> None:
    audit_record(organisation=endpoint.organisation, actor=actor, actor_kind="user", action="webhook.deleted",
                 target=endpoint, data={"host": urlsplit(endpoint.url).hostname})
    secret_delete(endpoint.secret_ref)
    endpoint.delete()


# --- events ---------------------------------------------------------------------------------------------------


def _check_payload(value, path="payload"):
    """Ids and counts only: numbers, booleans, null and short id-like strings (no spaces), in dicts and lists.
    Anything that could be ticket content (a sentence, a title) is refused before it leaves."""
    if value is None or isinstance(value, bool | int | float):
        return
    if isinstance(value, str):
        if not _ID_TEXT.match(value):
            raise ValueError(f"{path} looks like text, not an id or a count; webhooks carry ids and counts only.")
        return
    if isinstance(value, dict):
        if len(value) > 100:
            raise ValueError(f"{path} has too many keys.")
        for key, item in value.items():
            if not isinstance(key, str) or not _ID_TEXT.match(key):
                raise ValueError(f"{path} has a key that is not a plain name.")
            _check_payload(item, f"{path}.{key}")
        return
    if isinstance(value, list | tuple):
        if len(value) > 100:
            raise ValueError(f"{path} has too many items.")
        for index, item in enumerate(value):
            _check_payload(item, f"{path}[{index}]")
        return
    raise ValueError(f"{path} holds a {type(value).__name__}; webhooks carry ids and counts only.")


def webhook_event_emit(*, organisation, event: str, payload: dict) -> list[WebhookDelivery]:
    """Tell the organisation's endpoints that `event` happened. For the engine: call it inside the
    transaction that records the change; deliveries are sent after it commits (nothing is sent for a change
    that rolled back). `payload` is ids and counts only (run id, counts by state); ValueError otherwise."""
    if event not in EVENTS:
        raise ValueError(f"Unknown webhook event {event!r}.")
    _check_payload(payload)
    endpoints = [e for e in WebhookEndpoint.objects.for_organisation(organisation).filter(enabled=True)
                 if event in e.events]
    event_id = uuid.uuid4()
    deliveries = [WebhookDelivery.objects.create(organisation=organisation, endpoint=endpoint, event=event,
                                                 event_id=event_id, payload=dict(payload)) for endpoint in endpoints]
    for delivery in deliveries:
        _enqueue(delivery.pk, countdown=0)
    return deliveries


def _enqueue(delivery_id: int, *, countdown: float) -> None:
    from apps.webhooks.tasks import webhook_delivery_attempt

    transaction.on_commit(lambda: webhook_delivery_attempt.apply_async(kwargs={"delivery_id": delivery_id},
                                                                       countdown=countdown))


# --- delivery -------------------------------------------------------------------------------------------------


def webhook_signature(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def webhook_signature_verify(*, secret: str, header: str, body: bytes, now: float | None = None,
                             tolerance: int = SIGNATURE_TOLERANCE_SECONDS) -> bool:
    """The receiver's side of the recipe, for integrators and tests."""
    parts = dict(item.split("=", 1) for item in (header or "").split(",") if "=" in item)
    try:
        timestamp = int(parts.get("t", ""))
    except ValueError:
        return False
    if abs((now if now is not None else time.time()) - timestamp) > tolerance:
        return False
    return hmac.compare_digest(webhook_signature(secret, timestamp, body), parts.get("v1", ""))


def webhook_body(delivery: WebhookDelivery) -> bytes:
    return json.dumps({"id": str(delivery.event_id), "type": delivery.event, "organisation": delivery.organisation_id,
                       "created": delivery.created_at.isoformat(), "data": delivery.payload},
                      separators=(",", ":"), sort_keys=True).encode()


def _claim(delivery_id: int) -> WebhookDelivery | None:
    """Take the delivery for this attempt, or None when it is done, not due, or another worker holds it."""
    claimable = [WebhookDelivery.State.PENDING, WebhookDelivery.State.RETRYING]
    stale = timezone.now() - timedelta(seconds=120)  # a worker that died mid-send
    claimed = (WebhookDelivery.unscoped.filter(pk=delivery_id, next_attempt_at__lte=timezone.now())
               .filter(state__in=claimable) | WebhookDelivery.unscoped.filter(
                   pk=delivery_id, state=WebhookDelivery.State.SENDING, next_attempt_at__lte=stale)
               ).update(state=WebhookDelivery.State.SENDING, next_attempt_at=timezone.now())
    if not claimed:
        return None
    return WebhookDelivery.unscoped.select_related("endpoint", "organisation").get(pk=delivery_id)


def webhook_delivery_attempt(*, delivery_id: int) -> str:
    delivery = _claim(delivery_id)
    if delivery is None:
        return "skipped"
    endpoint = delivery.endpoint
    delivery.attempts += 1
    started = time.monotonic()
    outcome, status_code, error = _send(delivery, endpoint)
    delivery.last_duration_ms = int((time.monotonic() - started) * 1000)
    delivery.last_status_code, delivery.last_error = status_code, error
    if outcome == "delivered":
        delivery.state, delivery.delivered_at = WebhookDelivery.State.DELIVERED, timezone.now()
    elif outcome == "blocked":
        delivery.state = WebhookDelivery.State.BLOCKED
    elif outcome == "retry" and delivery.attempts < MAX_ATTEMPTS:
        delay = RETRY_DELAYS[delivery.attempts - 1]
        delivery.state, delivery.next_attempt_at = WebhookDelivery.State.RETRYING, timezone.now() + timedelta(seconds=delay)
        _enqueue(delivery.pk, countdown=delay)
    else:
        delivery.state = WebhookDelivery.State.FAILED
    delivery.save(update_fields=["attempts", "state", "next_attempt_at", "last_status_code", "last_error",
                                 "last_duration_ms", "delivered_at"])
    logger.info("webhook delivery %s attempt %s: %s %s", delivery.pk, delivery.attempts, delivery.state, status_code or "",
                extra={"delivery_id": delivery.pk, "state": delivery.state})
    return delivery.state


def _send(delivery: WebhookDelivery, endpoint: WebhookEndpoint) -> tuple[str, int | None, str]:
    if not endpoint.enabled:
        return "failed", None, "The endpoint was disabled before this attempt."
    try:
        secret = secret_read(endpoint.secret_ref)
    except SecretUnreadable as exc:
        return "failed", None, str(exc)
    body = webhook_body(delivery)
    timestamp = int(time.time())
    headers = {"Content-Type": "application/json", "X-Migrayt-Event": delivery.event,
               "X-Migrayt-Delivery": str(delivery.event_id),
               "X-Migrayt-Signature": f"t={timestamp},v1={webhook_signature(secret, timestamp, body)}"}
    parts = urlsplit(endpoint.url)
    try:
        with HttpClient(base_url=f"{parts.scheme}://{parts.netloc}", policy=connection_ssrf_policy(), max_attempts=1,
                        timeout=httpx.Timeout(10.0, connect=5.0), follow_redirects=False) as http:
            response = http.request("POST", endpoint.url, content=body, headers=headers, accept=tuple(range(100, 600)),
                                    endpoint="webhook")
    except BlockedAddressError as exc:
        return "blocked", None, exc.message
    except ConfigError as exc:
        return ("retry" if exc.code == "unknown_host" else "failed"), None, exc.message
    except ConnectorError as exc:  # timeouts, refused or dropped connections, and 429/503 (raised by the client)
        return "retry", exc.status_code, exc.message
    status = response.status_code
    if 200 <= status < 300:
        return "delivered", status, ""
    if status in RETRYABLE_STATUSES:
        return "retry", status, f"The endpoint answered HTTP {status}."
    return "failed", status, f"The endpoint answered HTTP {status}; not retried (only 5xx, 408 and 429 are)."


def webhook_redeliver(*, delivery: WebhookDelivery, actor) -> WebhookDelivery:
    """Send a finished delivery again (same event id), from the delivery log."""
    delivery.state, delivery.next_attempt_at = WebhookDelivery.State.PENDING, timezone.now()
    delivery.save(update_fields=["state", "next_attempt_at"])
    audit_record(organisation=delivery.organisation, actor=actor, actor_kind="user", action="webhook.redelivered",
                 target=delivery, data={"event": delivery.event})
    _enqueue(delivery.pk, countdown=0)
    return delivery
