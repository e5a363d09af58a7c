from django.urls import path

from apps.catalog import views

app_name = "catalog"

urlpatterns = [
    path("", views.scan_list, name="list"),
    path("projects/", views.connection_projects, name="projects"),
    path("<int:scan_id>/", views.scan_detail, name="detail"),
    path("<int:scan_id>/progress/", views.scan_progress, name="progress"),
    path("<int:scan_id>/cancel/", views.scan_cancel, name="cancel"),
    path("<int:scan_id>/resume/", views.scan_resume, name="resume"),
    path("<int:scan_id>/quote/", views.scan_quote, name="quote"),
]
