"""A member of organisation A gets a 404 for every object of organisation B, through the web UI and through
the API, and nothing of B changes. The sweep below walks every URL of the accounts app that takes an object
id, so a new one cannot be added without being covered here."""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

from apps.accounts.models import ApiToken, Membership
from apps.accounts.services import api_token_create
from apps.core.testing.factories import MembershipFactory

# For each id parameter in an accounts URL: how to get the id of one of B's objects.
B_OBJECTS = {
    "token_id": lambda b: b["token"].pk,
    "membership_id": lambda b: b["membership"].pk,
}


def _walk(patterns, prefix=""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry


def accounts_object_urls():
    """(route, pattern) for every URL served by apps.accounts that names an object by id."""
    found = []
    for route, pattern in _walk(get_resolver().url_patterns):
        callback = pattern.callback
        module = getattr(getattr(callback, "view_class", None), "__module__", None) or callback.__module__
        if module.startswith("apps.accounts") and pattern.pattern.converters:
            found.append((route, pattern))
    return found


def _url_for(route: str, pattern: URLPattern, b: dict) -> str:
    url = "/" + route
    for name in pattern.pattern.converters:
        assert name in B_OBJECTS, f"{route}: add how to find one of B's objects for <{name}> to B_OBJECTS"
        url = url.replace(f"<int:{name}>", str(B_OBJECTS[name](b)))
    assert "<" not in url, f"{route}: an id parameter this test does not know"
    return url


@pytest.fixture
def a_member(member, organisation):
    """An owner of A, with an API token for A."""
    _, raw = api_token_create(organisation=organisation, user=member, name="a-token")
    return member, raw


@pytest.fixture
def b_objects(outsider, other_organisation):
    bystander = MembershipFactory(organisation=other_organisation, role=Membership.Role.MEMBER)
    token, _ = api_token_create(organisation=other_organisation, user=outsider, name="b-token")
    return {"organisation": other_organisation, "membership": bystander, "token": token, "owner": outsider}


def _assert_b_untouched(b):
    token = ApiToken.unscoped.get(pk=b["token"].pk)
    assert token.revoked_at is None
    membership = Membership.unscoped.get(pk=b["membership"].pk)
    assert membership.role == Membership.Role.MEMBER


def test_the_sweep_covers_the_accounts_urls_with_ids():
    routes = {route for route, _ in accounts_object_urls()}
    # Guard against the sweep silently finding nothing (for example after a URL reorganisation).
    assert {
        "accounts/tokens/<int:token_id>/revoke/",
        "accounts/members/<int:membership_id>/role/",
        "accounts/members/<int:membership_id>/remove/",
        "api/v1/tokens/<int:token_id>/revoke/",
        "api/v1/members/<int:membership_id>/",
    } <= routes


@pytest.mark.django_db
def test_every_object_of_another_organisation_is_a_404_in_the_web_ui(client, a_member, b_objects):
    member, _ = a_member
    client.force_login(member)
    checked = 0
    for route, pattern in accounts_object_urls():
        if route.startswith("api/"):
            continue
        url = _url_for(route, pattern, b_objects)
        statuses = {method: getattr(client, method)(url, {"role": "owner"}).status_code for method in ("get", "post")}
        assert set(statuses.values()) <= {404, 405}, (url, statuses)
        assert 404 in statuses.values(), (url, statuses)
        checked += 1
    assert checked >= 3
    _assert_b_untouched(b_objects)


@pytest.mark.django_db
def test_every_object_of_another_organisation_is_a_404_in_the_api(a_member, b_objects):
    _, raw = a_member
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    checked = 0
    for route, pattern in accounts_object_urls():
        if not route.startswith("api/"):
            continue
        url = _url_for(route, pattern, b_objects)
        statuses = {}
        for method in ("get", "post", "patch", "put", "delete"):
            response = getattr(api, method)(url, {"role": "owner"}, format="json")
            statuses[method] = response.status_code
            if response.status_code == 404:
                assert set(response.json()) == {"message", "extra"}
        assert set(statuses.values()) <= {404, 405}, (url, statuses)
        assert 404 in statuses.values(), (url, statuses)
        checked += 1
    assert checked >= 2
    _assert_b_untouched(b_objects)


@pytest.mark.django_db
def test_a_session_cannot_switch_to_an_organisation_it_is_not_in(client, member, organisation, b_objects):
    client.force_login(member)
    response = client.post("/accounts/organisations/switch/", {"organisation": b_objects["organisation"].pk})
    assert response.status_code == 404
    assert client.session["organisation_id"] == organisation.pk
    # Nor by planting the id in the session: the middleware checks membership on every request.
    session = client.session
    session["organisation_id"] = b_objects["organisation"].pk
    session.save()
    home = client.get("/")
    assert home.context["current_organisation"] == organisation
    assert b_objects["organisation"].name not in home.content.decode()


@pytest.mark.django_db
def test_lists_show_only_the_callers_organisation(client, a_member, b_objects):
    member, raw = a_member
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    emails = [row["email"] for row in api.get("/api/v1/members/").json()]
    assert emails == [member.email]
    names = [row["name"] for row in api.get("/api/v1/tokens/").json()]
    assert names == ["a-token"]

    client.force_login(member)
    for url in ("/accounts/members/", "/accounts/tokens/", "/accounts/organisations/", "/"):
        body = client.get(url).content.decode()
        assert b_objects["owner"].email not in body, url
        assert b_objects["membership"].user.email not in body, url
        assert "b-token" not in body, url
        assert b_objects["organisation"].name not in body, url


@pytest.mark.django_db
def test_a_token_of_organisation_a_cannot_act_in_organisation_b(a_member, b_objects, member):
    """Even a person in both organisations: the token carries the one it was made in."""
    MembershipFactory(organisation=b_objects["organisation"], user=member, role=Membership.Role.OWNER)
    _, raw = a_member
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert api.get("/api/v1/me/").json()["organisation"]["slug"] != b_objects["organisation"].slug
    response = api.post(f"/api/v1/tokens/{b_objects['token'].pk}/revoke/")
    assert response.status_code == 404
    _assert_b_untouched(b_objects)


@pytest.mark.django_db
def test_another_persons_token_in_the_same_organisation_is_a_404(client, member, organisation, make_user):
    colleague = MembershipFactory(organisation=organisation, role=Membership.Role.MEMBER).user
    token, _ = api_token_create(organisation=organisation, user=colleague, name="theirs")
    client.force_login(member)
    assert client.post(f"/accounts/tokens/{token.pk}/revoke/").status_code == 404
    assert ApiToken.unscoped.get(pk=token.pk).revoked_at is None
