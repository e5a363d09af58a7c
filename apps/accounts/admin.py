from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from apps.accounts.models import ApiToken, LoginFailure, Membership, Organisation, User
from apps.core.admin import OrganisationOwnedAdmin


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ["email"]
    list_display = ["email", "full_name", "is_staff", "is_active", "date_joined"]
    search_fields = ["email", "full_name"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Profile", {"fields": ("full_name",)}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)


class MembershipInline(admin.TabularInline):
    """Read-only here: memberships change through the Membership admin, which keeps the rules."""

    model = Membership
    extra = 0
    fields = ["user", "role", "created_at"]
    readonly_fields = fields
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return Membership.unscoped.select_related("user")


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "created_at"]
    search_fields = ["name", "slug"]
    inlines = [MembershipInline]


class MembershipAdminForm(forms.ModelForm):
    class Meta:
        model = Membership
        fields = ["organisation", "user", "role"]

    def clean(self):
        cleaned = super().clean()
        instance = self.instance
        user = cleaned.get("user")
        if not instance.pk and user is not None and not user.is_active:
            raise forms.ValidationError("This person's account is deactivated.")
        if instance.pk and instance.role == Membership.Role.OWNER and cleaned.get("role") != Membership.Role.OWNER:
            others = Membership.unscoped.filter(organisation_id=instance.organisation_id, role=Membership.Role.OWNER)
            if not others.exclude(pk=instance.pk).exists():
                raise forms.ValidationError("An organisation needs at least one owner. Make someone else owner first.")
        return cleaned


@admin.register(Membership)
class MembershipAdmin(OrganisationOwnedAdmin):
    """Staff add, change and remove memberships through the same services as customers (audited, last-owner
    rule kept, tokens revoked on removal)."""

    form = MembershipAdminForm
    list_display = ["user", "organisation", "role", "created_at"]
    list_filter = ["role"]
    search_fields = ["user__email", "organisation__name"]
    autocomplete_fields = ["user", "organisation"]

    def get_readonly_fields(self, request, obj=None):
        return ["organisation", "user", "created_at"] if obj else []

    def save_model(self, request, obj, form, change):
        from apps.accounts import services

        if change:
            role = obj.role
            obj.role = form.initial["role"]
            services.membership_role_change(membership=obj, role=role, actor=request.user, staff_override=True)
        else:
            created = services.membership_add(
                organisation=obj.organisation, email=obj.user.email, role=obj.role, actor=request.user,
                staff_override=True,
            )
            obj.pk = created.pk

    def delete_model(self, request, obj):
        from apps.accounts import services
        from apps.core.exceptions import ApplicationError

        try:
            services.membership_remove(membership=obj, actor=request.user, staff_override=True)
        except ApplicationError as exc:
            self.message_user(request, f"{obj}: {exc.message}", level=messages.ERROR)

    def delete_queryset(self, request, queryset):
        for membership in queryset.select_related("organisation", "user"):
            self.delete_model(request, membership)


@admin.register(ApiToken)
class ApiTokenAdmin(OrganisationOwnedAdmin):
    """Staff see which tokens exist and can revoke them; the token itself is never stored, so never shown."""

    list_display = ["name", "prefix", "user", "organisation", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["revoked_at"]
    search_fields = ["name", "prefix", "user__email", "organisation__name"]
    readonly_fields = ["organisation", "user", "name", "prefix", "created_at", "last_used_at", "expires_at"]
    exclude = ["key_hash"]
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False  # tokens are made by their owner, who is the only one to see the plain text

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request, queryset):
        from apps.accounts.services import api_token_revoke

        for token in queryset:
            api_token_revoke(token=token, actor=request.user)
        self.message_user(request, f"Revoked {queryset.count()} token(s).")


@admin.register(LoginFailure)
class LoginFailureAdmin(admin.ModelAdmin):
    """Recent failed log-ins. Deleting an account's rows lifts its temporary lock-out."""

    list_display = ["created_at", "account_key", "ip_address"]
    search_fields = ["account_key", "ip_address"]
    readonly_fields = ["account_key", "ip_address", "created_at"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
