from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts import selectors, services
from apps.accounts.models import ApiToken, Membership
from apps.accounts.permissions import request_membership, request_organisation


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
            raise NotFound("No such token in this organisation.") from None
        services.api_token_revoke(token=token, actor=request.user)
        return Response(ApiTokenOutputSerializer(token).data)


class MembershipOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.EmailField(source="user.email")
    full_name = serializers.CharField(source="user.full_name")
    role = serializers.ChoiceField(choices=Membership.Role.choices)
    created_at = serializers.DateTimeField()


def _membership_or_404(request, membership_id: int) -> Membership:
    try:
        return selectors.membership_get(organisation=request_organisation(request), membership_id=membership_id)
    except Membership.DoesNotExist:
        raise NotFound("No such member in this organisation.") from None


class MembershipListAddApi(APIView):
    """Any member may see who else is in the organisation; owners and admins add people."""

    class InputSerializer(serializers.Serializer):
        email = serializers.EmailField(help_text="The address the person signed up with.")
        role = serializers.ChoiceField(choices=Membership.Role.choices, default=Membership.Role.MEMBER)

    @extend_schema(responses=MembershipOutputSerializer(many=True), summary="Members of this organisation")
    def get(self, request):
        memberships = selectors.memberships_of_organisation(organisation=request_organisation(request))
        return Response(MembershipOutputSerializer(memberships, many=True).data)

    @extend_schema(
        request=InputSerializer,
        responses={201: MembershipOutputSerializer},
        summary="Add a person who has signed up (owners and admins; only owners add owners)",
    )
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        membership = services.membership_add(
            organisation=request_organisation(request), actor=request.user, **serializer.validated_data
        )
        return Response(MembershipOutputSerializer(membership).data, status=status.HTTP_201_CREATED)


class MembershipDetailApi(APIView):
    class InputSerializer(serializers.Serializer):
        role = serializers.ChoiceField(choices=Membership.Role.choices)

    @extend_schema(responses=MembershipOutputSerializer, summary="One member of this organisation")
    def get(self, request, membership_id: int):
        return Response(MembershipOutputSerializer(_membership_or_404(request, membership_id)).data)

    @extend_schema(
        request=InputSerializer,
        responses=MembershipOutputSerializer,
        summary="Change a member's role (owners and admins; only owners touch ownership)",
    )
    def patch(self, request, membership_id: int):
        membership = _membership_or_404(request, membership_id)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        membership = services.membership_role_change(
            membership=membership, role=serializer.validated_data["role"], actor=request.user
        )
        return Response(MembershipOutputSerializer(membership).data)

    @extend_schema(
        request=None,
        responses={204: None},
        summary="Remove a member, or leave the organisation yourself (their API tokens here stop working)",
    )
    def delete(self, request, membership_id: int):
        services.membership_remove(membership=_membership_or_404(request, membership_id), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
