"""Jira Data Center as the destination: a live run from the Azure DevOps sandbox into the Jira Data Center
sandbox (/rest/api/2, a personal access token as a Bearer token, wiki markup, the Epic Link field for parents
above sub-tasks, DC's bulk create and transitions), checked with migration_check against the sandboxes' own
tables."""

import pytest
from django.conf import settings

from apps.runs import services
from apps.runs.models import Run, RunItem
from apps.runs.testing import STATES, TYPE_LEVELS, drive, migration_check, sandbox_pair

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not settings.SANDBOX_ENABLED, reason="the sandbox is off (MIGRAYT_SANDBOX_ENABLED)"),
]


def test_live_run_into_data_center_writes_every_item_once_in_wiki_markup(live_server, organisation, member):
    from apps.sandbox.ado.models import AdoWorkItem
    from apps.sandbox.jira.catalog import STATUSES
    from apps.sandbox.jira.models import JiraIssue
    from apps.sandbox.models import SandboxRequest

    pair = sandbox_pair(organisation=organisation, actor=member, base_url=live_server.url, items=40, seed=21,
                        slug="dc", data_center=True)
    assert pair.jira_site.kind == "jira_dc" and pair.plan.destination_kind == "jira_data_center"
    run = services.run_create(organisation=organisation, actor=member, kind="live", plan=pair.plan,
                              source_connection=pair.source, destination_connection=pair.destination,
                              type_levels=TYPE_LEVELS, start=False)
    drive(run)
    run.refresh_from_db()
    assert run.state == Run.State.FINISHED, (run.error_code, run.error_message)
    verdict = migration_check(ado_site=pair.ado_site, jira_site=pair.jira_site)
    assert verdict["items"] == verdict["destination_issues"] == 40
    assert (verdict["duplicates"], verdict["missing"], verdict["wrong_parent"], verdict["wrong_links"]) == (0, 0, 0, 0)
    assert verdict["links"] > 0
    assert RunItem.unscoped.filter(run=run, state="created").count() == 40

    # Data Center's API only, a Bearer token, bulk creates of 50 at most.
    requests = SandboxRequest.objects.filter(site=pair.jira_site)
    assert not requests.filter(path__contains="/rest/api/3/").exists()
    assert not requests.filter(status=401).exists()
    assert requests.filter(method="POST", path__endswith="/rest/api/2/issue/bulk", status=201).count() >= 1
    assert requests.filter(method="POST", path__contains="/rest/api/2/issue/", path__endswith="/transitions").exists()

    issues = list(JiraIssue.objects.filter(site=pair.jira_site).select_related("parent__issue_type", "issue_type"))
    described = [i for i in issues if i.description]
    assert described and all(isinstance(i.description, str) for i in described)  # wiki markup, not ADF
    # Stories under epics: the parent came through the Epic Link field (Data Center refuses `parent` there).
    assert any(i.parent and i.parent.issue_type.name == "Epic" for i in issues)

    # Each item reached the status its source state maps to, through DC's transitions.
    from apps.runs.testing import destination_truth

    source_of = destination_truth(pair.jira_site)["source_of"]
    state_of = {str(w.item_id): w.fields.get("System.State")
                for w in AdoWorkItem.objects.filter(site=pair.ado_site, is_deleted=False)}
    moved = 0
    for issue in issues:
        expected = STATES.get(state_of[source_of[issue.pk]])
        assert STATUSES[issue.status_id][0] == expected, (issue.key, state_of[source_of[issue.pk]])
        moved += expected != "To Do"
    assert moved > 0
