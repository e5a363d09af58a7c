from django.contrib import admin, messages

from apps.catalog import services
from apps.catalog.models import PricingTable, Quote, Scan


@admin.register(PricingTable)
class PricingTableAdmin(admin.ModelAdmin):
    list_display = ["name", "currency", "per_work_item", "per_gb_attachments", "minimum", "active", "updated_at"]
    list_filter = ["active", "currency"]
    readonly_fields = ["active", "created_at", "updated_at"]
    actions = ["make_active"]
    fields = ["name", "currency", "per_work_item", "per_gb_attachments", "minimum", "notes", "active",
              "created_at", "updated_at"]

    @admin.action(description="Make this the active price list (the only one)")
    def make_active(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Choose exactly one price list to make active.", level=messages.ERROR)
            return
        table = services.pricing_table_activate(table=queryset.get())
        self.message_user(request, f"“{table.name}” is now the active price list; new quotes use it.")

    def save_model(self, request, obj, form, change):
        from django.utils import timezone

        obj.currency = obj.currency.upper()
        obj.updated_at = timezone.now()
        super().save_model(request, obj, form, change)
        if not PricingTable.objects.filter(active=True).exists():
            services.pricing_table_activate(table=obj)  # the first price list is the active one


@admin.register(Scan)
class ScanAdmin(admin.ModelAdmin):
    """Staff see scans across organisations (read-only): schema and volumes, never ticket content (a scan
    keeps none)."""

    list_display = ["id", "organisation", "connection_name", "project_key", "role", "status", "items_done",
                    "requests_made", "created_at", "finished_at"]
    list_filter = ["status", "role", "connection_kind"]
    search_fields = ["project_key", "project_name", "connection_name", "organisation__name"]
    readonly_fields = [f.name for f in Scan._meta.fields]

    def get_queryset(self, request):
        return Scan.unscoped.select_related("organisation")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Quote)
class QuoteAdmin(admin.ModelAdmin):
    list_display = ["id", "organisation", "scan", "total", "currency", "destination_kind", "estimate_seconds",
                    "created_at"]
    readonly_fields = [f.name for f in Quote._meta.fields]

    def get_queryset(self, request):
        return Quote.unscoped.select_related("organisation", "scan")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
