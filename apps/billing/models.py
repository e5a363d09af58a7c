"""Billing: who the organisation is at Stripe, its checkouts, and what each live run was billed.

Stripe's own objects (customers, subscriptions, invoices, events) are mirrored by dj-stripe; these tables
hold what dj-stripe does not: the link from an organisation to its Stripe customer, the state that decides
whether a NEW live run may start, the Stripe prices made from a pricing table, and usage reported as
Billing Meter events (dj-stripe has no meter models), one row per run, meter and checkpoint, so billed
usage can be shown and reconciled with Stripe.
"""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from apps.core.tenancy import OrganisationOwned

METER_WORK_ITEMS = "work_items"
METER_ATTACHMENT_MB = "attachment_megabytes"
METERS = {
    METER_WORK_ITEMS: {"event_name": "migrayt_work_items", "display_name": "Migrated work items", "unit": "item"},
    METER_ATTACHMENT_MB: {"event_name": "migrayt_attachment_megabytes", "display_name": "Migrated attachments (MB)",
                          "unit": "MB"},
}


class BillingAccount(OrganisationOwned):
    """One per organisation once it has been to checkout: its Stripe customer and subscription, and what
    Stripe last told us about them (through signed webhooks only)."""

    class SubscriptionStatus(models.TextChoices):
        NONE = "", "None yet"
        INCOMPLETE = "incomplete", "Incomplete"
        ACTIVE = "active", "Active"
        TRIALING = "trialing", "Trialing"
        PAST_DUE = "past_due", "Past due"
        UNPAID = "unpaid", "Unpaid"
        CANCELED = "canceled", "Cancelled"
        INCOMPLETE_EXPIRED = "incomplete_expired", "Incomplete, expired"
        PAUSED = "paused", "Paused"

    ALLOWING = (SubscriptionStatus.ACTIVE, SubscriptionStatus.TRIALING)

    stripe_customer_id = models.CharField(max_length=255, blank=True, db_index=True)
    stripe_subscription_id = models.CharField(max_length=255, blank=True, db_index=True)
    subscription_status = models.CharField(max_length=30, choices=SubscriptionStatus.choices, blank=True)
    # Invoices Stripe said failed or stayed unpaid, and not yet paid since: any one stops new live runs.
    unpaid_invoices = models.JSONField(default=list, blank=True)
    # When Stripe made the subscription event we last applied: an older event arriving late changes nothing.
    subscription_event_created = models.BigIntegerField(default=0)
    confirmed_at = models.DateTimeField(null=True, blank=True)  # the first checkout Stripe confirmed
    livemode = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organisation"], name="billing_one_account_per_org")]

    def __str__(self):
        return f"Billing of {self.organisation} ({self.stripe_customer_id or 'no customer yet'})"


class StripePriceSet(models.Model):
    """The Stripe product, meters and metered prices made from one pricing table (staff data, no tenant).
    A changed table gets new prices (Stripe prices cannot change amount); old subscriptions keep theirs."""

    pricing_table = models.ForeignKey("catalog.PricingTable", on_delete=models.PROTECT, related_name="+")
    # The table's prices when the Stripe prices were made: a table edited since needs a new set.
    currency = models.CharField(max_length=3)
    per_work_item = models.DecimalField(max_digits=10, decimal_places=4)
    per_gb_attachments = models.DecimalField(max_digits=10, decimal_places=2)
    minimum = models.DecimalField(max_digits=10, decimal_places=2, default=0)  # per live run that billed usage
    livemode = models.BooleanField(default=False)
    product_id = models.CharField(max_length=255)
    items_meter_id = models.CharField(max_length=255)
    items_price_id = models.CharField(max_length=255)
    attachments_meter_id = models.CharField(max_length=255, blank=True)
    attachments_price_id = models.CharField(max_length=255, blank=True)  # none when attachments are free
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"Stripe prices of {self.pricing_table} ({self.items_price_id})"

    def matches(self, table) -> bool:
        return (self.currency.lower() == table.currency.lower() and self.per_work_item == table.per_work_item
                and self.per_gb_attachments == table.per_gb_attachments and self.minimum == table.minimum)


