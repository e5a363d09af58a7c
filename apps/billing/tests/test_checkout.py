"""Checkout from a quote, unlocked only by Stripe's signed event; refused deliveries; duplicates; unpaid
invoices stopping new live runs. Stripe is the recorded responses in recordings/."""

import json
from urllib.parse import parse_qs

import pytest
import responses
from django.urls import reverse
from djstripe.models import Event, WebhookEventTrigger

from apps.billing import selectors, services
from apps.billing.models import BillingAccount, Checkout, StripePriceSet
from apps.billing.tests.conftest import (
    API,
    completed_event,
    recording,
    register_refetch,
    register_setup,
    sign,
    stripe_calls,
)
from apps.core.models import AuditEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def logged_in(client, member):
    client.force_login(member)
    return client


def start_checkout(client, quote) -> Checkout:
    response = client.post(reverse("billing:checkout_start", args=[quote.pk]))
    assert response.status_code == 302, response.content
    checkout = Checkout.unscoped.get()
    assert response["Location"] == checkout.stripe_url
    return checkout


def test_checkout_opens_a_subscription_session_with_metered_prices_from_the_pricing_table(
        stripe_api, logged_in, quote, organisation):
    register_setup(stripe_api)
    checkout = start_checkout(logged_in, quote)

    assert checkout.stripe_url.startswith("https://checkout.stripe.com/c/pay/cs_test_")
    assert checkout.status == Checkout.Status.OPEN and checkout.quoted_total == quote.total
    # The prices Stripe was asked for: 5 cents an item, 0.2 cents a MB (2.00 EUR per GB), metered on the meters.
    prices = [parse_qs(c.request.body) for c in stripe_calls(stripe_api, "POST", "/v1/prices")]
    assert [(p["unit_amount_decimal"][0], p["currency"][0], p["recurring[usage_type]"][0], p["recurring[meter]"][0])
            for p in prices] == [("5", "eur", "metered", "mtr_test_61TQmGvAbcdWorkItems01"),
                                 ("0.2", "eur", "metered", "mtr_test_61TQmGvAbcdAttachMB02")]
    meters = [parse_qs(c.request.body) for c in stripe_calls(stripe_api, "POST", "/v1/billing/meters")]
    assert [m["event_name"][0] for m in meters] == ["migrayt_work_items", "migrayt_attachment_megabytes"]
    sent = parse_qs(stripe_calls(stripe_api, "POST", "/v1/checkout/sessions")[0].request.body)
    assert sent["mode"] == ["subscription"] and sent["customer"] == ["cus_TQmGr8yKx2Lw4d"]
    assert sent["line_items[0][price]"] == ["price_1SQmGwMigraytWorkItems"]
    assert sent["line_items[1][price]"] == ["price_1SQmGwMigraytAttachMB"]
    assert "line_items[0][quantity]" not in sent  # metered prices take no quantity
    assert sent["metadata[migrayt_checkout]"] == [str(checkout.uid)]
    assert sent["success_url"][0].startswith(f"http://testserver/billing/checkout/return/{checkout.uid}/")
    # Every create carried an idempotency key, so a retried request never makes two.
    assert all(c.request.headers.get("Idempotency-Key") for c in stripe_api.calls if c.request.method == "POST")
    assert StripePriceSet.objects.count() == 1
    # Still locked: nothing from Stripe yet.
    assert selectors.billing_live_run_allowed(organisation=organisation)[0] is False


