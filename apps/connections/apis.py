from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.throttling import UserRateThrottle
from rest_framework.views import APIView

from apps.accounts.permissions import request_actor_kind as _actor_kind
from apps.accounts.permissions import request_organisation
from apps.connections import selectors, services
from apps.connections.models import Connection


def _connection_or_404(request, connection_id: int) -> Connection:
    try:
        return selectors.connection_get(organisation=request_organisation(request), connection_id=connection_id)
    except Connection.DoesNotExist:
        raise NotFound("No such connection in this organisation.") from None


class ConnectionOutputSerializer(serializers.Serializer):
    """A connection as the API shows it. There is no field for the token: it is write-only."""

    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=Connection.Kind.choices)
    kind_label = serializers.CharField(source="get_kind_display")
    auth_method = serializers.ChoiceField(choices=Connection.AuthMethod.choices)
    oauth = serializers.SerializerMethodField(help_text="OAuth connections: provider, scopes granted, status. "
                                              "Never a token.")
    name = serializers.CharField()
    base_url = serializers.CharField()
    email = serializers.CharField(help_text="Jira Cloud only: the Atlassian account e-mail.")
    has_secret = serializers.SerializerMethodField(help_text="Always true: the token is stored, encrypted, and "
                                                   "never returned.")
    secret_updated_at = serializers.DateTimeField()
    created_by = serializers.EmailField(source="created_by.email", allow_null=True, default=None)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    last_test = serializers.SerializerMethodField()

    def get_has_secret(self, obj) -> bool:
        if obj.is_oauth:
            return bool(obj.oauth.access_token_ref)
        return bool(obj.secret_ciphertext)

    def get_oauth(self, obj) -> dict | None:
        if not obj.is_oauth:
            return None
        credential = obj.oauth
        return {"provider": credential.provider, "scopes": credential.scopes, "status": credential.status,
                "status_message": credential.status_message, "cloud_id": credential.cloud_id,
                "site": credential.account, "access_expires_at": credential.access_expires_at,
                "refreshed_at": credential.refreshed_at}

    def get_last_test(self, obj) -> dict | None:
        if obj.last_tested_at is None:
            return None
        return {"tested_at": obj.last_tested_at, "status": obj.last_test_status, "ok": obj.last_test_ok,
                "message": obj.last_test_message, "details": obj.last_test_details}


class TestResultSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    status = serializers.CharField(help_text="ok, bad_url, blocked_address, unknown_host, unreachable, "
                                   "tls_error, timeout, wrong_credentials, missing_permission, "
                                   "unknown_organisation, unknown_site, wrong_kind_cloud_vs_dc, wrong_kind, ...")
    message = serializers.CharField()
    details = serializers.DictField()
    tested_at = serializers.DateTimeField()


class ConnectionListCreateApi(APIView):
    class InputSerializer(serializers.Serializer):
        kind = serializers.ChoiceField(choices=Connection.Kind.choices)
        name = serializers.CharField(max_length=120)
        base_url = serializers.CharField(max_length=500, help_text="https://dev.azure.com/<organisation>, "
                                         "https://<site>.atlassian.net or your Jira Data Center address.")
        email = serializers.EmailField(required=False, allow_blank=True, help_text="Jira Cloud only.")
        token = serializers.CharField(write_only=True, max_length=services.MAX_TOKEN_LENGTH, trim_whitespace=True,
                                      help_text="Personal access token (Azure DevOps, Jira Data Center) or API "
                                      "token (Jira Cloud). Stored encrypted; never returned.")

    @extend_schema(responses=ConnectionOutputSerializer(many=True), summary="Connections of this organisation")
    def get(self, request):
        connections = selectors.connection_list(organisation=request_organisation(request),
                                                kind=request.query_params.get("kind") or None)
        return Response(ConnectionOutputSerializer(connections, many=True).data)

    @extend_schema(request=InputSerializer, responses={201: ConnectionOutputSerializer},
                   summary="Make a connection (it is not tested until you ask)")
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        connection = services.connection_create(organisation=request_organisation(request), actor=request.user,
                                                actor_kind=_actor_kind(request), **serializer.validated_data)
        return Response(ConnectionOutputSerializer(connection).data, status=status.HTTP_201_CREATED)


