"""Billing: Stripe prices from the pricing table, checkout, what Stripe's signed events change, usage
reported as Billing Meter events, and manual credits.

Services other apps call:
- `billing_usage_record(run=, checkpoint=, attachment_bytes=)`: the engine, after (ideally inside) each
  checkpoint of a live run. Items are read from the run's id map, so a call that is repeated, skipped or
  late bills exactly what the id map holds, once.
- `apps.billing.selectors.billing_live_run_allowed(organisation=, run=)`: before a NEW live run starts.
"""

import logging
import math
import uuid
from decimal import Decimal

import stripe
from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from apps.billing.models import (
    METER_ATTACHMENT_MB,
    METER_WORK_ITEMS,
    METERS,
    BilledItem,
    BillingAccount,
    Checkout,
    Credit,
    RunUsage,
    StripePriceSet,
    UsageReport,
)
from apps.core.exceptions import ApplicationError
from apps.core.services import audit_record

logger = logging.getLogger(__name__)

# The events Stripe must send to the endpoint (set these on the endpoint in Stripe's dashboard).
WEBHOOK_EVENTS = (
    "checkout.session.completed", "checkout.session.async_payment_succeeded", "checkout.session.async_payment_failed",
    "checkout.session.expired", "invoice.paid", "invoice.payment_failed", "invoice.marked_uncollectible",
    "invoice.voided", "customer.subscription.created", "customer.subscription.updated",
    "customer.subscription.deleted", "customer.subscription.paused", "customer.subscription.resumed",
)
MEGABYTE = 10**6
BATCH = 500
# A checkout session Stripe keeps open this long; ours expire with it (checkout.session.expired).
TRANSIENT_ERRORS = (stripe.APIConnectionError, stripe.RateLimitError)


def billing_enabled() -> bool:
    return bool(settings.STRIPE_SECRET_KEY)


def stripe_client() -> stripe.StripeClient:
    if not billing_enabled():
        raise ApplicationError("Billing is off on this server (no Stripe key): runs are free.", status_code=409)
    return stripe.StripeClient(settings.STRIPE_SECRET_KEY, stripe_version=settings.STRIPE_API_VERSION,
                               base_addresses={"api": settings.STRIPE_API_BASE}, max_network_retries=2)


def _stripe_failure(exc: stripe.StripeError, doing: str) -> ApplicationError:
    # Stripe's message is about our request (never card data); the request id lets staff find it in Stripe.
    logger.warning("stripe: %s failed: %s (%s, request %s)", doing, type(exc).__name__, exc.code,
                   getattr(exc, "request_id", ""))
    if isinstance(exc, TRANSIENT_ERRORS) or (exc.http_status or 0) >= 500:
        return ApplicationError(f"Stripe could not be reached to {doing}; try again in a minute.", status_code=503)
    return ApplicationError(f"Stripe refused to {doing}: {exc.user_message or exc.code or 'invalid request'}.",
                            extra={"stripe_code": exc.code or ""}, status_code=502)


def _cents(amount: Decimal) -> str:
    """A unit price in the currency's minor unit, as Stripe's unit_amount_decimal (up to 12 places)."""
    return format((amount * 100).normalize(), "f")


# --- accounts and prices ---------------------------------------------------------------------------------


def billing_account_for(*, organisation) -> BillingAccount:
    account, _ = BillingAccount.unscoped.get_or_create(organisation=organisation,
                                                       defaults={"livemode": settings.STRIPE_LIVE_MODE})
    return account