def test_returning_from_stripe_does_not_unlock_only_the_signed_event_does(
        stripe_api, logged_in, quote, organisation, deliver, tasks_now, django_capture_on_commit_callbacks):
    register_setup(stripe_api)
    register_refetch(stripe_api)
    checkout = start_checkout(logged_in, quote)

    page = logged_in.get(reverse("billing:checkout_return", args=[checkout.uid]) + "?session_id=" +
                         checkout.stripe_session_id)
    assert page.status_code == 200 and b"Waiting for Stripe to confirm" in page.content
    allowed, message = selectors.billing_live_run_allowed(organisation=organisation)
    assert allowed is False and "Checkout" in message

    with django_capture_on_commit_callbacks(execute=True):
        response = deliver(completed_event(checkout))
    assert response.status_code == 200, response.content
    checkout.refresh_from_db()
    assert checkout.status == Checkout.Status.PAID
    assert checkout.confirmed_by_event == "evt_1SQmHdMigraytCheckoutDone"
    account = BillingAccount.unscoped.get(organisation=organisation)
    assert (account.stripe_subscription_id, account.subscription_status) == ("sub_1SQmHaMigraytSubscr01", "active")
    assert selectors.billing_live_run_allowed(organisation=organisation) == (
        True, "Paid: live runs are unlocked and billed for what they migrate.")
    status = logged_in.get(reverse("billing:checkout_status", args=[checkout.uid]))
    assert b'data-status="paid"' in status.content and b'data-live-runs="allowed"' in status.content
    # dj-stripe stored the event and its object, re-fetched from Stripe.
    assert Event.objects.filter(id="evt_1SQmHdMigraytCheckoutDone").exists()
    assert stripe_calls(stripe_api, "GET", f"/v1/checkout/sessions/{checkout.stripe_session_id}")


@pytest.mark.parametrize("signature", [None, "", "t=1795606595,v1=" + "0" * 64, "wrong-secret", "stale", "v0-only"])
def test_an_unsigned_or_wrongly_signed_event_is_refused_and_changes_nothing(
        stripe_api, logged_in, quote, organisation, deliver, tasks_now, django_capture_on_commit_callbacks,
        signature, settings):
    register_setup(stripe_api)
    checkout = start_checkout(logged_in, quote)
    payload = completed_event(checkout)
    header = {
        "wrong-secret": sign(payload, secret="whsec_someone_else_0123456789abcdef01234567"),
        "stale": sign(payload, timestamp=1795606595 - 3600),  # replayed an hour later: outside the tolerance
        "v0-only": sign(payload).replace("v1=", "v0="),
    }.get(signature, signature)
    settings.DEBUG = True  # dj-stripe would let a debug header choose the secret; ours ignores it
    with django_capture_on_commit_callbacks(execute=True):
        response = deliver(payload, signature=header,
                           HTTP_X_DJSTRIPE_WEBHOOK_SECRET="whsec_someone_else_0123456789abcdef01234567")
    assert response.status_code == 400
    checkout.refresh_from_db()
    assert checkout.status == Checkout.Status.OPEN
    assert selectors.billing_live_run_allowed(organisation=organisation)[0] is False
    assert not Event.objects.exists()
    assert not WebhookEventTrigger.objects.filter(valid=True).exists()


def test_a_forged_payload_under_a_real_signature_is_refused(stripe_api, logged_in, quote, deliver,
                                                            django_capture_on_commit_callbacks, tasks_now):
    register_setup(stripe_api)
    checkout = start_checkout(logged_in, quote)
    genuine = completed_event(checkout, payment_status="unpaid")
    forged = genuine.replace('"payment_status": "unpaid"', '"payment_status": "paid"')
    assert forged != genuine
    with django_capture_on_commit_callbacks(execute=True):
        assert deliver(forged, signature=sign(genuine)).status_code == 400
    checkout.refresh_from_db()
    assert checkout.status == Checkout.Status.OPEN