class Checkout(OrganisationOwned):
    """A Stripe Checkout Session started from a quote. It is PAID only when a signed webhook says so; the
    browser coming back to the success page proves nothing."""

    class Status(models.TextChoices):
        OPEN = "open", "Waiting for payment"
        PAID = "paid", "Confirmed by Stripe"
        EXPIRED = "expired", "Expired"
        FAILED = "failed", "Payment failed"

    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    quote = models.ForeignKey("catalog.Quote", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    price_set = models.ForeignKey(StripePriceSet, null=True, on_delete=models.SET_NULL, related_name="+")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN, db_index=True)
    stripe_session_id = models.CharField(max_length=255, unique=True)
    stripe_url = models.URLField(max_length=2048, blank=True)
    quoted_total = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    confirmed_by_event = models.CharField(max_length=255, blank=True)  # the Stripe event id

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"Checkout {self.pk} ({self.status})"


class RunUsage(OrganisationOwned):
    """What one live run has been billed so far: the high-water marks the next checkpoint starts from."""

    run = models.OneToOneField("runs.Run", null=True, on_delete=models.SET_NULL, related_name="billing_usage")
    run_uid = models.UUIDField(unique=True)  # kept when a run is deleted: the identifiers derive from it
    last_id_map_entry = models.BigIntegerField(default=0)  # the id map read up to here
    items_migrated = models.PositiveIntegerField(default=0)  # items this run wrote (its id map)
    items_billed = models.PositiveIntegerField(default=0)  # of those, new to the organisation: billed
    attachment_bytes = models.PositiveBigIntegerField(default=0)
    attachment_mb_billed = models.PositiveIntegerField(default=0)
    checkpoints = models.PositiveIntegerField(default=0)
    # The pricing table's minimum charge: when a finished run billed less, an invoice item makes up the rest.
    minimum_top_up = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    minimum_invoice_item_id = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-updated_at", "-id"]
        verbose_name = "run with billed usage"
        verbose_name_plural = "runs with billed usage"

    def __str__(self):
        return f"Usage of run {self.run_id or self.run_uid}: {self.items_billed} items"


class UsageReport(OrganisationOwned):
    """One Billing Meter event: a meter, a quantity, and an identifier derived from the run and the
    checkpoint (so sending it again, from a retry or a redelivered task, is deduplicated by Stripe, and
    recording it again is refused by the unique constraint here)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting to be sent"
        SENT = "sent", "Accepted by Stripe"
        FAILED = "failed", "Refused by Stripe"
        NO_CUSTOMER = "no_customer", "No Stripe customer"

    usage = models.ForeignKey(RunUsage, on_delete=models.PROTECT, related_name="reports")
    meter = models.CharField(max_length=30, choices=[(k, v["display_name"]) for k, v in METERS.items()])
    quantity = models.PositiveBigIntegerField()
    identifier = models.CharField(max_length=100, unique=True)
    checkpoint = models.CharField(max_length=100)  # the engine's label of the checkpoint, for reconciling
    stripe_customer_id = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING, db_index=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self):
        return f"{self.quantity} {self.meter} ({self.identifier})"


class BilledItem(OrganisationOwned):
    """A source item this organisation has been billed for, once, whichever run wrote it: a re-run, a
    retry or a second run of the same project never bills it again."""

    source_site = models.CharField(max_length=500)  # the source connection's address, lower-case
    source_project = models.CharField(max_length=255)
    source_id = models.CharField(max_length=400)
    usage = models.ForeignKey(RunUsage, on_delete=models.PROTECT, related_name="billed_items")
    report = models.ForeignKey(UsageReport, null=True, on_delete=models.PROTECT, related_name="billed_items")
    billed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organisation", "source_site", "source_project", "source_id"],
                                               name="billed_item_once")]


class Credit(OrganisationOwned):
    """A manual credit granted by staff: a negative customer balance transaction at Stripe, which Stripe
    takes off the next invoices."""

    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)  # the idempotency key
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3)
    reason = models.CharField(max_length=500)
    stripe_transaction_id = models.CharField(max_length=255, blank=True)
    granted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"Credit of {self.amount} {self.currency} to {self.organisation}"
