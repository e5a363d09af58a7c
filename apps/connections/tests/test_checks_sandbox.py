"""What the vendors answer, through the real connection test, against the sandbox (apps/sandbox) served by a
live server on 127.0.0.1. No vendor response here is faked."""

import time

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from apps.accounts.services import api_token_create
from apps.connections.connectors.base import CheckStatus, ConnectionConfig, ConnectionKind
from apps.connections.connectors.registry import connector_for
from apps.connections.connectors.ssrf import SsrfPolicy

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not settings.SANDBOX_ENABLED, reason="the sandbox is off (MIGRAYT_SANDBOX_ENABLED)"),
]

LOCAL = SsrfPolicy.permissive_local()


def check(kind, url, token, email=""):
    config = ConnectionConfig(kind=ConnectionKind(kind), base_url=url, token=token, email=email)
    with connector_for(config, policy=LOCAL, quick=True) as connector:
        result = connector.check()
        result.details["_requests"] = connector.http.stats.total
        return result


# --- Azure DevOps ------------------------------------------------------------------------------------


@pytest.fixture
def ado_site():
    from apps.sandbox import services as sandbox

    site = sandbox.site_create(kind="ado", slug="fabrikam")
    sandbox.site_seed(site=site, items=3, seed=1)
    return site


@pytest.fixture
def ado_url(live_server, ado_site):
    return f"{live_server.url}/sandbox/ado/{ado_site.slug}"


def ado_token(site, scopes):
    from apps.sandbox import services as sandbox

    return sandbox.token_create(site=site, name="-".join(scopes) or "none", scopes=scopes)[1]


def test_ado_ok(ado_site, ado_url):
    result = check("azure_devops", ado_url, ado_token(ado_site, ["vso.work", "vso.project"]))
    assert result.status == CheckStatus.OK, result.message
    assert result.details["projects"] == ["Fabrikam Fiber"]
    assert "Connected to Azure DevOps as" in result.message
    assert result.details["_requests"] == 3


def test_ado_wrong_credentials(ado_site, ado_url):
    result = check("azure_devops", ado_url, "not-a-real-pat")
    assert result.status == CheckStatus.WRONG_CREDENTIALS
    assert "refused the personal access token" in result.message


def test_ado_unknown_organisation(live_server, ado_site):
    result = check("azure_devops", f"{live_server.url}/sandbox/ado/no-such-org", ado_token(ado_site, ["full"]))
    assert result.status == CheckStatus.UNKNOWN_ORGANISATION
    assert "no Azure DevOps organisation" in result.message
    assert "could not be found" in result.details["vendor_message"]


@pytest.mark.parametrize(
    ("scopes", "missing", "label"),
    [(["vso.work"], "vso.project", "Project and Team (Read)"), (["vso.project"], "vso.work", "Work Items (Read)")],
)
def test_ado_missing_permission_names_the_scope(ado_site, ado_url, scopes, missing, label):
    result = check("azure_devops", ado_url, ado_token(ado_site, scopes))
    assert result.status == CheckStatus.MISSING_PERMISSION
    assert label in result.message and missing in result.message
    assert result.details["missing"] == [missing]


def test_ado_connection_through_the_api(live_server, ado_site, ado_url, organisation, member):
    """The whole path an integrator takes: create, test, read the stored answer."""
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {api_token_create(organisation=organisation, user=member, name='x')[1]}")
    created = api.post("/api/v1/connections/", {"kind": "azure_devops", "name": "Sandbox ADO", "base_url": ado_url,
                                                "token": ado_token(ado_site, ["full"])}, format="json")
    assert created.status_code == 201
    tested = api.post(f"/api/v1/connections/{created.json()['id']}/test/").json()
    assert tested["ok"] is True and tested["status"] == "ok"
    shown = api.get(f"/api/v1/connections/{created.json()['id']}/").json()
    assert shown["last_test"]["status"] == "ok" and shown["last_test"]["details"]["projects"] == ["Fabrikam Fiber"]


