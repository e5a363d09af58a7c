"""OAuth connections against the sandbox's authorization servers on a live server: Atlassian 3LO (PKCE,
state, accessible-resources, the cloud-id gateway, rotating refresh tokens) and Microsoft Entra ID for
Azure DevOps, and every way a sign-in can fail, each answered in plain words."""

from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from django.conf import settings
from django.urls import reverse
from rest_framework.test import APIClient

from apps.accounts.services import api_token_create
from apps.connections import services
from apps.connections.models import Connection, OAuthAuthorisation, OAuthCredential
from apps.connections.oauth import ATLASSIAN_SCOPES, OAuthAuthorisationLost, oauth_access_token
from apps.connections.secret_store import secret_read
from apps.connections.tests.oauth_support import signed_in_client, walk_sign_in
from apps.sandbox.oauth import services as authz
from apps.sandbox.oauth.models import OAuthGrant

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not settings.SANDBOX_ENABLED, reason="the sandbox is off (MIGRAYT_SANDBOX_ENABLED)"),
]


def _api(organisation, member) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {api_token_create(organisation=organisation, user=member, name='t')[1]}")
    return api


def _only_connection(organisation) -> Connection:
    return Connection.objects.for_organisation(organisation).get()


def _atlassian(client, **kwargs):
    return walk_sign_in(client, "atlassian", site="acme", **kwargs)


def test_atlassian_sign_in_makes_a_working_jira_cloud_connection(oauth_servers, jira_cloud_site, organisation, member):
    client = signed_in_client(member)
    authorize, back = _atlassian(client)
    query = parse_qs(urlsplit(authorize).query)
    assert query["audience"] == ["api.atlassian.com"] and query["response_type"] == ["code"]
    assert query["scope"][0].split() == list(ATLASSIAN_SCOPES)
    assert query["code_challenge_method"] == ["S256"] and len(query["code_challenge"][0]) == 43
    assert len(query["state"][0]) >= 40
    connection = _only_connection(organisation)
    assert back.status_code == 302 and back["Location"] == reverse("connections:detail", args=[connection.pk]) + "?test=1"
    assert connection.kind == "jira_cloud" and connection.is_oauth and connection.secret_ciphertext == ""
    assert connection.base_url == f"{oauth_servers.url}/sandbox/jira/acme"
    credential = connection.oauth
    cloud = authz.cloud_id(jira_cloud_site)
    assert credential.cloud_id == cloud
    assert credential.api_base_url == f"{oauth_servers.url}/sandbox/oauth/atlassian/ex/jira/{cloud}"
    assert credential.scopes == ["read:jira-work", "write:jira-work", "read:jira-user", "offline_access"]

    tested = _api(organisation, member).post(f"/api/v1/connections/{connection.pk}/test/").json()
    assert tested["status"] == "ok", tested
    assert tested["message"].startswith("Connected to Jira Cloud as Sandbox Admin;")
    # Every API call went through the cloud-id gateway, none to the site's own address.
    log = set(jira_cloud_site.requests.values_list("path", flat=True))
    assert log and all(path.startswith("/sandbox/jira/acme/rest/api/3/") for path in log)
    shown = _api(organisation, member).get(f"/api/v1/connections/{connection.pk}/").json()
    assert shown["auth_method"] == "oauth" and shown["oauth"]["status"] == "active" and shown["has_secret"] is True


