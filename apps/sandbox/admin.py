from django.contrib import admin

from apps.sandbox.models import SandboxRequest, SandboxSite, SandboxToken


@admin.register(SandboxSite)
class SandboxSiteAdmin(admin.ModelAdmin):
    list_display = ["slug", "kind", "rate_limit_site", "rate_limit_token", "latency_ms", "fault_rate", "seed", "seeded_at"]
    list_filter = ["kind"]
    readonly_fields = ["request_seq", "seeded_at", "seed_summary", "created_at"]


@admin.register(SandboxToken)
class SandboxTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "site", "token_prefix", "is_active", "expires_at", "last_used_at"]
    list_filter = ["site", "is_active"]
    # The hash is not a secret worth showing, and the secret is never stored.
    exclude = ["token_hash"]
    readonly_fields = ["token_prefix", "created_at", "last_used_at"]

    def has_add_permission(self, request):
        return False  # tokens are made by the control API or the seed command, which show the secret once


@admin.register(SandboxRequest)
class SandboxRequestAdmin(admin.ModelAdmin):
    list_display = ["created_at", "site", "method", "endpoint", "status", "response_bytes", "duration_ms", "fault"]
    list_filter = ["site", "status", "fault"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
