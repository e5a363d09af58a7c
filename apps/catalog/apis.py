from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.permissions import request_actor_kind as _actor_kind
from apps.accounts.permissions import request_organisation
from apps.catalog import presenters, selectors, services
from apps.catalog.models import Scan
from apps.catalog.quote import KIND_LABELS
from apps.connections import selectors as connection_selectors
from apps.connections.connectors.errors import ConnectorError
from apps.connections.crypto import SecretUnreadable
from apps.connections.models import Connection
from apps.connections.services import connection_connector
from apps.core.exceptions import ApplicationError


def _scan_or_404(request, scan_id: int) -> Scan:
    try:
        return selectors.scan_get(organisation=request_organisation(request), scan_id=scan_id)
    except Scan.DoesNotExist:
        raise NotFound("No such scan in this organisation.") from None


def _connection_or_404(request, connection_id) -> Connection:
    try:
        return connection_selectors.connection_get(organisation=request_organisation(request),
                                                   connection_id=connection_id)
    except (Connection.DoesNotExist, ValueError, TypeError):
        raise NotFound("No such connection in this organisation.") from None


class ScanOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    connection_id = serializers.IntegerField(allow_null=True)
    connection_name = serializers.CharField()
    connection_kind = serializers.CharField()
    project_id = serializers.CharField()
    project_key = serializers.CharField()
    project_name = serializers.CharField()
    role = serializers.CharField()
    status = serializers.CharField()
    phase = serializers.CharField()
    progress = serializers.SerializerMethodField()
    volumes = serializers.JSONField()
    requests_made = serializers.IntegerField()
    error = serializers.SerializerMethodField()
    created_by = serializers.EmailField(source="created_by.email", allow_null=True, default=None)
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    updated_at = serializers.DateTimeField()

    def get_progress(self, obj) -> dict:
        return {"items_done": obj.items_done, "items_expected": obj.items_expected, "percent": obj.progress_percent}

    def get_error(self, obj) -> dict | None:
        if not obj.error_code:
            return None
        return {"code": obj.error_code, "message": obj.error_message}


class QuoteOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    scan_id = serializers.IntegerField()
    currency = serializers.CharField()
    total = serializers.DecimalField(max_digits=12, decimal_places=2)
    lines = serializers.JSONField(help_text="[{label, quantity, unit, unit_price, amount}]")
    destination_kind = serializers.CharField()
    estimate_seconds = serializers.IntegerField()
    estimate_words = serializers.SerializerMethodField()
    estimate = serializers.JSONField(help_text="Requests by kind, the rates assumed and the assumptions, in words.")
    created_at = serializers.DateTimeField()

    def get_estimate_words(self, obj) -> str:
        return presenters.duration_words(obj.estimate_seconds)


class ScanListCreateApi(APIView):
    class InputSerializer(serializers.Serializer):
        connection_id = serializers.IntegerField()
        project = serializers.CharField(max_length=200, help_text="The project's key or name (Jira key, ADO name).")
        role = serializers.ChoiceField(choices=Scan.Role.choices, default=Scan.Role.SOURCE)

    @extend_schema(
        responses=ScanOutputSerializer(many=True), summary="Scans of this organisation (newest first)",
        parameters=[OpenApiParameter("connection", int), OpenApiParameter("role", str), OpenApiParameter("status", str)],
    )
    def get(self, request):
        connection_id = request.query_params.get("connection")
        if connection_id is not None and not connection_id.isdigit():
            raise ApplicationError("connection must be a connection id.", extra={"field": "connection"})
        scans = selectors.scan_list(organisation=request_organisation(request),
                                    connection_id=int(connection_id) if connection_id else None,
                                    role=request.query_params.get("role") or None,
                                    status=request.query_params.get("status") or None)
        return Response(ScanOutputSerializer(scans[:200], many=True).data)

    @extend_schema(request=InputSerializer, responses={201: ScanOutputSerializer},
                   summary="Scan one project (runs in the background; poll the scan for progress)")
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        connection = _connection_or_404(request, data["connection_id"])
        scan = services.scan_create(organisation=request_organisation(request), actor=request.user,
                                    actor_kind=_actor_kind(request), connection=connection,
                                    project=data["project"], role=data["role"])
        return Response(ScanOutputSerializer(scan).data, status=status.HTTP_201_CREATED)


