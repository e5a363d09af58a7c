from django.urls import path

from apps.runs import apis, history_apis

urlpatterns = [
    path("runs/", apis.RunListCreateApi.as_view(), name="runs"),
    path("runs/<int:run_id>/", apis.RunDetailApi.as_view(), name="run"),
    *[path(f"runs/<int:run_id>/{action}/", apis.RunControlApi.as_view(action=action), name=f"run-{action}")
      for action in ("pause", "resume", "cancel", "retry", "rollback")],
    path("runs/<int:run_id>/errors/", apis.RunErrorsApi.as_view(), name="run-errors"),
    path("runs/<int:run_id>/audit/", apis.RunAuditApi.as_view(), name="run-audit"),
    path("runs/<int:run_id>/id-map/", apis.RunIdMapApi.as_view(), name="run-id-map"),
    path("runs/<int:run_id>/report/", apis.RunReportApi.as_view(), name="run-report"),
    path("runs/<int:run_id>/report.csv", apis.RunReportCsvApi.as_view(), name="run-report-csv"),
    path("runs/<int:run_id>/items/<str:source_id>/", apis.RunItemPreviewApi.as_view(), name="run-item"),
    path("runs/<int:run_id>/history.csv", history_apis.RunHistoryCsvApi.as_view(), name="run-history-csv"),
    path("runs/<int:run_id>/round-trip/", apis.RunRoundTripApi.as_view(), name="run-round-trip"),
    path("runs/<int:run_id>/round-trip.csv", apis.RunRoundTripCsvApi.as_view(), name="run-round-trip-csv"),
]
