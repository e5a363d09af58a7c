from apps.accounts.models import Organisation
from apps.accounts.selectors import default_membership_for, membership_for

SESSION_KEY = "organisation_id"


class CurrentOrganisationMiddleware:
    """Sets request.organisation and request.membership for a signed-in person, from the organisation
    they chose (kept in the session) if they still belong to it, else their first organisation."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.organisation = None
        request.membership = None
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            membership = None
            chosen = request.session.get(SESSION_KEY)
            if chosen:
                organisation = Organisation.objects.filter(pk=chosen).first()
                membership = membership_for(user=user, organisation=organisation)
            if membership is None:
                membership = default_membership_for(user=user)
                if membership is not None:
                    request.session[SESSION_KEY] = membership.organisation_id
            if membership is not None:
                request.membership = membership
                request.organisation = membership.organisation
        return self.get_response(request)
