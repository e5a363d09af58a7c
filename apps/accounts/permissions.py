from rest_framework import permissions

from apps.accounts.models import ApiToken
from apps.accounts.selectors import membership_for


def request_organisation(request):
    """The organisation an API request acts in: the token's, or the one chosen in the web session."""
    return getattr(request._request, "organisation", None)


def request_membership(request):
    organisation = request_organisation(request)
    return membership_for(user=request.user, organisation=organisation)


class IsOrganisationMember(permissions.BasePermission):
    message = "Authentication with a valid API token (or a signed-in session) is required."

    def has_permission(self, request, view):
        if not (request.user and request.user.is_authenticated):
            return False
        if isinstance(request.auth, ApiToken):
            return True  # the token lookup already checked the membership
        return request_organisation(request) is not None


class IsOrganisationAdmin(IsOrganisationMember):
    message = "Only an owner or admin of this organisation can do this."

    def has_permission(self, request, view):
        if not super().has_permission(request, view):
            return False
        membership = request_membership(request)
        return membership is not None and membership.is_admin


def request_actor_kind(request) -> str:
    """How the audit names who acted through the API: a personal API token or a signed-in session."""
    return "api_token" if isinstance(request.auth, ApiToken) else "user"
