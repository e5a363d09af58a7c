import httpx

from apps.connections.connectors.base import CheckResult, CheckStatus, ConnectionKind
from apps.connections.connectors.checks import (
    answers_like_azure_devops,
    json_or_none,
    result_for_error,
    wrong_product_for,
)
from apps.connections.connectors.errors import ConnectorError
from apps.connections.connectors.http import BearerAuth, basic_auth, status_error
from apps.connections.connectors.jira.reader import JiraReader

ANY_STATUS = tuple(range(200, 600))


def _vendor_message(body) -> str:
    """Jira's own error sentence, kept for support; never ticket content."""
    if not isinstance(body, dict):
        return ""
    messages = body.get("errorMessages") or [body.get("message", "")]
    return " ".join(str(m) for m in messages if m)[:300]
# Needed to read a project; the others only to migrate into it.
SOURCE_PERMISSIONS = {"BROWSE_PROJECTS": "Browse projects"}
DESTINATION_PERMISSIONS = {
    "CREATE_ISSUES": "Create issues",
    "EDIT_ISSUES": "Edit issues",
    "ADD_COMMENTS": "Add comments",
    "CREATE_ATTACHMENTS": "Create attachments",
    "LINK_ISSUES": "Link issues",
}


class JiraConnector(JiraReader):
    """What Jira Cloud and Data Center share; they differ in the API version, the authentication, and
    what `serverInfo.deploymentType` says."""

    api_version: str
    product: str

    def api(self, path: str, version: str | None = None) -> str:
        return f"rest/api/{version or self.api_version}/{path}"

    def check(self) -> CheckResult:
        wrong = wrong_product_for(self.kind, self.config.base_url)
        if wrong:
            return wrong
        try:
            return self._check()
        except ConnectorError as exc:
            return result_for_error(exc)

    # -- steps -------------------------------------------------------------------------------------------

    def _server_info(self) -> tuple[httpx.Response, dict | None]:
        response = self.http.request("GET", self.api("serverInfo"), accept=ANY_STATUS)
        if response.status_code == 404:
            # Data Center serves only REST v2; a Cloud site may serve only v3 to a client that asks for it.
            # Asking the other version tells a site given as the wrong kind from no site at all.
            other = "2" if self.api_version == "3" else "3"
            fallback = self.http.request("GET", self.api("serverInfo", other), accept=ANY_STATUS)
            if fallback.status_code == 200 and isinstance(json_or_none(fallback), dict):
                response = fallback
        return response, json_or_none(response)

    def _check(self) -> CheckResult:
        response, info = self._server_info()
        if response.status_code == 401 or (response.status_code == 403 and info is None):
            return self._credentials_refused(response)
        if response.status_code == 404 or (response.status_code < 400 and not isinstance(info, dict)):
            if isinstance(info, dict) and "authenticatedUser" in info:
                return CheckResult(CheckStatus.WRONG_KIND, "This address answers like Azure DevOps, not Jira.")
            if response.status_code == 404 and answers_like_azure_devops(self.http):
                return CheckResult(CheckStatus.WRONG_KIND, "This address answers like Azure DevOps, not Jira. "
                                   "Choose Azure DevOps as the kind of connection.")
            if response.status_code == 404:
                return CheckResult(CheckStatus.UNKNOWN_SITE, f"There is no {self.product} site at this address. "
                                   "Check the site address (for Cloud: https://<your-site>.atlassian.net).",
                                   {"vendor_message": _vendor_message(info)})
            return CheckResult(CheckStatus.NOT_A_TRACKER, "Something answered at this address, but it is not the "
                               "Jira API (it sent a web page, not JSON).")
        if response.status_code >= 400:
            return result_for_error(status_error(response))
        if "deploymentType" not in info and "baseUrl" not in info:
            return CheckResult(CheckStatus.NOT_A_TRACKER, "Something answered at this address, but not like Jira "
                               "does.")
        deployment = str(info.get("deploymentType") or "")
        details = {"server_title": info.get("serverTitle", ""), "version": info.get("version", ""),
                   "deployment_type": deployment}
        wrong = self._wrong_deployment(deployment)
        if wrong:
            wrong.details.update(details)
            return wrong

        me = self.http.request("GET", self.api("myself"), accept=ANY_STATUS)
        if me.status_code == 403 and isinstance(json_or_none(me), dict):
            return self._permission_refused(me, "read:jira-user", details)
        if me.status_code in (401, 403) or (me.status_code == 200 and not isinstance(json_or_none(me), dict)):
            refused = self._credentials_refused(me)
            refused.details.update(details)
            return refused
        if me.status_code >= 400:
            return result_for_error(status_error(me))
        user = json_or_none(me)
        if user.get("active") is False:
            return CheckResult(CheckStatus.WRONG_CREDENTIALS, "The account behind these credentials is "
                               "deactivated in Jira.", details)
        details["user"] = user.get("displayName", "")
        details["account"] = user.get("accountId") or user.get("key") or user.get("name") or ""

        projects = self._projects()
        if projects.status_code in (401, 403):
            if projects.status_code == 401:
                refused = self._credentials_refused(projects)
                refused.details.update(details)
                return refused
            return self._permission_refused(projects, "read:jira-work", details)
        if projects.status_code >= 400:
            return result_for_error(status_error(projects))
        body = json_or_none(projects)
        values = body.get("values", []) if isinstance(body, dict) else body if isinstance(body, list) else []
        details["projects"] = [f"{p.get('key')} {p.get('name')}".strip() for p in values[:20] if isinstance(p, dict)]
        details["project_count"] = body.get("total", len(values)) if isinstance(body, dict) else len(values)
        if not values:
            return CheckResult(
                CheckStatus.MISSING_PERMISSION,
                f"Signed in as {details['user'] or 'this account'}, but the account sees no projects: it lacks the "
                "Jira permission “Browse projects”. Ask a Jira admin to grant it in the projects to migrate.",
                {**details, "missing": ["Browse projects"]},
            )
        return self._check_permissions(details)

    def _projects(self) -> httpx.Response:
        # Cloud pages projects (project/search); Data Center lists them (project).
        if self.api_version == "3":
            return self.http.request("GET", self.api("project/search"), params={"maxResults": "50"}, accept=ANY_STATUS)
        return self.http.request("GET", self.api("project"), accept=ANY_STATUS)

    def _permission_refused(self, response: httpx.Response, needed: str, details: dict) -> CheckResult:
        return CheckResult(
            CheckStatus.MISSING_PERMISSION,
            f"Signed in, but Jira refused to let this account read what a migration needs ({needed}). Ask a "
            "Jira admin for “Browse projects” (and, to migrate into Jira, “Create issues”, “Edit issues”, "
            "“Add comments”, “Create attachments”, “Link issues”).",
            {**details, "missing": [needed], "vendor_message": _vendor_message(json_or_none(response))},
        )

    def _check_permissions(self, details: dict) -> CheckResult:
        """What the account may do, where the site says (mypermissions): reading is proven already by the
        projects it sees; writing matters only for a destination."""
        wanted = {**SOURCE_PERMISSIONS, **DESTINATION_PERMISSIONS}
        response = self.http.request("GET", self.api("mypermissions"),
                                     params={"permissions": ",".join(wanted)}, accept=ANY_STATUS)
        body = json_or_none(response) if response.status_code == 200 else None
        permissions = body.get("permissions") if isinstance(body, dict) else None
        visible = f"{details['project_count']} project(s) visible"
        who = details["user"] or "this account"
        if not isinstance(permissions, dict):
            details["permissions_checked"] = False
            return CheckResult(CheckStatus.OK, f"Connected to {self.product} as {who}; {visible}.", details)
        missing = [label for key, label in DESTINATION_PERMISSIONS.items()
                   if not (permissions.get(key) or {}).get("havePermission")]
        details["permissions_checked"] = True
        details["missing_permissions"] = missing
        message = f"Connected to {self.product} as {who}; {visible}."
        if missing:
            message += " It can be a source. To be a destination it also needs: " + ", ".join(missing) + "."
        return CheckResult(CheckStatus.OK, message, details)

    def _credentials_refused(self, response: httpx.Response) -> CheckResult:
        body = json_or_none(response)
        message = str(body.get("message", "")) if isinstance(body, dict) else ""
        if "scope does not match" in message.lower():
            # Jira Cloud's scoped API tokens: the token is genuine, its scopes are too narrow.
            return CheckResult(
                CheckStatus.MISSING_PERMISSION,
                "The API token is valid, but its scopes do not allow this. Make a token with the scopes "
                "read:jira-work and read:jira-user (and write:jira-work to migrate into this site), or an "
                "API token without scopes.",
                {"missing": ["read:jira-work", "read:jira-user"], "endpoint": response.request.url.path},
            )
        reason = (response.headers.get("X-Seraph-LoginReason") or "").upper()
        if "AUTHENTICATION_DENIED" in reason:
            return CheckResult(CheckStatus.WRONG_CREDENTIALS, "Jira now asks for a CAPTCHA for this account after "
                               "too many failed sign-ins. Sign in once in a browser, then test again.")
        return CheckResult(CheckStatus.WRONG_CREDENTIALS, self.credentials_hint)

    credentials_hint = ""

    def _wrong_deployment(self, deployment: str) -> CheckResult | None:
        raise NotImplementedError