def test_the_client_slows_down_before_the_ado_limit_and_never_hits_it(ado_site, live_server):
    """The sandbox sends ADO's X-RateLimit-* headers once requests are being delayed; the client spreads the
    rest of the budget over the window instead of running into 429."""
    from apps.connections.connectors.http import HttpClient, basic_auth
    from apps.sandbox import services as sandbox
    from apps.sandbox.models import SandboxRequest

    sandbox.site_controls_update(site=ado_site, controls={
        "rate_window_seconds": 2, "rate_limit_token": 8, "delay_after_percent": 50, "delay_ms": 5,
        "log_requests": True,
    })
    pat = ado_token(ado_site, ["full"])
    with HttpClient(base_url=f"{live_server.url}/sandbox/ado/{ado_site.slug}", policy=LOCAL,
                    auth=basic_auth("", pat)) as client:
        started = time.monotonic()
        for _ in range(20):
            assert client.request("GET", "_apis/projects", params={"api-version": "7.1"}).status_code == 200
        elapsed = time.monotonic() - started
        assert client.stats.retries == 0
        assert client.stats.requests["GET /_apis/projects"] == 20
        assert client.stats.throttled_seconds > 0
    # 20 requests at 8 per 2-second window without a 429 span three windows: more than 2 seconds.
    assert elapsed > 2
    statuses = list(SandboxRequest.objects.filter(site=ado_site).values_list("status", flat=True))
    assert statuses and 429 not in statuses


# --- Jira Cloud and Data Center ----------------------------------------------------------------------


def jira_site(kind, slug, *, seeded=True):
    from apps.sandbox import services as sandbox

    site = sandbox.site_create(kind=kind, slug=slug)
    if seeded:
        sandbox.site_seed(site=site, items=2, seed=1)
    return site


def jira_token(site, scopes=None):
    """A token for the site's admin: for Cloud an API token that works with the admin's e-mail, for Data
    Center a personal access token. Returns (secret, e-mail)."""
    from apps.sandbox import services as sandbox
    from apps.sandbox.jira.adapter import FULL_SCOPES
    from apps.sandbox.jira.services import jira_principal, jira_site_admin

    principal = jira_principal(user=jira_site_admin(site=site))
    _, secret = sandbox.token_create(site=site, name="t", scopes=list(FULL_SCOPES if scopes is None else scopes),
                                     principal=principal)
    return secret, principal["email"]


@pytest.fixture
def cloud(live_server):
    site = jira_site("jira_cloud", "acme")
    return site, f"{live_server.url}/sandbox/jira/{site.slug}"


@pytest.fixture
def dc(live_server):
    site = jira_site("jira_dc", "corp")
    return site, f"{live_server.url}/sandbox/jira/{site.slug}"


def test_jira_cloud_ok(cloud):
    site, url = cloud
    secret, email = jira_token(site)
    result = check("jira_cloud", url, secret, email)
    assert result.status == CheckStatus.OK, result.message
    assert result.message.startswith("Connected to Jira Cloud as Sandbox Admin;")
    assert result.details["deployment_type"] == "Cloud" and result.details["project_count"] >= 1


def test_jira_data_center_ok(dc):
    site, url = dc
    secret, _ = jira_token(site)
    result = check("jira_data_center", url, secret)
    assert result.status == CheckStatus.OK, result.message
    assert result.message.startswith("Connected to Jira Data Center as Sandbox Admin;")
    assert result.details["deployment_type"] == "Server" and result.details["version"].startswith("9.")


def test_jira_cloud_wrong_credentials(cloud):
    site, url = cloud
    secret, email = jira_token(site)
    for token, address in (("not-the-token", email), (secret, "someone.else@example.test")):
        result = check("jira_cloud", url, token, address)
        assert result.status == CheckStatus.WRONG_CREDENTIALS
        assert "refused the e-mail and API token" in result.message


