"""The verification report of a live run: the Jira sandbox read back and every item reconciled; then the
sandbox tampered with, and the report finds exactly that."""

from unittest import mock

import pytest
from django.conf import settings

from apps.runs import services
from apps.runs import store as run_store
from apps.runs.engine import verify as verify_module
from apps.runs.models import Run, VerificationDifference
from apps.runs.testing import TYPE_LEVELS, drive, sandbox_pair

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not settings.SANDBOX_ENABLED, reason="the sandbox is off (MIGRAYT_SANDBOX_ENABLED)"),
]

ITEMS = 24


@pytest.fixture
def pair(live_server, organisation, member):
    return sandbox_pair(organisation=organisation, actor=member, base_url=live_server.url, items=ITEMS, seed=7,
                        sprints=True, slug="verify")


def live_run(pair, organisation, member) -> Run:
    run = services.run_create(organisation=organisation, actor=member, kind="live", plan=pair.plan,
                              source_connection=pair.source, destination_connection=pair.destination,
                              type_levels=TYPE_LEVELS, start=False)
    drive(run)
    run.refresh_from_db()
    assert run.state == Run.State.FINISHED, (run.error_code, run.error_message)
    return run


def differences(run) -> list[tuple[str, str, str, bool]]:
    return sorted(VerificationDifference.unscoped.filter(run=run).values_list("source_id", "check_name", "kind",
                                                                             "announced"))


def test_a_clean_run_has_no_unexplained_difference(pair, organisation, member):
    from apps.webhooks import services as webhooks

    with mock.patch.object(webhooks, "webhook_event_emit", wraps=webhooks.webhook_event_emit) as emit:
        run = live_run(pair, organisation, member)
    [ready] = [c.kwargs for c in emit.call_args_list if c.kwargs["event"] == "run.report_ready"]
    assert ready["payload"]["verification"]["items_checked"] == ITEMS
    summary = run.stats["verification"]
    unexplained = list(VerificationDifference.unscoped.filter(run=run, announced=False).values_list(
        "source_id", "check_name", "explanation"))
    assert unexplained == []
    assert summary["items_checked"] == ITEMS
    assert summary["unexplained"] == 0
    assert summary["missing"] == 0 and summary["duplicates"] == 0
    assert run.progress["verify"]["done"] == ITEMS == run.progress["verify"]["total"]
    from apps.core.models import AuditEvent

    [event] = AuditEvent.objects.for_organisation(organisation).filter(action="run.report_ready",
                                                                       target_id=str(run.pk))
    assert event.data["items_checked"] == ITEMS and event.data["unexplained"] == 0


def drive_to(run, phase: str) -> None:
    """Step the run in this process until it reaches `phase` (as testing.drive does, without a worker)."""
    for _ in range(300):
        run.refresh_from_db()
        if run.phase == phase or not run.is_active:
            return
        with mock.patch.object(services, "run_enqueue", lambda run, countdown=0: None):
            services.run_step_execute(run_id=run.pk, step=run.step)
    raise AssertionError(f"the run did not reach {phase}")


