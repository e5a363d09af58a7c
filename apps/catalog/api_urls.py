from django.urls import path

from apps.catalog import apis

urlpatterns = [
    path("scans/", apis.ScanListCreateApi.as_view(), name="scans"),
    path("scans/<int:scan_id>/", apis.ScanDetailApi.as_view(), name="scan"),
    path("scans/<int:scan_id>/cancel/", apis.ScanCancelApi.as_view(), name="scan-cancel"),
    path("scans/<int:scan_id>/resume/", apis.ScanResumeApi.as_view(), name="scan-resume"),
    path("scans/<int:scan_id>/catalog/", apis.ScanCatalogApi.as_view(), name="scan-catalog"),
    path("scans/<int:scan_id>/quote/", apis.ScanQuoteApi.as_view(), name="scan-quote"),
    path("connections/<int:connection_id>/projects/", apis.ConnectionProjectsApi.as_view(),
         name="connection-projects"),
]
