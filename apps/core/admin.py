from django.contrib import admin

from apps.core.models import AuditEvent, WorkerHeartbeat


class ReadOnlyAdminMixin:
    """A record of what happened (audit events, verification differences): staff read it, nobody edits it."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class OrganisationOwnedAdmin(admin.ModelAdmin):
    """Staff work across organisations on purpose, so the admin reads through `unscoped`."""

    list_select_related = ["organisation"]

    def get_queryset(self, request):
        qs = self.model.unscoped.get_queryset()
        ordering = self.get_ordering(request)
        return qs.order_by(*ordering) if ordering else qs


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdminMixin, OrganisationOwnedAdmin):
    list_display = ["created_at", "organisation", "actor", "actor_kind", "action", "target_type", "target_id"]
    list_filter = ["action", "actor_kind"]
    search_fields = ["action", "target_id", "organisation__name", "actor__email"]
    date_hierarchy = "created_at"


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(admin.ModelAdmin):
    list_display = ["hostname", "last_seen_at"]
