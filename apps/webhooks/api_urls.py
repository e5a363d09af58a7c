from django.urls import path

from apps.webhooks import apis

urlpatterns = [
    path("webhooks/", apis.WebhookListCreateApi.as_view(), name="webhooks"),
    path("webhooks/<int:endpoint_id>/", apis.WebhookDetailApi.as_view(), name="webhook"),
    path("webhooks/<int:endpoint_id>/deliveries/", apis.WebhookDeliveriesApi.as_view(), name="webhook-deliveries"),
]
