import pytest

from apps.core.testing.factories import MembershipFactory, OrganisationFactory, UserFactory


@pytest.fixture
def organisation(db):
    return OrganisationFactory()


@pytest.fixture
def member(db, organisation):
    """A person who owns `organisation`."""
    return MembershipFactory(organisation=organisation).user


@pytest.fixture
def other_organisation(db):
    return OrganisationFactory(name="Other Co", slug="other-co")


@pytest.fixture
def outsider(db, other_organisation):
    """A person who belongs only to `other_organisation`."""
    return MembershipFactory(organisation=other_organisation).user


@pytest.fixture
def make_user(db):
    return UserFactory
