"""The sandbox's own JSON control API (staff only): sites, run-time controls, tokens, seeding, the log."""

from rest_framework import serializers, status
from rest_framework.permissions import IsAdminUser
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.exceptions import ApplicationError
from apps.sandbox import selectors, services
from apps.sandbox.models import SandboxSite

MAX_API_SEED_ITEMS = 20_000


def _site_or_404(slug: str) -> SandboxSite:
    site = selectors.site_get(slug=slug)
    if site is None:
        raise ApplicationError(f"No sandbox site named {slug!r}.", status_code=404)
    return site


def _site_out(site: SandboxSite) -> dict:
    return {
        "kind": site.kind,
        "slug": site.slug,
        "name": site.name,
        "controls": selectors.site_controls(site=site),
        "request_seq": site.request_seq,
        "seeded_at": site.seeded_at,
        "seed_summary": site.seed_summary,
        "options": site.options,
    }


class ControlBase(APIView):
    permission_classes = [IsAdminUser]


class SiteListApi(ControlBase):
    class InputSerializer(serializers.Serializer):
        kind = serializers.ChoiceField(choices=SandboxSite.Kind.choices)
        slug = serializers.SlugField(max_length=80)
        controls = serializers.DictField(required=False, default=dict)

    def get(self, request):
        return Response({"sites": [_site_out(site) for site in selectors.site_list()]})

    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        site = services.site_create(kind=data.validated_data["kind"], slug=data.validated_data["slug"],
                                    **data.validated_data["controls"])
        return Response(_site_out(site), status=status.HTTP_201_CREATED)


class SiteDetailApi(ControlBase):
    def get(self, request, slug):
        return Response(_site_out(_site_or_404(slug)))

    def patch(self, request, slug):
        if not isinstance(request.data, dict):
            raise ApplicationError("Send a JSON object of controls to change.")
        site = services.site_controls_update(site=_site_or_404(slug), controls=dict(request.data))
        return Response(_site_out(site))


class SiteTokenApi(ControlBase):
    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=200)
        scopes = serializers.ListField(child=serializers.CharField(max_length=100), allow_empty=True)
        principal = serializers.DictField(required=False, default=dict)

    def post(self, request, slug):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        token, secret = services.token_create(site=_site_or_404(slug), **data.validated_data)
        # The one time the secret is shown.
        return Response({"id": token.pk, "name": token.name, "scopes": token.scopes, "token": secret},
                        status=status.HTTP_201_CREATED)


class SiteLogApi(ControlBase):
    def get(self, request, slug):
        try:
            since = int(request.query_params.get("since_id", 0))
        except ValueError:
            raise ApplicationError("since_id must be a whole number.") from None
        return Response(selectors.request_log_summary(site=_site_or_404(slug), since_id=since))

    def delete(self, request, slug):
        deleted = services.request_log_clear(site=_site_or_404(slug))
        return Response({"deleted": deleted})


class SiteSeedApi(ControlBase):
    class InputSerializer(serializers.Serializer):
        items = serializers.IntegerField(min_value=0, max_value=MAX_API_SEED_ITEMS)
        seed = serializers.IntegerField(required=False, default=1)

    def post(self, request, slug):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        summary = services.site_seed(site=_site_or_404(slug), **data.validated_data)
        return Response({"summary": summary}, status=status.HTTP_201_CREATED)


class SiteResetApi(ControlBase):
    def post(self, request, slug):
        services.site_reset(site=_site_or_404(slug))
        return Response({"reset": slug})
