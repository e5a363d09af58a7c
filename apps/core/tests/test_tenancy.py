import pytest

from apps.accounts.models import ApiToken, Membership
from apps.accounts.services import api_token_create
from apps.core.tenancy import UnscopedQueryError
from apps.core.testing.factories import MembershipFactory


@pytest.mark.django_db
def test_unscoped_queries_are_refused(member, organisation):
    with pytest.raises(UnscopedQueryError, match="for_organisation"):
        list(Membership.objects.all())
    with pytest.raises(UnscopedQueryError):
        Membership.objects.filter(user=member).count()
    with pytest.raises(UnscopedQueryError):
        Membership.objects.filter(user=member).exists()
    with pytest.raises(UnscopedQueryError):
        Membership.objects.update(role="member")
    with pytest.raises(UnscopedQueryError):
        Membership.objects.all().delete()
    assert Membership.objects.for_organisation(organisation).count() == 1


@pytest.mark.django_db
def test_scoping_hides_other_organisations(member, organisation, outsider, other_organisation):
    ours = list(Membership.objects.for_organisation(organisation).values_list("user__email", flat=True))
    assert ours == [member.email]
    assert outsider.email not in ours


@pytest.mark.django_db
def test_reaching_through_a_parent_object_is_allowed(member, organisation):
    token, _ = api_token_create(organisation=organisation, user=member, name="ci")
    # A reverse relation from an object that was itself loaded is scoped by that object.
    assert list(member.api_tokens.all()) == [token]
    # A chained queryset keeps its scope.
    assert ApiToken.objects.for_organisation(organisation).filter(name="ci").order_by("id").first() == token


@pytest.mark.django_db
def test_for_organisation_needs_an_organisation():
    with pytest.raises(UnscopedQueryError):
        Membership.objects.for_organisation(None)


@pytest.mark.django_db
def test_model_validation_may_check_uniqueness_but_nothing_else_is_let_through(member, organisation):
    """ModelForms and full_clean() check constraints through `objects`; that is allowed, and only that."""
    from django.core.exceptions import ValidationError

    duplicate = Membership(organisation=organisation, user=member, role="member")
    with pytest.raises(ValidationError, match="already a member of this organisation"):
        duplicate.full_clean()
    Membership(organisation=organisation, user=MembershipFactory().user, role="member").full_clean()
    # The allowance ends with the validation.
    with pytest.raises(UnscopedQueryError):
        Membership.objects.filter(user=member).exists()