def test_refresh_tokens_rotate_and_the_old_one_stops_working(oauth_servers, jira_cloud_site, organisation, member):
    _atlassian(signed_in_client(member))
    connection = _only_connection(organisation)
    first_refresh = secret_read(connection.oauth.refresh_token_ref)
    first_access = secret_read(connection.oauth.access_token_ref)
    authz.grant_expire_access(grant=OAuthGrant.objects.get())

    result = services.connection_test(connection=connection, actor=member)
    assert result.ok, result.message
    credential = OAuthCredential.objects.for_organisation(organisation).get()
    assert secret_read(credential.access_token_ref) != first_access
    assert secret_read(credential.refresh_token_ref) != first_refresh
    # The spent refresh token is refused by the authorization server.
    answer = httpx.post(f"{oauth_servers.url}/sandbox/oauth/atlassian/oauth/token",
                        json={"grant_type": "refresh_token", "refresh_token": first_refresh,
                              "client_id": settings.ATLASSIAN_CLIENT_ID, "client_secret": settings.ATLASSIAN_CLIENT_SECRET})
    assert answer.status_code == 403 and answer.json()["error"] == "invalid_grant"


def test_an_expired_refresh_token_is_said_in_plain_words(oauth_servers, jira_cloud_site, organisation, member):
    _atlassian(signed_in_client(member))
    connection = _only_connection(organisation)
    grant = OAuthGrant.objects.get()
    authz.grant_expire_access(grant=grant)
    authz.grant_expire_refresh(grant=grant)

    tested = _api(organisation, member).post(f"/api/v1/connections/{connection.pk}/test/")
    assert tested.status_code == 200
    body = tested.json()
    assert body["status"] == "authorisation_expired" and body["ok"] is False
    assert "has expired" in body["message"] and "Sign in with Atlassian again" in body["message"]
    assert OAuthCredential.objects.for_organisation(organisation).get().status == "expired"
    with pytest.raises(OAuthAuthorisationLost):
        oauth_access_token(connection)


def test_a_revoked_grant_is_said_in_plain_words_and_signing_in_again_restores_it(oauth_servers, jira_cloud_site,
                                                                                organisation, member):
    client = signed_in_client(member)
    _atlassian(client)
    connection = _only_connection(organisation)
    authz.grant_revoke(grant=OAuthGrant.objects.get())

    body = _api(organisation, member).post(f"/api/v1/connections/{connection.pk}/test/").json()
    assert body["status"] == "authorisation_revoked"
    assert "was revoked" in body["message"] and "Connected apps" in body["message"]
    page = client.get(reverse("connections:detail", args=[connection.pk])).content.decode()
    assert "was revoked" in page and "Sign in with Atlassian again" in page

    _atlassian(client, start_url=reverse("connections:oauth_reconnect", args=[connection.pk]))
    assert Connection.objects.for_organisation(organisation).count() == 1
    connection.refresh_from_db()
    assert connection.oauth.status == "active"
    assert services.connection_test(connection=connection, actor=member).ok


def test_a_denied_consent_makes_nothing_and_says_why(oauth_servers, jira_cloud_site, organisation, member):
    client = signed_in_client(member)
    _, back = _atlassian(client, decision="deny")
    assert back.status_code == 400
    assert "You declined the access Migrayt asked for in Atlassian, so no connection was made" in back.content.decode()
    assert not Connection.objects.for_organisation(organisation).exists()


def test_the_state_is_single_use_and_bound_to_the_person(oauth_servers, jira_cloud_site, organisation, member, make_user):
    from apps.core.testing.factories import MembershipFactory

    client = signed_in_client(member)
    started = client.post(reverse("connections:oauth_start", args=["atlassian"]), {"name": "J"})
    state = parse_qs(urlsplit(started["Location"]).query)["state"][0]
    stranger = make_user()
    MembershipFactory(organisation=organisation, user=stranger)
    stolen = signed_in_client(stranger).get(reverse("connections:oauth_callback"), {"state": state, "code": "x"})
    assert stolen.status_code == 400 and "unknown or belongs to someone else" in stolen.content.decode()
    unknown = client.get(reverse("connections:oauth_callback"), {"state": "made-up", "code": "x"})
    assert unknown.status_code == 400
    first = client.get(reverse("connections:oauth_callback"), {"state": state, "code": "not-a-code"})
    assert first.status_code == 400 and "refused the sign-in code" in first.content.decode()
    again = client.get(reverse("connections:oauth_callback"), {"state": state, "code": "not-a-code"})
    assert again.status_code == 400 and "finished already" in again.content.decode()
    # The stored sign-in holds the PKCE verifier encrypted, and only a hash of the state.
    row = OAuthAuthorisation.objects.for_organisation(organisation).get()
    assert state not in row.state_hash and row.code_verifier_ref.startswith("gAAAA")


