from django.conf import settings

from apps.accounts.selectors import organisations_for_user
from apps.core.navigation import flow_steps


def product(request):
    authenticated = getattr(request, "user", None) is not None and request.user.is_authenticated
    return {
        "user_organisations": organisations_for_user(user=request.user) if authenticated else [],
        "flow_steps": flow_steps(request.path) if authenticated else [],
        "sandbox_enabled": settings.SANDBOX_ENABLED,
        "current_organisation": getattr(request, "organisation", None),
        "current_membership": getattr(request, "membership", None),
    }
