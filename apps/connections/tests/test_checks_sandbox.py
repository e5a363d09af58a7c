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
