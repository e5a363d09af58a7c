"""Reads of billing state. Everything a customer sees is scoped to their organisation."""

from django.conf import settings
from django.db.models import QuerySet, Sum

from apps.billing.models import BillingAccount, Checkout, RunUsage, UsageReport

BLOCKING_STATUSES = {
    BillingAccount.SubscriptionStatus.PAST_DUE: "A payment is past due",
    BillingAccount.SubscriptionStatus.UNPAID: "The subscription is unpaid",
    BillingAccount.SubscriptionStatus.CANCELED: "The usage subscription was cancelled",
    BillingAccount.SubscriptionStatus.INCOMPLETE_EXPIRED: "The first payment never completed",
    BillingAccount.SubscriptionStatus.PAUSED: "The usage subscription is paused",
    BillingAccount.SubscriptionStatus.INCOMPLETE: "The first payment has not completed yet",
}


def billing_account_get(*, organisation) -> BillingAccount | None:
    return BillingAccount.objects.for_organisation(organisation).first()


def billing_live_run_allowed(*, organisation, run=None) -> tuple[bool, str]:
    """May this organisation start a NEW live run? (True, why) or (False, what to do). Only Stripe's signed
    events change the answer. A run already under way is never stopped by billing: ask this before a live
    run starts, not between its steps. `run` is accepted for the engine's convenience; the answer is the
    organisation's."""
    if not settings.STRIPE_SECRET_KEY:
        return True, "Billing is off on this server: runs are free."
    account = billing_account_get(organisation=organisation)
    if account is None or account.confirmed_at is None:
        return False, ("Live runs unlock once Stripe confirms your checkout: open Checkout, review the quote and "
                       "enter your payment details.")
    if account.unpaid_invoices:
        return False, (f"Invoice {', '.join(account.unpaid_invoices)} is unpaid: new live runs are stopped until it is "
                       "paid (runs already under way carry on). Pay it from Stripe's e-mail or update your card.")
    if account.subscription_status in BLOCKING_STATUSES:
        return False, (f"{BLOCKING_STATUSES[account.subscription_status]}: new live runs are stopped (runs already "
                       "under way carry on). Check out again or contact support.")
    return True, "Paid: live runs are unlocked and billed for what they migrate."


def checkout_list(*, organisation) -> QuerySet[Checkout]:
    return Checkout.objects.for_organisation(organisation).select_related("quote", "created_by")


def checkout_get(*, organisation, checkout_uid) -> Checkout:
    """Raises Checkout.DoesNotExist for another organisation's checkout, as for a missing one."""
    return checkout_list(organisation=organisation).get(uid=checkout_uid)


def run_usage_list(*, organisation) -> QuerySet[RunUsage]:
    return RunUsage.objects.for_organisation(organisation).select_related("run")


def usage_report_list(*, organisation, run_id: int | None = None) -> QuerySet[UsageReport]:
    qs = UsageReport.objects.for_organisation(organisation).select_related("usage")
    if run_id is not None:
        qs = qs.filter(usage__run_id=run_id)
    return qs


def run_billed_totals(*, organisation, run_id: int) -> dict:
    """Per meter: what was recorded, and what Stripe has accepted, for one run."""
    totals = {}
    for meter, status, quantity in (usage_report_list(organisation=organisation, run_id=run_id)
                                    .values_list("meter", "status").annotate(q=Sum("quantity"))
                                    .values_list("meter", "status", "q")):
        entry = totals.setdefault(meter, {"recorded": 0, "sent": 0})
        entry["recorded"] += quantity
        if status == UsageReport.Status.SENT:
            entry["sent"] += quantity
    return totals