def billing_customer_ensure(*, account: BillingAccount, email: str = "") -> str:
    if account.stripe_customer_id:
        return account.stripe_customer_id
    organisation = account.organisation
    try:
        customer = stripe_client().v1.customers.create(
            params={"name": organisation.name, **({"email": email} if email else {}),
                    "metadata": {"migrayt_organisation_id": str(organisation.pk)}},
            options={"idempotency_key": f"migrayt-customer-{organisation.pk}-{account.pk}"})
    except stripe.StripeError as exc:
        raise _stripe_failure(exc, "create your customer record") from exc
    BillingAccount.unscoped.filter(pk=account.pk).update(stripe_customer_id=customer.id, updated_at=timezone.now())
    account.stripe_customer_id = customer.id
    audit_record(organisation=organisation, actor_kind="system", action="billing.customer_created", target=account,
                 data={"stripe_customer_id": customer.id})
    return customer.id


def billing_prices_ensure() -> StripePriceSet:
    """The Stripe product, meters and metered prices of the active pricing table, made once per version of
    the table. Meters and the product are made once ever (a meter's event name is unique at Stripe)."""
    from apps.catalog.selectors import pricing_table_active

    table = pricing_table_active()
    if table is None:
        raise ApplicationError("No price list is active yet; staff set one in the admin.", status_code=409)
    livemode = settings.STRIPE_LIVE_MODE
    current = StripePriceSet.objects.filter(pricing_table=table, livemode=livemode).first()
    if current and current.matches(table):
        return current
    earlier = StripePriceSet.objects.filter(livemode=livemode).first()
    client = stripe_client()
    per_mb = Decimal(table.per_gb_attachments) / 1000
    try:
        product_id = earlier.product_id if earlier else client.v1.products.create(
            params={"name": "Migrayt migration", "metadata": {"migrayt": "migration"}},
            options={"idempotency_key": f"migrayt-product-{int(livemode)}"}).id
        meters = {}
        for meter, field in ((METER_WORK_ITEMS, "items_meter_id"), (METER_ATTACHMENT_MB, "attachments_meter_id")):
            if meter == METER_ATTACHMENT_MB and per_mb <= 0:
                continue
            meters[meter] = (getattr(earlier, field, "") if earlier else "") or client.v1.billing.meters.create(
                params={"display_name": METERS[meter]["display_name"], "event_name": METERS[meter]["event_name"],
                        "default_aggregation": {"formula": "sum"},
                        "customer_mapping": {"type": "by_id", "event_payload_key": "stripe_customer_id"},
                        "value_settings": {"event_payload_key": "value"}},
                options={"idempotency_key": f"migrayt-meter-{meter}-{int(livemode)}"}).id
        prices = {}
        for meter, unit_price in ((METER_WORK_ITEMS, Decimal(table.per_work_item)), (METER_ATTACHMENT_MB, per_mb)):
            if meter not in meters:
                continue
            prices[meter] = client.v1.prices.create(
                params={"currency": table.currency.lower(), "product": product_id,
                        "unit_amount_decimal": _cents(unit_price), "billing_scheme": "per_unit",
                        "nickname": f"{METERS[meter]['display_name']} ({table.name})",
                        "recurring": {"interval": "month", "usage_type": "metered", "meter": meters[meter]},
                        "metadata": {"migrayt_pricing_table": str(table.pk), "migrayt_meter": meter}},
                options={"idempotency_key": f"migrayt-price-{table.pk}-{meter}-{_cents(unit_price)}-{int(livemode)}"}).id
    except stripe.StripeError as exc:
        raise _stripe_failure(exc, "set up the prices") from exc
    return StripePriceSet.objects.create(
        pricing_table=table, currency=table.currency, per_work_item=table.per_work_item,
        per_gb_attachments=table.per_gb_attachments, minimum=table.minimum, livemode=livemode, product_id=product_id,
        items_meter_id=meters[METER_WORK_ITEMS], items_price_id=prices[METER_WORK_ITEMS],
        attachments_meter_id=meters.get(METER_ATTACHMENT_MB, ""), attachments_price_id=prices.get(METER_ATTACHMENT_MB, ""))


# --- checkout --------------------------------------------------------------------------------------------


