"""Staff: customers (billing accounts), checkouts, runs with their billed usage and meter events, manual
credits, and the Stripe prices made from each pricing table (the pricing table itself is in Catalog)."""

from django import forms
from django.contrib import admin, messages

from apps.billing import services
from apps.billing.models import BillingAccount, Checkout, Credit, RunUsage, StripePriceSet, UsageReport
from apps.core.admin import OrganisationOwnedAdmin
from apps.core.exceptions import ApplicationError


class ReadOnlyMixin:
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # billed usage is evidence: it stays


@admin.register(BillingAccount)
class BillingAccountAdmin(ReadOnlyMixin, OrganisationOwnedAdmin):
    list_display = ["organisation", "stripe_customer_id", "subscription_status", "unpaid_invoices", "confirmed_at",
                    "livemode", "updated_at"]
    list_filter = ["subscription_status", "livemode"]
    search_fields = ["organisation__name", "stripe_customer_id", "stripe_subscription_id"]
    readonly_fields = [f.name for f in BillingAccount._meta.fields]


@admin.register(Checkout)
class CheckoutAdmin(ReadOnlyMixin, OrganisationOwnedAdmin):
    list_display = ["uid", "organisation", "status", "quoted_total", "currency", "created_by", "created_at",
                    "confirmed_at"]
    list_filter = ["status"]
    search_fields = ["organisation__name", "stripe_session_id"]
    readonly_fields = [f.name for f in Checkout._meta.fields]


class UsageReportInline(ReadOnlyMixin, admin.TabularInline):
    model = UsageReport
    fields = ["created_at", "meter", "quantity", "identifier", "checkpoint", "status", "attempts", "error", "sent_at"]
    readonly_fields = fields
    extra = 0

    def get_queryset(self, request):
        return UsageReport.unscoped.all()


@admin.register(RunUsage)
class RunUsageAdmin(ReadOnlyMixin, OrganisationOwnedAdmin):
    list_display = ["run_uid", "run", "organisation", "items_migrated", "items_billed", "attachment_mb_billed",
                    "checkpoints", "updated_at"]
    search_fields = ["organisation__name", "run_uid"]
    readonly_fields = [f.name for f in RunUsage._meta.fields]
    inlines = [UsageReportInline]


@admin.register(UsageReport)
class UsageReportAdmin(ReadOnlyMixin, OrganisationOwnedAdmin):
    list_display = ["identifier", "organisation", "meter", "quantity", "status", "attempts", "created_at", "sent_at"]
    list_filter = ["status", "meter"]
    search_fields = ["identifier", "organisation__name"]
    readonly_fields = [f.name for f in UsageReport._meta.fields]
    actions = ["send_again"]

    @admin.action(description="Send again to Stripe (same identifiers: never counted twice)")
    def send_again(self, request, queryset):
        count = services.billing_usage_resend(reports=list(queryset))
        self.message_user(request, f"{count} meter event(s) queued again.")


class CreditForm(forms.ModelForm):
    class Meta:
        model = Credit
        fields = ["organisation", "amount", "currency", "reason"]


@admin.register(Credit)
class CreditAdmin(OrganisationOwnedAdmin):
    """A manual credit goes to Stripe first (a customer balance transaction), then is recorded here."""

    form = CreditForm
    list_display = ["organisation", "amount", "currency", "reason", "granted_by", "stripe_transaction_id", "created_at"]
    search_fields = ["organisation__name", "reason"]

    def get_readonly_fields(self, request, obj=None):
        return ["organisation", "amount", "currency", "reason", "granted_by", "stripe_transaction_id",
                "created_at"] if obj else []

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        if change:
            return
        try:
            credit = services.billing_credit_grant(organisation=obj.organisation, actor=request.user, amount=obj.amount,
                                                   currency=obj.currency, reason=obj.reason)
        except ApplicationError as exc:
            self.message_user(request, exc.message, level=messages.ERROR)
            obj.pk = None
            return
        obj.pk, obj.uid, obj.stripe_transaction_id = credit.pk, credit.uid, credit.stripe_transaction_id

    def response_add(self, request, obj, post_url_continue=None):
        if obj.pk is None:
            from django.http import HttpResponseRedirect

            return HttpResponseRedirect(request.path)
        return super().response_add(request, obj, post_url_continue)


@admin.register(StripePriceSet)
class StripePriceSetAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["pricing_table", "currency", "per_work_item", "per_gb_attachments", "items_price_id",
                    "attachments_price_id", "livemode", "created_at"]
    readonly_fields = [f.name for f in StripePriceSet._meta.fields]



# dj-stripe 2.11's admins search fields that moved into `stripe_data` (Account.settings, Customer.description ...):
# any search on those lists answered 500. Keep each admin, searching only what exists.
def _djstripe_search_fields_repair():
    from django.core.exceptions import FieldDoesNotExist

    for model, model_admin in list(admin.site._registry.items()):
        if model._meta.app_label != "djstripe":
            continue
        kept = []
        for lookup in model_admin.search_fields:
            model_of, ok = model, True
            for part in lookup.lstrip("^=@").split("__"):
                try:
                    field = model_of._meta.get_field(part)
                except FieldDoesNotExist:
                    ok = False
                    break
                model_of = field.related_model or model_of
            if ok:
                kept.append(lookup)
        model_admin.search_fields = tuple(kept) or ("id",)


_djstripe_search_fields_repair()
