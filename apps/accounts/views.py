from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from apps.accounts import selectors, services
from apps.accounts.forms import ApiTokenForm, OrganisationForm, SignUpForm
from apps.accounts.middleware import SESSION_KEY
from apps.accounts.models import ApiToken
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
        except ApplicationError as exc:
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
    organisation = selectors.organisations_for_user(user=request.user).filter(pk=request.POST.get("organisation")).first()
    if organisation is None:
        raise Http404("No such organisation.")
    request.session[SESSION_KEY] = organisation.pk
    messages.info(request, f"Switched to {organisation.name}.")
    return redirect("core:home")


@login_required
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


@login_required
@require_POST
def api_token_revoke(request, token_id: int):
    try:
        token = selectors.api_token_get(organisation=request.organisation, user=request.user, token_id=token_id)
    except ApiToken.DoesNotExist:
        raise Http404("No such token.") from None
    services.api_token_revoke(token=token, actor=request.user)
    messages.success(request, f"Revoked {token.name}. It no longer works.")
    return redirect("accounts:api_tokens")