def billing_checkout_create(*, organisation, actor, quote) -> Checkout:
    """A Stripe Checkout Session (subscription mode, metered prices) for the quote's organisation. The
    customer is billed later for what runs really migrate; the quote is the estimate shown first."""
    from apps.billing.selectors import billing_live_run_allowed

    if not billing_enabled():
        raise ApplicationError("Billing is off on this server: live runs are free, there is nothing to pay.",
                               status_code=409)
    if quote.organisation_id != organisation.pk:
        raise ApplicationError("No such quote in this organisation.", status_code=404)
    allowed, _ = billing_live_run_allowed(organisation=organisation)
    if allowed:
        raise ApplicationError("Your usage subscription is active already: live runs are unlocked.", status_code=409)
    account = billing_account_for(organisation=organisation)
    if account.unpaid_invoices:
        raise ApplicationError("An invoice is unpaid: pay it (the link is in Stripe's e-mail) before checking out "
                               "again.", extra={"invoices": account.unpaid_invoices}, status_code=409)
    price_set = billing_prices_ensure()
    if quote.pricing_table_id != price_set.pricing_table_id:
        raise ApplicationError("Prices changed since this quote was made: make a new quote to see what the run "
                               "will cost.", extra={"field": "quote"}, status_code=409)
    customer_id = billing_customer_ensure(account=account, email=getattr(actor, "email", "") or "")
    checkout = Checkout(organisation=organisation, quote=quote, price_set=price_set, created_by=actor,
                        quoted_total=quote.total, currency=quote.currency)
    back = settings.SITE_URL.rstrip("/") + reverse("billing:checkout_return", args=[checkout.uid])
    line_items = [{"price": price_set.items_price_id}]
    if price_set.attachments_price_id:
        line_items.append({"price": price_set.attachments_price_id})
    metadata = {"migrayt_checkout": str(checkout.uid), "migrayt_organisation_id": str(organisation.pk),
                "migrayt_quote_id": str(quote.pk)}
    try:
        session = stripe_client().v1.checkout.sessions.create(
            params={"mode": "subscription", "customer": customer_id, "line_items": line_items,
                    "client_reference_id": str(checkout.uid), "metadata": metadata,
                    "subscription_data": {"metadata": metadata},
                    "success_url": back + "?session_id={CHECKOUT_SESSION_ID}",
                    "cancel_url": back + "?cancelled=1"},
            options={"idempotency_key": f"migrayt-checkout-{checkout.uid}"})
    except stripe.StripeError as exc:
        raise _stripe_failure(exc, "open the checkout") from exc
    checkout.stripe_session_id, checkout.stripe_url = session.id, session.url or ""
    with transaction.atomic():
        checkout.save()
        audit_record(organisation=organisation, actor=actor, action="billing.checkout_started", target=checkout,
                     data={"quote_id": quote.pk, "stripe_session_id": session.id, "total": str(quote.total)})
    return checkout


def _checkout_for_session(session: dict) -> Checkout | None:
    uid = (session.get("metadata") or {}).get("migrayt_checkout") or session.get("client_reference_id")
    checkout = Checkout.unscoped.select_for_update().filter(stripe_session_id=session.get("id")).first()
    if checkout is None or (uid and str(checkout.uid) != uid):
        logger.warning("stripe: checkout session %s is not one of ours", session.get("id"))
        return None
    return checkout