class ConnectionDetailApi(APIView):
    class InputSerializer(serializers.Serializer):
        kind = serializers.ChoiceField(choices=Connection.Kind.choices, required=False)
        name = serializers.CharField(max_length=120, required=False)
        base_url = serializers.CharField(max_length=500, required=False)
        email = serializers.EmailField(required=False, allow_blank=True)
        token = serializers.CharField(write_only=True, required=False, allow_blank=True,
                                      max_length=services.MAX_TOKEN_LENGTH,
                                      help_text="A new token; leave out to keep the stored one.")

    @extend_schema(responses=ConnectionOutputSerializer, summary="One connection")
    def get(self, request, connection_id: int):
        return Response(ConnectionOutputSerializer(_connection_or_404(request, connection_id)).data)

    @extend_schema(request=InputSerializer, responses=ConnectionOutputSerializer, summary="Change a connection")
    def patch(self, request, connection_id: int):
        connection = _connection_or_404(request, connection_id)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        connection = services.connection_update(connection=connection, actor=request.user,
                                                actor_kind=_actor_kind(request), **serializer.validated_data)
        return Response(ConnectionOutputSerializer(connection).data)

    @extend_schema(request=None, responses={204: None}, summary="Delete a connection")
    def delete(self, request, connection_id: int):
        services.connection_delete(connection=_connection_or_404(request, connection_id), actor=request.user,
                                   actor_kind=_actor_kind(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class ConnectionTestThrottle(UserRateThrottle):
    """Each test makes outbound requests to an address the caller chose: keep it to a human pace."""

    scope = "connection_test"
    rate = "20/min"


class ConnectionTestApi(APIView):
    throttle_classes = [ConnectionTestThrottle]

    @extend_schema(request=None, responses=TestResultSerializer,
                   summary="Test a connection against the real endpoints; the answer is in plain words")
    def post(self, request, connection_id: int):
        connection = _connection_or_404(request, connection_id)
        result = services.connection_test(connection=connection, actor=request.user, actor_kind=_actor_kind(request))
        data = {"ok": result.ok, "status": result.status.value, "message": result.message,
                "details": result.details, "tested_at": connection.last_tested_at}
        return Response(TestResultSerializer(data).data)


class ScopeCountApi(APIView):
    """How many items a migration scope takes, asked of the source before anything is saved."""

    throttle_classes = [ConnectionTestThrottle]

    class InputSerializer(serializers.Serializer):
        project = serializers.CharField(max_length=255, help_text="The source project, as the catalog names it.")
        scope = serializers.DictField(help_text="area_path (Azure DevOps) or components (Jira), types, states, "
                                      "created_from, created_to, query (a WIQL or JQL condition: what follows "
                                      "WHERE), sample (the first N items in scope).")

    class OutputSerializer(serializers.Serializer):
        count = serializers.IntegerField(help_text="Items the run would take (for a sample, the sample's size).")
        total_in_scope = serializers.IntegerField()
        condition = serializers.CharField(help_text="The WIQL condition the run will read with.")

    @extend_schema(request=InputSerializer, responses=OutputSerializer, summary="Count the items in a scope")
    def post(self, request, connection_id: int):
        from apps.connections.scope import scope_count, scope_from_data

        connection = _connection_or_404(request, connection_id)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        counted = scope_count(connection=connection, project=serializer.validated_data["project"],
                              scope=scope_from_data(serializer.validated_data["scope"], source_kind=connection.kind))
        return Response(self.OutputSerializer({"count": counted.count, "total_in_scope": counted.total_in_scope,
                                               "condition": counted.condition}).data)


class ConnectionOAuthStartApi(APIView):
    """Start an OAuth connection: the answer is the provider's address to open in a browser where the same
    person is signed in to Migrayt; the provider sends them back to the web callback, which makes the
    connection (GET /connections/ then shows it)."""

    class InputSerializer(serializers.Serializer):
        provider = serializers.ChoiceField(choices=["atlassian", "entra"],
                                           help_text="atlassian: Jira Cloud (OAuth 2.0 3LO); entra: Azure DevOps.")
        name = serializers.CharField(max_length=120)
        base_url = serializers.CharField(max_length=500, required=False, allow_blank=True,
                                         help_text="entra only: https://dev.azure.com/<organisation>")

    class OutputSerializer(serializers.Serializer):
        authorize_url = serializers.CharField()

    @extend_schema(request=InputSerializer, responses={201: OutputSerializer},
                   summary="Start signing in with Atlassian or Microsoft for a new connection")
    def post(self, request):
        from django.urls import reverse

        from apps.connections.oauth import oauth_start

        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        url = oauth_start(organisation=request_organisation(request), user=request.user,
                          redirect_uri=request.build_absolute_uri(reverse("connections:oauth_callback")),
                          **serializer.validated_data)
        return Response({"authorize_url": url}, status=status.HTTP_201_CREATED)
