"""Helpers for the OAuth tests: the deployment pointed at the sandbox's authorization servers on the live
server, and a person walking through a sign-in with Django's test client (the browser tests do the same in
Chromium)."""

from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from django.urls import reverse

from apps.sandbox import services as sandbox

CLIENT_SECRETS = {"atlassian": "atl-client-secret-Hq8VnT3kP0sLw6Zr", "entra": "entra-client-secret-Bd5xQm2Yj7cNf1Ug"}


@pytest.fixture
def oauth_servers(live_server, settings):
    """Migrayt's Atlassian and Entra apps, registered with the sandbox on this live server."""
    base = f"{live_server.url}/sandbox/oauth"
    settings.ATLASSIAN_CLIENT_ID, settings.ATLASSIAN_CLIENT_SECRET = "migrayt-test-atlassian", CLIENT_SECRETS["atlassian"]
    settings.ATLASSIAN_AUTH_URL = settings.ATLASSIAN_API_URL = f"{base}/atlassian"
    settings.ENTRA_CLIENT_ID, settings.ENTRA_CLIENT_SECRET = "migrayt-test-entra", CLIENT_SECRETS["entra"]
    settings.ENTRA_AUTHORITY, settings.ENTRA_TENANT = f"{base}/entra", "organizations"
    return live_server


@pytest.fixture
def jira_cloud_site(db):
    site = sandbox.site_create(kind="jira_cloud", slug="acme")
    sandbox.site_seed(site=site, items=2, seed=1)
    return site


@pytest.fixture
def ado_site(db):
    site = sandbox.site_create(kind="ado", slug="fabrikam")
    sandbox.site_seed(site=site, items=3, seed=1)
    return site


def signed_in_client(user) -> Client:
    client = Client(SERVER_NAME="127.0.0.1")
    client.force_login(user)
    return client


def local_path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def walk_sign_in(client: Client, provider: str, *, name: str = "Jira (target)", base_url: str = "",
                 decision: str = "accept", site: str = "", email: str = "sandbox.admin@migrayt.local",
                 start_url: str = "", start_data: dict | None = None):
    """Start on Migrayt, decide on the sandbox's consent page, come back. Returns (authorize URL, the
    callback response)."""
    if start_url:
        started = client.post(start_url)
    else:
        started = client.post(reverse("connections:oauth_start", args=[provider]),
                              start_data or {"name": name, "base_url": base_url})
    assert started.status_code == 302, started.content.decode()[:2000]
    authorize = started["Location"]
    vendor = Client(SERVER_NAME="127.0.0.1")  # the person's browser at the vendor: no Migrayt session needed
    query = {k: v[0] for k, v in parse_qs(urlsplit(authorize).query).items()}
    page = vendor.get(local_path(authorize))
    assert page.status_code == 200, page.content.decode()[:2000]
    decided = vendor.post(urlsplit(authorize).path, {**query, "decision": decision, "login_email": email,
                                                      "site": site})
    assert decided.status_code == 302, decided.content.decode()[:2000]
    return authorize, client.get(local_path(decided["Location"]))
