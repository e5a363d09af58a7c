from django.urls import path

from apps.accounts import apis

urlpatterns = [
    path("me/", apis.MeApi.as_view(), name="me"),
    path("tokens/", apis.ApiTokenListCreateApi.as_view(), name="tokens"),
    path("tokens/<int:token_id>/revoke/", apis.ApiTokenRevokeApi.as_view(), name="token-revoke"),
    path("members/", apis.MembershipListAddApi.as_view(), name="members"),
    path("members/<int:membership_id>/", apis.MembershipDetailApi.as_view(), name="member"),
]
