"""Connection-test answers that do not depend on what a vendor says: the address itself, the network,
TLS, time. (What Azure DevOps and Jira answer, credentials, permissions, organisations, sites, Cloud vs
Data Center, is tested against the sandbox in test_checks_sandbox.py.)"""

import httpx
import pytest

from apps.connections.connectors.base import CheckStatus, ConnectionConfig, ConnectionKind, Connector
from apps.connections.connectors.registry import connector_for
from apps.connections.connectors.ssrf import SsrfPolicy
from apps.connections.tests.conftest import Reply

LOCAL = SsrfPolicy.permissive_local()
KINDS = [ConnectionKind.AZURE_DEVOPS, ConnectionKind.JIRA_CLOUD, ConnectionKind.JIRA_DATA_CENTER]


def check(kind, url, policy=LOCAL, **kwargs):
    config = ConnectionConfig(kind=kind, base_url=url, token="t0ken", email="me@example.test")
    with connector_for(config, policy=policy, quick=True, **kwargs) as connector:
        return connector.check()


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("https://dev.azure.com", "Add your organisation"),
        ("https://dev.azure.com/fabrikam/Fabrikam-Fiber/_workitems", "organisation address only"),
        ("https://fabrikam.visualstudio.com/Project", "organisation address only"),
    ],
)
def test_azure_devops_address_without_or_with_too_much_organisation(url, words):
    result = check(ConnectionKind.AZURE_DEVOPS, url)
    assert result.status == CheckStatus.BAD_URL and words in result.message


def test_a_jira_cloud_address_given_as_data_center_is_recognised_without_calling_it(fake_dns):
    result = check(ConnectionKind.JIRA_DATA_CENTER, "https://acme.atlassian.net")
    assert result.status == CheckStatus.WRONG_KIND_CLOUD_VS_DC
    assert "Choose Jira Cloud" in result.message
    assert fake_dns.calls == []


@pytest.mark.parametrize(
    ("kind", "url", "words"),
    [
        (ConnectionKind.AZURE_DEVOPS, "https://acme.atlassian.net", "Jira Cloud address"),
        (ConnectionKind.JIRA_CLOUD, "https://dev.azure.com/fabrikam", "Azure DevOps address"),
        (ConnectionKind.JIRA_DATA_CENTER, "https://fabrikam.visualstudio.com", "Azure DevOps address"),
    ],
)
def test_an_address_of_the_other_product_is_recognised(kind, url, words, fake_dns):
    result = check(kind, url)
    assert result.status == CheckStatus.WRONG_KIND and words in result.message


@pytest.mark.parametrize("kind", KINDS)
def test_unknown_host(kind, fake_dns):
    result = check(kind, "https://tracker.does-not-exist.example")
    assert result.status == CheckStatus.UNKNOWN_HOST
    assert "could not be found" in result.message


@pytest.mark.parametrize("kind", KINDS)
def test_blocked_address(kind, fake_dns):
    fake_dns.table["tracker.example"] = ["169.254.169.254"]
    result = check(kind, "https://tracker.example")
    assert result.status == CheckStatus.BLOCKED_ADDRESS and "metadata" in result.message
    result = check(kind, "https://127.0.0.1:9", policy=SsrfPolicy())
    assert result.status == CheckStatus.BLOCKED_ADDRESS and "loopback" in result.message


@pytest.mark.parametrize("kind", KINDS)
def test_nothing_listening(kind):
    result = check(kind, "http://127.0.0.1:1")
    assert result.status == CheckStatus.UNREACHABLE
    assert "connection was refused" in result.message


@pytest.mark.parametrize("kind", KINDS)
def test_tls_failure(kind, tls_server, fake_dns):
    # The server's certificate is self-signed for secure.test: no trusted authority signed it.
    fake_dns.table["secure.test"] = ["127.0.0.1"]
    result = check(kind, tls_server.url(host="secure.test", scheme="https"))
    assert result.status == CheckStatus.TLS_ERROR
    assert "certificate" in result.message


@pytest.mark.parametrize("kind", KINDS)
def test_timeout(kind, local_server, monkeypatch):
    monkeypatch.setattr(Connector, "CHECK_TIMEOUT", httpx.Timeout(0.3))
    local_server.routes["/slow/_apis/connectionData"] = [Reply(200, b"{}", delay=1.2)]
    for path in ("serverInfo", "myself"):
        local_server.routes[f"/slow/rest/api/3/{path}"] = [Reply(200, b"{}", delay=1.2)]
        local_server.routes[f"/slow/rest/api/2/{path}"] = [Reply(200, b"{}", delay=1.2)]
    result = check(kind, local_server.url("/slow"))
    assert result.status == CheckStatus.TIMEOUT
    assert "Timed out" in result.message


@pytest.mark.parametrize("kind", KINDS)
def test_a_web_page_that_is_not_a_tracker(kind, local_server):
    page = Reply(200, b"<html><body>Welcome to nginx</body></html>", {"Content-Type": "text/html"})
    for path in ("/site/_apis/connectionData", "/site/rest/api/3/serverInfo", "/site/rest/api/2/serverInfo"):
        local_server.routes[path] = [page]
    result = check(kind, local_server.url("/site"))
    assert result.status == CheckStatus.NOT_A_TRACKER


@pytest.mark.parametrize("kind", KINDS)
def test_the_server_keeps_failing(kind, local_server, monkeypatch):
    for path in ("/s/_apis/connectionData", "/s/rest/api/3/serverInfo", "/s/rest/api/2/serverInfo"):
        local_server.routes[path] = [Reply(502, b"bad gateway", {"Content-Type": "text/plain", "Retry-After": "0"})]
    result = check(kind, local_server.url("/s"))
    assert result.status == CheckStatus.SERVER_ERROR
