from django.urls import path

from apps.sso import views

app_name = "sso"

urlpatterns = [
    path("", views.sso_start, name="start"),
    path("callback/", views.sso_callback, name="callback"),
    path("settings/", views.sso_settings, name="settings"),
]
