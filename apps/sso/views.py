from django.contrib import messages
from django.contrib.auth import login
from django.shortcuts import redirect, render
from django.urls import reverse

from apps.accounts.decorators import organisation_admin_required
from apps.accounts.middleware import SESSION_KEY as ORGANISATION_SESSION_KEY
from apps.core.exceptions import ApplicationError
from apps.sso import services
from apps.sso.forms import SsoProviderForm, SsoStartForm
from apps.sso.models import SsoProvider

PENDING_KEY = "sso_pending"


def _failed(request, message: str):
    return render(request, "sso/failed.html", {"message": message}, status=400)


def sso_start(request):
    """Sign in through the organisation's identity provider, found by e-mail domain or sign-in name."""
    form = SsoStartForm(request.POST or None, initial={"organisation": request.GET.get("organisation", "")})
    if request.method == "POST" and form.is_valid():
        value = form.cleaned_data["organisation"].strip()
        provider = services.sso_provider_for(email=value) if "@" in value else services.sso_provider_for(
            organisation_slug=value)
        if provider is None:
            form.add_error("organisation", "No organisation signs in with single sign-on under that name or e-mail "
                                           "domain. Sign in with your password instead.")
        else:
            try:
                url, pending = services.sso_login_start(provider=provider,
                                                        redirect_uri=request.build_absolute_uri(reverse("sso:callback")))
            except ApplicationError as exc:
                return _failed(request, exc.message)
            request.session[PENDING_KEY] = pending
            return redirect(url)
    return render(request, "sso/start.html", {"form": form})


def sso_callback(request):
    pending = request.session.pop(PENDING_KEY, None)  # one use, whatever the outcome
    try:
        user, organisation = services.sso_login_finish(pending=pending, params=request.GET.dict())
    except ApplicationError as exc:
        return _failed(request, exc.message)
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    request.session[ORGANISATION_SESSION_KEY] = organisation.pk
    messages.success(request, f"Signed in to {organisation.name} with single sign-on.")
    return redirect("core:home")


@organisation_admin_required
def sso_settings(request):
    organisation = request.organisation
    provider = SsoProvider.objects.for_organisation(organisation).first()
    initial = {"enabled": True}
    if provider:
        tenant = provider.issuer.rstrip("/").split("/")[-2] if provider.kind == SsoProvider.Kind.ENTRA else ""
        initial = {"kind": provider.kind, "issuer": provider.issuer if provider.kind == SsoProvider.Kind.OIDC else "",
                   "tenant": tenant, "client_id": provider.client_id, "email_domains": " ".join(provider.email_domains),
                   "auto_join": provider.auto_join, "enabled": provider.enabled}
    form = SsoProviderForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.sso_provider_save(organisation=organisation, actor=request.user, **form.cleaned_data)
        except ApplicationError as exc:
            field = exc.extra.get("field")
            form.add_error(field if field in form.fields else None, exc.message)
        else:
            messages.success(request, "Single sign-on saved. People can now sign in at the SSO page.")
            return redirect("sso:settings")
    return render(request, "sso/settings.html", {"form": form, "provider": provider,
                                                 "callback": request.build_absolute_uri(reverse("sso:callback")),
                                                 "start": request.build_absolute_uri(reverse("sso:start"))})