class ScanDetailApi(APIView):
    @extend_schema(responses=ScanOutputSerializer, summary="One scan: status, progress and volumes")
    def get(self, request, scan_id: int):
        scan = _scan_or_404(request, scan_id)
        services.scan_nudge(scan=scan)  # a scan whose worker died carries on from its checkpoint
        return Response(ScanOutputSerializer(scan).data)


class ScanCancelApi(APIView):
    @extend_schema(request=None, responses=ScanOutputSerializer, summary="Stop a running scan")
    def post(self, request, scan_id: int):
        scan = services.scan_cancel(scan=_scan_or_404(request, scan_id), actor=request.user,
                                    actor_kind=_actor_kind(request))
        return Response(ScanOutputSerializer(scan).data)


class ScanResumeApi(APIView):
    @extend_schema(request=None, responses=ScanOutputSerializer,
                   summary="Carry on a failed or stalled scan from its last checkpoint")
    def post(self, request, scan_id: int):
        scan = services.scan_resume(scan=_scan_or_404(request, scan_id), actor=request.user,
                                    actor_kind=_actor_kind(request))
        return Response(ScanOutputSerializer(scan).data)


class CatalogOutputSerializer(serializers.Serializer):
    scan = ScanOutputSerializer()
    schema = serializers.JSONField(help_text="The Catalog (format migrayt.catalog, version 1): project, "
                                   "work_item_types, fields, link_types, iterations, areas, people.")
    volumes = serializers.JSONField()


class ScanCatalogApi(APIView):
    @extend_schema(responses=CatalogOutputSerializer, summary="The catalog a scan recorded: schema and volumes")
    def get(self, request, scan_id: int):
        scan = _scan_or_404(request, scan_id)
        if not scan.schema:
            raise ApplicationError("The scan has not read the schema yet; try again in a moment.",
                                   extra={"status": scan.status, "phase": scan.phase}, status_code=409)
        return Response({"scan": ScanOutputSerializer(scan).data, "schema": scan.schema, "volumes": scan.volumes})


class ScanQuoteApi(APIView):
    class InputSerializer(serializers.Serializer):
        destination_kind = serializers.ChoiceField(choices=sorted(KIND_LABELS.items()), required=False,
                                                   help_text="Where the data goes; by default the other product.")

    @extend_schema(responses=QuoteOutputSerializer, summary="The latest quote of a finished source scan")
    def get(self, request, scan_id: int):
        scan = _scan_or_404(request, scan_id)
        quote = selectors.quote_latest(scan=scan)
        if quote is None:
            quote = services.quote_create(scan=scan, actor=request.user, actor_kind=_actor_kind(request))
        return Response(QuoteOutputSerializer(quote).data)

    @extend_schema(request=InputSerializer, responses={201: QuoteOutputSerializer},
                   summary="A new quote (for another destination, or under a changed price list)")
    def post(self, request, scan_id: int):
        scan = _scan_or_404(request, scan_id)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        quote = services.quote_create(scan=scan, destination_kind=serializer.validated_data.get("destination_kind"),
                                      actor=request.user, actor_kind=_actor_kind(request))
        return Response(QuoteOutputSerializer(quote).data, status=status.HTTP_201_CREATED)


class ProjectOutputSerializer(serializers.Serializer):
    id = serializers.CharField(source="source_id")
    key = serializers.CharField()
    name = serializers.CharField()


class ConnectionProjectsApi(APIView):
    @extend_schema(responses=ProjectOutputSerializer(many=True), summary="The projects a connection can see")
    def get(self, request, connection_id: int):
        connection = _connection_or_404(request, connection_id)
        try:
            with connection_connector(connection, quick=True) as connector:
                projects = connector.projects()
        except SecretUnreadable as exc:
            raise ApplicationError(str(exc), extra={"field": "connection"}) from None
        except ConnectorError as exc:
            raise ApplicationError(f"Could not list the projects of {connection.name}: {exc.message}",
                                   extra={"code": exc.code}) from None
        return Response(ProjectOutputSerializer(projects, many=True).data)
