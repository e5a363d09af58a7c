from django.urls import path

from apps.billing import apis

urlpatterns = [
    path("billing/", apis.BillingStatusApi.as_view(), name="billing"),
    path("billing/checkouts/", apis.CheckoutCreateApi.as_view(), name="billing-checkouts"),
    path("billing/checkouts/<uuid:checkout_uid>/", apis.CheckoutDetailApi.as_view(), name="billing-checkout"),
    path("billing/usage/", apis.UsageListApi.as_view(), name="billing-usage"),
]
