"""Sample then full, the parents (issue 11): a sample of Features only (their Epics left out), then the full
run that adopts it. The sample's items were written without their parent; the full run sets it, through the
destination port, once. Checked against the Jira sandbox's own tables. Rolling the full run back says, before
anything is deleted, that the sample's items go too."""

import pytest
from django.conf import settings

from apps.core.exceptions import ApplicationError
from apps.runs import services as runs
from apps.runs.models import IdMapEntry, Run, RunItem
from apps.runs.testing import destination_truth, drive, migration_check, sandbox_pair
from apps.runs.tests.test_sample_then_full import _live

pytestmark = [pytest.mark.skipif(not settings.SANDBOX_ENABLED, reason="the sandbox is off"),
              pytest.mark.django_db(transaction=True)]


def test_the_full_run_gives_the_samples_items_the_parents_it_creates(live_server, organisation, member):
    pair = sandbox_pair(organisation=organisation, actor=member, base_url=live_server.url, items=24, seed=5,
                        slug="sample-parents")
    sample = _live(pair, organisation, member, scope={"types": ["Feature"], "sample": 2})
    drive(sample)
    sample.refresh_from_db()
    assert sample.state == Run.State.FINISHED, (sample.error_code, sample.error_message)
    in_sample = set(IdMapEntry.unscoped.filter(run=sample, phase="items").values_list("source_id", flat=True))
    assert len(in_sample) == 2
    truth = destination_truth(pair.jira_site)
    written = [i for i in truth["issues"] if truth["source_of"].get(i["id"]) in in_sample]
    assert len(written) == 2 and all(i["parent_id"] in (None, "") for i in written)  # their Epics were not in it

    full = _live(pair, organisation, member, adopt_run_id=sample.pk)
    assert set(full.plan["reparent"]) == in_sample
    drive(full)
    full.refresh_from_db()
    assert full.state == Run.State.FINISHED, (full.error_code, full.error_message)
    orphans = set(RunItem.unscoped.filter(run=full, source_id__in=in_sample).exclude(parent_source_id="")
                  .values_list("source_id", flat=True))
    assert orphans, "the seed gives every Feature an Epic"

    check = migration_check(ado_site=pair.ado_site, jira_site=pair.jira_site)
    assert (check["duplicates"], check["missing"], check["wrong_parent"], check["wrong_links"]) == (0, 0, 0, 0), check
    truth = destination_truth(pair.jira_site)
    by_source = {truth["source_of"][i["id"]]: i for i in truth["issues"] if i["id"] in truth["source_of"]}
    parents = dict(RunItem.unscoped.filter(run=full, source_id__in=orphans).values_list("source_id",
                                                                                         "parent_source_id"))
    for sid in orphans:  # each under the issue the full run made for its parent
        assert truth["source_of"].get(by_source[sid]["parent_id"]) == parents[sid], sid
    # Recorded once, with the link back (one link back each, not two): a resumed phase does not set it again.
    assert IdMapEntry.unscoped.filter(run=full, phase="remote_links", source_id__in=orphans).count() == len(orphans)
    from apps.sandbox.jira.models import JiraRemoteLink

    for issue in written:
        assert JiraRemoteLink.objects.filter(issue_id=issue["id"]).count() == 1

    # Rolling back the full run: the confirmation says the sample's items are deleted too.
    with pytest.raises(ApplicationError, match=rf"including the {len(in_sample)} item\(s\) of the sample run "
                                               rf"#{sample.pk}") as refused:
        runs.run_rollback(run=full, actor=member, confirmation="no")
    assert refused.value.extra["adopted_items"] == len(in_sample)
