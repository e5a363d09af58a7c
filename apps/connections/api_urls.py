from django.urls import path

from apps.connections import apis

urlpatterns = [
    path("connections/", apis.ConnectionListCreateApi.as_view(), name="connections"),
    path("connections/oauth/", apis.ConnectionOAuthStartApi.as_view(), name="connection-oauth-start"),
    path("connections/<int:connection_id>/", apis.ConnectionDetailApi.as_view(), name="connection"),
    path("connections/<int:connection_id>/test/", apis.ConnectionTestApi.as_view(), name="connection-test"),
    path("connections/<int:connection_id>/scope-count/", apis.ScopeCountApi.as_view(), name="connection-scope-count"),
]