def test_pkce_and_redirect_rules_of_the_authorization_server(oauth_servers, jira_cloud_site):
    client = authz._deployment_client(settings.ATLASSIAN_CLIENT_ID)
    redirect = f"{oauth_servers.url}/connections/oauth/callback/"
    subject = {"sub": "x", "email": "sandbox.admin@migrayt.local"}
    code = authz.consent_grant(client=client, subject=subject, scopes=["read:jira-work"], redirect_uri=redirect,
                               site=jira_cloud_site, code_challenge="A" * 43, code_challenge_method="S256")
    with pytest.raises(authz.OAuthError, match="PKCE"):
        authz.code_exchange(client=client, code=code, redirect_uri=redirect, code_verifier="wrong")
    code = authz.consent_grant(client=client, subject=subject, scopes=["read:jira-work"], redirect_uri=redirect)
    assert authz.code_exchange(client=client, code=code, redirect_uri=redirect, code_verifier="")["access_token"]
    with pytest.raises(authz.OAuthError, match="used already"):
        authz.code_exchange(client=client, code=code, redirect_uri=redirect, code_verifier="")
    assert not authz.redirect_uri_allowed(client, "https://evil.example/connections/oauth/callback/")
    page = httpx.get(f"{oauth_servers.url}/sandbox/oauth/atlassian/authorize",
                     params={"client_id": client.client_id, "redirect_uri": "https://evil.example/cb",
                             "response_type": "code", "audience": "api.atlassian.com", "scope": "read:jira-work"})
    assert page.status_code == 400 and "not registered" in page.text
    wrong = httpx.post(f"{oauth_servers.url}/sandbox/oauth/atlassian/oauth/token",
                       json={"grant_type": "authorization_code", "client_id": client.client_id, "client_secret": "no"})
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"


def test_microsoft_sign_in_makes_a_working_azure_devops_connection(oauth_servers, ado_site, organisation, member):
    ado_url = f"{oauth_servers.url}/sandbox/ado/fabrikam"
    authorize, back = walk_sign_in(signed_in_client(member), "entra", name="ADO (source)", base_url=ado_url,
                                   site="fabrikam", email="ana@fabrikam.test")
    query = parse_qs(urlsplit(authorize).query)
    assert query["scope"][0].split() == ["499b84ac-1321-427f-aa17-267ca6975798/.default", "offline_access"]
    assert query["code_challenge_method"] == ["S256"]
    assert urlsplit(authorize).path == "/sandbox/oauth/entra/organizations/oauth2/v2.0/authorize"
    assert back.status_code == 302
    connection = _only_connection(organisation)
    assert connection.kind == "azure_devops" and connection.base_url == ado_url and connection.oauth.provider == "entra"
    result = services.connection_test(connection=connection, actor=member)
    assert result.ok, result.message
    assert result.details["projects"] == ["Fabrikam Fiber"]

    grant = OAuthGrant.objects.get()
    authz.grant_expire_access(grant=grant)
    authz.grant_expire_refresh(grant=grant)
    body = _api(organisation, member).post(f"/api/v1/connections/{connection.pk}/test/").json()
    assert body["status"] == "authorisation_expired" and "Sign in with Microsoft again" in body["message"]


def test_microsoft_denied_consent_and_missing_organisation_address(oauth_servers, ado_site, organisation, member):
    client = signed_in_client(member)
    _, back = walk_sign_in(client, "entra", name="ADO", base_url=f"{oauth_servers.url}/sandbox/ado/fabrikam",
                           decision="deny", site="fabrikam")
    assert back.status_code == 400 and "You declined the access Migrayt asked for in Microsoft" in back.content.decode()
    form = client.post(reverse("connections:oauth_start", args=["entra"]), {"name": "ADO"})
    assert form.status_code == 200 and "This field is required" in form.content.decode()
    assert not Connection.objects.for_organisation(organisation).exists()


