"""Usage: what live runs migrate, recorded per checkpoint and sent to Stripe as Billing Meter events whose
identifiers derive from the run and the checkpoint; never twice, never for what was not migrated."""

import json
import re
import uuid

import pytest
import responses
from django.conf import settings

from apps.billing import selectors, services
from apps.billing.models import BilledItem, BillingAccount, RunUsage, UsageReport
from apps.billing.tests.conftest import API, recording
from apps.core.exceptions import ApplicationError
from apps.runs.models import IdMapEntry, Run, RunItem

CUSTOMER = "cus_TQmGr8yKx2Lw4d"


def paid_account(organisation) -> BillingAccount:
    from django.utils import timezone

    return BillingAccount.unscoped.create(organisation=organisation, stripe_customer_id=CUSTOMER,
                                          stripe_subscription_id="sub_1SQmHaMigraytSubscr01",
                                          subscription_status="active", confirmed_at=timezone.now())


class MeterEvents:
    """Stripe's meter event endpoint, recorded: keeps what it was sent and, like Stripe, keeps one event per
    identifier (a repeat is answered with Stripe's duplicate error)."""

    def __init__(self, mock, *, fail_first: int = 0):
        self.kept: dict[str, int] = {}
        self.posts = 0
        self.fail_first = fail_first
        mock.add_callback(responses.POST, f"{API}/v1/billing/meter_events", callback=self)

    def __call__(self, request):
        from urllib.parse import parse_qs

        self.posts += 1
        if self.fail_first:
            self.fail_first -= 1
            return 500, {}, json.dumps(recording("error_api"))
        sent = {k: v[0] for k, v in parse_qs(request.body).items()}
        identifier = sent["identifier"]
        assert sent["payload[stripe_customer_id]"] == CUSTOMER
        if identifier in self.kept:
            return 400, {}, json.dumps({"error": {
                "code": "duplicate_meter_event", "type": "invalid_request_error",
                "message": f"An event already exists with identifier {identifier}."}})
        self.kept[identifier] = int(sent["payload[value]"])
        body = recording("meter_event")
        body.update(identifier=identifier, event_name=sent["event_name"], timestamp=int(sent["timestamp"]),
                    payload={"stripe_customer_id": CUSTOMER, "value": sent["payload[value]"]})
        return 200, {}, json.dumps(body)

    def total(self, meter_event_name: str = "migrayt_work_items") -> int:
        return sum(v for k, v in self.kept.items() if "-work_items-" in k) if meter_event_name == \
            "migrayt_work_items" else sum(v for k, v in self.kept.items() if "-attachment_megabytes-" in k)


def bare_run(organisation, *, kind="live", project="Fabrikam Fiber", connection=None) -> Run:
    return Run.unscoped.create(organisation=organisation, kind=kind, plan={}, source_project=project,
                               destination_project="MIG", source_connection=connection, state=Run.State.RUNNING)


def write_items(run, source_ids, *, adopted=False):
    IdMapEntry.unscoped.bulk_create([
        IdMapEntry(organisation_id=run.organisation_id, run=run, phase="items", source_id=str(s),
                   destination_id=f"100{s}", destination_key=f"MIG-{s}", adopted=adopted) for s in source_ids])


@pytest.fixture
def meter(stripe_api):
    return MeterEvents(stripe_api)


