from django.contrib import admin

from apps.core.admin import OrganisationOwnedAdmin
from apps.sso.models import SsoIdentity, SsoProvider


@admin.register(SsoProvider)
class SsoProviderAdmin(OrganisationOwnedAdmin):
    """Staff see each organisation's provider and may switch it off; the client secret's reference is not
    a field here at all, and only the organisation's admins set the secret (on /sso/settings/)."""

    list_display = ["organisation", "kind", "issuer", "client_id", "enabled", "auto_join", "updated_at"]
    list_filter = ["kind", "enabled"]
    search_fields = ["organisation__name", "issuer", "client_id"]
    exclude = ["client_secret_ref"]
    readonly_fields = ["organisation", "kind", "issuer", "client_id", "email_domains", "auto_join", "created_at",
                       "updated_at"]

    def has_add_permission(self, request):
        return False  # a provider needs a client secret, which only the organisation's admins enter


@admin.register(SsoIdentity)
class SsoIdentityAdmin(OrganisationOwnedAdmin):
    list_display = ["user", "organisation", "issuer", "subject", "created_at", "last_login_at"]
    search_fields = ["user__email", "organisation__name", "subject"]
    readonly_fields = ["organisation", "user", "issuer", "subject", "created_at", "last_login_at"]

    def has_add_permission(self, request):
        return False
