"""Preview, then run, then watch the progress, in a real browser with a real Celery worker."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import expect

from apps.core.testing.browser import screenshot
from apps.runs.models import Run
from apps.runs.testing import KillableWorker, approved_version, sandbox_pair

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not settings.SANDBOX_ENABLED, reason="the sandbox is off (MIGRAYT_SANDBOX_ENABLED)"),
]
PASSWORD = "correct-horse-battery"


def test_preview_then_run_with_live_progress(page, live_server, organisation, member):
    pair = sandbox_pair(organisation=organisation, actor=member, base_url=live_server.url, items=30, seed=9,
                        slug="ui")
    version = approved_version(pair=pair, organisation=organisation, actor=member)

    page.goto("/accounts/login/")
    page.get_by_label("E-mail").fill(member.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.locator("main").get_by_role("button", name="Log in").click()

    worker = KillableWorker(log_path=Path(settings.VAR_DIR) / "log" / "runs-browser-worker.log").start()
    try:
        page.get_by_role("navigation", name="Main").get_by_role("link", name=re.compile("Preview")).click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Previews")
        page.get_by_role("button", name="New preview").click()
        page.get_by_label("Approved mapping version").select_option(str(version.pk))
        page.get_by_role("button", name="Start").click()
        expect(page.locator("#run-state")).to_have_text("Finished", timeout=120_000)
        expect(page.locator("tr[data-phase='items']")).to_contain_text("30")
        screenshot(page, "runs-preview-finished")
        # One item, side by side, computed now.
        page.get_by_label("Source id").fill("1")
        page.get_by_role("button", name=re.compile("side by side")).click()
        expect(page.locator("#item-source")).to_be_visible()
        expect(page.locator("#item-destination")).to_contain_text("Summary")
        screenshot(page, "runs-preview-item")

        page.goto("/runs/")
        page.get_by_role("button", name="New live run").click()
        page.get_by_label("Approved mapping version").select_option(str(version.pk))
        page.get_by_role("button", name="Start").click()
        # The progress part refreshes itself (htmx) while the run goes.
        expect(page.locator("#run-state")).to_have_text(re.compile("Queued|Running|Finished"))
        expect(page.locator("#run-state")).to_have_text("Finished", timeout=180_000)
        expect(page.locator("#verify")).to_contain_text("30 created")
        screenshot(page, "runs-live-finished")
        page.get_by_role("link", name="Audit trail").click()
        expect(page.locator("#audit")).to_contain_text("run.finished")
    finally:
        worker.stop()
    assert Run.objects.for_organisation(organisation).filter(kind="live", state="finished").count() == 1
