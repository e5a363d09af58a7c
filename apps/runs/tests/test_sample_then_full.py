"""Sample then full, on the sandboxes: a live sample of the first 8 items into the real Jira project, then a
full run that adopts the sample's id map. Jira ends up with every item, link and sprint exactly once; a
second live run that adopts nothing is still refused, and what cannot be adopted is answered in words."""

from collections import Counter

import pytest
from django.conf import settings

from apps.core.exceptions import ApplicationError
from apps.runs import services as runs
from apps.runs.models import IdMapEntry, Run, RunItem
from apps.runs.testing import TYPE_LEVELS, drive, migration_check, sandbox_pair

pytestmark = [pytest.mark.skipif(not settings.SANDBOX_ENABLED, reason="the sandbox is off"),
              pytest.mark.django_db(transaction=True)]


def _live(pair, organisation, member, **kwargs) -> Run:
    return runs.run_create(organisation=organisation, actor=member, kind="live", plan=pair.plan,
                           source_connection=pair.source, destination_connection=pair.destination,
                           type_levels=TYPE_LEVELS, start=False, **kwargs)


def test_a_full_run_adopts_the_sample_and_writes_nothing_twice(live_server, organisation, member):
    from apps.sandbox.jira.models import JiraSprint

    pair = sandbox_pair(organisation=organisation, actor=member, base_url=live_server.url, items=30, seed=5,
                        slug="sample", sprints=True)
    sample = _live(pair, organisation, member, scope={"sample": 8})
    drive(sample)
    sample.refresh_from_db()
    assert sample.state == Run.State.FINISHED, (sample.error_code, sample.error_message)
    sample_items = set(IdMapEntry.unscoped.filter(run=sample, phase="items").values_list("source_id", flat=True))
    assert len(sample_items) == 8
    # A sample fills its sprints but leaves them future: the full run starts and closes them.
    assert not JiraSprint.objects.filter(site=pair.jira_site).exclude(state="future").exists()

    with pytest.raises(ApplicationError, match=f"Live run #{sample.pk} already migrates"):
        _live(pair, organisation, member)
    with pytest.raises(ApplicationError, match="only a finished run can be adopted|Only a live run"):
        runs.run_create(organisation=organisation, actor=member, kind="preview", plan=pair.plan,
                        source_connection=pair.source, destination_connection=pair.destination, start=False,
                        adopt_run_id=sample.pk)
    with pytest.raises(ApplicationError, match="No such run"):
        _live(pair, organisation, member, adopt_run_id=999999)

    full = _live(pair, organisation, member, adopt_run_id=sample.pk)
    assert full.plan["adopted_from"] == sample.pk
    drive(full)
    full.refresh_from_db()
    assert full.state == Run.State.FINISHED, (full.error_code, full.error_message)
    created = RunItem.unscoped.filter(run=full, state="created")
    assert sample_items <= set(created.values_list("source_id", flat=True))
    # The id map of the full run holds the sample's items with the destination ids the sample wrote.
    sample_map = dict(IdMapEntry.unscoped.filter(run=sample, phase="items").values_list("source_id", "destination_id"))
    full_map = dict(IdMapEntry.unscoped.filter(run=full, phase="items").values_list("source_id", "destination_id"))
    assert all(full_map[sid] == did for sid, did in sample_map.items())

    check = migration_check(ado_site=pair.ado_site, jira_site=pair.jira_site)
    assert check["duplicates"] == 0 and check["missing"] == 0, check
    assert check["destination_issues"] == check["items"], check
    assert check["wrong_links"] == 0, check
    sprints = Counter(JiraSprint.objects.filter(site=pair.jira_site).values_list("name", flat=True))
    assert sprints and max(sprints.values()) == 1, sprints  # no sprint made twice

    # Adopted once, the sample cannot be adopted again; the full run is the one to build on.
    with pytest.raises(ApplicationError, match=f"already adopted by run #{full.pk}"):
        _live(pair, organisation, member, adopt_run_id=sample.pk)
