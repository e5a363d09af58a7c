"""A live run from a seeded Jira sandbox project into an empty Azure DevOps sandbox project, in this process
(one step after another), checked item by item against the sandboxes' own tables: every issue once, under
its parent, in its state, links once, areas and iterations made with their dates, and the Azure DevOps
history of each item equal, entry by entry, to the Jira changelog it came from."""

from datetime import UTC

import pytest
from django.conf import settings

from apps.runs import services
from apps.runs.models import IdMapEntry, Run
from apps.runs.testing import ADO_TARGET, drive, jira_sandbox_pair, jira_to_ado_check

ITEMS = 12

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not settings.SANDBOX_ENABLED, reason="the sandbox is off (MIGRAYT_SANDBOX_ENABLED)"),
]


@pytest.fixture
def pair(live_server, organisation, member):
    return jira_sandbox_pair(organisation=organisation, actor=member, base_url=live_server.url, items=ITEMS, seed=5)


def _run(pair, organisation, member, kind="live"):
    return services.run_create(organisation=organisation, actor=member, kind=kind, plan=pair.plan,
                               source_connection=pair.source, destination_connection=pair.destination, start=False)


def test_live_run_writes_every_issue_once_with_parents_states_links_areas_and_iterations(pair, organisation, member):
    run = _run(pair, organisation, member)
    drive(run)
    run.refresh_from_db()
    assert run.state == Run.State.FINISHED, (run.error_code, run.error_message)
    verdict = jira_to_ado_check(jira_site=pair.jira_site, ado_site=pair.ado_site, plan=pair.plan)
    from apps.runs.models import RunError

    errors = list(RunError.unscoped.filter(run=run).values_list("phase", "code", "message")[:5])
    assert verdict["items"] == ITEMS and verdict["destination_items"] == ITEMS, (verdict, errors, run.progress, run.warnings)
    assert (verdict["duplicates"], verdict["missing"], verdict["wrong_parent"], verdict["wrong_state"],
            verdict["wrong_links"]) == (0, 0, 0, 0, 0), verdict
    assert verdict["links"] > 0
    assert IdMapEntry.unscoped.filter(run=run, phase="items").count() == ITEMS

    from apps.sandbox.ado.models import AdoNode, AdoWorkItem
    from apps.sandbox.jira.models import JiraIssue, JiraSprint

    # Sprints became iterations under the project's root, with their real dates; components became areas.
    for sprint in JiraSprint.objects.filter(board__project__site=pair.jira_site):
        node = AdoNode.objects.get(project__site=pair.ado_site, structure="iteration", name=sprint.name)
        assert node.parent.path == ADO_TARGET
        assert (node.start_date, node.finish_date) == (sprint.start_date, sprint.end_date)
    items = {w.item_id: w for w in AdoWorkItem.objects.filter(site=pair.ado_site)}
    by_source = {}
    for item in items.values():
        link = next(r for r in item.relations if r.get("rel") == "Hyperlink")
        by_source[link["attributes"]["comment"].removeprefix("migrayt source ")] = item
    for issue in JiraIssue.objects.filter(site=pair.jira_site).prefetch_related("sprints"):
        item = by_source[str(issue.pk)]
        fields = item.fields
        assert fields["System.Title"] == issue.summary
        assert fields["System.CreatedDate"].startswith(issue.created.strftime("%Y-%m-%dT%H:%M:%S"))
        assert fields["System.CreatedBy"]["uniqueName"] == (issue.creator or issue.reporter).email
        assert set(t.strip() for t in fields.get("System.Tags", "").split(";") if t.strip()) >= set(issue.labels)
        sprints = sorted(issue.sprints.all(), key=lambda s: s.pk)
        if sprints:
            assert fields["System.IterationPath"] == f"{ADO_TARGET}\\{sprints[-1].name}"
        if issue.component_ids:
            assert fields["System.AreaPath"].startswith(f"{ADO_TARGET}\\")
        if issue.assignee:
            assert fields["System.AssignedTo"]["uniqueName"] == issue.assignee.email
        link = next(r for r in item.relations if r.get("rel") == "Hyperlink")
        assert link["url"].endswith(f"/browse/{issue.key}")


def test_a_second_run_of_the_same_project_is_refused(pair, organisation, member):
    from apps.core.exceptions import ApplicationError

    _run(pair, organisation, member)
    with pytest.raises(ApplicationError, match="already migrates"):
        _run(pair, organisation, member)
    # (A scope on a Jira source is taken now: apps/runs/tests/test_jira_scope_run.py.)


