from django.contrib import admin

from apps.connections.models import Connection, OAuthCredential
from apps.connections.services import connection_test
from apps.core.admin import OrganisationOwnedAdmin


class OAuthCredentialInline(admin.StackedInline):
    """OAuth connections: what was granted and the state of the sign-in. The token references are not
    fields here at all (they are not editable), let alone the tokens."""

    model = OAuthCredential
    fk_name = "connection"
    can_delete = False
    extra = 0
    fields = readonly_fields = ["provider", "scopes", "cloud_id", "api_base_url", "account", "status", "status_message",
                                "access_expires_at", "refreshed_at", "created_at"]

    def has_add_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return OAuthCredential.unscoped.all()  # staff see across organisations, like the connection itself


@admin.register(Connection)
class ConnectionAdmin(OrganisationOwnedAdmin):
    """Staff see connections across organisations and can test them. The token is not a field here at all
    (not even masked), and staff cannot change it: only the organisation's members can."""

    list_display = ["name", "kind", "organisation", "base_url", "last_test_status", "last_tested_at", "created_at"]
    list_filter = ["kind", "last_test_status"]
    search_fields = ["name", "base_url", "organisation__name"]
    exclude = ["secret_ciphertext"]
    readonly_fields = ["organisation", "kind", "auth_method", "base_url", "email", "secret_updated_at", "created_by", "created_at",
                       "updated_at", "last_tested_at", "last_test_status", "last_test_message", "last_test_details"]
    actions = ["test_connections"]
    inlines = [OAuthCredentialInline]

    def has_add_permission(self, request):
        return False  # a connection needs a token, which only its organisation's members may enter

    @admin.action(description="Test the selected connections")
    def test_connections(self, request, queryset):
        for connection in queryset:
            result = connection_test(connection=connection, actor=request.user, actor_kind="staff")
            self.message_user(request, f"{connection.name}: {result.status.value}: {result.message}")