def test_the_report_finds_exactly_what_was_changed_in_the_destination(pair, organisation, member):
    from apps.runs.models import IdMapEntry
    from apps.sandbox.jira.models import JiraIssue, JiraIssueLink

    run = services.run_create(organisation=organisation, actor=member, kind="live", plan=pair.plan,
                              source_connection=pair.source, destination_connection=pair.destination,
                              type_levels=TYPE_LEVELS, start=False)
    drive_to(run, "verify")
    assert run.phase == "verify" and run.is_active
    source_of = dict(IdMapEntry.unscoped.filter(run=run, phase="items").values_list("destination_id", "source_id"))
    issues = {str(i.pk): i for i in JiraIssue.objects.filter(site=pair.jira_site)}
    linked = {str(x) for pair_ in JiraIssueLink.objects.filter(inward_issue__site=pair.jira_site).values_list(
        "inward_issue_id", "outward_issue_id") for x in pair_}
    parents = {str(i.parent_id) for i in issues.values() if i.parent_id}
    quiet = [i for pk, i in sorted(issues.items(), key=lambda kv: int(kv[0])) if pk not in linked and pk not in parents]
    assert len(quiet) >= 4, "the seed needs issues without links or children"
    # A link removed: both its ends miss it.
    link = JiraIssueLink.objects.filter(inward_issue__site=pair.jira_site).first()
    ends = {source_of[str(link.inward_issue_id)], source_of[str(link.outward_issue_id)]}
    link.delete()
    # A status moved, an issue deleted, labels and the summary edited by someone.
    moved, deleted, relabelled, renamed = quiet[:4]
    other_status = next(i.status_id for i in issues.values() if i.status_id != moved.status_id)
    JiraIssue.objects.filter(pk=moved.pk).update(status_id=other_status)
    old_summary = renamed.summary
    JiraIssue.objects.filter(pk=renamed.pk).update(summary="Changed by hand in Jira")
    JiraIssue.objects.filter(pk=relabelled.pk).update(labels=[*relabelled.labels, "added-by-hand"])
    JiraIssue.objects.filter(pk=deleted.pk).delete()
    # A second issue carrying the same source id (as if written twice).
    from apps.sandbox.jira.models import JiraEntityProperty

    twin = JiraIssue.objects.get(pk=moved.pk)
    source_property = JiraEntityProperty.objects.get(issue_id=moved.pk, key="migrayt.source").value
    number = max(JiraIssue.objects.filter(site=pair.jira_site).values_list("number", flat=True)) + 1
    twin.pk, twin.number, twin.key = None, number, f"{twin.key.split('-')[0]}-{number}"
    twin.save()
    JiraEntityProperty.objects.create(issue=twin, key="migrayt.source", value=source_property)
    # The worker dies right after the verification recorded its second slice: resumed, it goes on from there.
    original = run_store.RunStore.verify_record
    recorded = []

    def record_then_die(self, **kwargs):
        original(self, **kwargs)
        recorded.append(kwargs["checked"])
        if len(recorded) == 2:
            raise RuntimeError("the worker died")

    with mock.patch.object(verify_module, "SLICE", 5), mock.patch.object(run_store.RunStore, "verify_record",
                                                                          record_then_die):
        drive(run)
    run.refresh_from_db()
    assert (run.state, run.phase, run.progress["verify"]["done"]) == (Run.State.FAILED, "verify", 10)
    with mock.patch.object(services, "run_enqueue", lambda run, countdown=0: None):
        services.run_resume(run=run, actor=member)
    with mock.patch.object(verify_module, "SLICE", 5):
        drive(run)
    run.refresh_from_db()
    assert run.state == Run.State.FINISHED, (run.error_code, run.error_message)
    assert run.progress["verify"]["done"] == ITEMS  # nothing checked twice
    found = {(sid, check, kind) for sid, check, kind, announced in differences(run) if not announced}
    expected = {(source_of[str(moved.pk)], "status", "differs"), (source_of[str(deleted.pk)], "exists", "missing"),
                (source_of[str(relabelled.pk)], "labels", "differs"),
                (source_of[str(renamed.pk)], "summary", "differs"),
                (source_of[str(moved.pk)], "duplicate", "extra"),
                *((sid, "links", "missing") for sid in ends)}
    assert found == expected
    summary = run.stats["verification"]
    assert summary["missing"] == 1 and summary["duplicates"] == 1
    duplicate = VerificationDifference.unscoped.get(run=run, check_name="duplicate")
    assert duplicate.destination_key == twin.key and moved.key in duplicate.explanation
    assert summary["differing"] == 3 + len(ends)
    assert summary["matched"] == ITEMS - 4 - len(ends)
    assert summary["items_checked"] == ITEMS
    # Zero Data Retention: the report says how it differs, never what the text was.
    explanations = " ".join(VerificationDifference.unscoped.filter(run=run).values_list("explanation", flat=True))
    assert old_summary not in explanations and "Changed by hand" not in explanations
    assert "added-by-hand" not in explanations
    status = VerificationDifference.unscoped.get(run=run, check_name="status")
    assert "Expected status" in status.explanation


@pytest.mark.skipif(not {"comments", "attachments"} <= set(verify_module.PHASES),
                    reason="the engine does not carry comments and attachments here")
def test_the_report_finds_a_deleted_comment_and_a_changed_file(pair, organisation, member):
    from apps.runs.models import IdMapEntry
    from apps.sandbox.jira.models import JiraAttachment, JiraComment

    run = services.run_create(organisation=organisation, actor=member, kind="live", plan=pair.plan,
                              source_connection=pair.source, destination_connection=pair.destination,
                              type_levels=TYPE_LEVELS, start=False)
    drive_to(run, "verify")
    comments = IdMapEntry.unscoped.filter(run=run, phase="comments").exclude(destination_id="")
    files = IdMapEntry.unscoped.filter(run=run, phase="attachments").exclude(destination_id="")
    if not comments.exists() or not files.exists():
        pytest.skip("the seeded project has no comment or no attachment")
    comment = comments.first()
    commented = comment.source_id.split(":")[1]  # comment:<item>:<comment>
    JiraComment.objects.filter(pk=int(comment.destination_id)).delete()
    changed_file = next(e for e in files if e.source_id.split(":")[1] != commented)
    attachment = JiraAttachment.objects.get(pk=int(changed_file.destination_id))
    content = bytes(attachment.content)
    attachment.content = bytes([content[0] ^ 0xFF]) + content[1:] if content else b"x"
    attachment.size = len(attachment.content)
    attachment.save()
    drive(run)
    run.refresh_from_db()
    assert run.state == Run.State.FINISHED, (run.error_code, run.error_message)
    found = {(sid, check) for sid, check, kind, announced in differences(run) if not announced}
    assert found == {(commented, "comment_count"), (changed_file.source_id.split(":")[1], "attachments")}
    difference = VerificationDifference.unscoped.get(run=run, check_name="attachments")
    assert "sha256" in difference.explanation and attachment.filename not in difference.explanation
