from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.response import Response
from rest_framework.throttling import UserRateThrottle
from rest_framework.views import APIView

from apps.accounts.permissions import IsOrganisationAdmin, request_organisation
from apps.billing import selectors, services
from apps.billing.models import Checkout, UsageReport
from apps.core.exceptions import ApplicationError


class CheckoutOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="uid")
    status = serializers.ChoiceField(choices=Checkout.Status.choices,
                                     help_text="`paid` only once Stripe's signed event has arrived.")
    url = serializers.URLField(source="stripe_url", help_text="Stripe's hosted Checkout page: send the person there.")
    quote_id = serializers.IntegerField(allow_null=True)
    quoted_total = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True)
    currency = serializers.CharField()
    created_at = serializers.DateTimeField()
    confirmed_at = serializers.DateTimeField(allow_null=True)


class BillingStatusApi(APIView):
    class OutputSerializer(serializers.Serializer):
        billing_enabled = serializers.BooleanField(help_text="False: no Stripe key on this server, runs are free.")
        live_runs_allowed = serializers.BooleanField()
        message = serializers.CharField()
        subscription_status = serializers.CharField(allow_blank=True)
        unpaid_invoices = serializers.ListField(child=serializers.CharField())

    @extend_schema(responses=OutputSerializer, summary="Whether a new live run may start, and why")
    def get(self, request):
        organisation = request_organisation(request)
        allowed, message = selectors.billing_live_run_allowed(organisation=organisation)
        account = selectors.billing_account_get(organisation=organisation)
        data = {"billing_enabled": services.billing_enabled(), "live_runs_allowed": allowed, "message": message,
                "subscription_status": account.subscription_status if account else "",
                "unpaid_invoices": account.unpaid_invoices if account else []}
        return Response(self.OutputSerializer(data).data)


class CheckoutThrottle(UserRateThrottle):
    """Each checkout makes several Stripe requests: keep it to a human pace."""

    scope = "billing_checkout"
    rate = "20/min"


class CheckoutCreateApi(APIView):
    permission_classes = [IsOrganisationAdmin]
    throttle_classes = [CheckoutThrottle]

    class InputSerializer(serializers.Serializer):
        quote_id = serializers.IntegerField(min_value=1, help_text="A quote of this organisation (Catalog).")

    @extend_schema(request=InputSerializer, responses={201: CheckoutOutputSerializer},
                   summary="Start a Stripe Checkout from a quote (owners and admins)")
    def post(self, request):
        from apps.catalog.models import Quote

        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        organisation = request_organisation(request)
        quote = Quote.objects.for_organisation(organisation).filter(pk=serializer.validated_data["quote_id"]).first()
        if quote is None:
            raise ApplicationError("No such quote in this organisation.", extra={"field": "quote_id"})
        checkout = services.billing_checkout_create(organisation=organisation, actor=request.user, quote=quote)
        return Response(CheckoutOutputSerializer(checkout).data, status=status.HTTP_201_CREATED)


class CheckoutDetailApi(APIView):
    @extend_schema(responses=CheckoutOutputSerializer, summary="One checkout: poll it until Stripe confirms")
    def get(self, request, checkout_uid):
        try:
            checkout = selectors.checkout_get(organisation=request_organisation(request), checkout_uid=checkout_uid)
        except Checkout.DoesNotExist:
            raise NotFound("No such checkout in this organisation.") from None
        return Response(CheckoutOutputSerializer(checkout).data)


class UsageListApi(APIView):
    class OutputSerializer(serializers.Serializer):
        run_id = serializers.IntegerField(source="usage.run_id", allow_null=True)
        meter = serializers.CharField()
        quantity = serializers.IntegerField()
        identifier = serializers.CharField(help_text="The Billing Meter event's identifier (run and checkpoint).")
        checkpoint = serializers.CharField()
        status = serializers.ChoiceField(choices=UsageReport.Status.choices)
        created_at = serializers.DateTimeField()
        sent_at = serializers.DateTimeField(allow_null=True)

    @extend_schema(parameters=[OpenApiParameter("run_id", int, required=False)], responses=OutputSerializer(many=True),
                   summary="Usage reported to Stripe (meter events), newest first")
    def get(self, request):
        run_id = request.query_params.get("run_id")
        if run_id is not None and not run_id.isdigit():
            raise ApplicationError("run_id must be a number.", extra={"field": "run_id"})
        reports = selectors.usage_report_list(organisation=request_organisation(request),
                                              run_id=int(run_id) if run_id else None).order_by("-created_at", "-id")
        paginator = LimitOffsetPagination()
        page = paginator.paginate_queryset(reports, request, view=self)
        return paginator.get_paginated_response(self.OutputSerializer(page, many=True).data)
