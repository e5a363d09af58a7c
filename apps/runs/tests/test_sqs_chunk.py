"""The production broker carries a real migration: every slice of a live run goes web -> Amazon SQS (moto
on 127.0.0.1) -> a real Celery worker process, and each slice enqueues the next through SQS again."""

import pytest
from django.conf import settings

from apps.core.testing.aws import sqs_broker, sqs_send_task
from apps.core.testing.worker import celery_worker_process, wait_for
from apps.runs import services
from apps.runs.models import Run
from apps.runs.testing import TYPE_LEVELS, migration_check, sandbox_pair

pytest.importorskip("moto", reason="moto (requirements-dev.txt) serves SQS for this test")

pytestmark = [
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not settings.SANDBOX_ENABLED, reason="the sandbox is off (MIGRAYT_SANDBOX_ENABLED)"),
]


def test_a_live_run_goes_through_sqs_to_a_real_worker(live_server, organisation, member):
    pair = sandbox_pair(organisation=organisation, actor=member, base_url=live_server.url, items=24, seed=5,
                        slug="sqs")
    run = services.run_create(organisation=organisation, actor=member, kind="live", plan=pair.plan,
                              source_connection=pair.source, destination_connection=pair.destination,
                              type_levels=TYPE_LEVELS, start=False)
    with sqs_broker() as broker:
        # The first slice is sent as the web service would, before any worker exists: it waits in SQS.
        sqs_send_task(broker, "runs.run_step", kwargs={"run_id": run.pk, "step": run.step})
        assert broker.counts()[0] >= 1
        with celery_worker_process(extra_env=broker.env):
            wait_for(lambda: Run.unscoped.get(pk=run.pk).state in (Run.State.FINISHED, Run.State.FAILED),
                     timeout=420, interval=1, what="the run to end on the SQS worker")
            wait_for(lambda: broker.counts() == (0, 0), timeout=60, what="every slice's message to be deleted")
        assert broker.counts(broker.dead_letter_queue_url) == (0, 0)
    run.refresh_from_db()
    assert run.state == Run.State.FINISHED, (run.error_code, run.error_message)
    assert run.step > 1, "the run took several slices, each one re-enqueued through SQS"
    verdict = migration_check(ado_site=pair.ado_site, jira_site=pair.jira_site)
    assert verdict["items"] == 24 and verdict["destination_issues"] == 24, verdict
    assert (verdict["duplicates"], verdict["missing"], verdict["wrong_parent"], verdict["wrong_links"]) == (0, 0, 0, 0)