def billing_checkout_confirm(*, session: dict, event_id: str) -> Checkout | None:
    """Stripe says the checkout completed (a signed event): the organisation's live runs unlock. Applying
    the same event again, or a later one about the same session, changes nothing."""
    with transaction.atomic():
        checkout = _checkout_for_session(session)
        if checkout is None:
            return None
        if checkout.status == Checkout.Status.PAID:
            return checkout
        if session.get("status") != "complete" or session.get("payment_status") not in ("paid", "no_payment_required"):
            # An asynchronous payment (a bank debit) completes later: checkout.session.async_payment_succeeded.
            logger.info("stripe: checkout %s complete but payment %s", checkout.pk, session.get("payment_status"))
            return checkout
        now = timezone.now()
        checkout.status, checkout.confirmed_at, checkout.confirmed_by_event = Checkout.Status.PAID, now, event_id
        checkout.save(update_fields=["status", "confirmed_at", "confirmed_by_event"])
        account = BillingAccount.unscoped.select_for_update().get(organisation_id=checkout.organisation_id)
        account.stripe_subscription_id = session.get("subscription") or account.stripe_subscription_id
        if session.get("customer"):
            account.stripe_customer_id = session["customer"]
        if account.subscription_status in ("", BillingAccount.SubscriptionStatus.INCOMPLETE):
            account.subscription_status = BillingAccount.SubscriptionStatus.ACTIVE
        account.confirmed_at = account.confirmed_at or now
        account.livemode = bool(session.get("livemode"))
        account.updated_at = now
        account.save()
        audit_record(organisation=checkout.organisation, actor_kind="system", action="billing.checkout_confirmed",
                     target=checkout, data={"stripe_event_id": event_id, "stripe_session_id": checkout.stripe_session_id,
                                            "stripe_subscription_id": account.stripe_subscription_id})
    return checkout


def billing_checkout_close(*, session: dict, event_id: str, failed: bool) -> Checkout | None:
    with transaction.atomic():
        checkout = _checkout_for_session(session)
        if checkout is None or checkout.status != Checkout.Status.OPEN:
            return checkout
        checkout.status = Checkout.Status.FAILED if failed else Checkout.Status.EXPIRED
        checkout.save(update_fields=["status"])
        audit_record(organisation=checkout.organisation, actor_kind="system", action=f"billing.checkout_{checkout.status}",
                     target=checkout, data={"stripe_event_id": event_id})
    return checkout


def _account_for_customer(customer_id: str | None) -> BillingAccount | None:
    if not customer_id:
        return None
    return BillingAccount.unscoped.select_for_update().filter(stripe_customer_id=customer_id).first()


def billing_invoice_unpaid(*, invoice: dict, event_id: str) -> BillingAccount | None:
    """A payment failed (or the invoice was written off): NEW live runs stop; runs under way carry on."""
    with transaction.atomic():
        account = _account_for_customer(invoice.get("customer"))
        if account is None or invoice.get("id") in account.unpaid_invoices:
            return account
        account.unpaid_invoices = [*account.unpaid_invoices, invoice["id"]]
        account.updated_at = timezone.now()
        account.save(update_fields=["unpaid_invoices", "updated_at"])
        audit_record(organisation=account.organisation, actor_kind="system", action="billing.invoice_unpaid",
                     target=account, data={"stripe_event_id": event_id, "invoice": invoice["id"],
                                           "amount_due": invoice.get("amount_due"), "currency": invoice.get("currency")})
    return account


def billing_invoice_settled(*, invoice: dict, event_id: str) -> BillingAccount | None:
    with transaction.atomic():
        account = _account_for_customer(invoice.get("customer"))
        if account is None or invoice.get("id") not in account.unpaid_invoices:
            return account
        account.unpaid_invoices = [i for i in account.unpaid_invoices if i != invoice["id"]]
        account.updated_at = timezone.now()
        account.save(update_fields=["unpaid_invoices", "updated_at"])
        audit_record(organisation=account.organisation, actor_kind="system", action="billing.invoice_settled",
                     target=account, data={"stripe_event_id": event_id, "invoice": invoice["id"],
                                           "status": invoice.get("status")})
    return account


