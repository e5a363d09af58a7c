from django.contrib import admin

from apps.core.admin import OrganisationOwnedAdmin
from apps.webhooks.models import WebhookDelivery, WebhookEndpoint


class WebhookDeliveryInline(admin.TabularInline):
    model = WebhookDelivery
    fk_name = "endpoint"
    can_delete = False
    extra = 0
    max_num = 0
    ordering = ["-id"]
    fields = readonly_fields = ["event", "event_id", "state", "attempts", "last_status_code", "last_error",
                                "created_at", "delivered_at"]

    def get_queryset(self, request):
        return WebhookDelivery.unscoped.all()


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(OrganisationOwnedAdmin):
    """Staff see endpoints and their delivery log and may switch an endpoint off. The signing secret's
    reference is not a field here at all; only the organisation rotates it (on /webhooks/)."""

    list_display = ["url", "organisation", "enabled", "created_at"]
    list_filter = ["enabled"]
    search_fields = ["url", "organisation__name"]
    exclude = ["secret_ref"]
    readonly_fields = ["organisation", "url", "description", "events", "created_by", "created_at", "updated_at"]
    inlines = [WebhookDeliveryInline]

    def has_add_permission(self, request):
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(OrganisationOwnedAdmin):
    list_display = ["created_at", "event", "endpoint", "organisation", "state", "attempts", "last_status_code"]
    list_filter = ["state", "event"]
    search_fields = ["endpoint__url", "organisation__name", "event_id"]
    readonly_fields = ["organisation", "endpoint", "event", "event_id", "payload", "state", "attempts",
                       "next_attempt_at", "last_status_code", "last_error", "last_duration_ms", "created_at",
                       "delivered_at"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
