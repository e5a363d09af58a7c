from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from apps.connections import oauth, selectors, services
from apps.connections.forms import ConnectionForm, OAuthStartForm
from apps.connections.models import Connection, OAuthAuthorisation, OAuthProvider
from apps.core.exceptions import ApplicationError


def _organisation(request):
    if request.organisation is None:
        raise Http404("Choose or create an organisation first.")
    return request.organisation


def _connection_or_404(request, connection_id: int) -> Connection:
    try:
        return selectors.connection_get(organisation=_organisation(request), connection_id=connection_id)
    except Connection.DoesNotExist:
        raise Http404("No such connection.") from None


def _form_error(form, exc: ApplicationError) -> None:
    field = exc.extra.get("field")
    form.add_error(field if field in form.fields else None, exc.message)


@login_required
def connection_list(request):
    connections = selectors.connection_list(organisation=_organisation(request))
    return render(request, "connections/list.html", {"connections": connections})


@login_required
def connection_create(request):
    organisation = _organisation(request)
    form = ConnectionForm(request.POST or None, initial={"kind": request.GET.get("kind", "")})
    if request.method == "POST" and form.is_valid():
        try:
            connection = services.connection_create(organisation=organisation, actor=request.user, **form.cleaned_data)
        except ApplicationError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, f"Saved {connection.name}. Testing it now…")
            return redirect(reverse("connections:detail", args=[connection.pk]) + "?test=1")
    return render(request, "connections/form.html", {"form": form, "connection": None})


@login_required
def connection_detail(request, connection_id: int):
    connection = _connection_or_404(request, connection_id)
    return render(request, "connections/detail.html",
                  {"connection": connection, "test_on_load": request.GET.get("test") == "1"})


@login_required
def connection_edit(request, connection_id: int):
    connection = _connection_or_404(request, connection_id)
    initial = {"kind": connection.kind, "name": connection.name, "base_url": connection.base_url,
               "email": connection.email}
    form = ConnectionForm(request.POST or None, initial=initial, connection=connection)
    if request.method == "POST" and form.is_valid():
        try:
            services.connection_update(connection=connection, actor=request.user, **form.cleaned_data)
        except ApplicationError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, f"Saved {connection.name}.")
            return redirect("connections:detail", connection.pk)
    return render(request, "connections/form.html", {"form": form, "connection": connection})


@login_required
def connection_delete(request, connection_id: int):
    connection = _connection_or_404(request, connection_id)
    if request.method == "POST":
        services.connection_delete(connection=connection, actor=request.user)
        messages.success(request, f"Deleted {connection.name}. Its token is gone with it.")
        return redirect("connections:list")
    return render(request, "connections/delete.html", {"connection": connection})


@login_required
@require_POST
def connection_test(request, connection_id: int):
    connection = _connection_or_404(request, connection_id)
    result = services.connection_test(connection=connection, actor=request.user)
    if request.headers.get("HX-Request"):
        return render(request, "connections/_test_result.html", {"connection": connection})
    (messages.success if result.ok else messages.error)(request, result.message)
    return redirect("connections:detail", connection.pk)


# --- OAuth connections (oauth.py) ----------------------------------------------------------------------------


def _callback_uri(request) -> str:
    return request.build_absolute_uri(reverse("connections:oauth_callback"))


@login_required
def oauth_start(request, provider: str):
    organisation = _organisation(request)
    if provider not in OAuthProvider.values:
        raise Http404("No such sign-in provider.")
    form = OAuthStartForm(request.POST or None, provider=provider)
    if request.method == "POST" and form.is_valid():
        try:
            url = oauth.oauth_start(organisation=organisation, user=request.user, provider=provider,
                                    redirect_uri=_callback_uri(request), **form.cleaned_data)
        except ApplicationError as exc:
            _form_error(form, exc)
        else:
            return redirect(url)
    label = OAuthProvider(provider).label
    return render(request, "connections/oauth_start.html", {"form": form, "provider": provider, "label": label})


@login_required
def oauth_callback(request):
    try:
        outcome = oauth.oauth_callback(user=request.user, params=request.GET.dict())
    except ApplicationError as exc:
        return render(request, "connections/oauth_failed.html", {"message": exc.message}, status=400)
    if outcome.connection is None:
        return redirect("connections:oauth_site", outcome.authorisation.pk)
    messages.success(request, f"Signed in and saved {outcome.connection.name}. Testing it now…")
    return redirect(reverse("connections:detail", args=[outcome.connection.pk]) + "?test=1")


@login_required
def oauth_site(request, authorisation_id: int):
    organisation = _organisation(request)
    authorisation = (OAuthAuthorisation.objects.for_organisation(organisation)
                     .filter(pk=authorisation_id, user=request.user, completed_at__isnull=False)
                     .exclude(access_token_ref="").first())
    if authorisation is None:
        raise Http404("No such sign-in.")
    error = ""
    if request.method == "POST":
        try:
            connection = oauth.oauth_site_choose(authorisation=authorisation, user=request.user,
                                                 cloud_id=request.POST.get("cloud_id", ""))
        except ApplicationError as exc:
            error = exc.message
        else:
            messages.success(request, f"Saved {connection.name}. Testing it now…")
            return redirect(reverse("connections:detail", args=[connection.pk]) + "?test=1")
    return render(request, "connections/oauth_site.html", {"authorisation": authorisation, "error": error},
                  status=400 if error else 200)


@login_required
@require_POST
def oauth_reconnect(request, connection_id: int):
    connection = _connection_or_404(request, connection_id)
    if not connection.is_oauth:
        raise Http404("This connection signs in with a token.")
    try:
        url = oauth.oauth_start(organisation=connection.organisation, user=request.user,
                                provider=connection.oauth.provider, redirect_uri=_callback_uri(request),
                                connection=connection)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("connections:detail", connection.pk)
    return redirect(url)