class JiraCloudConnector(JiraConnector):
    kind = ConnectionKind.JIRA_CLOUD
    api_version = "3"
    product = "Jira Cloud"
    credentials_hint = ("Jira Cloud refused the e-mail and API token. Use the e-mail of your Atlassian account "
                        "and an API token made at id.atlassian.com (not your password).")

    def auth(self) -> httpx.Auth:
        if self.config.bearer:  # OAuth 2.0 (3LO) access token, through api.atlassian.com/ex/jira/<cloud id>
            return BearerAuth(self.config.token)
        return basic_auth(self.config.email, self.config.token)

    def _wrong_deployment(self, deployment: str) -> CheckResult | None:
        if deployment and deployment.lower() != "cloud":
            return CheckResult(
                CheckStatus.WRONG_KIND_CLOUD_VS_DC,
                f"This is a Jira {deployment} site, not Jira Cloud. Choose Jira Data Center and use a personal "
                "access token.",
            )
        return None


class JiraDataCenterConnector(JiraConnector):
    kind = ConnectionKind.JIRA_DATA_CENTER
    api_version = "2"
    product = "Jira Data Center"
    credentials_hint = ("Jira Data Center refused the personal access token: it is wrong, expired or revoked. "
                        "Make one under your Jira profile → Personal Access Tokens.")

    def auth(self) -> httpx.Auth:
        return BearerAuth(self.config.token)

    def _wrong_deployment(self, deployment: str) -> CheckResult | None:
        if deployment.lower() == "cloud":
            return CheckResult(
                CheckStatus.WRONG_KIND_CLOUD_VS_DC,
                "This is a Jira Cloud site, not Jira Data Center. Choose Jira Cloud and sign in with your "
                "Atlassian account e-mail and an API token.",
            )
        return None
