"""The verification report of a live Jira -> Azure DevOps run: the Azure DevOps sandbox read back (work items
with their relations, revision and comment counts, files by sha256) and every issue reconciled; then the
sandbox tampered with, and the report finds exactly that."""

import pytest
from django.conf import settings

from apps.runs.models import IdMapEntry, Run, VerificationDifference
from apps.runs.testing import drive
from apps.runs.tests import test_jira_to_ado
from apps.runs.tests.test_jira_to_ado import ITEMS, _run

pair = test_jira_to_ado.pair  # the same seeded Jira project and empty Azure DevOps project

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not settings.SANDBOX_ENABLED, reason="the sandbox is off (MIGRAYT_SANDBOX_ENABLED)"),
]


def live_run(pair, organisation, member) -> Run:
    run = _run(pair, organisation, member)
    drive(run)
    run.refresh_from_db()
    assert run.state == Run.State.FINISHED, (run.error_code, run.error_message)
    return run


def unexplained(run) -> list[tuple[str, str, str, str]]:
    return sorted(VerificationDifference.unscoped.filter(run=run, announced=False).values_list(
        "source_id", "check_name", "kind", "explanation"))


def test_a_clean_jira_to_ado_run_has_no_unexplained_difference(pair, organisation, member):
    run = live_run(pair, organisation, member)
    found = unexplained(run)
    assert found == [], "\n".join(map(str, found))
    summary = run.stats["verification"]
    assert summary["items_checked"] == ITEMS and summary["unexplained"] == 0, summary
    assert summary["missing"] == 0 and summary["duplicates"] == 0
    assert run.progress["verify"]["done"] == ITEMS == run.progress["verify"]["total"]


def test_the_report_finds_exactly_a_state_changed_and_a_work_item_deleted_in_azure_devops(pair, organisation, member):
    from apps.runs.tests.test_verification import drive_to
    from apps.sandbox.ado import wit
    from apps.sandbox.ado.models import AdoIdentity, AdoWorkItem
    from apps.sandbox.jira.models import JiraIssue, JiraIssueLink

    run = _run(pair, organisation, member)
    drive_to(run, "verify")
    assert run.phase == "verify" and run.is_active
    destination_of = dict(IdMapEntry.unscoped.filter(run=run, phase="items").values_list("source_id", "destination_id"))
    issues = JiraIssue.objects.filter(site=pair.jira_site)
    linked = {str(x) for ends in JiraIssueLink.objects.filter(inward_issue__site=pair.jira_site).values_list(
        "inward_issue_id", "outward_issue_id") for x in ends}
    parents = {str(i.parent_id) for i in issues if i.parent_id}
    quiet = sorted(sid for sid in destination_of if sid not in linked and sid not in parents)
    assert len(quiet) >= 2, "the seed needs issues without links or children"
    moved, deleted = quiet[:2]
    # Someone moves one work item to another state by hand, and deletes another.
    item = AdoWorkItem.objects.get(site=pair.ado_site, item_id=int(destination_of[moved]))
    other = "New" if item.fields["System.State"] != "New" else "Closed"
    item.fields["System.State"], item.state = other, other
    item.save(update_fields=["fields", "state"])
    wit.work_item_delete(site=pair.ado_site, item_id=int(destination_of[deleted]),
                         actor=AdoIdentity.objects.filter(site=pair.ado_site).first())
    drive(run)
    run.refresh_from_db()
    assert run.state == Run.State.FINISHED, (run.error_code, run.error_message)
    found = {(sid, check, kind) for sid, check, kind, _ in unexplained(run)}
    assert found == {(moved, "status", "differs"), (deleted, "exists", "missing")}, unexplained(run)
    summary = run.stats["verification"]
    assert summary["items_checked"] == ITEMS and summary["missing"] == 1 and summary["unexplained"] == 2, summary
