from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect


def organisation_required(view):
    """For web views that work inside the current organisation: the person must be signed in and belong to
    one (request.organisation is set). Someone who belongs to none (for example after being removed) is sent
    to the organisations page to make one, instead of hitting an unscoped query."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if getattr(request, "organisation", None) is None:
            messages.warning(request, "You do not belong to any organisation yet. Create one to carry on.")
            return redirect("accounts:organisations")
        return view(request, *args, **kwargs)

    return wrapper


def organisation_admin_required(view):
    """Like organisation_required, and the person must be an owner or admin of the current organisation."""

    @organisation_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.membership.is_admin:
            from django.core.exceptions import PermissionDenied

            raise PermissionDenied("Only an owner or admin of this organisation can do this.")
        return view(request, *args, **kwargs)

    return wrapper
