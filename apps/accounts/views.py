from urllib.parse import urlparse

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.views.decorators.http import require_POST

from apps.accounts import selectors, services
from apps.accounts.decorators import organisation_required
from apps.accounts.forms import (
    ApiTokenForm,
    MembershipAddForm,
    MembershipRoleForm,
    OrganisationForm,
    SignUpForm,
)
from apps.accounts.middleware import SESSION_KEY
from apps.accounts.models import ApiToken, Membership
from apps.core.exceptions import ApplicationError


def sign_up(request):
    if request.user.is_authenticated:
        return redirect("core:home")
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.user_sign_up(
                email=form.cleaned_data["email"],
                password=form.cleaned_data["password"],
                organisation_name=form.cleaned_data["organisation_name"],
                full_name=form.cleaned_data["full_name"],
            )
        except ApplicationError as exc:  # e.g. the same e-mail signed up a moment ago
            form.add_error(None, exc.message)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, "Welcome to Migrayt. Start by connecting your source system.")
            return redirect("core:home")
    return render(request, "accounts/sign_up.html", {"form": form})


@login_required
def organisation_list(request):
    organisations = selectors.organisations_for_user(user=request.user)
    form = OrganisationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            organisation = services.organisation_create(name=form.cleaned_data["name"], owner=request.user)
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            request.session[SESSION_KEY] = organisation.pk
            messages.success(request, f"Created {organisation.name} and switched to it.")
            return redirect("core:home")
    return render(request, "accounts/organisations.html", {"organisations": organisations, "form": form})


@login_required
@require_POST
def organisation_switch(request):
    chosen = request.POST.get("organisation", "")
    organisations = selectors.organisations_for_user(user=request.user)
    organisation = organisations.filter(pk=int(chosen)).first() if chosen.isdigit() else None
    if organisation is None:
        raise Http404("No such organisation.")
    request.session[SESSION_KEY] = organisation.pk
    messages.info(request, f"Switched to {organisation.name}.")
    return redirect("core:home")


@organisation_required
def api_token_list(request):
    form = ApiTokenForm(request.POST or None)
    new_token = None
    if request.method == "POST" and form.is_valid():
        try:
            _, new_token = services.api_token_create(
                organisation=request.organisation,
                user=request.user,
                name=form.cleaned_data["name"],
                expires_at=form.cleaned_data["expires_at"],
            )
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            form = ApiTokenForm()
    tokens = selectors.api_tokens_of_user(organisation=request.organisation, user=request.user)
    return render(request, "accounts/api_tokens.html", {"form": form, "tokens": tokens, "new_token": new_token})


@organisation_required
@require_POST
def api_token_revoke(request, token_id: int):
    try:
        token = selectors.api_token_get(organisation=request.organisation, user=request.user, token_id=token_id)
    except ApiToken.DoesNotExist:
        raise Http404("No such token.") from None
    services.api_token_revoke(token=token, actor=request.user)
    messages.success(request, f"Revoked {token.name}. It no longer works.")
    return redirect("accounts:api_tokens")


class PasswordResetView(auth_views.PasswordResetView):
    """The link in the e-mail points at MIGRAYT_SITE_URL, never at whatever Host header the request
    carried (which an attacker could set to steal the reset token)."""

    template_name = "accounts/password_reset.html"
    email_template_name = "accounts/password_reset_email.txt"
    subject_template_name = "accounts/password_reset_subject.txt"
    success_url = reverse_lazy("accounts:password_reset_done")

    def form_valid(self, form):
        site = urlparse(settings.SITE_URL)
        form.save(
            domain_override=site.netloc,
            use_https=site.scheme == "https",
            token_generator=self.token_generator,
            from_email=self.from_email,
            email_template_name=self.email_template_name,
            subject_template_name=self.subject_template_name,
            request=self.request,
            html_email_template_name=self.html_email_template_name,
            extra_email_context={"site_url": settings.SITE_URL.rstrip("/")},
        )
        return redirect(self.get_success_url())


def _membership_or_404(request, membership_id: int) -> Membership:
    try:
        return selectors.membership_get(organisation=request.organisation, membership_id=membership_id)
    except Membership.DoesNotExist:
        raise Http404("No such member in this organisation.") from None


@organisation_required
def member_list(request):
    """Everyone sees who is in the organisation; owners and admins add people, change roles and remove."""
    can_manage = request.membership.is_admin
    form = MembershipAddForm(request.POST or None)
    if request.method == "POST":
        if not can_manage:
            raise PermissionDenied("Only an owner or admin of this organisation can add members.")
        if form.is_valid():
            try:
                membership = services.membership_add(
                    organisation=request.organisation,
                    email=form.cleaned_data["email"],
                    role=form.cleaned_data["role"],
                    actor=request.user,
                )
            except ApplicationError as exc:
                form.add_error("email" if exc.status_code == 400 else None, exc.message)
            else:
                messages.success(
                    request, f"Added {membership.user.email} as {membership.get_role_display().lower()}."
                )
                return redirect("accounts:members")
    memberships = selectors.memberships_of_organisation(organisation=request.organisation)
    return render(
        request,
        "accounts/members.html",
        {
            "memberships": memberships,
            "form": form,
            "can_manage": can_manage,
            "is_owner": request.membership.role == Membership.Role.OWNER,
            "roles": Membership.Role.choices,
        },
    )


@organisation_required
@require_POST
def member_role_change(request, membership_id: int):
    membership = _membership_or_404(request, membership_id)
    form = MembershipRoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose one of the roles: owner, admin or member.")
        return redirect("accounts:members")
    try:
        services.membership_role_change(membership=membership, role=form.cleaned_data["role"], actor=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"{membership.user.email} is now {membership.get_role_display().lower()}.")
    return redirect("accounts:members")


@organisation_required
@require_POST
def member_remove(request, membership_id: int):
    membership = _membership_or_404(request, membership_id)
    leaving = membership.user_id == request.user.pk
    try:
        services.membership_remove(membership=membership, actor=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("accounts:members")
    if leaving:
        request.session.pop(SESSION_KEY, None)
        messages.success(request, f"You left {membership.organisation.name}.")
        return redirect("core:home")
    messages.success(request, f"Removed {membership.user.email}. Their API tokens here no longer work.")
    return redirect("accounts:members")
