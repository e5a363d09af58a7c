import json

from django.contrib import admin
from django.http import HttpResponse

from apps.core.admin import OrganisationOwnedAdmin
from apps.mappings import services
from apps.mappings.models import MappingRow, MappingSet, MappingVersion


class MappingRowInline(admin.TabularInline):
    model = MappingRow
    extra = 0
    can_delete = False
    fields = ["kind", "scope", "source_label", "target", "transform", "confidence", "layer", "decision", "decided_by"]
    readonly_fields = fields
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return MappingRow.unscoped.select_related("decided_by").order_by("position", "id")


@admin.register(MappingSet)
class MappingSetAdmin(OrganisationOwnedAdmin):
    """Staff can look at every mapping, change its options, export it and approve it for a customer (the
    same service, the same validation, audited as staff). Rows are decided by the organisation's people."""

    list_display = ["name", "organisation", "source_project", "destination_project", "draft_status", "updated_at"]
    list_filter = ["draft_status", "source_kind", "destination_kind"]
    search_fields = ["name", "organisation__name", "source_project", "destination_project"]
    readonly_fields = ["organisation", "source_scan", "destination_scan", "source_kind", "destination_kind",
                       "source_project", "destination_project", "draft_status", "draft_message", "drafted_at",
                       "llm_consent_by", "llm_consent_at", "llm_consent_categories", "llm_requested_sha256",
                       "created_by", "created_at", "updated_at"]
    exclude = ["source_schema", "destination_schema"]
    inlines = [MappingRowInline]
    actions = ["approve", "export", "redraft"]

    def has_add_permission(self, request):
        return False  # made from two scans, by the organisation

    @admin.action(description="Approve the selected mappings (freezes a version if nothing blocks it)")
    def approve(self, request, queryset):
        from apps.core.exceptions import ApplicationError

        for mapping_set in queryset:
            try:
                version = services.mapping_set_approve(mapping_set=mapping_set, actor=request.user, actor_kind="staff")
            except ApplicationError as exc:
                self.message_user(request, f"{mapping_set.name}: {exc.message}", level="error")
            else:
                self.message_user(request, f"{mapping_set.name}: version {version.number} approved.")

    @admin.action(description="Export the selected mapping as JSON")
    def export(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Export one mapping at a time.", level="error")
            return None
        mapping_set = queryset.first()
        document = services.mapping_set_export(mapping_set=mapping_set, actor=request.user, actor_kind="staff")
        response = HttpResponse(json.dumps(document, indent=2, ensure_ascii=False), content_type="application/json")
        response["Content-Disposition"] = f'attachment; filename="mapping-{mapping_set.pk}.json"'
        return response

    @admin.action(description="Draft the selected mappings again (offline layers; decisions are kept)")
    def redraft(self, request, queryset):
        from apps.core.exceptions import ApplicationError

        for mapping_set in queryset:
            try:
                services.mapping_set_draft_request(mapping_set=mapping_set, actor=request.user, actor_kind="staff")
            except ApplicationError as exc:
                self.message_user(request, f"{mapping_set.name}: {exc.message}", level="error")
            else:
                self.message_user(request, f"{mapping_set.name}: drafting.")


@admin.register(MappingVersion)
class MappingVersionAdmin(OrganisationOwnedAdmin):
    list_display = ["mapping_set", "number", "organisation", "approved_by", "approved_at", "content_sha256"]
    search_fields = ["mapping_set__name", "organisation__name", "content_sha256"]
    readonly_fields = ["organisation", "mapping_set", "number", "content", "content_sha256", "warnings", "approved_by",
                       "approved_at"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False  # frozen

    def has_delete_permission(self, request, obj=None):
        return False
