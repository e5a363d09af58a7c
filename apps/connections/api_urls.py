from django.urls import path

from apps.connections import apis

urlpatterns = [
    path("connections/", apis.ConnectionListCreateApi.as_view(), name="connections"),
    path("connections/<int:connection_id>/", apis.ConnectionDetailApi.as_view(), name="connection"),
    path("connections/<int:connection_id>/test/", apis.ConnectionTestApi.as_view(), name="connection-test"),
]
