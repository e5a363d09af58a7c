"""Connect, in a real browser, against the Azure DevOps sandbox: make a connection, see it tested as the
page opens, fix a wrong token, and never see the token again."""

import re

import pytest
from django.conf import settings
from playwright.sync_api import expect

from apps.connections.models import Connection
from apps.core.testing.browser import screenshot
from apps.core.testing.factories import MembershipFactory, OrganisationFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not settings.SANDBOX_ENABLED, reason="the sandbox is off (MIGRAYT_SANDBOX_ENABLED)"),
]

PASSWORD = "correct-horse-battery"


def test_connect_azure_devops_in_the_browser(page, live_server):
    from apps.sandbox import services as sandbox

    site = sandbox.site_create(kind="ado", slug="fabrikam")
    sandbox.site_seed(site=site, items=2, seed=1)
    _, good_pat = sandbox.token_create(site=site, name="migration", scopes=["vso.work", "vso.project"])
    membership = MembershipFactory(organisation=OrganisationFactory(name="Contoso"))

    page.goto("/accounts/login/")
    page.get_by_label("E-mail").fill(membership.user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.locator("main").get_by_role("button", name="Log in").click()

    page.get_by_role("navigation", name="Main").get_by_role("link", name=re.compile("Connect")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Connections")
    page.get_by_role("button", name="New connection").or_(page.get_by_role("link", name="New connection")).click()

    page.get_by_label("Kind").select_option("azure_devops")
    page.get_by_label("Name").fill("Fabrikam ADO")
    page.get_by_label("Address").fill(f"{live_server.url}/sandbox/ado/fabrikam")
    page.locator("#id_token").fill("wrong-token-1234")
    page.get_by_role("button", name="Save and test").click()

    # The test runs as the page opens and answers in plain words.
    result = page.locator("#test-result")
    expect(result).to_contain_text("refused the personal access token")
    expect(result.locator("[data-status]")).to_have_attribute("data-status", "wrong_credentials")
    screenshot(page, "connection-wrong-token")

    page.get_by_role("button", name="Edit").click()
    token_field = page.locator("#id_token")
    expect(token_field).to_have_value("")  # the stored token is never put back into the page
    token_field.fill(good_pat)
    page.get_by_role("button", name="Save").click()
    page.get_by_role("button", name="Test connection").click()
    expect(page.locator("#test-result")).to_contain_text("It works.")
    expect(page.locator("#test-result")).to_contain_text("Fabrikam Fiber")
    assert good_pat not in page.content()
    screenshot(page, "connection-works")

    page.get_by_role("link", name="← Connections").click()
    expect(page.locator("#connections")).to_contain_text("working")
    connection = Connection.objects.for_organisation(membership.organisation).get()
    assert connection.last_test_status == "ok"
