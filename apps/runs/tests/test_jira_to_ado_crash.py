"""Exactly once from Jira into Azure DevOps, under crashes and faults: a live run with a real worker process
SIGKILLed at random moments and restarted; and a run through sandboxes where 10% of requests fail. Afterwards
the Azure DevOps sandbox holds every issue exactly once, under its parent, in its state, with every link
once, and each item's history replayed once (no changelog entry written twice)."""

import random
from pathlib import Path

import pytest
from django.conf import settings

from apps.runs import services
from apps.runs.models import Run
from apps.runs.testing import KillableWorker, crash_drill, drive, jira_sandbox_pair, jira_to_ado_check

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not settings.SANDBOX_ENABLED, reason="the sandbox is off (MIGRAYT_SANDBOX_ENABLED)"),
]


def _history_written_once(pair) -> int:
    """Changelog entries and comments written more than once (the same moment twice on one item)."""
    from collections import Counter

    from apps.sandbox.ado.models import AdoUpdate

    moments = Counter(AdoUpdate.objects.filter(work_item__site=pair.ado_site, rev__gt=1)
                      .values_list("work_item_id", "revised_date"))
    return sum(n - 1 for n in moments.values() if n > 1)


def _assert_exactly_once(pair):
    verdict = jira_to_ado_check(jira_site=pair.jira_site, ado_site=pair.ado_site, plan=pair.plan)
    assert verdict["items"] == verdict["destination_items"], verdict
    assert (verdict["duplicates"], verdict["missing"], verdict["wrong_parent"], verdict["wrong_state"],
            verdict["wrong_links"]) == (0, 0, 0, 0, 0), verdict
    assert _history_written_once(pair) == 0
    return verdict


def test_sigkilled_worker_leaves_every_issue_once_with_parents_links_and_history(live_server, organisation, member):
    pair = jira_sandbox_pair(organisation=organisation, actor=member, base_url=live_server.url, items=40, seed=11,
                             slug="rev-crash")
    from apps.sandbox.services import site_controls_update

    # Slow the destination a little so the kills land in the middle of writes.
    site_controls_update(site=pair.ado_site, controls={"latency_ms": 40})
    run = services.run_create(organisation=organisation, actor=member, kind="live", plan=pair.plan,
                              source_connection=pair.source, destination_connection=pair.destination, start=True)
    worker = KillableWorker(log_path=Path(settings.VAR_DIR) / "log" / "runs-reverse-crash-worker.log",
                            extra_env={"MIGRAYT_RUNS_SLICE_SECONDS": "3",
                                       "MIGRAYT_RUNS_RECONCILE_AFTER_SECONDS": "35"})
    outcome = crash_drill(run=run, worker=worker, kills=3, rng=random.Random(7), timeout=420, min_gap=0.3,
                          max_gap=2.5)
    assert outcome["kills"] == 3, outcome
    assert outcome["state"] == Run.State.FINISHED, outcome
    _assert_exactly_once(pair)


def test_ten_percent_faults_lose_nothing_and_write_nothing_twice(live_server, organisation, member, settings):
    settings.RUNS_RECONCILE_AFTER_SECONDS = 35  # past the client's 30 s read timeout
    pair = jira_sandbox_pair(organisation=organisation, actor=member, base_url=live_server.url, items=25, seed=13,
                             slug="rev-faults")
    from apps.sandbox.services import site_controls_update

    faults = {"fault_rate": 0.1, "fault_kinds": ["http_500", "http_503", "drop"]}
    site_controls_update(site=pair.ado_site, controls={**faults, "seed": 3})
    site_controls_update(site=pair.jira_site, controls={**faults, "seed": 4})
    run = services.run_create(organisation=organisation, actor=member, kind="live", plan=pair.plan,
                              source_connection=pair.source, destination_connection=pair.destination, start=False)
    drive(run, limit=2000)
    run.refresh_from_db()
    assert run.state == Run.State.FINISHED, (run.error_code, run.error_message)
    _assert_exactly_once(pair)
    from apps.sandbox.models import SandboxRequest

    statuses = set(SandboxRequest.objects.filter(site=pair.ado_site).values_list("status", flat=True))
    assert {500, 503} & statuses, statuses  # the faults did happen
