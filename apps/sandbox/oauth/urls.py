from django.urls import path

from apps.sandbox.oauth import views

app_name = "sandbox_oauth"

ATL, ENTRA, OIDC = {"flavour": "atlassian"}, {"flavour": "entra"}, {"flavour": "oidc"}

urlpatterns = [
    path("grants/", views.grants, name="grants"),
    # Atlassian OAuth 2.0 (3LO): auth.atlassian.com and api.atlassian.com in one place.
    path("atlassian/authorize", views.authorize, ATL, name="atlassian_authorize"),
    path("atlassian/oauth/token", views.token, ATL, name="atlassian_token"),
    path("atlassian/oauth/revoke", views.revoke, ATL, name="atlassian_revoke"),
    path("atlassian/oauth/token/accessible-resources", views.accessible_resources, name="atlassian_resources"),
    path("atlassian/ex/jira/<str:cloud_id>/<path:rest>", views.jira_gateway, name="atlassian_gateway"),
    # Microsoft Entra ID (login.microsoftonline.com/<tenant>/...).
    path("entra/<str:tenant>/oauth2/v2.0/authorize", views.authorize, ENTRA, name="entra_authorize"),
    path("entra/<str:tenant>/oauth2/v2.0/token", views.token, ENTRA, name="entra_token"),
    path("entra/<str:tenant>/v2.0/.well-known/openid-configuration", views.openid_configuration, ENTRA, name="entra_configuration"),
    path("entra/<str:tenant>/discovery/v2.0/keys", views.jwks, ENTRA, name="entra_jwks"),
    path("entra/<str:tenant>/oidc/userinfo", views.userinfo, ENTRA, name="entra_userinfo"),
    # A standard OpenID Connect provider.
    path("oidc/<str:tenant>/.well-known/openid-configuration", views.openid_configuration, OIDC, name="oidc_configuration"),
    path("oidc/<str:tenant>/authorize", views.authorize, OIDC, name="oidc_authorize"),
    path("oidc/<str:tenant>/token", views.token, OIDC, name="oidc_token"),
    path("oidc/<str:tenant>/revoke", views.revoke, OIDC, name="oidc_revoke"),
    path("oidc/<str:tenant>/jwks", views.jwks, OIDC, name="oidc_jwks"),
    path("oidc/<str:tenant>/userinfo", views.userinfo, OIDC, name="oidc_userinfo"),
]