@pytest.mark.django_db
def test_a_checkpoint_recorded_twice_bills_once_and_identifiers_derive_from_run_and_checkpoint(
        organisation, meter, tasks_now, django_capture_on_commit_callbacks):
    paid_account(organisation)
    run = bare_run(organisation)
    write_items(run, range(1, 51))
    with django_capture_on_commit_callbacks(execute=True):
        first = services.billing_usage_record(run=run, checkpoint="items:1")
        again = services.billing_usage_record(run=run, checkpoint="items:1")  # a retried checkpoint
    assert [(r.quantity, r.identifier) for r in first] == [(50, f"migrayt-run-{run.uid}-work_items-to-50")]
    assert again == []
    write_items(run, range(51, 81), adopted=True)  # found by reconciliation after a crash: migrated too
    with django_capture_on_commit_callbacks(execute=True):
        services.billing_usage_record(run=run, checkpoint="items:2")
    assert meter.kept == {f"migrayt-run-{run.uid}-work_items-to-50": 50, f"migrayt-run-{run.uid}-work_items-to-80": 30}
    assert set(UsageReport.unscoped.values_list("status", flat=True)) == {"sent"}
    usage = RunUsage.unscoped.get(run=run)
    assert (usage.items_migrated, usage.items_billed, usage.checkpoints) == (80, 80, 3)
    assert selectors.run_billed_totals(organisation=organisation, run_id=run.pk) == {
        "work_items": {"recorded": 80, "sent": 80}}


@pytest.mark.django_db
def test_sending_the_same_event_again_is_deduplicated_and_a_stripe_outage_is_retried_with_the_same_identifier(
        organisation, stripe_api, tasks_now, django_capture_on_commit_callbacks):
    meter = MeterEvents(stripe_api, fail_first=3)  # stripe-python's own two retries fail too
    paid_account(organisation)
    run = bare_run(organisation)
    write_items(run, range(1, 11))
    with django_capture_on_commit_callbacks(execute=True):
        [report] = services.billing_usage_record(run=run, checkpoint="items:1")
    report.refresh_from_db()
    assert report.status == "pending" and report.attempts == 1 and "APIError" in report.error
    assert services.billing_meter_event_send(report_id=report.pk) == "sent"  # the task's retry
    # A redelivered task, and staff pressing "send again": Stripe already holds the identifier.
    UsageReport.unscoped.filter(pk=report.pk).update(status="pending")
    assert services.billing_meter_event_send(report_id=report.pk) == "sent"
    assert meter.posts == 5 and meter.kept == {report.identifier: 10}


@pytest.mark.django_db
def test_a_rerun_of_the_same_project_never_bills_an_item_twice_but_another_project_is_billed(
        organisation, meter, tasks_now, django_capture_on_commit_callbacks):
    paid_account(organisation)
    first, rerun, other = bare_run(organisation), bare_run(organisation), bare_run(organisation, project="Other")
    write_items(first, range(1, 21))
    write_items(rerun, range(1, 26))  # the same 20 again, and 5 new ones
    write_items(other, range(1, 6))  # same ids, another project: different items
    with django_capture_on_commit_callbacks(execute=True):
        for run in (first, rerun, other):
            services.billing_usage_record(run=run, checkpoint="items:1")
    assert sum(meter.kept.values()) == 30
    assert RunUsage.unscoped.get(run=rerun).items_billed == 5
    assert BilledItem.unscoped.count() == 30


@pytest.mark.django_db
def test_previews_and_servers_without_billing_record_nothing(organisation, stripe_api, settings):
    paid_account(organisation)
    preview = bare_run(organisation, kind="preview")
    write_items(preview, range(1, 5))
    assert services.billing_usage_record(run=preview, checkpoint="x") == []
    live = bare_run(organisation)
    write_items(live, range(1, 5))
    settings.STRIPE_SECRET_KEY = ""
    assert services.billing_usage_record(run=live, checkpoint="x") == []
    assert not UsageReport.unscoped.exists() and not stripe_api.calls


@pytest.mark.django_db
def test_attachments_are_billed_by_the_megabyte_rounded_up_once(organisation, meter, tasks_now,
                                                                django_capture_on_commit_callbacks):
    paid_account(organisation)
    run = bare_run(organisation)
    with django_capture_on_commit_callbacks(execute=True):
        services.billing_usage_record(run=run, checkpoint="a:1", attachment_bytes=1_500_000)
        services.billing_usage_record(run=run, checkpoint="a:2", attachment_bytes=400_000)  # 1.9 MB: still 2
        services.billing_usage_record(run=run, checkpoint="a:3", attachment_bytes=2_000_000)  # 3.9 MB: 4
    assert meter.kept == {f"migrayt-run-{run.uid}-attachment_megabytes-to-2": 2,
                          f"migrayt-run-{run.uid}-attachment_megabytes-to-4": 2}


