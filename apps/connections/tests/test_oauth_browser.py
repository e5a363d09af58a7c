"""OAuth connections in a real browser against the sandbox's authorization servers: Jira Cloud through
Atlassian (consent, site, back to Migrayt, tested through the cloud-id gateway), a declined consent, and
Azure DevOps through Microsoft Entra ID. No token is ever on a page."""

import re

import pytest
from django.conf import settings
from playwright.sync_api import expect

from apps.connections.models import Connection
from apps.connections.secret_store import secret_read
from apps.core.testing.browser import screenshot
from apps.core.testing.factories import MembershipFactory, OrganisationFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not settings.SANDBOX_ENABLED, reason="the sandbox is off (MIGRAYT_SANDBOX_ENABLED)"),
]

PASSWORD = "correct-horse-battery"


def _log_in(page):
    membership = MembershipFactory(organisation=OrganisationFactory(name="Contoso"))
    page.goto("/accounts/login/")
    page.get_by_label("E-mail").fill(membership.user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.locator("main").get_by_role("button", name="Log in").click()
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    return membership.organisation


def test_jira_cloud_through_atlassian_in_the_browser(page, oauth_servers, jira_cloud_site):
    organisation = _log_in(page)
    page.goto("/connections/new/")
    page.get_by_role("button", name="Jira Cloud: sign in with Atlassian").click()
    expect(page.locator("#oauth-scopes")).to_contain_text("read:jira-work")
    page.get_by_label("Name").fill("Acme Jira")
    page.get_by_role("button", name="Continue to Atlassian").click()

    # The sandbox's consent page, as Atlassian's: what the app asks for, the site to give it.
    expect(page.get_by_role("heading", level=1)).to_contain_text("Migrayt is requesting access to your Atlassian account")
    expect(page.locator("#consent-scopes")).to_contain_text("write:jira-work")
    page.get_by_label("Use app on").select_option("acme")
    screenshot(page, "oauth-atlassian-consent")
    page.get_by_role("button", name="Accept").click()

    result = page.locator("#test-result")
    expect(result).to_contain_text("Connected to Jira Cloud as Sandbox Admin")
    expect(page.locator("#oauth-status")).to_contain_text("Signed in with Atlassian (OAuth 2.0 3LO) on")
    screenshot(page, "oauth-atlassian-connected")
    credential = Connection.objects.for_organisation(organisation).get().oauth
    content = page.content()
    for reference in (credential.access_token_ref, credential.refresh_token_ref):
        assert secret_read(reference) not in content


def test_a_declined_atlassian_consent_in_the_browser(page, oauth_servers, jira_cloud_site):
    organisation = _log_in(page)
    page.goto("/connections/oauth/atlassian/start/")
    page.get_by_label("Name").fill("Acme Jira")
    page.get_by_role("button", name="Continue to Atlassian").click()
    page.get_by_role("button", name="Cancel").click()
    expect(page.locator("#oauth-error")).to_contain_text("You declined the access Migrayt asked for in Atlassian")
    expect(page.get_by_role("heading", level=1)).to_have_text("No connection was made")
    screenshot(page, "oauth-atlassian-declined")
    assert not Connection.objects.for_organisation(organisation).exists()


def test_azure_devops_through_microsoft_in_the_browser(page, oauth_servers, ado_site):
    _log_in(page)
    page.goto("/connections/new/")
    page.get_by_role("button", name="Azure DevOps: sign in with Microsoft").click()
    page.get_by_label("Name").fill("Fabrikam ADO")
    page.get_by_label("Azure DevOps organisation address").fill(f"{oauth_servers.url}/sandbox/ado/fabrikam")
    page.get_by_role("button", name="Continue to Microsoft").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("your Microsoft account")
    page.get_by_label("E-mail").fill("ana@fabrikam.test")
    page.get_by_label("Azure DevOps organisation").select_option("fabrikam")
    page.get_by_role("button", name="Accept").click()
    expect(page.locator("#test-result")).to_contain_text("Fabrikam Fiber")
    expect(page).to_have_url(re.compile(r"/connections/\d+/"))
    screenshot(page, "oauth-entra-connected")
