"""Preview, quote, checkout, run unlocked, in a real browser. Stripe's API is the recorded responses; Stripe's
hosted Checkout page is a stand-in on 127.0.0.1 that, like Stripe, sends the signed
checkout.session.completed event to our webhook and then sends the browser back to the success URL."""

import json
import re
from http.server import BaseHTTPRequestHandler
from urllib.request import Request, urlopen

import pytest
from django.conf import settings
from playwright.sync_api import expect

from apps.billing.models import Checkout
from apps.billing.services import billing_webhook_endpoint_ensure
from apps.billing.tests.conftest import API, LocalServer, echo_session, recording, register_refetch, sign
from apps.core.testing.browser import screenshot
from apps.runs.models import Run

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not settings.SANDBOX_ENABLED, reason="the sandbox is off (MIGRAYT_SANDBOX_ENABLED)"),
]
PASSWORD = "correct-horse-battery"
STAND_IN_PORT = 9131  # billing's range is 9100-9199


class StripeCheckoutStandIn(LocalServer):
    """Serves /c/pay/<session id>: a page with a Pay button. Paying posts the signed event to `webhook_url`,
    then redirects to the session's success_url, as Stripe does."""

    def __init__(self, webhook_url: str):
        self.webhook_url = webhook_url
        self.sessions: dict[str, dict] = {}
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):  # noqa: N802
                session_id = self.path.rsplit("/", 1)[-1]
                body = (f"<!doctype html><title>Stripe Checkout (stand-in)</title><h1>Pay Migrayt</h1>"
                        f"<p>Session {session_id}: usage-based subscription.</p>"
                        f"<form method=post action='/c/pay/{session_id}/pay'><button>Pay</button></form>").encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):  # noqa: N802
                session_id = self.path.split("/")[3]
                session = stand_in.sessions[session_id]
                event = recording("event_checkout_session_completed")
                event["data"]["object"].update(id=session_id, metadata=session["metadata"],
                                               client_reference_id=session["client_reference_id"])
                payload = json.dumps(event)
                delivery = Request(stand_in.webhook_url, data=payload.encode(), method="POST",  # noqa: S310
                                   headers={"Content-Type": "application/json", "Stripe-Signature": sign(payload)})
                with urlopen(delivery, timeout=30) as answer:  # noqa: S310 - our own live server
                    assert answer.status == 200
                self.send_response(303)
                self.send_header("Location", session["success_url"].replace("{CHECKOUT_SESSION_ID}", session_id))
                self.end_headers()

        self.serve(Handler, STAND_IN_PORT)

    def session_created(self, request):
        status, headers, body = echo_session("checkout_session_open")(request)
        session = json.loads(body)
        session["url"] = f"http://127.0.0.1:{STAND_IN_PORT}/c/pay/{session['id']}"
        self.sessions[session["id"]] = session
        return status, headers, json.dumps(session)


def test_preview_quote_checkout_then_the_live_run_is_unlocked(page, live_server, organisation, member, stripe_api,
                                                               pricing_table,
                                                               tasks_now, settings):
    import responses

    from apps.runs import services as runs
    from apps.runs.testing import drive, sandbox_pair

    settings.SITE_URL = live_server.url
    pair = sandbox_pair(organisation=organisation, actor=member, base_url=live_server.url, items=12, seed=3,
                        slug="billui")
    version = mapping_version(pair, organisation, member)
    preview = runs.run_create_from_version(organisation=organisation, actor=member, kind="preview",
                                           mapping_version_id=version.pk)
    drive(preview)
    endpoint = billing_webhook_endpoint_ensure()
    webhook_url = live_server.url + f"/stripe/webhook/{endpoint.djstripe_uuid}/"

    with StripeCheckoutStandIn(webhook_url) as stand_in:
        for name, path in (("customer", "/v1/customers"), ("product", "/v1/products")):
            stripe_api.add(responses.POST, f"{API}{path}", json=recording(name))
        meters = [recording("meter_work_items"), recording("meter_attachment_megabytes")]
        stripe_api.add_callback(responses.POST, f"{API}/v1/billing/meters",
                                callback=lambda r: (200, {}, json.dumps(meters.pop(0))))
        prices = [recording("price_work_items"), recording("price_attachment_megabytes")]
        stripe_api.add_callback(responses.POST, f"{API}/v1/prices", callback=lambda r: (200, {}, json.dumps(prices.pop(0))))
        stripe_api.add_callback(responses.POST, f"{API}/v1/checkout/sessions", callback=stand_in.session_created)
        register_refetch(stripe_api)

        page.goto("/accounts/login/")
        page.get_by_label("E-mail").fill(member.email)
        page.get_by_label("Password").fill(PASSWORD)
        page.locator("main").get_by_role("button", name="Log in").click()

        # Before paying, a live run is refused with the reason.
        page.goto("/runs/new/?kind=live")
        page.get_by_label("Approved mapping version").select_option(str(version.pk))
        page.get_by_role("button", name="Start").click()
        expect(page.locator("#run-error")).to_contain_text("Live runs unlock once Stripe confirms your checkout")
        assert not Run.unscoped.filter(kind="live").exists()

        # The preview leads to Checkout, which shows the quote from the scanned volume.
        page.get_by_role("navigation", name="Main").get_by_role("link", name=re.compile("Checkout")).click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Checkout")
        page.goto(f"/billing/?preview={preview.pk}")
        expect(page.locator("#preview")).to_contain_text(f"Preview #{preview.pk}")
        quote = preview_quote(organisation)
        expect(page.locator(f"#quote-{quote.pk} .quote-total")).to_have_text(f"{quote.total} {quote.currency}")
        expect(page.locator("#live-runs")).to_contain_text("locked")
        screenshot(page, "billing-quote")

        page.get_by_role("button", name="Check out with Stripe").click()
        expect(page).to_have_title("Stripe Checkout (stand-in)")
        page.get_by_role("button", name="Pay").click()

        # Back on our page: it waits for Stripe's event (already delivered by the stand-in) and says so.
        expect(page.locator("#checkout-status")).to_have_attribute("data-status", "paid", timeout=20_000)
        expect(page.locator("#live-runs")).to_contain_text("Live runs: unlocked")
        screenshot(page, "billing-paid")
        assert Checkout.unscoped.get().status == Checkout.Status.PAID

        page.goto("/runs/new/?kind=live")
        page.get_by_label("Approved mapping version").select_option(str(version.pk))
        page.get_by_role("button", name="Start").click()
        expect(page.locator("#run-state")).to_have_text(re.compile("Queued|Running"))
        assert Run.unscoped.filter(kind="live").count() == 1


def preview_quote(organisation):
    from apps.catalog.models import Quote

    return Quote.objects.for_organisation(organisation).filter(scan__role="source").order_by("-created_at").first()


def mapping_version(pair, organisation, member):
    """The runs app's helper (scan, draft, decide, approve); where the mapping rules have moved ahead of its
    acceptance threshold, the rows still pending are rejected and the set approved."""
    from apps.core.exceptions import ApplicationError
    from apps.mappings import services as mappings
    from apps.mappings.models import MappingSet
    from apps.runs.testing import approved_version

    try:
        return approved_version(pair=pair, organisation=organisation, actor=member)
    except ApplicationError:
        mapping_set = MappingSet.objects.for_organisation(organisation).latest("id")
        for row in mapping_set.rows.filter(decision="pending"):
            mappings.mapping_row_decide(row=row, actor=member, decision="reject")  # not needed for billing
        return mappings.mapping_set_approve(mapping_set=mapping_set, actor=member)