@pytest.mark.django_db
def test_a_refused_event_is_kept_as_failed_for_staff_and_can_be_sent_again(
        organisation, stripe_api, tasks_now, django_capture_on_commit_callbacks):
    stripe_api.add(responses.POST, f"{API}/v1/billing/meter_events", json=recording("error_invalid_request"),
                   status=400)
    paid_account(organisation)
    run = bare_run(organisation)
    write_items(run, range(1, 4))
    with django_capture_on_commit_callbacks(execute=True):
        [report] = services.billing_usage_record(run=run, checkpoint="items:1")
    report.refresh_from_db()
    assert report.status == "failed" and "No such customer" in report.error
    stripe_api.replace(responses.POST, f"{API}/v1/billing/meter_events", json=recording("meter_event"))
    with django_capture_on_commit_callbacks(execute=True):
        assert services.billing_usage_resend(reports=[report]) == 1
    report.refresh_from_db()
    assert report.status == "sent"


@pytest.mark.django_db
def test_a_new_live_run_is_refused_until_paid_and_a_run_under_way_is_never_stopped(
        organisation, member, stripe_on, settings):
    with pytest.raises(ApplicationError) as refused:
        bare_run(organisation)
    assert refused.value.status_code == 402 and "Checkout" in refused.value.message
    preview = bare_run(organisation, kind="preview")  # previews are free
    account = paid_account(organisation)
    running = bare_run(organisation)
    account.unpaid_invoices = ["in_1SQmHbMigraytInvoice01"]
    account.save()
    with pytest.raises(ApplicationError, match="is unpaid"):
        bare_run(organisation)
    # The run under way carries on: its saves (checkpoints, pause, resume, finish) are never refused.
    for state in (Run.State.PAUSED, Run.State.RUNNING, Run.State.FINISHED):
        running.state = state
        running.save()
    assert preview.pk and Run.unscoped.filter(kind="live").count() == 1


@pytest.mark.django_db
def test_usage_api_and_page_show_only_this_organisations_usage(client, organisation, member, other_organisation,
                                                               outsider, meter, tasks_now,
                                                               django_capture_on_commit_callbacks):
    paid_account(organisation)
    run = bare_run(organisation)
    write_items(run, range(1, 8))
    with django_capture_on_commit_callbacks(execute=True):
        services.billing_usage_record(run=run, checkpoint="items:1")
    client.force_login(member)
    rows = client.get(f"/api/v1/billing/usage/?run_id={run.pk}").json()["results"]
    assert [(r["run_id"], r["quantity"], r["status"]) for r in rows] == [(run.pk, 7, "sent")]
    assert client.get("/api/v1/billing/usage/?run_id=abc").status_code == 400
    page = client.get("/billing/usage/")
    assert page.status_code == 200 and f"migrayt-run-{run.uid}-work_items-to-7".encode() in page.content
    client.force_login(outsider)
    assert client.get("/api/v1/billing/usage/").json()["results"] == []
    assert f"{run.uid}".encode() not in client.get("/billing/usage/").content