def test_the_same_event_delivered_twice_changes_nothing(stripe_api, logged_in, quote, organisation, deliver,
                                                        tasks_now, django_capture_on_commit_callbacks):
    register_setup(stripe_api)
    register_refetch(stripe_api)
    checkout = start_checkout(logged_in, quote)
    payload = completed_event(checkout)
    with django_capture_on_commit_callbacks(execute=True):
        assert deliver(payload).status_code == 200
    checkout.refresh_from_db()
    account = BillingAccount.unscoped.get(organisation=organisation)
    before = (checkout.status, checkout.confirmed_at, account.updated_at, account.confirmed_at,
              AuditEvent.unscoped.count(), Event.objects.count(), len(stripe_api.calls))

    with django_capture_on_commit_callbacks(execute=True):
        assert deliver(payload).status_code == 200  # Stripe retries: it gets its 200, nothing happens again
    checkout.refresh_from_db()
    account.refresh_from_db()
    after = (checkout.status, checkout.confirmed_at, account.updated_at, account.confirmed_at,
             AuditEvent.unscoped.count(), Event.objects.count(), len(stripe_api.calls))
    assert after == before
    assert WebhookEventTrigger.objects.filter(valid=True).count() == 2  # both deliveries are on record


def test_an_async_payment_still_pending_does_not_unlock(stripe_api, logged_in, quote, organisation, deliver,
                                                        tasks_now, django_capture_on_commit_callbacks):
    register_setup(stripe_api)
    register_refetch(stripe_api)
    checkout = start_checkout(logged_in, quote)
    with django_capture_on_commit_callbacks(execute=True):
        assert deliver(completed_event(checkout, payment_status="unpaid")).status_code == 200
    checkout.refresh_from_db()
    assert checkout.status == Checkout.Status.OPEN
    assert selectors.billing_live_run_allowed(organisation=organisation)[0] is False


def _paid(stripe_api, logged_in, quote, deliver, capture) -> dict:
    register_setup(stripe_api)
    stripe_state = register_refetch(stripe_api)
    checkout = start_checkout(logged_in, quote)
    with capture(execute=True):
        assert deliver(completed_event(checkout)).status_code == 200
    return stripe_state


