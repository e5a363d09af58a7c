"""Personal API tokens: shown once, stored as a hash only, work until revoked, expired or the person leaves."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apps.accounts.models import ApiToken, Membership, api_token_hash
from apps.accounts.services import api_token_create, membership_remove
from apps.core.testing.factories import MembershipFactory


def me(raw: str):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client.get("/api/v1/me/")


@pytest.mark.django_db
def test_token_made_through_the_api_is_shown_once_and_works_until_revoked(client, member, organisation):
    client.force_login(member)  # session auth makes the first token
    created = client.post("/api/v1/tokens/", {"name": "CI pipeline"}, content_type="application/json")
    assert created.status_code == 201
    raw = created.json()["token"]
    assert raw.startswith("mgy_") and len(raw) > 40

    # Only its hash is kept, and the list never shows the token again.
    stored = ApiToken.objects.for_organisation(organisation).get(pk=created.json()["id"])
    assert stored.key_hash == api_token_hash(raw) and raw not in (stored.key_hash, stored.prefix)
    listed = client.get("/api/v1/tokens/").json()
    assert "token" not in listed[0]
    assert raw not in str(listed)

    response = me(raw)
    assert response.status_code == 200
    assert response.json()["organisation"]["id"] == organisation.pk
    assert response.json()["email"] == member.email

    revoked = client.post(f"/api/v1/tokens/{stored.pk}/revoke/")
    assert revoked.status_code == 200
    assert revoked.json()["is_active"] is False

    response = me(raw)
    assert response.status_code == 401
    assert response.json() == {
        "message": "This API token is not valid: it is unknown, revoked or expired.",
        "extra": {},
    }


@pytest.mark.django_db
def test_token_made_in_the_web_ui_is_shown_once(client, member, organisation):
    client.force_login(member)
    page = client.post("/accounts/tokens/", {"name": "laptop"})
    assert page.status_code == 200
    raw = re.search(r'id="new-token">(mgy_[^<]+)<', page.content.decode()).group(1)
    assert me(raw).status_code == 200
    # Shown once: the next visit lists it by its prefix only.
    again = client.get("/accounts/tokens/").content.decode()
    assert raw not in again
    assert raw[:10] in again

    token = ApiToken.objects.for_organisation(organisation).get(name="laptop")
    response = client.post(f"/accounts/tokens/{token.pk}/revoke/", follow=True)
    assert "Revoked laptop" in response.content.decode()
    assert me(raw).status_code == 401


@pytest.mark.django_db
def test_token_stops_working_when_its_person_leaves_the_organisation(member, organisation):
    colleague = MembershipFactory(organisation=organisation, role=Membership.Role.MEMBER)
    _, raw = api_token_create(organisation=organisation, user=colleague.user, name="script")
    assert me(raw).status_code == 200
    membership_remove(membership=colleague, actor=member)
    assert me(raw).status_code == 401


@pytest.mark.django_db
def test_token_stops_working_when_the_membership_row_goes_even_without_the_service(member, organisation):
    """Belt and braces: the check on each request does not rely on the revocation the service does."""
    _, raw = api_token_create(organisation=organisation, user=member, name="script")
    Membership.objects.for_organisation(organisation).filter(user=member).delete()
    assert me(raw).status_code == 401


@pytest.mark.django_db
def test_token_stops_working_when_the_person_is_deactivated(member, organisation):
    _, raw = api_token_create(organisation=organisation, user=member, name="script")
    member.is_active = False
    member.save()
    assert me(raw).status_code == 401


@pytest.mark.django_db
def test_expired_token_is_refused(member, organisation):
    token, raw = api_token_create(
        organisation=organisation, user=member, name="short", expires_at=timezone.now() + timedelta(minutes=5)
    )
    assert me(raw).status_code == 200
    ApiToken.objects.for_organisation(organisation).filter(pk=token.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert me(raw).status_code == 401


@pytest.mark.django_db
@pytest.mark.parametrize(
    "header",
    ["Bearer", "Bearer mgy_a mgy_b", "Bearer nottoken", "Token mgy_wrong", "Basic Zm9vOmJhcg=="],
)
def test_malformed_or_foreign_authorization_headers_are_refused_with_401(header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    response = client.get("/api/v1/me/")
    assert response.status_code == 401
    assert set(response.json()) == {"message", "extra"}


@pytest.mark.django_db
def test_token_use_is_recorded(member, organisation):
    token, raw = api_token_create(organisation=organisation, user=member, name="script")
    assert token.last_used_at is None
    me(raw)
    assert ApiToken.unscoped.get(pk=token.pk).last_used_at is not None


@pytest.mark.django_db
def test_tokens_need_a_name(client, member):
    client.force_login(member)
    response = client.post("/accounts/tokens/", {"name": "   "})
    assert "This field is required." in response.content.decode()
    assert ApiToken.unscoped.count() == 0
