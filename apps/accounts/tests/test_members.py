"""Managing the people of an organisation: who may do what, through the services, the API and the web UI."""

import pytest
from rest_framework.test import APIClient

from apps.accounts.models import ApiToken, Membership
from apps.accounts.selectors import api_token_find_active
from apps.accounts.services import (
    api_token_create,
    membership_add,
    membership_remove,
    membership_role_change,
)
from apps.core.exceptions import ApplicationError
from apps.core.models import AuditEvent
from apps.core.testing.factories import MembershipFactory, UserFactory

OWNER, ADMIN, MEMBER = Membership.Role.OWNER, Membership.Role.ADMIN, Membership.Role.MEMBER


@pytest.fixture
def team(organisation):
    """An organisation with one person of each role, and someone who signed up but is not in it."""
    return {
        "owner": MembershipFactory(organisation=organisation, role=OWNER),
        "admin": MembershipFactory(organisation=organisation, role=ADMIN),
        "member": MembershipFactory(organisation=organisation, role=MEMBER),
        "newcomer": UserFactory(email="newcomer@example.test"),
    }


def api_as(user, organisation) -> APIClient:
    _, raw = api_token_create(organisation=organisation, user=user, name="test")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


# --- the rules, in the services ---------------------------------------------------------------------


@pytest.mark.django_db
def test_admin_adds_a_member_and_it_is_audited(team, organisation):
    membership = membership_add(
        organisation=organisation, email="NewComer@Example.test ", role=MEMBER, actor=team["admin"].user
    )
    assert membership.user == team["newcomer"]
    event = AuditEvent.objects.for_organisation(organisation).get(action="membership.added")
    assert event.actor == team["admin"].user
    assert event.data == {"role": "member", "user_id": team["newcomer"].pk}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("email", "message"),
    [
        ("nobody@example.test", "No one has signed up with that e-mail"),
        ("", "Give the e-mail address"),
    ],
)
def test_adding_someone_unknown_says_why(team, organisation, email, message):
    with pytest.raises(ApplicationError, match=message):
        membership_add(organisation=organisation, email=email, role=MEMBER, actor=team["owner"].user)


@pytest.mark.django_db
def test_adding_someone_twice_is_refused(team, organisation):
    with pytest.raises(ApplicationError, match="already a member"):
        membership_add(organisation=organisation, email=team["member"].user.email, role=MEMBER, actor=team["owner"].user)


@pytest.mark.django_db
def test_members_cannot_manage_members(team, organisation):
    actor = team["member"].user
    with pytest.raises(ApplicationError, match="Only an owner or admin") as exc:
        membership_add(organisation=organisation, email="newcomer@example.test", role=MEMBER, actor=actor)
    assert exc.value.status_code == 403
    with pytest.raises(ApplicationError, match="Only an owner or admin"):
        membership_role_change(membership=team["admin"], role=MEMBER, actor=actor)
    with pytest.raises(ApplicationError, match="Only an owner or admin"):
        membership_remove(membership=team["admin"], actor=actor)


@pytest.mark.django_db
def test_only_owners_touch_ownership(team, organisation):
    admin = team["admin"].user
    with pytest.raises(ApplicationError, match="Only an owner can"):
        membership_add(organisation=organisation, email="newcomer@example.test", role=OWNER, actor=admin)
    with pytest.raises(ApplicationError, match="Only an owner can"):
        membership_role_change(membership=team["member"], role=OWNER, actor=admin)
    with pytest.raises(ApplicationError, match="Only an owner can"):
        membership_role_change(membership=team["owner"], role=MEMBER, actor=admin)
    with pytest.raises(ApplicationError, match="Only an owner can"):
        membership_remove(membership=team["owner"], actor=admin)
    # An owner can.
    membership_role_change(membership=team["member"], role=OWNER, actor=team["owner"].user)
    assert Membership.objects.for_organisation(organisation).filter(role=OWNER).count() == 2