def billing_subscription_changed(*, subscription: dict, event_id: str, event_created: int) -> BillingAccount | None:
    with transaction.atomic():
        account = _account_for_customer(subscription.get("customer"))
        if account is None or event_created < account.subscription_event_created:
            return account
        if account.stripe_subscription_id and subscription.get("id") != account.stripe_subscription_id:
            return account  # an old subscription of this customer: the current one decides
        status = subscription.get("status") or ""
        if status not in BillingAccount.SubscriptionStatus.values:
            logger.warning("stripe: unknown subscription status %r", status)
            return account
        before = account.subscription_status
        account.stripe_subscription_id = subscription.get("id") or account.stripe_subscription_id
        account.subscription_status, account.subscription_event_created = status, event_created
        account.updated_at = timezone.now()
        account.save()
        if before != status:
            audit_record(organisation=account.organisation, actor_kind="system", action="billing.subscription_status",
                         target=account, data={"stripe_event_id": event_id, "from": before, "to": status})
    return account


def billing_webhook_accept(*, endpoint, body: str, headers: dict, remote_ip: str):
    """Store one delivery and check its Stripe-Signature against STRIPE_WEBHOOK_SECRET; a valid one is
    processed by a task once this commits. Invalid deliveries are kept too (marked invalid), for staff."""
    from djstripe.models import WebhookEventTrigger

    from apps.billing.tasks import billing_webhook_process

    with transaction.atomic():
        trigger = WebhookEventTrigger.objects.create(headers=headers, body=body, remote_ip=remote_ip,
                                                     webhook_endpoint=endpoint)
        try:
            trigger.valid = trigger.validate(secret=settings.STRIPE_WEBHOOK_SECRET, api_key=settings.STRIPE_SECRET_KEY)
        except (ValueError, stripe.StripeError):
            trigger.valid = False
        trigger.save()
        if trigger.valid:
            billing_webhook_process.delay_on_commit(trigger_id=trigger.pk)
        else:
            logger.warning("stripe webhook: a delivery with a wrong or stale signature was refused (trigger %s)",
                           trigger.pk)
    return trigger


def billing_webhook_endpoint_ensure():
    """The local WebhookEndpoint row whose uuid makes the address Stripe posts to. Its secret is NOT stored
    here: verification reads STRIPE_WEBHOOK_SECRET."""
    from djstripe.models import WebhookEndpoint

    endpoint = WebhookEndpoint.objects.filter(metadata__migrayt="webhook").first()
    if endpoint is None:
        endpoint = WebhookEndpoint(id=f"we_migrayt_{uuid.uuid4().hex[:16]}", livemode=settings.STRIPE_LIVE_MODE,
                                   metadata={"migrayt": "webhook"}, enabled_events=list(WEBHOOK_EVENTS),
                                   status="enabled", api_version=settings.STRIPE_API_VERSION)
    endpoint.url = settings.SITE_URL.rstrip("/") + reverse("djstripe:djstripe_webhook_by_uuid",
                                                           args=[endpoint.djstripe_uuid])
    endpoint.secret = "env:STRIPE_WEBHOOK_SECRET"  # noqa: S105 - a marker, not the secret (dj-stripe warns on an empty one)
    endpoint.save()
    return endpoint


def billing_webhook_process(*, trigger_id: int) -> str:
    """Process one verified Stripe delivery (called by the Celery task, after the webhook committed):
    dj-stripe stores the event (re-fetching its object from Stripe) and fires the handlers in
    apps/billing/webhooks.py. An event id seen before is not processed again."""
    from djstripe.models import WebhookEventTrigger

    trigger = WebhookEventTrigger.objects.filter(pk=trigger_id, valid=True).first()
    if trigger is None:
        return "unknown"
    if trigger.processed:
        return "done_before"
    trigger.process(save=True, api_key=settings.STRIPE_SECRET_KEY)
    return "processed"


# --- usage -----------------------------------------------------------------------------------------------


def _source_site(run) -> str:
    connection = run.source_connection
    return (connection.base_url if connection else f"connection-{run.source_connection_id}").rstrip("/").lower()


def _identifier(run_uid, meter: str, upto: int) -> str:
    # Derived from the run and the checkpoint's place in it (the running total after it): a checkpoint done
    # again yields the same identifier, which our unique constraint and Stripe's 24-hour dedupe both refuse.
    return f"migrayt-run-{run_uid}-{meter}-to-{upto}"


