"""The run creation page's scope and options, in a real browser against the sandboxes: the item count comes
from Azure DevOps (htmx) before anything is saved, bad input is a form error naming the field, and the run
started carries exactly the scope and options chosen."""

import re

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import expect

from apps.core.testing.browser import screenshot
from apps.runs.models import Run
from apps.runs.testing import approved_version, sandbox_pair

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not settings.SANDBOX_ENABLED, reason="the sandbox is off (MIGRAYT_SANDBOX_ENABLED)"),
]
PASSWORD = "correct-horse-battery"


def _truth(pair, types) -> int:
    from apps.sandbox.ado.models import AdoWorkItem

    return AdoWorkItem.objects.filter(site=pair.ado_site, is_deleted=False, work_item_type__in=types).count()


def test_scope_and_options_on_the_run_page(page, live_server, organisation, member):
    pair = sandbox_pair(organisation=organisation, actor=member, base_url=live_server.url, items=20, seed=4,
                        slug="form")
    version = approved_version(pair=pair, organisation=organisation, actor=member)
    expected = _truth(pair, ["Bug", "User Story"])

    page.goto("/accounts/login/")
    page.get_by_label("E-mail").fill(member.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.locator("main").get_by_role("button", name="Log in").click()
    page.goto("/runs/new/?kind=preview")
    page.get_by_label("Approved mapping version").select_option(str(version.pk))
    page.locator("#scope summary").click()
    page.get_by_label("Types").fill("Bug, User Story")
    page.get_by_role("button", name="Count the items in scope").click()
    expect(page.locator("#scope-count-value")).to_have_attribute("data-count", str(expected))
    # A WIQL condition Azure DevOps refuses is answered in its words, before anything is saved.
    page.get_by_label("WIQL condition").fill("[No.Such.Field] = 'x'")
    page.get_by_role("button", name="Count the items in scope").click()
    expect(page.locator("#scope-count-error")).to_contain_text("Azure DevOps refused the query")
    page.get_by_label("WIQL condition").fill("[System.State] <> 'Removed'")
    page.get_by_label("Comments").select_option("off")
    screenshot(page, "runs-form-scope")
    # A reversed date range is a form error, and nothing is started.
    page.get_by_label("Created from").fill("2030-02-01")
    page.get_by_label("Created until").fill("2030-01-01")
    page.get_by_role("button", name="Start").click()
    expect(page.locator("[data-field='created_to']")).to_contain_text("ends before it starts")
    assert not Run.objects.for_organisation(organisation).exists()
    page.get_by_label("Created from").fill("")
    page.get_by_label("Created until").fill("")
    page.get_by_role("button", name="Start").click()
    expect(page).to_have_url(re.compile(r"/runs/\d+/$"))
    run = Run.objects.for_organisation(organisation).get()
    assert run.plan["scope"]["types"] == ["Bug", "User Story"] and run.plan["comments"] is False
    assert run.plan["scope"]["query"] == "[System.State] <> 'Removed'" and "attachments" not in {
        k for k, v in run.plan.items() if v is False}

    # The same page without a browser: bad input is a 400 with the field named, never a 500.
    client = Client()
    client.force_login(member)
    base = {"mapping_version": str(version.pk), "kind": "preview"}
    widening = client.post("/runs/new/", {**base, "query": "1=1) OR (1=1"})
    assert widening.status_code == 400 and "closes a parenthesis it never opened" in widening.content.decode()
    sample = client.post("/runs/new/", {**base, "sample": "0"})
    assert sample.status_code == 400 and 'data-field="sample"' in sample.content.decode()
    adopt = client.post("/runs/new/", {**base, "adopt_run": str(run.pk)})
    assert adopt.status_code == 400 and "Only a live run adopts a sample" in adopt.content.decode()
    nothing = client.post("/runs/new/", {**base, "types": "No Such Type"})
    assert nothing.status_code == 400 and "No item of the source is in this scope" in nothing.content.decode()
    assert Run.objects.for_organisation(organisation).count() == 1
