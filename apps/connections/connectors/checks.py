"""What connection checks share: recognising an address given for the wrong product before calling it,
and turning a transport failure into a check answer in plain words."""

from urllib.parse import urlsplit

from apps.connections.connectors.base import CheckResult, CheckStatus, ConnectionKind
from apps.connections.connectors.errors import ConnectorError

_ERROR_STATUS = {
    "bad_url": CheckStatus.BAD_URL,
    "blocked_address": CheckStatus.BLOCKED_ADDRESS,
    "insecure_redirect": CheckStatus.BLOCKED_ADDRESS,
    "unknown_host": CheckStatus.UNKNOWN_HOST,
    "unreachable": CheckStatus.UNREACHABLE,
    "connection_dropped": CheckStatus.UNREACHABLE,
    "network_error": CheckStatus.UNREACHABLE,
    "tls_error": CheckStatus.TLS_ERROR,
    "timeout": CheckStatus.TIMEOUT,
    "rate_limited": CheckStatus.RATE_LIMITED,
    "server_busy": CheckStatus.SERVER_ERROR,
    "server_error": CheckStatus.SERVER_ERROR,
    "wrong_credentials": CheckStatus.WRONG_CREDENTIALS,
    "missing_permission": CheckStatus.MISSING_PERMISSION,
}

ATLASSIAN_CLOUD_SUFFIXES = (".atlassian.net", ".jira.com", ".jira-dev.com")
AZURE_DEVOPS_HOSTS = ("dev.azure.com",)
AZURE_DEVOPS_SUFFIXES = (".visualstudio.com",)


def result_for_error(error: ConnectorError) -> CheckResult:
    status = _ERROR_STATUS.get(error.code, CheckStatus.ERROR)
    message = error.message
    if status == CheckStatus.UNREACHABLE:
        message += " Check the address and port, and that the server is running and reachable from the internet."
    if status == CheckStatus.TIMEOUT:
        message += " The server may be down, or a firewall may be dropping our requests."
    return CheckResult(status, message, {"error": error.code})


def host_of(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def looks_like_jira_cloud(url: str) -> bool:
    return host_of(url).endswith(ATLASSIAN_CLOUD_SUFFIXES)


def looks_like_azure_devops(url: str) -> bool:
    host = host_of(url)
    return host in AZURE_DEVOPS_HOSTS or host.endswith(AZURE_DEVOPS_SUFFIXES)


def wrong_product_for(kind: ConnectionKind, url: str) -> CheckResult | None:
    """An answer without calling anyone, when the address plainly belongs to another product."""
    if kind == ConnectionKind.AZURE_DEVOPS and looks_like_jira_cloud(url):
        return CheckResult(CheckStatus.WRONG_KIND, "This is a Jira Cloud address, not Azure DevOps. Choose "
                           "Jira Cloud as the kind of connection.")
    if kind != ConnectionKind.AZURE_DEVOPS and looks_like_azure_devops(url):
        return CheckResult(CheckStatus.WRONG_KIND, "This is an Azure DevOps address, not Jira. Choose Azure "
                           "DevOps as the kind of connection.")
    if kind == ConnectionKind.JIRA_DATA_CENTER and looks_like_jira_cloud(url):
        return CheckResult(
            CheckStatus.WRONG_KIND_CLOUD_VS_DC,
            "This is a Jira Cloud site (…atlassian.net), not Jira Data Center. Choose Jira Cloud and sign in "
            "with your Atlassian account e-mail and an API token.",
        )
    return None


def json_or_none(response):
    if "json" not in response.headers.get("content-type", ""):
        return None
    try:
        return response.json()
    except ValueError:
        return None


def answers_like_azure_devops(http) -> bool:
    """Whether the base URL answers Azure DevOps' connectionData the way only Azure DevOps does (its user
    on success, its typed error body on a refusal)."""
    response = http.request("GET", "_apis/connectionData", params={"api-version": "7.1-preview"},
                            accept=tuple(range(200, 600)), follow_redirects=False)
    body = json_or_none(response)
    return isinstance(body, dict) and ("authenticatedUser" in body or "typeKey" in body)


def answers_like_jira(http) -> bool:
    """Whether the base URL answers Jira's anonymous serverInfo (REST v2 or v3)."""
    for version in ("2", "3"):
        response = http.request("GET", f"rest/api/{version}/serverInfo", accept=tuple(range(200, 600)))
        body = json_or_none(response)
        if response.status_code == 200 and isinstance(body, dict) and "deploymentType" in body:
            return True
    return False
