from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.permissions import IsOrganisationAdmin, request_organisation
from apps.webhooks import services
from apps.webhooks.models import EVENTS, WebhookEndpoint


class EndpointOutputSerializer(serializers.Serializer):
    """An endpoint as the API shows it: never its signing secret (given once, at creation)."""

    id = serializers.IntegerField()
    url = serializers.CharField()
    description = serializers.CharField()
    events = serializers.ListField(child=serializers.CharField())
    enabled = serializers.BooleanField()
    created_at = serializers.DateTimeField()


class DeliveryOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    event = serializers.CharField()
    event_id = serializers.UUIDField()
    payload = serializers.DictField()
    state = serializers.CharField()
    attempts = serializers.IntegerField()
    next_attempt_at = serializers.DateTimeField()
    last_status_code = serializers.IntegerField(allow_null=True)
    last_error = serializers.CharField()
    created_at = serializers.DateTimeField()
    delivered_at = serializers.DateTimeField(allow_null=True)


def _endpoint_or_404(request, endpoint_id: int) -> WebhookEndpoint:
    endpoint = WebhookEndpoint.objects.for_organisation(request_organisation(request)).filter(pk=endpoint_id).first()
    if endpoint is None:
        raise NotFound("No such webhook endpoint in this organisation.")
    return endpoint


class WebhookListCreateApi(APIView):
    permission_classes = [IsOrganisationAdmin]

    class InputSerializer(serializers.Serializer):
        url = serializers.CharField(max_length=500, help_text="Where to POST events; public HTTPS in production.")
        events = serializers.ListField(child=serializers.ChoiceField(choices=list(EVENTS)), min_length=1)
        description = serializers.CharField(max_length=200, required=False, allow_blank=True)

    @extend_schema(responses=EndpointOutputSerializer(many=True), summary="Webhook endpoints")
    def get(self, request):
        endpoints = WebhookEndpoint.objects.for_organisation(request_organisation(request))
        return Response(EndpointOutputSerializer(endpoints, many=True).data)

    @extend_schema(request=InputSerializer, responses={201: EndpointOutputSerializer},
                   summary="Register an endpoint; the answer holds its signing secret, shown this once")
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        endpoint, secret = services.webhook_endpoint_create(organisation=request_organisation(request),
                                                            actor=request.user, **serializer.validated_data)
        return Response({**EndpointOutputSerializer(endpoint).data, "signing_secret": secret},
                        status=status.HTTP_201_CREATED)


class WebhookDetailApi(APIView):
    permission_classes = [IsOrganisationAdmin]

    class InputSerializer(serializers.Serializer):
        url = serializers.CharField(max_length=500, required=False)
        events = serializers.ListField(child=serializers.ChoiceField(choices=list(EVENTS)), required=False, min_length=1)
        description = serializers.CharField(max_length=200, required=False, allow_blank=True)
        enabled = serializers.BooleanField(required=False)

    @extend_schema(responses=EndpointOutputSerializer, summary="One endpoint")
    def get(self, request, endpoint_id: int):
        return Response(EndpointOutputSerializer(_endpoint_or_404(request, endpoint_id)).data)

    @extend_schema(request=InputSerializer, responses=EndpointOutputSerializer, summary="Change an endpoint")
    def patch(self, request, endpoint_id: int):
        endpoint = _endpoint_or_404(request, endpoint_id)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        endpoint = services.webhook_endpoint_update(endpoint=endpoint, actor=request.user, **serializer.validated_data)
        return Response(EndpointOutputSerializer(endpoint).data)

    @extend_schema(request=None, responses={204: None}, summary="Delete an endpoint")
    def delete(self, request, endpoint_id: int):
        services.webhook_endpoint_delete(endpoint=_endpoint_or_404(request, endpoint_id), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookDeliveriesApi(APIView):
    permission_classes = [IsOrganisationAdmin]

    @extend_schema(responses=DeliveryOutputSerializer(many=True), summary="The delivery log of an endpoint (newest first)")
    def get(self, request, endpoint_id: int):
        deliveries = _endpoint_or_404(request, endpoint_id).deliveries.all()[:200]
        return Response(DeliveryOutputSerializer(deliveries, many=True).data)
