from django.urls import path

from apps.connections import views

app_name = "connections"

urlpatterns = [
    path("", views.connection_list, name="list"),
    path("new/", views.connection_create, name="create"),
    path("<int:connection_id>/", views.connection_detail, name="detail"),
    path("<int:connection_id>/edit/", views.connection_edit, name="edit"),
    path("<int:connection_id>/delete/", views.connection_delete, name="delete"),
    path("<int:connection_id>/test/", views.connection_test, name="test"),
    path("<int:connection_id>/oauth/reconnect/", views.oauth_reconnect, name="oauth_reconnect"),
    path("oauth/<str:provider>/start/", views.oauth_start, name="oauth_start"),
    path("oauth/callback/", views.oauth_callback, name="oauth_callback"),
    path("oauth/sites/<int:authorisation_id>/", views.oauth_site, name="oauth_site"),
]