@pytest.mark.django_db
def test_the_last_owner_can_neither_step_down_nor_leave(team, organisation):
    owner = team["owner"]
    with pytest.raises(ApplicationError, match="at least one owner"):
        membership_role_change(membership=owner, role=ADMIN, actor=owner.user)
    with pytest.raises(ApplicationError, match="last owner"):
        membership_remove(membership=owner, actor=owner.user)
    # With a second owner, the first may step down.
    membership_role_change(membership=team["admin"], role=OWNER, actor=owner.user)
    membership_role_change(membership=owner, role=MEMBER, actor=owner.user)
    assert Membership.unscoped.get(pk=owner.pk).role == MEMBER


@pytest.mark.django_db
def test_anyone_may_leave_and_their_tokens_stop_working(team, organisation):
    leaver = team["member"]
    _, raw = api_token_create(organisation=organisation, user=leaver.user, name="mine")
    assert api_token_find_active(raw_token=raw) is not None
    membership_remove(membership=leaver, actor=leaver.user)
    assert not Membership.objects.for_organisation(organisation).filter(user=leaver.user).exists()
    assert api_token_find_active(raw_token=raw) is None
    assert ApiToken.objects.for_organisation(organisation).get(user=leaver.user).revoked_at is not None
    assert AuditEvent.objects.for_organisation(organisation).filter(action="membership.left").count() == 1


@pytest.mark.django_db
def test_unknown_role_is_refused(team, organisation):
    with pytest.raises(ApplicationError, match="Unknown role") as exc:
        membership_role_change(membership=team["member"], role="god", actor=team["owner"].user)
    assert exc.value.extra == {"allowed": ["owner", "admin", "member"]}


@pytest.mark.django_db
def test_staff_override_needs_staff(team, organisation):
    with pytest.raises(ApplicationError, match="Only staff"):
        membership_remove(membership=team["admin"], actor=team["member"].user, staff_override=True)
    staff = UserFactory(is_staff=True)
    membership_remove(membership=team["admin"], actor=staff, staff_override=True)
    with pytest.raises(ApplicationError, match="last owner"):
        membership_remove(membership=team["owner"], actor=staff, staff_override=True)


# --- the API ----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_api_lists_adds_changes_and_removes_members(team, organisation):
    api = api_as(team["admin"].user, organisation)

    listed = api.get("/api/v1/members/")
    assert listed.status_code == 200
    assert sorted(row["role"] for row in listed.json()) == ["admin", "member", "owner"]
    assert set(listed.json()[0]) == {"id", "email", "full_name", "role", "created_at"}

    added = api.post("/api/v1/members/", {"email": "newcomer@example.test"}, format="json")
    assert added.status_code == 201, added.json()
    assert added.json()["role"] == "member"
    new_id = added.json()["id"]

    assert api.get(f"/api/v1/members/{new_id}/").json()["email"] == "newcomer@example.test"

    changed = api.patch(f"/api/v1/members/{new_id}/", {"role": "admin"}, format="json")
    assert changed.status_code == 200
    assert changed.json()["role"] == "admin"

    removed = api.delete(f"/api/v1/members/{new_id}/")
    assert removed.status_code == 204
    assert api.get(f"/api/v1/members/{new_id}/").status_code == 404


@pytest.mark.django_db
def test_api_answers_bad_input_with_400_and_a_message(team, organisation):
    api = api_as(team["owner"].user, organisation)
    response = api.post("/api/v1/members/", {"email": "not-an-address"}, format="json")
    assert response.status_code == 400
    assert response.json()["message"] == "email: Enter a valid email address."
    response = api.post("/api/v1/members/", {"email": "newcomer@example.test", "role": "god"}, format="json")
    assert response.status_code == 400
    assert response.json()["message"].startswith("role:")
    response = api.patch(f"/api/v1/members/{team['member'].pk}/", {}, format="json")
    assert response.status_code == 400
    assert response.json()["message"] == "role: This field is required."
    response = api.post("/api/v1/members/", {"email": "ghost@example.test"}, format="json")
    assert response.status_code == 400
    assert "No one has signed up" in response.json()["message"]


