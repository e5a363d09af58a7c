from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts import selectors, services
from apps.accounts.models import ApiToken
from apps.accounts.permissions import IsOrganisationAdmin, request_membership, request_organisation


class MeApi(APIView):
    class OutputSerializer(serializers.Serializer):
        email = serializers.EmailField()
        full_name = serializers.CharField()
        organisation = serializers.DictField()
        role = serializers.CharField()

    @extend_schema(responses=OutputSerializer, summary="Who am I, and in which organisation")
    def get(self, request):
        membership = request_membership(request)
        organisation = request_organisation(request)
        data = {
            "email": request.user.email,
            "full_name": request.user.full_name,
            "organisation": {"id": organisation.pk, "name": organisation.name, "slug": organisation.slug},
            "role": membership.role if membership else "",
        }
        return Response(self.OutputSerializer(data).data)


class ApiTokenOutputSerializer(serializers.ModelSerializer):
    is_active = serializers.BooleanField(read_only=True)

    class Meta:
        model = ApiToken
        fields = ["id", "name", "prefix", "created_at", "last_used_at", "expires_at", "revoked_at", "is_active"]


class ApiTokenListCreateApi(APIView):
    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=80)
        expires_at = serializers.DateTimeField(required=False, allow_null=True)

    class CreatedSerializer(ApiTokenOutputSerializer):
        token = serializers.CharField(help_text="The token itself. Shown this once; it cannot be read again.")

        class Meta(ApiTokenOutputSerializer.Meta):
            fields = [*ApiTokenOutputSerializer.Meta.fields, "token"]

    @extend_schema(responses=ApiTokenOutputSerializer(many=True), summary="Your API tokens in this organisation")
    def get(self, request):
        tokens = selectors.api_tokens_of_user(organisation=request_organisation(request), user=request.user)
        return Response(ApiTokenOutputSerializer(tokens, many=True).data)

    @extend_schema(request=InputSerializer, responses={201: CreatedSerializer}, summary="Make an API token")
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        token, raw = services.api_token_create(
            organisation=request_organisation(request), user=request.user, **serializer.validated_data
        )
        token.token = raw
        return Response(self.CreatedSerializer(token).data, status=status.HTTP_201_CREATED)


class ApiTokenRevokeApi(APIView):
    @extend_schema(request=None, responses=ApiTokenOutputSerializer, summary="Revoke an API token")
    def post(self, request, token_id: int):
        try:
            token = selectors.api_token_get(
                organisation=request_organisation(request), user=request.user, token_id=token_id
            )
        except ApiToken.DoesNotExist:
            from rest_framework.exceptions import NotFound

            raise NotFound("No such token in this organisation.") from None
        services.api_token_revoke(token=token, actor=request.user)
        return Response(ApiTokenOutputSerializer(token).data)


class MembershipListApi(APIView):
    permission_classes = [IsOrganisationAdmin]

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        email = serializers.EmailField(source="user.email")
        role = serializers.CharField()
        created_at = serializers.DateTimeField()

    @extend_schema(responses=OutputSerializer(many=True), summary="Members of this organisation (admins only)")
    def get(self, request):
        memberships = selectors.memberships_of_organisation(organisation=request_organisation(request))
        return Response(self.OutputSerializer(memberships, many=True).data)
