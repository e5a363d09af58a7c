from django.urls import include, path

from apps.sandbox import apis, views
from apps.sandbox.machinery.vendor import registered_adapters

app_name = "sandbox"

urlpatterns = [
    path("", views.index, name="index"),
    path("sites/<slug:slug>/controls/", views.site_controls, name="site_controls"),
    path("control/sites/", apis.SiteListApi.as_view(), name="control_sites"),
    path("control/sites/<slug:slug>/", apis.SiteDetailApi.as_view(), name="control_site"),
    path("control/sites/<slug:slug>/tokens/", apis.SiteTokenApi.as_view(), name="control_tokens"),
    path("control/sites/<slug:slug>/log/", apis.SiteLogApi.as_view(), name="control_log"),
    path("control/sites/<slug:slug>/seed/", apis.SiteSeedApi.as_view(), name="control_seed"),
    path("control/sites/<slug:slug>/reset/", apis.SiteResetApi.as_view(), name="control_reset"),
]

# Each registered vendor serves its own URLs under its prefix: /sandbox/ado/<site>/..., /sandbox/jira/<site>/...
for _adapter in registered_adapters():
    if _adapter.urls_module:
        urlpatterns.append(path(f"{_adapter.url_prefix}/", include(_adapter.urls_module)))
