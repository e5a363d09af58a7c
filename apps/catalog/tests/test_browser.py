"""Connect and catalog in a real browser: make a connection to the Azure DevOps sandbox, scan its project
(run by a real Celery worker), watch the progress, and read the catalog page and its quote."""

import re

import pytest
from django.conf import settings
from playwright.sync_api import expect

from apps.catalog import services
from apps.catalog.models import PricingTable
from apps.catalog.tests.conftest import PAT, PROJECT, seed_ado
from apps.core.testing.browser import screenshot
from apps.core.testing.factories import MembershipFactory, OrganisationFactory
from apps.core.testing.worker import celery_worker_process

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not settings.SANDBOX_ENABLED, reason="the sandbox is off (MIGRAYT_SANDBOX_ENABLED)"),
]
PASSWORD = "correct-horse-battery"


def test_connect_scan_and_read_the_catalog_in_the_browser(page, live_server):
    seed_ado("uiflow", items=50, seed=4)
    services.pricing_table_activate(table=PricingTable.objects.create(
        name="Standard", currency="EUR", per_work_item="0.50", per_gb_attachments="2", minimum="10"))
    membership = MembershipFactory(organisation=OrganisationFactory(name="Contoso"))

    page.goto("/accounts/login/")
    page.get_by_label("E-mail").fill(membership.user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.locator("main").get_by_role("button", name="Log in").click()

    page.get_by_role("navigation", name="Main").get_by_role("link", name=re.compile("Connect")).click()
    page.get_by_role("button", name="New connection").or_(page.get_by_role("link", name="New connection")).click()
    page.get_by_label("Kind").select_option("azure_devops")
    page.get_by_label("Name").fill("Fabrikam ADO")
    page.get_by_label("Address").fill(f"{live_server.url}/sandbox/ado/uiflow")
    page.locator("#id_token").fill(f"{PAT}-uiflow")
    page.get_by_role("button", name="Save and test").click()
    expect(page.locator("#test-result")).to_contain_text("It works.")

    page.get_by_role("navigation", name="Main").get_by_role("link", name=re.compile("Catalog")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Catalog")
    expect(page.locator("#project-choices")).to_contain_text("1 project visible")
    page.locator("#project-choices").get_by_role("button", name=PROJECT).click()
    expect(page.locator("#id_project")).to_have_value(PROJECT)
    with celery_worker_process():
        page.get_by_role("button", name="Start the scan").click()
        expect(page.get_by_role("heading", level=1)).to_have_text(PROJECT)
        # The progress polls until the scan is done, then the page reloads with everything.
        expect(page.locator("#volume-items")).to_have_text("50", timeout=90_000)
    expect(page.locator("#scan-progress")).to_have_attribute("data-status", "done")
    expect(page.get_by_role("img", name="Work items by type")).to_be_visible()
    expect(page.locator("#schema-types")).to_contain_text("User Story")
    expect(page.locator("#schema-fields")).to_contain_text("Custom.Customer")
    expect(page.locator("#quote-total")).to_have_text("25.00 EUR")
    expect(page.locator("#quote-duration")).to_contain_text("about")
    screenshot(page, "catalog-scanned")

    page.get_by_label("Destination").select_option("jira_data_center")
    page.get_by_role("button", name="New quote").click()
    expect(page.locator("#quote")).to_contain_text("Jira Data Center")
    page.get_by_role("link", name="← Catalog").click()
    expect(page.locator("#scans [data-status]")).to_have_attribute("data-status", "done")
    assert f"{PAT}-uiflow" not in page.content()
