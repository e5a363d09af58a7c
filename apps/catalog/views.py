from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from apps.catalog import presenters, selectors, services
from apps.catalog.forms import QuoteForm, ScanForm
from apps.catalog.models import Scan
from apps.connections import selectors as connection_selectors
from apps.connections.connectors.errors import ConnectorError
from apps.connections.connectors.serialise import SerialisationError
from apps.connections.crypto import SecretUnreadable
from apps.connections.models import Connection
from apps.connections.services import connection_connector
from apps.core.exceptions import ApplicationError


def _organisation(request):
    if request.organisation is None:
        raise Http404("Choose or create an organisation first.")
    return request.organisation


def _scan_or_404(request, scan_id: int) -> Scan:
    try:
        return selectors.scan_get(organisation=_organisation(request), scan_id=scan_id)
    except Scan.DoesNotExist:
        raise Http404("No such scan.") from None


@login_required
def scan_list(request):
    organisation = _organisation(request)
    connections = list(connection_selectors.connection_list(organisation=organisation))
    form = ScanForm(request.POST or None, connections=connections,
                    initial={"connection": request.GET.get("connection")})
    if request.method == "POST" and form.is_valid():
        connection = next(c for c in connections if c.pk == form.cleaned_data["connection"])
        try:
            scan = services.scan_create(organisation=organisation, actor=request.user, connection=connection,
                                        project=form.cleaned_data["project"], role=form.cleaned_data["role"])
        except ApplicationError as exc:
            field = exc.extra.get("field")
            form.add_error(field if field in form.fields else None, exc.message)
        else:
            messages.success(request, f"Scanning {scan.project_name or scan.project_key}…")
            return redirect("catalog:detail", scan.pk)
    scans = selectors.scan_list(organisation=organisation)[:100]
    return render(request, "catalog/list.html", {"form": form, "scans": scans, "connections": connections})


@login_required
def connection_projects(request):
    """The projects of the chosen connection, as <option>s for the project field (htmx)."""
    try:
        connection = connection_selectors.connection_get(organisation=_organisation(request),
                                                         connection_id=int(request.GET.get("connection", "")))
    except (Connection.DoesNotExist, ValueError):
        return render(request, "catalog/_projects.html", {"error": "Choose a connection."})
    try:
        with connection_connector(connection, quick=True) as connector:
            projects = connector.projects()
    except SecretUnreadable as exc:
        return render(request, "catalog/_projects.html", {"error": str(exc)})
    except ConnectorError as exc:
        return render(request, "catalog/_projects.html", {"error": f"Could not list the projects: {exc.message}"})
    return render(request, "catalog/_projects.html", {"projects": projects})


def _detail_context(scan: Scan) -> dict:
    try:
        catalog = selectors.catalog_schema(scan)
    except SerialisationError:
        catalog = None
    return {
        "scan": scan,
        "catalog": catalog,
        "tables": presenters.schema_tables(catalog, scan.volumes) if catalog else None,
        "charts": presenters.volume_charts(scan.volumes, catalog) if scan.status == Scan.Status.DONE else [],
        "attachment_size": presenters.human_bytes(scan.volumes.get("attachment_bytes", 0)),
        "quote": selectors.quote_latest(scan=scan),
        "quote_form": QuoteForm(initial={"destination_kind": "jira_cloud" if scan.connection_kind == "azure_devops"
                                         else "azure_devops"}),
        "pricing_active": selectors.pricing_table_active() is not None,
        "kind_label": presenters.kind_label(scan.connection_kind),
    }


@login_required
def scan_detail(request, scan_id: int):
    scan = _scan_or_404(request, scan_id)
    services.scan_nudge(scan=scan)
    return render(request, "catalog/detail.html", _detail_context(scan))


@login_required
def scan_progress(request, scan_id: int):
    """Polled by htmx while the scan runs; once it has finished, the page reloads itself to show it all."""
    scan = _scan_or_404(request, scan_id)
    services.scan_nudge(scan=scan)
    response = render(request, "catalog/_progress.html", {"scan": scan})
    if scan.is_finished and request.GET.get("was") in ("queued", "running"):
        response["HX-Refresh"] = "true"
    return response


@login_required
@require_POST
def scan_cancel(request, scan_id: int):
    try:
        services.scan_cancel(scan=_scan_or_404(request, scan_id), actor=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect("catalog:detail", scan_id)


@login_required
@require_POST
def scan_resume(request, scan_id: int):
    try:
        services.scan_resume(scan=_scan_or_404(request, scan_id), actor=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect("catalog:detail", scan_id)


@login_required
@require_POST
def scan_quote(request, scan_id: int):
    scan = _scan_or_404(request, scan_id)
    form = QuoteForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose where the data goes.")
    else:
        try:
            services.quote_create(scan=scan, destination_kind=form.cleaned_data["destination_kind"], actor=request.user)
        except ApplicationError as exc:
            messages.error(request, exc.message)
    return redirect("catalog:detail", scan_id)