def test_an_oauth_connection_takes_no_token(oauth_servers, jira_cloud_site, organisation, member):
    _atlassian(signed_in_client(member))
    connection = _only_connection(organisation)
    answer = _api(organisation, member).patch(f"/api/v1/connections/{connection.pk}/", {"token": "abc"}, format="json")
    assert answer.status_code == 400 and "signs in with OAuth" in answer.json()["message"]


def test_sign_in_is_refused_when_the_operator_has_not_set_it_up(settings, organisation, member):
    settings.ATLASSIAN_CLIENT_ID = ""
    form = signed_in_client(member).post(reverse("connections:oauth_start", args=["atlassian"]), {"name": "J"})
    assert form.status_code == 200 and "not set up on this server" in form.content.decode()


def test_the_api_starts_a_sign_in_and_answers_bad_input_in_words(oauth_servers, jira_cloud_site, organisation, member,
                                                                 settings):
    api = _api(organisation, member)
    started = api.post("/api/v1/connections/oauth/", {"provider": "atlassian", "name": "Jira"}, format="json")
    assert started.status_code == 201
    url = started.json()["authorize_url"]
    assert url.startswith(f"{oauth_servers.url}/sandbox/oauth/atlassian/authorize?") and "code_challenge=" in url
    for body, words in (({"provider": "entra", "name": "ADO"}, "organisation"),
                        ({"provider": "github", "name": "x"}, "github"),
                        ({"provider": "atlassian", "name": ""}, "blank")):
        answer = api.post("/api/v1/connections/oauth/", body, format="json")
        assert answer.status_code == 400 and words in str(answer.json()), answer.json()
    _atlassian(signed_in_client(member))
    taken = api.post("/api/v1/connections/oauth/", {"provider": "atlassian", "name": "Jira (target)"}, format="json")
    assert taken.status_code == 400 and "already a connection with this name" in taken.json()["message"]
    settings.ATLASSIAN_CLIENT_SECRET = ""
    off = api.post("/api/v1/connections/oauth/", {"provider": "atlassian", "name": "J2"}, format="json")
    assert off.status_code == 400 and "not set up on this server" in off.json()["message"]


def test_editing_an_oauth_connection_changes_only_its_name(oauth_servers, jira_cloud_site, organisation, member):
    client = signed_in_client(member)
    _atlassian(client)
    connection = _only_connection(organisation)
    form = client.get(reverse("connections:edit", args=[connection.pk])).content.decode()
    assert 'name="token"' not in form and 'name="kind"' not in form and 'name="base_url"' not in form
    saved = client.post(reverse("connections:edit", args=[connection.pk]), {"name": "Renamed"})
    assert saved.status_code == 302
    connection.refresh_from_db()
    assert connection.name == "Renamed" and connection.oauth.status == "active"


def test_expired_sign_ins_are_forgotten_with_their_unused_tokens(oauth_servers, jira_cloud_site, organisation, member):
    from datetime import timedelta

    from django.utils import timezone

    from apps.connections.oauth import oauth_authorisations_purge
    from apps.connections.secret_store import secret_save

    client = signed_in_client(member)
    client.post(reverse("connections:oauth_start", args=["atlassian"]), {"name": "Left half-way"})
    row = OAuthAuthorisation.objects.for_organisation(organisation).get()
    row.access_token_ref = secret_save(value="unused-access-token", label="t")
    row.expires_at = timezone.now() - timedelta(hours=2)
    row.save()
    assert oauth_authorisations_purge(organisation=organisation) == 1
    assert not OAuthAuthorisation.objects.for_organisation(organisation).exists()
