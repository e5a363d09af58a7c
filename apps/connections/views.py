from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from apps.connections import selectors, services
from apps.connections.forms import ConnectionForm
from apps.connections.models import Connection
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