def test_jira_data_center_wrong_credentials(dc):
    _, url = dc
    result = check("jira_data_center", url, "not-a-pat")
    assert result.status == CheckStatus.WRONG_CREDENTIALS
    assert "refused the personal access token" in result.message


@pytest.mark.parametrize("kind", ["jira_cloud", "jira_data_center"])
def test_jira_unknown_site(live_server, cloud, kind):
    site, _ = cloud
    secret, email = jira_token(site)
    result = check(kind, f"{live_server.url}/sandbox/jira/no-such-site", secret, email)
    assert result.status == CheckStatus.UNKNOWN_SITE
    assert "no Jira" in result.message and "does not exist" in result.details["vendor_message"]


def test_jira_data_center_given_as_cloud(dc):
    site, url = dc
    secret, email = jira_token(site)
    result = check("jira_cloud", url, secret, email)
    assert result.status == CheckStatus.WRONG_KIND_CLOUD_VS_DC
    assert "not Jira Cloud" in result.message and "Choose Jira Data Center" in result.message


def test_jira_cloud_given_as_data_center(cloud):
    site, url = cloud
    secret, _ = jira_token(site)
    result = check("jira_data_center", url, secret)
    assert result.status == CheckStatus.WRONG_KIND_CLOUD_VS_DC
    assert "not Jira Data Center" in result.message and "Choose Jira Cloud" in result.message


@pytest.mark.parametrize(
    ("scopes", "missing"),
    [(["read:jira-user"], "read:jira-work"), (["read:jira-work"], "read:jira-user")],
)
def test_jira_cloud_token_scopes_too_narrow(cloud, scopes, missing):
    site, url = cloud
    secret, email = jira_token(site, scopes)
    result = check("jira_cloud", url, secret, email)
    assert result.status == CheckStatus.MISSING_PERMISSION
    assert "scopes do not allow" in result.message and missing in result.message


def test_jira_data_center_permission_refused_names_it(dc):
    site, url = dc
    secret, _ = jira_token(site, ["read:jira-user"])
    result = check("jira_data_center", url, secret)
    assert result.status == CheckStatus.MISSING_PERMISSION
    assert "Browse projects" in result.message and result.details["missing"] == ["read:jira-work"]


def test_jira_account_that_sees_no_project_lacks_browse_projects(live_server):
    site = jira_site("jira_cloud", "empty", seeded=False)
    secret, email = jira_token(site)
    result = check("jira_cloud", f"{live_server.url}/sandbox/jira/{site.slug}", secret, email)
    assert result.status == CheckStatus.MISSING_PERMISSION
    assert "“Browse projects”" in result.message


def test_jira_address_given_as_azure_devops_and_the_reverse(cloud, ado_site, ado_url):
    site, url = cloud
    secret, email = jira_token(site)
    as_ado = check("azure_devops", url, secret)
    assert as_ado.status == CheckStatus.WRONG_KIND and "answers like Jira" in as_ado.message
    as_jira = check("jira_cloud", ado_url, ado_token(ado_site, ["full"]), "me@example.test")
    assert as_jira.status == CheckStatus.WRONG_KIND and "answers like Azure DevOps" in as_jira.message


def test_connection_connector_reads_with_the_stored_secret(ado_site, ado_url, organisation, member):
    """What the catalog and the engine call: a ready connector from a saved connection."""
    from apps.connections import services

    connection = services.connection_create(organisation=organisation, actor=member, kind="azure_devops",
                                            name="ADO", base_url=ado_url, token=ado_token(ado_site, ["full"]))
    with services.connection_connector(connection) as connector:
        body = connector.http.get_json("_apis/projects", params={"api-version": "7.1"})
        assert [p["name"] for p in body["value"]] == ["Fabrikam Fiber"]
        assert connector.http.max_attempts == connector.READ_ATTEMPTS