@pytest.mark.django_db
def test_api_refuses_members_who_are_not_admins_with_403(team, organisation):
    api = api_as(team["member"].user, organisation)
    assert api.get("/api/v1/members/").status_code == 200  # seeing colleagues is fine
    response = api.post("/api/v1/members/", {"email": "newcomer@example.test"}, format="json")
    assert response.status_code == 403
    assert response.json() == {"message": "Only an owner or admin of this organisation can manage its members.", "extra": {}}
    assert api.patch(f"/api/v1/members/{team['admin'].pk}/", {"role": "member"}, format="json").status_code == 403
    assert api.delete(f"/api/v1/members/{team['admin'].pk}/").status_code == 403
    assert Membership.unscoped.get(pk=team["admin"].pk).role == ADMIN


@pytest.mark.django_db
def test_api_last_owner_protection(team, organisation):
    api = api_as(team["owner"].user, organisation)
    response = api.delete(f"/api/v1/members/{team['owner'].pk}/")
    assert response.status_code == 400
    assert "last owner" in response.json()["message"]


# --- the web UI -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_members_page_lets_an_admin_add_change_and_remove(client, team, organisation):
    client.force_login(team["admin"].user)
    page = client.get("/accounts/members/")
    assert page.status_code == 200
    body = page.content.decode()
    for key in ("owner", "admin", "member"):
        assert team[key].user.email in body
    assert "Add a member" in body

    response = client.post("/accounts/members/", {"email": "newcomer@example.test", "role": "member"}, follow=True)
    assert "Added newcomer@example.test as member." in response.content.decode()
    added = Membership.objects.for_organisation(organisation).get(user=team["newcomer"])

    response = client.post(f"/accounts/members/{added.pk}/role/", {"role": "admin"}, follow=True)
    assert "newcomer@example.test is now admin." in response.content.decode()
    assert Membership.unscoped.get(pk=added.pk).role == ADMIN

    response = client.post(f"/accounts/members/{added.pk}/remove/", follow=True)
    assert "Removed newcomer@example.test" in response.content.decode()
    assert not Membership.unscoped.filter(pk=added.pk).exists()


@pytest.mark.django_db
def test_members_page_shows_form_errors(client, team):
    client.force_login(team["owner"].user)
    response = client.post("/accounts/members/", {"email": "ghost@example.test", "role": "member"})
    assert response.status_code == 200
    assert "No one has signed up with that e-mail address yet" in response.content.decode()
    response = client.post("/accounts/members/", {"email": "", "role": "member"})
    assert "This field is required." in response.content.decode()
    response = client.post(f"/accounts/members/{team['member'].pk}/role/", {"role": "god"}, follow=True)
    assert "Choose one of the roles" in response.content.decode()


@pytest.mark.django_db
def test_members_page_for_a_plain_member_is_read_only(client, team):
    client.force_login(team["member"].user)
    body = client.get("/accounts/members/").content.decode()
    assert "Add a member" not in body
    assert 'name="role"' not in body
    assert "Leave…" in body  # only for their own row
    assert "Remove…" not in body
    assert client.post("/accounts/members/", {"email": "newcomer@example.test", "role": "member"}).status_code == 403
    response = client.post(f"/accounts/members/{team['admin'].pk}/role/", {"role": "member"}, follow=True)
    assert "Only an owner or admin" in response.content.decode()
    assert Membership.unscoped.get(pk=team["admin"].pk).role == ADMIN


@pytest.mark.django_db
def test_leaving_the_last_organisation_lands_on_a_page_that_says_what_to_do(client, team):
    leaver = team["member"]
    client.force_login(leaver.user)
    response = client.post(f"/accounts/members/{leaver.pk}/remove/", follow=True)
    assert response.status_code == 200
    assert "You left" in response.content.decode()
    assert "do not belong to any organisation" in response.content.decode()
    # Pages that work inside an organisation send them to create one, instead of failing.
    response = client.get("/accounts/tokens/", follow=True)
    assert response.redirect_chain[-1][0] == "/accounts/organisations/"
    assert "Create one to carry on" in response.content.decode()
