"""Map, in a real browser with a real Celery worker: make a mapping from two scans, watch it drafted, review
what needs attention, edit and reject rows in place, accept the rest in bulk, choose a default person, and
approve a frozen version."""

import re

import pytest
from playwright.sync_api import expect

from apps.core.testing.browser import screenshot
from apps.core.testing.factories import MembershipFactory, OrganisationFactory
from apps.core.testing.worker import celery_worker_process
from apps.mappings.models import MappingSet, MappingVersion
from apps.mappings.tests.factories import scans_make

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct-horse-battery"


def test_draft_review_edit_approve(page, live_server):
    membership = MembershipFactory(organisation=OrganisationFactory(name="Contoso"))
    organisation = membership.organisation
    source_scan, destination_scan = scans_make(organisation=organisation)

    page.goto("/accounts/login/")
    page.get_by_label("E-mail").fill(membership.user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.locator("main").get_by_role("button", name="Log in").click()

    page.get_by_role("navigation", name="Main").get_by_role("link", name=re.compile("Map")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mappings")
    page.get_by_role("button", name="New mapping").click()
    page.get_by_label("Name").fill("Fabrikam to PROJ")
    expect(page.get_by_label("Source project")).to_contain_text("Fabrikam Fiber")
    page.get_by_label("Source project").select_option(str(source_scan.pk))
    page.get_by_label("Destination project").select_option(str(destination_scan.pk))

    with celery_worker_process():
        page.get_by_role("button", name="Make and draft").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Fabrikam to PROJ")
        # The worker drafts; the page polls and reloads itself when the draft is ready.
        expect(page.locator("#draft-status")).to_have_attribute("data-status", "done", timeout=60_000)
    rows = page.locator("#rows tbody tr[data-kind]")
    expect(rows.first).to_be_visible()
    mapping_set = MappingSet.objects.for_organisation(organisation).get()
    assert rows.count() == mapping_set.rows.count()
    expect(page.locator(f"#row-{mapping_set.rows.get(source='System.Title').pk}")).to_contain_text("summary")
    expect(page.locator("#error-count")).to_contain_text("blocking")
    screenshot(page, "mapping-drafted")

    # What needs attention: Cy has left and has no account.
    page.get_by_role("navigation", name="Filters").get_by_role("link", name="Needs attention").click()
    cy = page.locator('tr[data-source="ado-cy"]')
    expect(cy).to_contain_text("Cy Gone")

    # Edit a value in place (htmx): priority 4 becomes Lowest rather than Low.
    page.get_by_role("navigation", name="Filters").get_by_role("link", name="Everything").click()
    low = mapping_set.rows.get(kind="value", scope="Microsoft.VSTS.Common.Priority", source="4")
    page.locator(f"#row-{low.pk}").get_by_role("button", name="Edit").or_(
        page.locator(f"#row-{low.pk}").get_by_role("link", name="Edit")).click()
    page.locator(f"#row-{low.pk}").get_by_label("Target").select_option("Lowest")
    page.locator(f"#row-{low.pk}").get_by_role("button", name="Save").click()
    expect(page.locator(f"#row-{low.pk}")).to_have_attribute("data-decision", "edited")
    expect(page.locator(f"#row-{low.pk} td.target")).to_contain_text("Lowest")

    # Reject a row in place: Customer Impact is not carried.
    impact = mapping_set.rows.get(source="Custom.CustomerImpact")
    page.locator(f"#row-{impact.pk}").get_by_role("button", name=re.compile("^Reject")).click()
    expect(page.locator(f"#row-{impact.pk}")).to_have_attribute("data-decision", "rejected")
    screenshot(page, "mapping-edited")

    # Approval is refused while people have no account and no default person, and rows are undecided.
    page.get_by_role("button", name="Approve and freeze a version").click()
    expect(page.locator(".message-error")).to_contain_text("block approval")

    page.get_by_label("Default person").select_option(label="Migration Bot")
    page.get_by_role("button", name="Save options").click()
    expect(page.locator(".message-success")).to_contain_text("Saved the options")
    page.get_by_label("Accept every undecided row at or above").fill("0.5")
    page.locator("#approval").get_by_role("button", name="Accept", exact=True).click()
    expect(page.locator("#count-pending")).to_have_text("0")
    expect(page.locator("#error-count")).to_contain_text("nothing blocks approval")

    page.get_by_role("button", name="Approve and freeze a version").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("version 1")
    expect(page.locator("#version-rows")).to_contain_text("Lowest")
    screenshot(page, "mapping-approved")

    version = MappingVersion.objects.for_organisation(organisation).get()
    assert version.approved_by == membership.user
    from apps.mappings.selectors import mapping_version_plan

    plan = mapping_version_plan(version)
    assert plan.fields["Microsoft.VSTS.Common.Priority"].values["4"] == "Lowest"
    assert plan.fields["Custom.CustomerImpact"].target_field is None
    assert plan.default_person == "acc-admin"
