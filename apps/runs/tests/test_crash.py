"""Exactly once under crashes and faults: a live run with a real worker process, killed with SIGKILL at
random moments and restarted; and a run through a sandbox where 10% of requests fail. Afterwards the
Jira sandbox holds every source item exactly once, under the right parent, with every link once."""

import random
from pathlib import Path

import pytest
from django.conf import settings

from apps.runs import services
from apps.runs.models import Run
from apps.runs.testing import TYPE_LEVELS, KillableWorker, crash_drill, drive, migration_check, sandbox_pair

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not settings.SANDBOX_ENABLED, reason="the sandbox is off (MIGRAYT_SANDBOX_ENABLED)"),
]


def _live_run(pair, organisation, member):
    return services.run_create(organisation=organisation, actor=member, kind="live", plan=pair.plan,
                               source_connection=pair.source, destination_connection=pair.destination,
                               type_levels=TYPE_LEVELS, start=True)


def test_sigkilled_worker_leaves_every_item_once_with_parents_and_links(live_server, organisation, member):
    pair = sandbox_pair(organisation=organisation, actor=member, base_url=live_server.url, items=150, seed=11,
                        slug="crash", sprints=True)
    from apps.sandbox.services import site_controls_update

    # Slow the destination a little so the kills land in the middle of writes, not between runs.
    site_controls_update(site=pair.jira_site, controls={"latency_ms": 40})
    run = _live_run(pair, organisation, member)
    worker = KillableWorker(log_path=Path(settings.VAR_DIR) / "log" / "runs-crash-worker.log",
                            extra_env={"MIGRAYT_RUNS_SLICE_SECONDS": "3",
                                       "MIGRAYT_RUNS_RECONCILE_AFTER_SECONDS": "35"})
    outcome = crash_drill(run=run, worker=worker, kills=5, rng=random.Random(7), timeout=420, min_gap=0.3,
                          max_gap=2.5)
    assert outcome["kills"] == 5, outcome
    assert outcome["state"] == Run.State.FINISHED, outcome
    verdict = migration_check(ado_site=pair.ado_site, jira_site=pair.jira_site)
    assert verdict["items"] == 150 and verdict["destination_issues"] == 150, verdict
    assert (verdict["duplicates"], verdict["missing"], verdict["wrong_parent"], verdict["wrong_links"]) == (0, 0, 0, 0), verdict


def test_ten_percent_faults_lose_nothing(live_server, organisation, member, settings):
    settings.RUNS_RECONCILE_AFTER_SECONDS = 35  # past the client's 30 s read timeout
    pair = sandbox_pair(organisation=organisation, actor=member, base_url=live_server.url, items=80, seed=13,
                        slug="faults")
    from apps.sandbox.services import site_controls_update

    faults = ["http_500", "http_503", "http_429", "drop"]  # 429: a throttle answer, whatever the machine's speed
    site_controls_update(site=pair.jira_site, controls={"fault_rate": 0.1, "fault_kinds": faults, "seed": 3})
    site_controls_update(site=pair.ado_site, controls={"fault_rate": 0.1, "fault_kinds": faults, "seed": 4})
    # Items, states, links, files, remote links and sprints under faults. Comments and history are left out here:
    # a lost comment waits out the reconcile window (35 s) before it is looked for, which would make this test
    # minutes long; their exactly-once under crashes is shown in test_content.py.
    run = services.run_create(organisation=organisation, actor=member, kind="live", plan=pair.plan,
                              source_connection=pair.source, destination_connection=pair.destination,
                              type_levels=TYPE_LEVELS, start=False, options={"comments": False, "history": False})
    drive(run, limit=2000)
    run.refresh_from_db()
    assert run.state == Run.State.FINISHED, (run.error_code, run.error_message)
    verdict = migration_check(ado_site=pair.ado_site, jira_site=pair.jira_site)
    assert (verdict["duplicates"], verdict["missing"], verdict["wrong_parent"], verdict["wrong_links"]) == (0, 0, 0, 0), verdict
    from apps.sandbox.models import SandboxRequest

    statuses = set(SandboxRequest.objects.filter(site=pair.jira_site).values_list("status", flat=True))
    assert {500, 503} & statuses, statuses  # the faults did happen
    assert 429 in statuses, statuses