def billing_usage_record(*, run, checkpoint: str = "", attachment_bytes: int = 0) -> list[UsageReport]:
    """Record what a live run migrated since its last checkpoint as usage, and send it to Stripe after
    commit. Work items come from the run's id map (phase "items", adopted ones included), each billed once
    per organisation and source item whichever run wrote it. `attachment_bytes` is the bytes uploaded in
    THIS checkpoint: call inside the checkpoint's transaction, so a checkpoint redone after a crash was
    never counted. Previews and servers without billing record nothing."""
    from apps.runs.models import IdMapEntry

    if run.kind != "live" or not billing_enabled():
        return []
    reports = []
    with transaction.atomic():
        usage, _ = RunUsage.unscoped.select_for_update().get_or_create(
            run_uid=run.uid, defaults={"organisation_id": run.organisation_id, "run": run})
        account = BillingAccount.unscoped.filter(organisation_id=run.organisation_id).first()
        customer_id = account.stripe_customer_id if account else ""
        site, project = _source_site(run), run.source_project
        new_items: list[tuple[str, int]] = []
        entries = IdMapEntry.unscoped.filter(run_id=run.pk, phase="items", id__gt=usage.last_id_map_entry,
                                             rolled_back=False).order_by("id").values_list("id", "source_id")
        batch = list(entries[:BATCH])
        while batch:
            ids = [sid for _, sid in batch]
            billed = set(BilledItem.unscoped.filter(organisation_id=run.organisation_id, source_site=site,
                                                    source_project=project, source_id__in=ids)
                         .values_list("source_id", flat=True))
            new_items += [(sid, pk) for pk, sid in batch if sid not in billed]
            usage.items_migrated += len(batch)
            usage.last_id_map_entry = batch[-1][0]
            batch = list(entries.filter(id__gt=usage.last_id_map_entry)[:BATCH])
        now = timezone.now()
        if new_items:
            upto = usage.items_billed + len(new_items)
            report = UsageReport.unscoped.create(
                organisation_id=run.organisation_id, usage=usage, meter=METER_WORK_ITEMS, quantity=len(new_items),
                identifier=_identifier(run.uid, METER_WORK_ITEMS, upto), checkpoint=checkpoint[:100],
                stripe_customer_id=customer_id, created_at=now,
                status=UsageReport.Status.PENDING if customer_id else UsageReport.Status.NO_CUSTOMER)
            BilledItem.unscoped.bulk_create(
                [BilledItem(organisation_id=run.organisation_id, source_site=site, source_project=project,
                            source_id=sid, usage=usage, report=report, billed_at=now) for sid, _ in new_items],
                batch_size=BATCH)
            usage.items_billed = upto
            reports.append(report)
        if attachment_bytes > 0:
            usage.attachment_bytes += int(attachment_bytes)
            upto_mb = math.ceil(usage.attachment_bytes / MEGABYTE)
            if upto_mb > usage.attachment_mb_billed:
                reports.append(UsageReport.unscoped.create(
                    organisation_id=run.organisation_id, usage=usage, meter=METER_ATTACHMENT_MB,
                    quantity=upto_mb - usage.attachment_mb_billed, identifier=_identifier(run.uid, METER_ATTACHMENT_MB,
                                                                                          upto_mb),
                    checkpoint=checkpoint[:100], stripe_customer_id=customer_id, created_at=now,
                    status=UsageReport.Status.PENDING if customer_id else UsageReport.Status.NO_CUSTOMER))
                usage.attachment_mb_billed = upto_mb
        usage.checkpoints += 1
        usage.updated_at = now
        usage.save()
        for report in reports:
            if report.status == UsageReport.Status.PENDING:
                _send_on_commit(report.pk)
    return reports


def _send_on_commit(report_id: int) -> None:
    from apps.billing.tasks import billing_meter_event_send

    billing_meter_event_send.delay_on_commit(report_id=report_id)


