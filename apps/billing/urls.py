from django.urls import path

from apps.billing import views

app_name = "billing"

urlpatterns = [
    path("", views.checkout_page, name="checkout"),
    path("checkout/<int:quote_id>/", views.checkout_start, name="checkout_start"),
    path("checkout/return/<uuid:checkout_uid>/", views.checkout_return, name="checkout_return"),
    path("checkout/return/<uuid:checkout_uid>/status/", views.checkout_status, name="checkout_status"),
    path("usage/", views.usage_page, name="usage"),
]