def test_a_failed_invoice_stops_new_live_runs_until_it_is_paid(stripe_api, logged_in, quote, organisation, deliver,
                                                               tasks_now, django_capture_on_commit_callbacks):
    stripe_state = _paid(stripe_api, logged_in, quote, deliver, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        assert deliver(json.dumps(recording("event_invoice_payment_failed"))).status_code == 200
    allowed, message = selectors.billing_live_run_allowed(organisation=organisation)
    assert allowed is False
    assert "in_1SQmHbMigraytInvoice01 is unpaid" in message and "runs already under way carry on" in message
    api = logged_in.get("/api/v1/billing/")
    assert api.json()["live_runs_allowed"] is False and api.json()["unpaid_invoices"] == ["in_1SQmHbMigraytInvoice01"]

    stripe_state["invoice"] = "invoice_paid"  # what Stripe answers once the retry succeeded
    with django_capture_on_commit_callbacks(execute=True):
        assert deliver(json.dumps(recording("event_invoice_paid"))).status_code == 200
    assert selectors.billing_live_run_allowed(organisation=organisation)[0] is True


def test_a_past_due_subscription_blocks_and_an_older_event_arriving_late_does_not_undo_it(
        stripe_api, logged_in, quote, organisation, deliver, tasks_now, django_capture_on_commit_callbacks):
    _paid(stripe_api, logged_in, quote, deliver, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        assert deliver(json.dumps(recording("event_subscription_past_due"))).status_code == 200
    allowed, message = selectors.billing_live_run_allowed(organisation=organisation)
    assert allowed is False and message.startswith("A payment is past due")

    older = recording("event_subscription_past_due")
    older.update(id="evt_1SQmHiMigraytSubOlderActive", created=older["created"] - 600)
    older["data"]["object"]["status"] = "active"
    with django_capture_on_commit_callbacks(execute=True):
        assert deliver(json.dumps(older)).status_code == 200
    assert selectors.billing_live_run_allowed(organisation=organisation)[0] is False


def test_an_expired_session_is_closed_and_stays_locked(stripe_api, logged_in, quote, organisation, deliver, tasks_now,
                                                       django_capture_on_commit_callbacks):
    register_setup(stripe_api)
    register_refetch(stripe_api)
    checkout = start_checkout(logged_in, quote)
    event = recording("event_checkout_session_expired")
    event["data"]["object"].update(id=checkout.stripe_session_id, metadata={"migrayt_checkout": str(checkout.uid)})
    with django_capture_on_commit_callbacks(execute=True):
        assert deliver(json.dumps(event)).status_code == 200
    checkout.refresh_from_db()
    assert checkout.status == Checkout.Status.EXPIRED
    assert selectors.billing_live_run_allowed(organisation=organisation)[0] is False


def test_an_event_about_a_session_of_another_organisation_cannot_unlock_this_one(
        stripe_api, logged_in, quote, organisation, other_organisation, deliver, tasks_now,
        django_capture_on_commit_callbacks):
    register_setup(stripe_api)
    register_refetch(stripe_api)
    checkout = start_checkout(logged_in, quote)
    # A session id we never made (someone else's Stripe account pointed at our endpoint would not be signed,
    # but even a signed unknown session changes nothing).
    payload = completed_event(checkout, session_id="cs_test_b1SomebodyElsesSession0009")
    with django_capture_on_commit_callbacks(execute=True):
        assert deliver(payload).status_code == 200
    assert selectors.billing_live_run_allowed(organisation=organisation)[0] is False
    assert selectors.billing_live_run_allowed(organisation=other_organisation)[0] is False


def test_billing_off_means_free_runs_a_banner_and_no_checkout(client, member, organisation, quote, settings):
    settings.STRIPE_SECRET_KEY = ""
    client.force_login(member)
    assert selectors.billing_live_run_allowed(organisation=organisation) == (
        True, "Billing is off on this server: runs are free.")
    page = client.get(reverse("billing:checkout"))
    assert b'id="billing-off"' in page.content and b"Check out with Stripe" not in page.content
    assert str(quote.total).encode() in page.content
    response = client.post(reverse("billing:checkout_start", args=[quote.pk]), follow=True)
    assert b"Billing is off on this server" in response.content
    assert not Checkout.unscoped.exists()
    api = client.post("/api/v1/billing/checkouts/", {"quote_id": quote.pk}, content_type="application/json")
    assert api.status_code == 409 and "Billing is off" in api.json()["message"]


def test_checkout_refuses_another_organisations_quote_and_non_admins(stripe_api, client, organisation, member,
                                                                     other_organisation, outsider, quote):
    from apps.accounts.models import Membership
    from apps.core.testing.factories import MembershipFactory

    client.force_login(outsider)
    assert client.post(reverse("billing:checkout_start", args=[quote.pk])).status_code == 404
    api = client.post("/api/v1/billing/checkouts/", {"quote_id": quote.pk}, content_type="application/json")
    assert api.status_code == 400 and api.json()["message"] == "No such quote in this organisation."
    plain = MembershipFactory(organisation=organisation, role=Membership.Role.MEMBER).user
    client.force_login(plain)
    assert client.post("/api/v1/billing/checkouts/", {"quote_id": quote.pk},
                       content_type="application/json").status_code == 403
    client.post(reverse("billing:checkout_start", args=[quote.pk]))
    assert not Checkout.unscoped.exists() and not stripe_api.calls
    client.force_login(member)
    bad = client.post("/api/v1/billing/checkouts/", {"quote_id": "x"}, content_type="application/json")
    assert bad.status_code == 400 and bad.json()["message"].startswith("quote_id")
    assert client.get(reverse("billing:checkout") + "?preview=abc").status_code == 404
    assert client.get(reverse("billing:checkout") + "?preview=999999").status_code == 404
    assert client.get("/api/v1/billing/checkouts/00000000-0000-0000-0000-000000000000/").status_code == 404
    assert not stripe_api.calls


def test_stripe_down_gives_a_clear_message_not_a_500(stripe_api, logged_in, quote):
    register_setup(stripe_api)
    stripe_api.replace(responses.POST, f"{API}/v1/customers", json=recording("error_api"), status=500)
    response = logged_in.post("/api/v1/billing/checkouts/", {"quote_id": quote.pk}, content_type="application/json")
    assert response.status_code == 503
    assert response.json()["message"] == "Stripe could not be reached to create your customer record; try again in a minute."
    assert not Checkout.unscoped.exists()


def test_a_quote_under_an_older_price_list_asks_for_a_new_quote(stripe_api, logged_in, quote, pricing_table):
    from decimal import Decimal

    from apps.catalog.models import PricingTable
    from apps.catalog.services import pricing_table_activate

    newer = PricingTable.objects.create(name="2027 list", currency="EUR", per_work_item=Decimal("0.04"),
                                        per_gb_attachments=Decimal("0"), minimum=Decimal("0"))
    pricing_table_activate(table=newer)
    register_setup(stripe_api)
    response = logged_in.post("/api/v1/billing/checkouts/", {"quote_id": quote.pk}, content_type="application/json")
    assert response.status_code == 409 and "make a new quote" in response.json()["message"]
    # Attachments are free under the new list: no attachment meter or price was made.
    assert len(stripe_calls(stripe_api, "POST", "/v1/prices")) == 1
    assert StripePriceSet.objects.get().attachments_price_id == ""


def test_services_refuse_when_the_same_checkout_is_already_paid(stripe_api, logged_in, quote, organisation, deliver,
                                                                tasks_now, django_capture_on_commit_callbacks, member):
    _paid(stripe_api, logged_in, quote, deliver, django_capture_on_commit_callbacks)
    with pytest.raises(services.ApplicationError, match="already"):
        services.billing_checkout_create(organisation=organisation, actor=member, quote=quote)


def test_another_organisation_cannot_see_or_poll_a_checkout(stripe_api, client, member, outsider, quote):
    register_setup(stripe_api)
    client.force_login(member)
    checkout = start_checkout(client, quote)
    own = client.get(f"/api/v1/billing/checkouts/{checkout.uid}/").json()
    assert own["status"] == "open" and own["url"] == checkout.stripe_url and own["quote_id"] == quote.pk
    client.force_login(outsider)
    assert client.get(f"/api/v1/billing/checkouts/{checkout.uid}/").status_code == 404
    assert client.get(reverse("billing:checkout_return", args=[checkout.uid])).status_code == 404
    assert client.get(reverse("billing:checkout_status", args=[checkout.uid])).status_code == 404
    assert str(quote.total).encode() not in client.get(reverse("billing:checkout")).content


def test_the_webhook_endpoint_command_prints_the_address_and_keeps_no_secret(stripe_on, capsys):
    from django.core.management import call_command
    from djstripe.models import WebhookEndpoint

    from apps.billing.tests.conftest import WEBHOOK_SECRET

    call_command("billing_webhook_endpoint")
    call_command("billing_webhook_endpoint")  # run again: the same endpoint, the same address
    endpoint = WebhookEndpoint.objects.get()
    out = capsys.readouterr().out
    assert out.count(f"http://testserver/stripe/webhook/{endpoint.djstripe_uuid}/") == 2
    assert "checkout.session.completed" in out and "invoice.payment_failed" in out
    assert WEBHOOK_SECRET not in endpoint.secret and WEBHOOK_SECRET not in out


def test_a_delivery_is_stored_without_credentials_a_caller_sent(stripe_api, logged_in, quote, deliver, tasks_now,
                                                                django_capture_on_commit_callbacks):
    register_setup(stripe_api)
    register_refetch(stripe_api)
    checkout = start_checkout(logged_in, quote)
    with django_capture_on_commit_callbacks(execute=True):
        assert deliver(completed_event(checkout), HTTP_AUTHORIZATION="Bearer mgy_secret_token",
                       HTTP_X_DJSTRIPE_WEBHOOK_SECRET="whsec_x").status_code == 200
    stored = {k.lower() for k in WebhookEventTrigger.objects.get().headers}
    assert "stripe-signature" in stored
    assert not stored & {"authorization", "cookie", "x-djstripe-webhook-secret"}