# --- against the engine --------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(not settings.SANDBOX_ENABLED, reason="the sandbox is off (MIGRAYT_SANDBOX_ENABLED)")
def test_meter_events_of_a_live_run_add_up_to_exactly_the_items_its_verification_counts(
        live_server, organisation, member, stripe_api, tasks_now):
    """A live run through the engine (ADO sandbox -> Jira sandbox), step after step in this process: the
    billing hooks run at each of its checkpoints. (Re-runs are in the test above: the engine itself refuses a
    second live run of a project into the same destination.)"""
    from apps.runs import services as runs
    from apps.runs.testing import TYPE_LEVELS, drive, sandbox_pair

    stripe_api.add_passthru(re.compile(rf"{re.escape(live_server.url)}/.*"))
    meter = MeterEvents(stripe_api)
    paid_account(organisation)
    pair = sandbox_pair(organisation=organisation, actor=member, base_url=live_server.url, items=45, seed=8,
                        slug="billing")
    run = runs.run_create(organisation=organisation, actor=member, kind="live", plan=pair.plan,
                          source_connection=pair.source, destination_connection=pair.destination,
                          type_levels=TYPE_LEVELS, start=False)
    drive(run)
    run.refresh_from_db()
    assert run.state == Run.State.FINISHED, (run.error_code, run.error_message)
    verified = run.stats["verify"]["created"]
    assert verified == RunItem.unscoped.filter(run=run, state="created").count() > 0
    assert meter.total() == verified == IdMapEntry.unscoped.filter(run=run, phase="items").count()
    assert len(meter.kept) > 1  # several checkpoints, one event each
    assert all(k.startswith(f"migrayt-run-{run.uid}-work_items-to-") for k in meter.kept)
    usage = RunUsage.unscoped.get(run=run)
    assert usage.items_billed == verified and usage.checkpoints >= len(meter.kept)


def test_identifiers_fit_stripes_limit():
    assert len(services._identifier(uuid.uuid4(), "attachment_megabytes", 10**12)) <= 100


@pytest.mark.django_db
def test_a_finished_run_billed_below_the_minimum_gets_the_difference_once_as_an_invoice_item(
        organisation, pricing_table, meter, stripe_api, tasks_now, django_capture_on_commit_callbacks):
    from decimal import Decimal
    from urllib.parse import parse_qs

    from apps.billing.models import Checkout, StripePriceSet
    from apps.billing.tests.conftest import stripe_calls

    stripe_api.add(responses.POST, f"{API}/v1/invoiceitems", json=recording("invoice_item_minimum"))
    paid_account(organisation)
    price_set = StripePriceSet.objects.create(
        pricing_table=pricing_table, currency="EUR", per_work_item=Decimal("0.05"), per_gb_attachments=Decimal("2"),
        minimum=Decimal("49.00"), product_id="prod_TQmGuH3vXo0a1N", items_meter_id="mtr_test_61TQmGvAbcdWorkItems01",
        items_price_id="price_1SQmGwMigraytWorkItems")
    Checkout.unscoped.create(organisation=organisation, price_set=price_set, status="paid",
                             stripe_session_id="cs_test_b1QmGxMigraytCheckout0001", confirmed_at=timezone_now())
    run, rerun, big = bare_run(organisation), bare_run(organisation), bare_run(organisation, project="Big")
    write_items(run, range(1, 11))
    write_items(rerun, range(1, 11))
    write_items(big, range(1, 1001))
    with django_capture_on_commit_callbacks(execute=True):
        for each in (run, rerun, big):
            each.state = Run.State.FINISHED
            each.save()  # the run's end: usage caught up, then the minimum checked
            each.save()  # saved again: nothing more
    [call] = stripe_calls(stripe_api, "POST", "/v1/invoiceitems")
    sent = parse_qs(call.request.body)
    assert sent["amount"] == ["4850"] and sent["currency"] == ["eur"]  # 49.00 - 10 x 0.05
    assert sent["subscription"] == ["sub_1SQmHaMigraytSubscr01"]
    assert call.request.headers["Idempotency-Key"] == f"migrayt-minimum-{run.uid}"
    usage = RunUsage.unscoped.get(run=run)
    assert (usage.minimum_top_up, usage.minimum_invoice_item_id) == (Decimal("48.50"), "ii_1SQnB7MigraytMinimum01")
    assert services.billing_minimum_top_up(run_id=rerun.pk) == "nothing_billed"  # the re-run billed nothing new
    assert services.billing_minimum_top_up(run_id=big.pk) == "above_minimum"  # 1000 x 0.05 = 50.00
    assert meter.total() == 1010


def timezone_now():
    from django.utils import timezone

    return timezone.now()