def _ms(moment) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}"


def test_the_ado_history_of_each_item_is_its_jira_changelog_entry_by_entry_with_comments_in_place(
        pair, organisation, member):
    from apps.sandbox.ado.models import AdoComment, AdoUpdate, AdoWorkItem
    from apps.sandbox.jira.models import JiraChangelog, JiraComment, JiraIssue

    run = _run(pair, organisation, member)
    drive(run)
    run.refresh_from_db()
    assert run.state == Run.State.FINISHED, (run.error_code, run.error_message)
    by_source = {}
    for item in AdoWorkItem.objects.filter(site=pair.ado_site):
        link = next(r for r in item.relations if r.get("rel") == "Hyperlink")
        by_source[link["attributes"]["comment"].removeprefix("migrayt source ")] = item
    plan = pair.plan
    checked_entries = checked_comments = checked_notes = 0
    for issue in JiraIssue.objects.filter(site=pair.jira_site).select_related("issue_type"):
        item = by_source[str(issue.pk)]
        updates = {_ms(u.revised_date): u for u in AdoUpdate.objects.filter(work_item=item, rev__gt=1)}
        assert _ms(AdoUpdate.objects.get(work_item=item, rev=1).revised_date) == _ms(issue.created)
        for entry in JiraChangelog.objects.filter(issue=issue).select_related("author"):
            update = updates.pop(_ms(entry.created), None)
            assert update is not None, (issue.key, entry.items)
            assert update.revised_by["uniqueName"] == entry.author.email
            fields = update.fields
            for change in entry.items:
                name = change["fieldId"]
                if name == "status":
                    old = plan.states[(str(issue.issue_type_id), change["fromString"])]
                    new = plan.states[(str(issue.issue_type_id), change["toString"])]
                    if old != new:
                        assert (fields["System.State"]["oldValue"], fields["System.State"]["newValue"]) == (old, new)
                elif name == "assignee":
                    assert fields["System.AssignedTo"]["newValue"]["displayName"] == change["toString"]
                    assert fields["System.AssignedTo"].get("oldValue") in (None, "")
                elif name == "priority":
                    mapped = int(plan.fields["priority"].values[change["toString"]])
                    old = plan.fields["priority"].values[change["fromString"]]
                    if int(old) != mapped:
                        assert fields["Microsoft.VSTS.Common.Priority"]["newValue"] == mapped
                elif name == "customfield_10020":
                    assert fields["System.IterationPath"]["newValue"] == f"{ADO_TARGET}\\{change['toString']}"
                else:  # no field for it here: a readable note in the same revision
                    assert change["field"] in fields["System.History"]["newValue"], fields
                    checked_notes += 1
            checked_entries += 1
        for comment in JiraComment.objects.filter(issue=issue).select_related("author"):
            found = AdoComment.objects.filter(work_item=item, created_date__gte=comment.created.replace(microsecond=0),
                                              created_by__uniqueName=comment.author.email)
            assert any(_ms(c.created_date) == _ms(comment.created) for c in found), issue.key
            assert _ms(comment.created) in updates  # a revision at its place in time
            updates.pop(_ms(comment.created))
            checked_comments += 1
    assert checked_entries > 10 and checked_comments > 3 and checked_notes > 0, (checked_entries, checked_comments,
                                                                                 checked_notes)


def test_a_run_into_azure_devops_rolls_back_every_work_item_it_created(pair, organisation, member):
    from unittest import mock

    from apps.sandbox.ado.models import AdoWorkItem

    run = _run(pair, organisation, member)
    drive(run)
    run.refresh_from_db()
    assert run.state == Run.State.FINISHED, (run.error_code, run.error_message)
    created = set(IdMapEntry.unscoped.filter(run=run, phase="items").values_list("destination_id", flat=True))
    assert len(created) == ITEMS
    with mock.patch.object(services, "run_enqueue", lambda run, countdown=0: None):
        services.run_rollback(run=run, actor=member, confirmation=f"ROLL BACK {run.pk}")
    drive(run)
    run.refresh_from_db()
    assert run.state == Run.State.ROLLED_BACK, (run.state, run.error_code, run.error_message)
    live = AdoWorkItem.objects.filter(site=pair.ado_site, is_deleted=False)
    assert not live.filter(item_id__in=[int(i) for i in created]).exists()  # in the recycle bin, as ADO keeps them
    assert AdoWorkItem.objects.filter(site=pair.ado_site, is_deleted=True).count() == ITEMS
