from django.urls import path

from apps.webhooks import views

app_name = "webhooks"

urlpatterns = [
    path("", views.webhook_list, name="list"),
    path("<int:endpoint_id>/", views.webhook_detail, name="detail"),
    path("<int:endpoint_id>/rotate/", views.webhook_rotate, name="rotate"),
    path("<int:endpoint_id>/delete/", views.webhook_delete, name="delete"),
    path("<int:endpoint_id>/deliveries/<int:delivery_id>/redeliver/", views.webhook_redeliver, name="redeliver"),
]
