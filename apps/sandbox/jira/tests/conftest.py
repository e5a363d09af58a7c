import base64
import json

import pytest
from django.test import Client

from apps.sandbox import services as sandbox_services
from apps.sandbox.jira.adapter import FULL_SCOPES
from apps.sandbox.jira.services import jira_principal, jira_site_admin
from apps.sandbox.jira.tests import contract

CLOUD_SECRET = "cloud-api-token-for-tests"
DC_SECRET = "dc-personal-access-token-for-tests"


class JiraClient:
    """The Django test client speaking to one sandbox Jira site. With `checked`, every answer is validated
    against Atlassian's OpenAPI files, and every request body the sandbox accepts (2xx) must be one the
    specification allows; a failure is raised at once, naming the call."""

    def __init__(self, site, headers, *, checked: bool):
        self.site = site
        self.headers = headers
        self.checked = checked
        self.client = Client()
        self.calls = 0

    def prefix(self) -> str:
        return f"/sandbox/jira/{self.site.slug}"

    def request(self, method, path, body=None, *, headers=None, raw=None, content_type="application/json", **query):
        url = self.prefix() + path
        extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in {**self.headers, **(headers or {})}.items()}
        data = raw if raw is not None else (json.dumps(body) if body is not None else None)
        if method == "GET":
            response = self.client.get(url, query or None, **extra)
        elif data is None and method in ("DELETE",):
            response = self.client.delete(url + (("?" + "&".join(f"{k}={v}" for k, v in query.items())) if query else ""), **extra)
        else:
            if query:
                url += "?" + "&".join(f"{k}={v}" for k, v in query.items())
            response = getattr(self.client, method.lower())(url, data=data, content_type=content_type, **extra)
        self.calls += 1
        response.body = None
        if response.get("Content-Type", "").startswith("application/json") and response.content:
            response.body = json.loads(response.content)
        if self.checked:
            self._check(method, path.split("?")[0], body, response, "&".join(f"{k}={v}" for k, v in query.items()))
        return response

    def _check(self, method, path, body, response, query):
        # No Data Center OpenAPI file is published; v2 shares v3's shapes (rich text aside, which the schemas
        # leave free), so Data Center answers are checked against the platform file too, /search included
        # (the removed v3 /search documents Data Center's startAt/total page).
        path = path.replace("/rest/api/2/", "/rest/api/3/")
        problems = (contract.response_problems(method, path, response.status_code, response.body, query)
                    if response.body is not None else [])
        assert not problems, f"{method} {path} -> {response.status_code} does not match the specification: {problems}"
        if body is not None and 200 <= response.status_code < 300:
            problems = contract.request_problems(method, path, body)
            assert not problems, f"The sandbox accepted a body the specification does not allow ({method} {path}): {problems}"

    def get(self, path, **query):
        return self.request("GET", path, **query)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body, **kw)

    def put(self, path, body=None, **kw):
        return self.request("PUT", path, body, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)


def _basic(email, secret):
    return "Basic " + base64.b64encode(f"{email}:{secret}".encode()).decode()


@pytest.fixture
def cloud_site(db):
    site = sandbox_services.site_create(kind="jira_cloud", slug="acme-cloud")
    sandbox_services.token_create(site=site, name="test", scopes=list(FULL_SCOPES),
                                  principal=jira_principal(user=jira_site_admin(site=site)), secret=CLOUD_SECRET)
    return site


@pytest.fixture
def seeded_cloud(cloud_site):
    sandbox_services.site_seed(site=cloud_site, items=120, seed=7)
    return cloud_site


@pytest.fixture
def dc_site(db):
    site = sandbox_services.site_create(kind="jira_dc", slug="acme-dc")
    sandbox_services.token_create(site=site, name="test", scopes=list(FULL_SCOPES),
                                  principal=jira_principal(user=jira_site_admin(site=site)), secret=DC_SECRET)
    return site


@pytest.fixture
def jira(cloud_site):
    """A checked client for the Cloud site (every answer validated against the specification)."""
    if not contract.specs_available():
        pytest.skip(f"Atlassian's OpenAPI files are not at {contract.SPECS}")
    return JiraClient(cloud_site, {"Authorization": _basic("sandbox.admin@migrayt.local", CLOUD_SECRET)}, checked=True)


@pytest.fixture
def jira_unchecked(cloud_site):
    return JiraClient(cloud_site, {"Authorization": _basic("sandbox.admin@migrayt.local", CLOUD_SECRET)}, checked=False)


@pytest.fixture
def jira_dc(dc_site):
    """A checked client for the Data Center site (answers validated against the platform file's shapes)."""
    if not contract.specs_available():
        pytest.skip(f"Atlassian's OpenAPI files are not at {contract.SPECS}")
    return JiraClient(dc_site, {"Authorization": f"Bearer {DC_SECRET}"}, checked=True)


@pytest.fixture
def make_client():
    def make(site, headers, checked=False):
        return JiraClient(site, headers, checked=checked)

    return make


@pytest.fixture
def basic():
    return _basic
