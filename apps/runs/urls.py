from django.urls import path

from apps.runs import history_views, views

app_name = "runs"

urlpatterns = [
    path("", views.run_list, name="list"),
    path("previews/", views.preview_list, name="previews"),
    path("reports/", views.report_list, name="reports"),
    path("new/", views.run_create, name="create"),
    path("new/count/", views.run_scope_count, name="scope-count"),
    path("<int:run_id>/", views.run_detail, name="detail"),
    path("<int:run_id>/progress/", views.run_progress, name="progress"),
    path("<int:run_id>/audit/", views.run_audit, name="audit"),
    path("<int:run_id>/report/", views.run_report, name="report"),
    path("<int:run_id>/report.csv", views.run_report_csv, name="report-csv"),
    path("<int:run_id>/history.csv", history_views.run_history_csv, name="history-csv"),
    path("<int:run_id>/round-trip/", views.run_round_trip, name="round-trip"),
    path("<int:run_id>/round-trip.csv", views.run_round_trip_csv, name="round-trip-csv"),
    path("<int:run_id>/item/", views.run_item, name="item"),
    path("<int:run_id>/<str:action>/", views.run_control, name="control"),
]
