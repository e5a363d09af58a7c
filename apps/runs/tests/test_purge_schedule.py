"""Expired previews are purged on a schedule: every worker sends runs.purge_expired_previews every
MIGRAYT_RUNS_PURGE_EVERY_SECONDS (migrayt/celery.py PeriodicTasksStep), with no beat process. A real worker
with a one-second period drops an expired preview's per-item rows and leaves the rest alone."""

import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from apps.runs.models import Run, RunItem
from apps.runs.testing import KillableWorker

pytestmark = pytest.mark.django_db(transaction=True)


def _run(organisation, member, *, kind, expires_at, name):
    from apps.connections.services import connection_create

    source = connection_create(organisation=organisation, actor=member, kind="azure_devops", name=f"src {name}",
                               base_url="https://dev.azure.com/purge", token="purge-token")
    destination = connection_create(organisation=organisation, actor=member, kind="jira_cloud",
                                    name=f"dst {name}", base_url="https://purge.atlassian.net",
                                    token="purge-token", email="purge@migrayt.local")
    run = Run.unscoped.create(organisation=organisation, kind=kind, started_by=member, source_connection=source,
                              destination_connection=destination, state=Run.State.FINISHED, expires_at=expires_at,
                              plan={}, source_project="Fabrikam", destination_project="MIG")
    RunItem.unscoped.bulk_create([RunItem(organisation=organisation, run=run, source_id=str(n), ordinal=n)
                                  for n in range(5)])
    return run


def test_the_worker_purges_expired_previews_on_its_own(organisation, member):
    now = timezone.now()
    expired = _run(organisation, member, kind=Run.Kind.PREVIEW, expires_at=now - timedelta(hours=1), name="expired")
    fresh = _run(organisation, member, kind=Run.Kind.PREVIEW, expires_at=now + timedelta(hours=1), name="fresh")
    live = _run(organisation, member, kind=Run.Kind.LIVE, expires_at=None, name="live")
    worker = KillableWorker(log_path=Path(settings.VAR_DIR) / "log" / "runs-purge-worker.log",
                            extra_env={"MIGRAYT_RUNS_PURGE_EVERY_SECONDS": "1"}).start()
    try:
        deadline = time.monotonic() + 90
        while RunItem.unscoped.filter(run=expired).exists() and time.monotonic() < deadline:
            time.sleep(0.5)
    finally:
        worker.stop()
    assert not RunItem.unscoped.filter(run=expired).exists(), "no purge came from the worker within 90 s"
    assert RunItem.unscoped.filter(run=fresh).count() == 5
    assert RunItem.unscoped.filter(run=live).count() == 5
    assert Run.unscoped.filter(pk=expired.pk).exists()  # the preview keeps its counts and warnings


def test_periodic_tasks_name_the_purge_with_its_period(settings):
    from apps.runs import tasks
    from migrayt.celery import periodic_tasks

    settings.RUNS_PURGE_EVERY_SECONDS = 120
    assert periodic_tasks() == {"runs.purge_expired_previews": 120}
    assert tasks.runs_purge_expired_previews.name == "runs.purge_expired_previews"
