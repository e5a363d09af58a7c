"""Outgoing webhooks: registration (SSRF guard, events, secret shown once), signed deliveries verifiable
with the documented recipe, retries with backoff on 5xx, final answers on 4xx, idempotent attempts, no
delivery to a private address in production mode, and payloads of ids and counts only."""

import hashlib
import hmac
import json

import pytest
from django.test import override_settings
from django.urls import reverse
from rest_framework.test import APIClient

from apps.accounts.services import api_token_create
from apps.connections.secret_store import ARN_PREFIX
from apps.connections.tests.conftest import LocalServer, Reply
from apps.webhooks import services
from apps.webhooks.models import WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def receiver():
    server = LocalServer()
    yield server
    server.close()


@pytest.fixture
def sent(monkeypatch):
    """Deliveries are sent by a Celery task after commit; here the task's enqueue is recorded instead, and
    the test runs each attempt itself (the worker round trip is tested by the runs and core suites)."""
    queued = []
    monkeypatch.setattr(services, "_enqueue", lambda delivery_id, countdown: queued.append((delivery_id, countdown)))
    return queued


def _endpoint(organisation, member, url, events=("run.finished",)):
    return services.webhook_endpoint_create(organisation=organisation, actor=member, url=url, events=list(events))


def test_a_delivery_is_signed_as_the_readme_says(receiver, organisation, member, sent):
    receiver.routes["/hook"] = [Reply(status=200)]
    endpoint, secret = _endpoint(organisation, member, receiver.url("/hook"))
    assert secret.startswith("whsec_") and secret not in endpoint.secret_ref
    [delivery] = services.webhook_event_emit(organisation=organisation, event="run.finished",
                                             payload={"run_id": 7, "counts": {"created": 12, "failed": 0}})
    assert sent == [(delivery.pk, 0)]
    assert services.webhook_delivery_attempt(delivery_id=delivery.pk) == "delivered"
    [seen] = receiver.seen
    headers = {k.lower(): v for k, v in seen.headers.items()}
    # The recipe, written out by hand as a receiver would: HMAC-SHA256(secret, f"{t}.{raw body}").
    parts = dict(item.split("=", 1) for item in headers["x-migrayt-signature"].split(","))
    expected = hmac.new(secret.encode(), f"{parts['t']}.".encode() + seen.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(parts["v1"], expected)
    assert services.webhook_signature_verify(secret=secret, header=headers["x-migrayt-signature"], body=seen.body)
    assert not services.webhook_signature_verify(secret="whsec_wrong", header=headers["x-migrayt-signature"], body=seen.body)
    assert not services.webhook_signature_verify(secret=secret, header=headers["x-migrayt-signature"], body=seen.body,
                                                 now=int(parts["t"]) + 301)
    body = json.loads(seen.body)
    assert body["type"] == "run.finished" and body["data"] == {"run_id": 7, "counts": {"created": 12, "failed": 0}}
    assert headers["x-migrayt-delivery"] == body["id"] == str(delivery.event_id)
    # Delivered once: a second delivery of the same task does nothing.
    assert services.webhook_delivery_attempt(delivery_id=delivery.pk) == "skipped"
    assert len(receiver.seen) == 1


def test_5xx_is_retried_with_backoff_then_delivered(receiver, organisation, member, sent):
    receiver.routes["/hook"] = [Reply(status=503), Reply(status=500), Reply(status=204)]
    endpoint, _ = _endpoint(organisation, member, receiver.url("/hook"))
    [delivery] = services.webhook_event_emit(organisation=organisation, event="run.finished", payload={"run_id": 1})
    assert services.webhook_delivery_attempt(delivery_id=delivery.pk) == "retrying"
    delivery.refresh_from_db()
    assert delivery.last_status_code == 503 and sent[-1] == (delivery.pk, 30)
    # Not due yet: an early duplicate does nothing.
    assert services.webhook_delivery_attempt(delivery_id=delivery.pk) == "skipped"
    WebhookDelivery.unscoped.filter(pk=delivery.pk).update(next_attempt_at=delivery.created_at)
    assert services.webhook_delivery_attempt(delivery_id=delivery.pk) == "retrying"
    assert sent[-1] == (delivery.pk, 120)
    WebhookDelivery.unscoped.filter(pk=delivery.pk).update(next_attempt_at=delivery.created_at)
    assert services.webhook_delivery_attempt(delivery_id=delivery.pk) == "delivered"
    delivery.refresh_from_db()
    assert delivery.attempts == 3 and delivery.last_status_code == 204
    ids = {json.loads(s.body)["id"] for s in receiver.seen}
    assert ids == {str(delivery.event_id)}  # the same event id on every retry


def test_gives_up_after_six_attempts_and_does_not_retry_a_4xx(receiver, organisation, member, sent):
    receiver.routes["/down"] = [Reply(status=502)]
    receiver.routes["/gone"] = [Reply(status=410)]
    _endpoint(organisation, member, receiver.url("/down"))
    _endpoint(organisation, member, receiver.url("/gone"))
    down, gone = sorted(services.webhook_event_emit(organisation=organisation, event="run.finished",
                                                    payload={"run_id": 2}), key=lambda d: d.endpoint.url)
    assert services.webhook_delivery_attempt(delivery_id=gone.pk) == "failed"
    gone.refresh_from_db()
    assert "not retried" in gone.last_error
    for _ in range(6):
        WebhookDelivery.unscoped.filter(pk=down.pk).update(next_attempt_at=down.created_at)
        state = services.webhook_delivery_attempt(delivery_id=down.pk)
    assert state == "failed"
    assert [c for _, c in sent if c] == [30, 120, 600, 3600, 21600]


def test_no_delivery_to_a_private_address_in_production_mode(receiver, organisation, member, sent):
    receiver.routes["/hook"] = [Reply(status=200)]
    endpoint, _ = _endpoint(organisation, member, receiver.url("/hook"))  # allowed in development
    with override_settings(ALLOW_PRIVATE_URLS=False):
        # Registration refuses private and plain-HTTP addresses ...
        for url in ("http://10.0.0.5/hook", "https://127.0.0.1/hook", "https://169.254.169.254/latest",
                    "https://[::1]/x", "https://2130706433/x"):
            with pytest.raises(Exception) as raised:
                _endpoint(organisation, member, url)
            assert "field" in getattr(raised.value, "extra", {}), url
        # ... and an endpoint whose address is private when the attempt is made is never called.
        [delivery] = services.webhook_event_emit(organisation=organisation, event="run.finished", payload={"run_id": 3})
        assert services.webhook_delivery_attempt(delivery_id=delivery.pk) == "blocked"
    assert receiver.seen == []
    delivery.refresh_from_db()
    assert delivery.last_error


def test_payloads_carry_ids_and_counts_only(organisation, member, sent):
    with pytest.raises(ValueError, match="ids and counts only"):
        services.webhook_event_emit(organisation=organisation, event="run.failed",
                                    payload={"run_id": 1, "summary": "Customer data leaked into a title"})
    with pytest.raises(ValueError, match="Unknown webhook event"):
        services.webhook_event_emit(organisation=organisation, event="run.exploded", payload={})


def test_events_go_only_to_endpoints_that_asked_and_only_within_the_organisation(
        receiver, organisation, member, other_organisation, outsider, sent):
    mine, _ = _endpoint(organisation, member, receiver.url("/a"), events=["run.failed"])
    theirs, _ = _endpoint(other_organisation, outsider, receiver.url("/b"), events=["run.failed", "run.finished"])
    assert services.webhook_event_emit(organisation=organisation, event="run.finished", payload={"run_id": 1}) == []
    [delivery] = services.webhook_event_emit(organisation=organisation, event="run.failed", payload={"run_id": 1})
    assert delivery.endpoint == mine


def test_the_api_gives_the_secret_once_checks_addresses_and_shows_the_log(receiver, organisation, member, sent):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {api_token_create(organisation=organisation, user=member, name='t')[1]}")
    created = api.post("/api/v1/webhooks/", {"url": receiver.url("/hook"), "events": ["run.finished"]}, format="json")
    assert created.status_code == 201 and created.json()["signing_secret"].startswith("whsec_")
    secret = created.json()["signing_secret"]
    endpoint_id = created.json()["id"]
    assert secret not in json.dumps(api.get(f"/api/v1/webhooks/{endpoint_id}/").json())
    assert secret not in json.dumps(api.get("/api/v1/webhooks/").json())
    bad = api.post("/api/v1/webhooks/", {"url": "ftp://x", "events": ["run.finished"]}, format="json")
    assert bad.status_code == 400 and bad.json()["message"]
    unknown = api.post("/api/v1/webhooks/", {"url": receiver.url("/h"), "events": ["run.nope"]}, format="json")
    assert unknown.status_code == 400
    with override_settings(ALLOW_PRIVATE_URLS=False):
        private = api.post("/api/v1/webhooks/", {"url": "https://10.1.2.3/h", "events": ["run.failed"]}, format="json")
    assert private.status_code == 400 and "10.1.2.3" in private.json()["message"]
    receiver.routes["/hook"] = [Reply(status=500)]
    [delivery] = services.webhook_event_emit(organisation=organisation, event="run.finished", payload={"run_id": 9})
    services.webhook_delivery_attempt(delivery_id=delivery.pk)
    log = api.get(f"/api/v1/webhooks/{endpoint_id}/deliveries/").json()
    assert log[0]["state"] == "retrying" and log[0]["last_status_code"] == 500 and log[0]["attempts"] == 1


def test_delivery_log_page_and_secret_store(receiver, organisation, member, sent, client):
    client.force_login(member)
    page = client.post(reverse("webhooks:list"), {"url": receiver.url("/hook"), "events": ["run.finished", "run.failed"]})
    assert page.status_code == 200 and "whsec_" in page.content.decode()
    endpoint = WebhookEndpoint.objects.for_organisation(organisation).get()
    assert not endpoint.secret_ref.startswith(ARN_PREFIX) and "whsec_" not in endpoint.secret_ref
    receiver.routes["/hook"] = [Reply(status=200)]
    [delivery] = services.webhook_event_emit(organisation=organisation, event="run.failed", payload={"run_id": 4})
    services.webhook_delivery_attempt(delivery_id=delivery.pk)
    log = client.get(reverse("webhooks:detail", args=[endpoint.pk])).content.decode()
    assert "run.failed" in log and "delivered" in log and "whsec_" not in log
