from django.db.models import QuerySet
from django.utils import timezone

from apps.accounts.models import ApiToken, Membership, Organisation, api_token_hash


def organisations_for_user(*, user) -> QuerySet[Organisation]:
    if not user.is_authenticated:
        return Organisation.objects.none()
    return Organisation.objects.filter(id__in=Membership.unscoped.filter(user=user).values("organisation_id"))


def membership_for(*, user, organisation) -> Membership | None:
    if not user.is_authenticated or organisation is None:
        return None
    return Membership.objects.for_organisation(organisation).filter(user=user).select_related("organisation").first()


def default_membership_for(*, user) -> Membership | None:
    """The organisation a person lands in when none is chosen: the oldest they belong to."""
    return Membership.unscoped.filter(user=user).select_related("organisation").order_by("created_at", "id").first()


def memberships_of_organisation(*, organisation) -> QuerySet[Membership]:
    return Membership.objects.for_organisation(organisation).select_related("user")


def membership_get(*, organisation, membership_id) -> Membership:
    """One membership of this organisation; Membership.DoesNotExist for any other (the caller answers 404)."""
    return memberships_of_organisation(organisation=organisation).get(pk=membership_id)


def api_tokens_of_user(*, organisation, user) -> QuerySet[ApiToken]:
    return ApiToken.objects.for_organisation(organisation).filter(user=user)


def api_token_get(*, organisation, user, token_id) -> ApiToken:
    return api_tokens_of_user(organisation=organisation, user=user).get(pk=token_id)


def api_token_find_active(*, raw_token: str) -> ApiToken | None:
    """The token a request presents, if it is known, unrevoked and unexpired. Crosses organisations on
    purpose: the token itself says which organisation it belongs to."""
    if not raw_token.startswith(ApiToken.TOKEN_PREFIX):
        return None
    token = (
        ApiToken.unscoped.select_related("user", "organisation")
        .filter(key_hash=api_token_hash(raw_token))
        .first()
    )
    if token is None or not token.is_active or not token.user.is_active:
        return None
    # The person must still belong to the organisation the token was made in.
    if not Membership.unscoped.filter(user=token.user, organisation=token.organisation).exists():
        return None
    if token.last_used_at is None or (timezone.now() - token.last_used_at).total_seconds() > 60:
        ApiToken.unscoped.filter(pk=token.pk).update(last_used_at=timezone.now())
    return token
