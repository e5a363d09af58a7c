from urllib.parse import urlsplit

import httpx

from apps.connections.connectors.azure_devops.reader import AzureDevOpsReader
from apps.connections.connectors.base import CheckResult, CheckStatus, ConnectionKind
from apps.connections.connectors.checks import (
    answers_like_jira,
    json_or_none,
    result_for_error,
    wrong_product_for,
)
from apps.connections.connectors.errors import ConnectorError
from apps.connections.connectors.http import BearerAuth, basic_auth, status_error

API_VERSION = "7.1"
# Azure DevOps answers an anonymous caller with this identity rather than with 401 on some endpoints.
ANONYMOUS_IDS = {"aa442b4a-9b07-4e52-9a6c-0f2b6c45d0a5"}
ANY_STATUS = tuple(range(200, 600))


def _vendor_message(body) -> str:
    """Azure DevOps' own error sentence (TF…/VS… codes), kept for support; never ticket content."""
    return str(body.get("message", ""))[:300] if isinstance(body, dict) else ""


def _organisation_url_problem(url: str) -> str | None:
    """Azure DevOps Services addresses name the organisation and nothing more."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    segments = [s for s in parts.path.split("/") if s]
    if host == "dev.azure.com":
        if not segments:
            return "Add your organisation to the address: https://dev.azure.com/<organisation>."
        if len(segments) > 1:
            return (f"Give the organisation address only (https://dev.azure.com/{segments[0]}), without the "
                    "project or page; you choose the project later.")
    elif host.endswith(".visualstudio.com") and segments:
        return f"Give the organisation address only (https://{host}), without the project or page."
    return None


class AzureDevOpsConnector(AzureDevOpsReader):
    kind = ConnectionKind.AZURE_DEVOPS

    def auth(self) -> httpx.Auth:
        if self.config.bearer:  # a Microsoft Entra ID access token for the Azure DevOps resource
            return BearerAuth(self.config.token)
        # A personal access token goes as the password of Basic authentication, with no user name.
        return basic_auth("", self.config.token)

    def check(self) -> CheckResult:
        wrong = wrong_product_for(self.kind, self.config.base_url)
        if wrong:
            return wrong
        problem = _organisation_url_problem(self.config.base_url)
        if problem:
            return CheckResult(CheckStatus.BAD_URL, problem)
        try:
            return self._check()
        except ConnectorError as exc:
            return result_for_error(exc)

    def _check(self) -> CheckResult:
        response = self.http.request("GET", "_apis/connectionData", params={"api-version": f"{API_VERSION}-preview"},
                                     accept=ANY_STATUS, follow_redirects=False)
        body = json_or_none(response)
        status = response.status_code
        if status in (401, 203) or (300 <= status < 400 and "signin" in response.headers.get("location", "").lower()):
            return CheckResult(CheckStatus.WRONG_CREDENTIALS, "Azure DevOps refused the personal access token: "
                               "it is wrong, expired or revoked, or it was made for another organisation.")
        if status == 404:
            if answers_like_jira(self.http):
                return self._answers_like_jira()
            return CheckResult(CheckStatus.UNKNOWN_ORGANISATION, "There is no Azure DevOps organisation at this "
                               "address. Check the organisation name in https://dev.azure.com/<organisation>.",
                               {"vendor_message": _vendor_message(body)})
        if status < 400 and not isinstance(body, dict):
            return CheckResult(CheckStatus.NOT_A_TRACKER, "Something answered at this address, but it is not the "
                               "Azure DevOps API (it sent a web page, not JSON).")
        if status >= 400:
            return result_for_error(status_error(response))
        if "authenticatedUser" not in body:
            if "serverTitle" in body or "baseUrl" in body:
                return self._answers_like_jira()
            return CheckResult(CheckStatus.NOT_A_TRACKER, "Something answered at this address, but not like "
                               "Azure DevOps does.")
        user = body.get("authenticatedUser") or {}
        if user.get("id") in ANONYMOUS_IDS or not user.get("id"):
            return CheckResult(CheckStatus.WRONG_CREDENTIALS, "Azure DevOps treated us as an anonymous visitor: "
                               "the personal access token was not accepted.")
        details = {
            "user": user.get("providerDisplayName") or user.get("customDisplayName") or "",
            "instance_id": body.get("instanceId", ""),
        }

        projects = self.http.request("GET", "_apis/projects", params={"$top": "100", "api-version": API_VERSION},
                                     accept=ANY_STATUS)
        if projects.status_code in (401, 403):
            return self._missing_scope("Project and Team (Read)", "vso.project", projects, details)
        if projects.status_code >= 400:
            return result_for_error(status_error(projects))
        project_body = json_or_none(projects) or {}
        names = [p.get("name", "") for p in project_body.get("value", [])]
        details["project_count"] = project_body.get("count", len(names))
        details["projects"] = names[:20]

        work = self.http.request("GET", "_apis/wit/workitemrelationtypes", params={"api-version": API_VERSION},
                                 accept=ANY_STATUS)
        if work.status_code in (401, 403):
            return self._missing_scope("Work Items (Read)", "vso.work", work, details)
        if work.status_code >= 400:
            return result_for_error(status_error(work))

        if not names:
            return CheckResult(CheckStatus.MISSING_PERMISSION, "The token works, but it sees no projects in this "
                               "organisation. Ask for access to the project, or check the token's organisation.",
                               {**details, "missing": ["project access"]})
        return CheckResult(CheckStatus.OK, f"Connected to Azure DevOps as {details['user'] or 'the token owner'}; "
                           f"{details['project_count']} project(s) visible.", details)

    def _missing_scope(self, label: str, scope: str, response: httpx.Response, details: dict) -> CheckResult:
        return CheckResult(
            CheckStatus.MISSING_PERMISSION,
            f"The token works, but it lacks the scope “{label}” ({scope}). Edit the personal access token in "
            "Azure DevOps and add it (“Read & write” to migrate into this organisation).",
            {**details, "missing": [scope], "vendor_message": _vendor_message(json_or_none(response))},
        )

    def _answers_like_jira(self) -> CheckResult:
        return CheckResult(CheckStatus.WRONG_KIND, "This address answers like Jira, not Azure DevOps. Choose Jira "
                           "Cloud or Jira Data Center as the kind of connection.")