def billing_meter_event_send(*, report_id: int) -> str:
    """Send one usage report as a Billing Meter event. Safe to repeat: the identifier makes Stripe keep
    one event. Returns sent, done_before, failed or retry (a transient failure: the task tries again)."""
    report = UsageReport.unscoped.filter(pk=report_id).first()
    if report is None or report.status == UsageReport.Status.SENT:
        return "done_before"
    if not report.stripe_customer_id:
        UsageReport.unscoped.filter(pk=report.pk).update(status=UsageReport.Status.NO_CUSTOMER)
        return "failed"
    params = {"event_name": METERS[report.meter]["event_name"], "identifier": report.identifier,
              "timestamp": int(report.created_at.timestamp()),
              "payload": {"stripe_customer_id": report.stripe_customer_id, "value": str(report.quantity)}}
    try:
        stripe_client().v1.billing.meter_events.create(params=params)
    except stripe.StripeError as exc:
        transient = isinstance(exc, TRANSIENT_ERRORS) or (exc.http_status or 0) >= 500
        # Stripe answers a repeated identifier with an error: it already holds the event, which is success.
        said = f"{exc.code or ''} {exc.user_message or ''}".lower()
        duplicate = "duplicate" in said or ("identifier" in said and "already" in said)
        if duplicate:
            UsageReport.unscoped.filter(pk=report.pk).update(status=UsageReport.Status.SENT, sent_at=timezone.now(),
                                                             attempts=report.attempts + 1, error="")
            return "sent"
        UsageReport.unscoped.filter(pk=report.pk).update(
            attempts=report.attempts + 1, error=f"{type(exc).__name__}: {exc.user_message or exc.code or ''}"[:2000],
            status=UsageReport.Status.PENDING if transient else UsageReport.Status.FAILED)
        logger.warning("stripe: meter event %s not sent (%s)", report.identifier, type(exc).__name__)
        return "retry" if transient else "failed"
    UsageReport.unscoped.filter(pk=report.pk).update(status=UsageReport.Status.SENT, sent_at=timezone.now(),
                                                     attempts=report.attempts + 1, error="")
    return "sent"


def billing_usage_send_pending(*, older_than_seconds: int = 0) -> int:
    """Enqueue every report still waiting to be sent (its task was lost with a worker killed between the
    checkpoint's commit and the enqueue): what a worker does when it starts. Repeats are harmless."""
    from datetime import timedelta

    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    ids = list(UsageReport.unscoped.filter(status=UsageReport.Status.PENDING, created_at__lte=cutoff)
               .values_list("pk", flat=True)[:5000])
    for report_id in ids:
        _send_on_commit(report_id)
    return len(ids)


