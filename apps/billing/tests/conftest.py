"""Stripe without a network: recorded responses (apps/billing/tests/recordings/, shapes of Stripe's API
version 2026-05-27.dahlia) served through `responses`, which intercepts stripe-python's requests session;
webhook deliveries signed the way Stripe signs them."""

import copy
import hashlib
import hmac
import json
import re
import threading
import time
from decimal import Decimal
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest
import responses
from django.utils import timezone

from apps.catalog.models import PricingTable, Scan
from apps.catalog.services import quote_create

RECORDINGS = Path(__file__).parent / "recordings"
API = "https://api.stripe.com"
SECRET_KEY = "sk_test_51MigraytTestKey000000000000000000000000000000000000000000000"  # noqa: S105 - test key
WEBHOOK_SECRET = "whsec_migrayt_test_0123456789abcdef0123456789abcdef"  # noqa: S105 - test secret


def recording(name: str) -> dict:
    return json.loads((RECORDINGS / f"{name}.json").read_text())


def sign(payload: str, *, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    """A Stripe-Signature header: t=<unix time>,v1=<HMAC-SHA256 of "t.payload" under the endpoint secret>."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{timestamp}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def event_payload(name: str, **changes) -> str:
    """A recorded event, with values changed by dotted path (`data.object.id=...`)."""
    event = copy.deepcopy(recording(name))
    for path, value in changes.items():
        target = event
        keys = path.split("__")
        for key in keys[:-1]:
            target = target[key]
        target[keys[-1]] = value
    return json.dumps(event)


@pytest.fixture
def stripe_on(settings, monkeypatch):
    import stripe

    # dj-stripe reads some keys at import time (where production has them from the environment).
    monkeypatch.setattr(stripe, "api_key", SECRET_KEY)
    monkeypatch.setattr(stripe, "max_network_retries", 0)
    settings.STRIPE_SECRET_KEY = SECRET_KEY
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.STRIPE_LIVE_MODE = False
    settings.SITE_URL = "http://testserver"
    return settings


@pytest.fixture
def stripe_api(stripe_on):
    """Every request to Stripe must match a registered recording; anything else fails the test."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def stripe_calls(mock, method: str, path: str) -> list:
    return [c for c in mock.calls if c.request.method == method and c.request.url.split("?")[0] == API + path]


@pytest.fixture
def tasks_now(monkeypatch):
    """Billing's Celery tasks run in this process when sent (what a worker would do), after the commit that
    sends them; other apps' tasks are left alone."""
    from apps.billing import tasks

    for task in (tasks.billing_webhook_process, tasks.billing_meter_event_send, tasks.billing_minimum_top_up):
        monkeypatch.setattr(task, "delay", lambda _task=task, **kwargs: _task.apply(kwargs=kwargs))


@pytest.fixture
def pricing_table(db):
    from apps.catalog.services import pricing_table_activate

    table = PricingTable.objects.create(name="2026 list", currency="EUR", per_work_item=Decimal("0.05"),
                                        per_gb_attachments=Decimal("2.00"), minimum=Decimal("49.00"))
    return pricing_table_activate(table=table)


def done_scan(organisation, *, items=1200, attachment_bytes=3_500_000_000, connection=None, project="Fabrikam Fiber"):
    volumes = {"items": items, "items_by_type": {"Task": items}, "items_by_state_category": {}, "comments": items * 2,
               "links": items, "links_by_type": {}, "revisions": items * 4, "attachments": 40,
               "attachment_bytes": attachment_bytes, "inline_images": 10, "oldest_item_at": None, "newest_item_at": None}
    return Scan.unscoped.create(organisation=organisation, connection=connection, connection_kind="azure_devops",
                                connection_name="Fabrikam ADO", project_key=project, project_name=project,
                                role=Scan.Role.SOURCE, status=Scan.Status.DONE, volumes=volumes,
                                finished_at=timezone.now())


@pytest.fixture
def quote(organisation, pricing_table):
    return quote_create(scan=done_scan(organisation))


def register_setup(mock, *, session: str = "checkout_session_open"):
    """Customer, product, meters, prices and the Checkout Session: what a first checkout creates."""
    mock.add(responses.POST, f"{API}/v1/customers", json=recording("customer"))
    mock.add(responses.POST, f"{API}/v1/products", json=recording("product"))
    meters = [recording("meter_work_items"), recording("meter_attachment_megabytes")]
    mock.add_callback(responses.POST, f"{API}/v1/billing/meters",
                      callback=lambda request: (200, {}, json.dumps(meters.pop(0))))
    prices = [recording("price_work_items"), recording("price_attachment_megabytes")]
    mock.add_callback(responses.POST, f"{API}/v1/prices", callback=lambda request: (200, {}, json.dumps(prices.pop(0))))
    mock.add_callback(responses.POST, f"{API}/v1/checkout/sessions", callback=echo_session(session))


def register_refetch(mock):
    """What dj-stripe reads back from Stripe while it stores an event (its handlers re-fetch the object)."""
    mock.add(responses.GET, f"{API}/v1/account", json=recording("account"))
    mock.add(responses.GET, re.compile(rf"{API}/v1/checkout/sessions/cs_test_\w+"),
             json=recording("checkout_session_complete"))
    mock.add(responses.GET, re.compile(rf"{API}/v1/customers/cus_\w+"), json=recording("customer"))
    mock.add(responses.GET, re.compile(rf"{API}/v1/subscriptions/sub_\w+"), json=recording("subscription"))
    state = {"invoice": "invoice_open"}
    mock.add_callback(responses.GET, re.compile(rf"{API}/v1/invoices/in_\w+(\?.*)?$"),
                      callback=lambda request: (200, {}, json.dumps(recording(state["invoice"]))))
    mock.add(responses.GET, re.compile(rf"{API}/v1/products/prod_\w+/features(\?.*)?$"),
             json=recording("product_features_empty"))
    mock.add(responses.GET, re.compile(rf"{API}/v1/products/prod_\w+(\?.*)?$"), json=recording("product"))
    mock.add(responses.GET, re.compile(rf"{API}/v1/prices/price_\w+(\?.*)?$"), json=recording("price_work_items"))
    return state


def echo_session(recorded: str):
    """Stripe answers a Checkout Session create with the session it made: what we sent (metadata,
    client_reference_id, the return addresses) in the recorded shape."""
    from urllib.parse import parse_qs

    def callback(request):
        sent = {k: v[0] for k, v in parse_qs(request.body).items()}
        body = recording(recorded)
        body["metadata"] = {k[len("metadata["):-1]: v for k, v in sent.items() if k.startswith("metadata[")}
        body["client_reference_id"] = sent.get("client_reference_id")
        body["success_url"], body["cancel_url"] = sent.get("success_url"), sent.get("cancel_url")
        return 200, {"Request-Id": "req_migraytTest0001"}, json.dumps(body)

    return callback


def completed_event(checkout, *, event_id: str = "evt_1SQmHdMigraytCheckoutDone", session_id: str | None = None,
                    **session_changes) -> str:
    """The signed payload Stripe sends when `checkout`'s session completes."""
    event = recording("event_checkout_session_completed")
    session = event["data"]["object"]
    session.update(id=session_id or checkout.stripe_session_id, client_reference_id=str(checkout.uid),
                   metadata={"migrayt_checkout": str(checkout.uid),
                             "migrayt_organisation_id": str(checkout.organisation_id),
                             "migrayt_quote_id": str(checkout.quote_id)}, **session_changes)
    event["id"] = event_id
    return json.dumps(event)


@pytest.fixture
def webhook_endpoint(stripe_on):
    from apps.billing.services import billing_webhook_endpoint_ensure

    return billing_webhook_endpoint_ensure()


@pytest.fixture
def deliver(client, webhook_endpoint):
    """POST a webhook the way Stripe does; `signature=` overrides the header (None: no header at all)."""
    from django.urls import reverse

    url = reverse("djstripe:djstripe_webhook_by_uuid", args=[webhook_endpoint.djstripe_uuid])

    def post(payload: str, *, signature: str | None = "sign", **headers):
        if signature == "sign":
            signature = sign(payload)
        extra = {"HTTP_STRIPE_SIGNATURE": signature} if signature is not None else {}
        return client.post(url, data=payload, content_type="application/json", **extra, **headers)

    return post


class LocalServer:
    """A threaded HTTP server on 127.0.0.1 standing in for one of Stripe's hosts, used with `with`."""

    def serve(self, handler, port: int) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
