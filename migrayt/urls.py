from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

api_v1 = [
    path("", include("apps.webhooks.api_urls")),
    path("", include("apps.accounts.api_urls")),
    path("", include("apps.connections.api_urls")),
    path("", include("apps.catalog.api_urls")),
    path("", include("apps.mappings.api_urls")),
    path("", include("apps.runs.api_urls")),
    path("", include("apps.billing.api_urls")),
]

urlpatterns = [
    path("", include("apps.core.urls")),
    path("accounts/", include("apps.accounts.urls")),
    path("connections/", include("apps.connections.urls")),
    path("catalog/", include("apps.catalog.urls")),
    path("mappings/", include("apps.mappings.urls")),
    path("runs/", include("apps.runs.urls")),
    path("billing/", include("apps.billing.urls")),
    path("stripe/", include("apps.billing.stripe_urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include((api_v1, "api"), namespace="api")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]

urlpatterns += [  # enterprise: single sign-on, outgoing webhooks
    path("sso/", include("apps.sso.urls")),
    path("webhooks/", include("apps.webhooks.urls")),
]

if settings.SANDBOX_ENABLED:
    urlpatterns.append(path("sandbox/oauth/", include("apps.sandbox.oauth.urls")))
    urlpatterns.append(path("sandbox/", include("apps.sandbox.urls")))

handler404 = "apps.core.views.page_not_found"
handler500 = "apps.core.views.server_error"