def billing_minimum_top_up(*, run_id: int) -> str:
    """When a live run has finished and what it billed is below the pricing table's minimum charge (as the
    quote showed), add the difference to the next invoice as one invoice item. Only for a run that billed
    something (a re-run that migrated nothing new is not charged), once (stored id, idempotency key)."""
    usage = RunUsage.unscoped.filter(run_id=run_id).select_related("run").first()
    if usage is None or usage.run is None or usage.run.state != "finished" or usage.minimum_invoice_item_id:
        return "not_due"
    if usage.items_billed == 0 and usage.attachment_mb_billed == 0:
        return "nothing_billed"
    checkout = (Checkout.unscoped.filter(organisation_id=usage.organisation_id, status=Checkout.Status.PAID)
                .select_related("price_set").order_by("-confirmed_at").first())
    account = BillingAccount.unscoped.filter(organisation_id=usage.organisation_id).first()
    price_set = checkout.price_set if checkout else None
    if price_set is None or account is None or not account.stripe_customer_id or price_set.minimum <= 0:
        return "no_minimum"
    billed = (usage.items_billed * price_set.per_work_item
              + usage.attachment_mb_billed * price_set.per_gb_attachments / 1000).quantize(Decimal("0.01"))
    gap = (price_set.minimum - billed).quantize(Decimal("0.01"))
    if gap <= 0:
        RunUsage.unscoped.filter(pk=usage.pk).update(minimum_top_up=Decimal("0"))
        return "above_minimum"
    try:
        item = stripe_client().v1.invoice_items.create(
            params={"customer": account.stripe_customer_id, "currency": price_set.currency.lower(),
                    "amount": int(gap * 100), "description": f"Minimum charge for migration run {usage.run_uid}",
                    **({"subscription": account.stripe_subscription_id} if account.stripe_subscription_id else {}),
                    "metadata": {"migrayt_run": str(usage.run_uid), "migrayt_billed": str(billed)}},
            options={"idempotency_key": f"migrayt-minimum-{usage.run_uid}"})
    except stripe.StripeError as exc:
        raise _stripe_failure(exc, "add the minimum charge") from exc
    with transaction.atomic():
        RunUsage.unscoped.filter(pk=usage.pk).update(minimum_top_up=gap, minimum_invoice_item_id=item.id,
                                                     updated_at=timezone.now())
        audit_record(organisation=usage.organisation, actor_kind="system", action="billing.minimum_charged",
                     target=usage, data={"run_uid": str(usage.run_uid), "billed": str(billed), "top_up": str(gap),
                                         "stripe_invoice_item": item.id})
    return "charged"


def billing_usage_resend(*, reports) -> int:
    """Staff: send failed or stuck reports again (same identifiers, so nothing is counted twice)."""
    count = 0
    for report in reports:
        if report.status in (UsageReport.Status.FAILED, UsageReport.Status.PENDING, UsageReport.Status.NO_CUSTOMER):
            account = BillingAccount.unscoped.filter(organisation_id=report.organisation_id).first()
            with transaction.atomic():
                UsageReport.unscoped.filter(pk=report.pk).update(
                    status=UsageReport.Status.PENDING,
                    stripe_customer_id=report.stripe_customer_id or (account.stripe_customer_id if account else ""))
                _send_on_commit(report.pk)
            count += 1
    return count


# --- credits ---------------------------------------------------------------------------------------------


def billing_credit_grant(*, organisation, actor, amount: Decimal, currency: str, reason: str) -> Credit:
    """Staff: credit the organisation's Stripe balance (taken off its next invoices)."""
    amount = Decimal(amount)
    if amount <= 0:
        raise ApplicationError("A credit is a positive amount.", extra={"field": "amount"})
    if not reason.strip():
        raise ApplicationError("Say why the credit is given (the customer sees it on the invoice).",
                               extra={"field": "reason"})
    account = BillingAccount.unscoped.filter(organisation=organisation).first()
    if account is None or not account.stripe_customer_id:
        raise ApplicationError("This organisation has no Stripe customer yet (it has never been to checkout).",
                               extra={"field": "organisation"})
    credit = Credit(organisation=organisation, amount=amount, currency=currency.upper(), reason=reason.strip(),
                    granted_by=actor)
    minor = int((amount * 100).to_integral_value())
    try:
        transaction_ = stripe_client().v1.customers.balance_transactions.create(
            account.stripe_customer_id,
            params={"amount": -minor, "currency": currency.lower(), "description": reason.strip()[:350],
                    "metadata": {"migrayt_credit": str(credit.uid)}},
            options={"idempotency_key": f"migrayt-credit-{credit.uid}"})
    except stripe.StripeError as exc:
        raise _stripe_failure(exc, "record the credit") from exc
    credit.stripe_transaction_id = transaction_.id
    with transaction.atomic():
        credit.save()
        audit_record(organisation=organisation, actor=actor, action="billing.credit_granted", target=credit,
                     data={"amount": str(amount), "currency": credit.currency,
                           "stripe_transaction_id": transaction_.id})
    return credit
