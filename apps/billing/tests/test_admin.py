"""Staff in the admin: every billing page opens, and a manual credit goes to Stripe before it is recorded."""

from urllib.parse import parse_qs

import pytest
import responses

from apps.billing.models import Credit, UsageReport
from apps.billing.tests.conftest import API, recording, stripe_calls
from apps.billing.tests.test_usage import bare_run, paid_account, write_items
from apps.core.models import AuditEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client, make_user):
    user = make_user(email="staff@migrayt.test", is_staff=True, is_superuser=True)
    client.force_login(user)
    return user


def test_billing_admin_pages_open(staff, client, organisation, stripe_api, tasks_now, django_capture_on_commit_callbacks):
    stripe_api.add(responses.POST, f"{API}/v1/billing/meter_events", json=recording("meter_event"))
    paid_account(organisation)
    run = bare_run(organisation)
    write_items(run, range(1, 4))
    from apps.billing.services import billing_usage_record

    with django_capture_on_commit_callbacks(execute=True):
        billing_usage_record(run=run, checkpoint="items:1")
    for model in ("billingaccount", "checkout", "runusage", "usagereport", "credit", "stripepriceset"):
        assert client.get(f"/admin/billing/{model}/").status_code == 200, model
    usage = run.billing_usage
    page = client.get(f"/admin/billing/runusage/{usage.pk}/change/")
    assert page.status_code == 200 and f"migrayt-run-{run.uid}-work_items-to-3".encode() in page.content
    assert client.get("/admin/catalog/pricingtable/").status_code == 200
    # "Send again" keeps the identifier: Stripe already has it, nothing is counted twice.
    report = UsageReport.unscoped.get()
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/admin/billing/usagereport/", {"action": "send_again", "_selected_action": [report.pk]})
    assert UsageReport.unscoped.get().identifier == report.identifier


def test_a_manual_credit_is_a_negative_balance_transaction_at_stripe(staff, client, organisation, stripe_api):
    stripe_api.add(responses.POST, f"{API}/v1/customers/cus_TQmGr8yKx2Lw4d/balance_transactions",
                   json=recording("customer_balance_transaction"))
    paid_account(organisation)
    response = client.post("/admin/billing/credit/add/", {
        "organisation": organisation.pk, "amount": "25.00", "currency": "eur",
        "reason": "Goodwill: the destination was down for two hours"})
    assert response.status_code == 302
    credit = Credit.unscoped.get()
    assert (credit.amount, credit.currency, credit.stripe_transaction_id, credit.granted_by) == (
        25, "EUR", "cbtxn_1SQnA2MigraytCredit01", staff)
    [call] = stripe_calls(stripe_api, "POST", "/v1/customers/cus_TQmGr8yKx2Lw4d/balance_transactions")
    sent = parse_qs(call.request.body)
    assert sent["amount"] == ["-2500"] and sent["currency"] == ["eur"]
    assert call.request.headers["Idempotency-Key"] == f"migrayt-credit-{credit.uid}"
    assert AuditEvent.unscoped.filter(action="billing.credit_granted", organisation=organisation).exists()


def test_a_credit_for_an_organisation_without_a_stripe_customer_is_refused_in_words(staff, client, organisation,
                                                                                   stripe_api):
    response = client.post("/admin/billing/credit/add/", {
        "organisation": organisation.pk, "amount": "10", "currency": "EUR", "reason": "Sorry"}, follow=True)
    assert b"has no Stripe customer yet" in response.content
    assert not Credit.unscoped.exists() and not stripe_api.calls
    paid_account(organisation)
    response = client.post("/admin/billing/credit/add/", {
        "organisation": organisation.pk, "amount": "-5", "currency": "EUR", "reason": "Sorry"}, follow=True)
    assert b"A credit is a positive amount." in response.content
    assert not Credit.unscoped.exists() and not stripe_api.calls
