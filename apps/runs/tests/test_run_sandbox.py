"""A live run from the Azure DevOps sandbox into the Jira Cloud sandbox, in this process (one step after
another), checked against the sandboxes' own tables."""

import pytest
from django.conf import settings

from apps.runs import services
from apps.runs.models import IdMapEntry, Run, RunItem
from apps.runs.testing import TYPE_LEVELS, drive, migration_check, sandbox_pair

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not settings.SANDBOX_ENABLED, reason="the sandbox is off (MIGRAYT_SANDBOX_ENABLED)"),
]


@pytest.fixture
def pair(live_server, organisation, member):
    return sandbox_pair(organisation=organisation, actor=member, base_url=live_server.url, items=60, seed=5,
                        sprints=True)


def test_live_run_writes_every_item_once_with_parents_links_states_and_sprints(pair, organisation, member):
    run = services.run_create(organisation=organisation, actor=member, kind="live", plan=pair.plan,
                              source_connection=pair.source, destination_connection=pair.destination,
                              type_levels=TYPE_LEVELS, start=False)
    drive(run)
    run.refresh_from_db()
    assert run.state == Run.State.FINISHED, (run.error_code, run.error_message)
    verdict = migration_check(ado_site=pair.ado_site, jira_site=pair.jira_site)
    assert verdict["items"] == 60
    assert verdict["destination_issues"] == 60
    assert (verdict["duplicates"], verdict["missing"], verdict["wrong_parent"], verdict["wrong_links"]) == (0, 0, 0, 0)
    assert verdict["links"] > 0
    assert RunItem.unscoped.filter(run=run, state="created").count() == 60
    assert IdMapEntry.unscoped.filter(run=run, phase="items").count() == 60
    assert IdMapEntry.unscoped.filter(run=run, phase="remote_links").count() == 60
    # A remote link back to the source on every item, keyed by the source URL.
    from apps.sandbox.jira.models import JiraRemoteLink

    assert JiraRemoteLink.objects.filter(issue__site=pair.jira_site).count() == 60
    assert run.stats["verify"]["duplicate_destination_ids"] == 0
