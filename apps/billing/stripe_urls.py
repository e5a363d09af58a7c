"""Mounted at /stripe/: dj-stripe's webhook address (`/stripe/webhook/<uuid>/`, URL name
`djstripe:djstripe_webhook_by_uuid`), served by our view (see webhooks.StripeWebhookView)."""

from django.urls import path

from apps.billing.webhooks import StripeWebhookView

app_name = "djstripe"

urlpatterns = [
    path("webhook/<uuid:uuid>/", StripeWebhookView.as_view(), name="djstripe_webhook_by_uuid"),
]
