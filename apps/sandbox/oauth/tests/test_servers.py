"""The sandbox's authorization servers on their own: discovery, JWKS, userinfo, revocation, the Atlassian
gateway's refusals, Entra's scope rules and error shapes."""

import base64

import pytest
from django.test import Client

from apps.sandbox import services as sandbox
from apps.sandbox.oauth import services as authz

pytestmark = pytest.mark.django_db

SECRET = "sandbox-client-secret-Jk2Lm4Np6Qr8"
CALLBACK = "http://127.0.0.1/cb/"


@pytest.fixture
def web():
    return Client(SERVER_NAME="127.0.0.1")


def _tokens(flavour, scopes, *, site=None, subject=None):
    client = authz.client_register(flavour=flavour, client_id=f"c-{flavour}", secret=SECRET, redirect_uris=["/cb/"],
                                   scopes=scopes)
    subject = subject or authz.subject_for_email("ana@example.test", "Ana")
    code = authz.consent_grant(client=client, subject=subject, scopes=authz.scopes_requested(client, " ".join(scopes)),
                               redirect_uri=CALLBACK, site=site, nonce="n1")
    return client, authz.code_exchange(client=client, code=code, redirect_uri=CALLBACK, code_verifier="",
                                       issuer="http://127.0.0.1/sandbox/oauth/oidc/t")


def test_oidc_discovery_jwks_userinfo_and_revocation(web):
    config = web.get("/sandbox/oauth/oidc/acme/.well-known/openid-configuration").json()
    assert config["issuer"] == "http://127.0.0.1/sandbox/oauth/oidc/acme"
    assert config["code_challenge_methods_supported"] == ["S256"]
    keys = web.get("/sandbox/oauth/oidc/acme/jwks").json()["keys"]
    assert keys[0]["kty"] == "RSA" and "d" not in keys[0]  # the public half only
    client, tokens = _tokens("oidc", ["openid", "email", "offline_access"])
    assert tokens["id_token"].count(".") == 2 and tokens["refresh_token"]
    me = web.get("/sandbox/oauth/oidc/acme/userinfo", HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}")
    assert me.status_code == 200 and me.json()["email"] == "ana@example.test"
    basic = base64.b64encode(f"{client.client_id}:{SECRET}".encode()).decode()
    revoked = web.post("/sandbox/oauth/oidc/acme/revoke", {"token": tokens["refresh_token"]},
                       HTTP_AUTHORIZATION=f"Basic {basic}")
    assert revoked.status_code == 200
    again = web.get("/sandbox/oauth/oidc/acme/userinfo", HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}")
    assert again.status_code == 401
    refreshed = web.post("/sandbox/oauth/oidc/acme/token", {"grant_type": "refresh_token", "client_id": client.client_id,
                                                            "client_secret": SECRET, "refresh_token": tokens["refresh_token"]})
    assert refreshed.status_code == 400 and refreshed.json()["error"] == "invalid_grant"
    assert "revoked" in refreshed.json()["error_description"]


def test_the_atlassian_gateway_refuses_a_token_of_another_site_or_none(web):
    acme = sandbox.site_create(kind="jira_cloud", slug="acme")
    other = sandbox.site_create(kind="jira_cloud", slug="other")
    from apps.sandbox.jira.services import jira_principal, jira_site_admin

    subject = jira_principal(user=jira_site_admin(site=acme)) | {"sub": "admin"}
    _, tokens = _tokens("atlassian", ["read:jira-work", "read:jira-user"], site=acme, subject=subject)
    bearer = f"Bearer {tokens['access_token']}"
    resources = web.get("/sandbox/oauth/atlassian/oauth/token/accessible-resources", HTTP_AUTHORIZATION=bearer).json()
    assert resources[0]["id"] == authz.cloud_id(acme) and resources[0]["name"] == "acme"
    ok = web.get(f"/sandbox/oauth/atlassian/ex/jira/{authz.cloud_id(acme)}/rest/api/3/myself", HTTP_AUTHORIZATION=bearer)
    assert ok.status_code == 200 and ok.json()["emailAddress"] == "sandbox.admin@migrayt.local"
    elsewhere = web.get(f"/sandbox/oauth/atlassian/ex/jira/{authz.cloud_id(other)}/rest/api/3/myself",
                        HTTP_AUTHORIZATION=bearer)
    assert elsewhere.status_code == 401
    anonymous = web.get(f"/sandbox/oauth/atlassian/ex/jira/{authz.cloud_id(acme)}/rest/api/3/myself")
    assert anonymous.status_code == 401
    unknown = web.get("/sandbox/oauth/atlassian/ex/jira/00000000-0000-0000-0000-000000000000/rest/api/3/myself",
                      HTTP_AUTHORIZATION=bearer)
    assert unknown.status_code == 404


def test_entra_scopes_and_errors(web):
    client = authz.client_register(flavour="entra", client_id="c-entra", secret=SECRET, redirect_uris=["/cb/"],
                                   scopes=["vso.work_write", "vso.project"])
    assert authz.scopes_requested(client, "499b84ac-1321-427f-aa17-267ca6975798/.default offline_access") == [
        "vso.work_write", "vso.project", "offline_access"]
    with pytest.raises(authz.OAuthError, match="AADSTS70011"):
        authz.scopes_requested(client, "https://graph.microsoft.com/Mail.Read")
    page = web.get("/sandbox/oauth/entra/contoso/oauth2/v2.0/authorize", {
        "client_id": "c-entra", "redirect_uri": CALLBACK, "response_type": "token", "scope": "openid", "state": "s"})
    assert page.status_code == 302 and "unsupported_response_type" in page["Location"]
    unknown = web.get("/sandbox/oauth/entra/contoso/oauth2/v2.0/authorize", {"client_id": "nobody", "redirect_uri": CALLBACK})
    assert unknown.status_code == 400
    wrong_grant = web.post("/sandbox/oauth/entra/contoso/oauth2/v2.0/token", {
        "grant_type": "password", "client_id": "c-entra", "client_secret": SECRET})
    assert wrong_grant.status_code == 400 and wrong_grant.json()["error"] == "unsupported_grant_type"
