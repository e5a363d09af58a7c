from drf_spectacular.openapi import AutoSchema as BaseAutoSchema


class AutoSchema(BaseAutoSchema):
    """Names a serializer nested in an API view after the view (`MeApi.OutputSerializer` -> `MeOutput`),
    so the one-view-per-operation style never gives two schema components the same name."""

    def _get_serializer_name(self, serializer, direction, bypass_extensions=False):
        name = super()._get_serializer_name(serializer, direction, bypass_extensions)
        qualname = type(serializer).__qualname__
        if "." in qualname:
            outer = qualname.split(".")[-2].removesuffix("Api").removesuffix("View")
            if not name.startswith(outer):
                name = outer + name
        return name


def public_api_only(endpoints, **kwargs):
    """drf-spectacular preprocessing hook: the schema documents the product's API under /api/v1/ only, not
    the sandbox emulators or any other DRF view mounted elsewhere."""
    return [endpoint for endpoint in endpoints if endpoint[0].startswith("/api/v1/")]
