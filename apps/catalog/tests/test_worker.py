"""A scan run by a real Celery worker process, killed with SIGKILL in the middle, resumes from its last
checkpoint in a new worker and ends with the same catalog as an uninterrupted scan."""

import os
import signal
from pathlib import Path

import pytest
from django.conf import settings

from apps.catalog import services
from apps.catalog.models import Scan
from apps.catalog.tests.conftest import PAT, PROJECT, run_scan, seed_ado
from apps.connections.services import connection_create
from apps.core.testing.worker import celery_worker_process, wait_for

pytestmark = [pytest.mark.django_db(transaction=True),
              pytest.mark.skipif(not settings.SANDBOX_ENABLED, reason="the sandbox is off (MIGRAYT_SANDBOX_ENABLED)")]
ITEMS = 1200
WORKER_ENV = {"MIGRAYT_SCAN_STEP_SECONDS": "3", "MIGRAYT_SCAN_STALE_SECONDS": "4"}


def _kill_hard(process) -> None:
    """SIGKILL the worker and its pool processes: nobody gets to finish a page or say goodbye."""
    children_file = Path(f"/proc/{process.pid}/task/{process.pid}/children")
    children = [int(pid) for pid in children_file.read_text().split()] if children_file.exists() else []
    for pid in [*children, process.pid]:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    process.wait(timeout=10)


def _batch_requests(site) -> int:
    from apps.sandbox.models import SandboxRequest

    return SandboxRequest.objects.filter(site=site, path__icontains="workitemsbatch", status=200).count()


def _comparable(scan: Scan) -> dict:
    return {"schema": scan.schema, "volumes": scan.volumes, "items_done": scan.items_done,
            "items_expected": scan.items_expected, "status": scan.status}


def test_a_scan_killed_mid_way_resumes_and_matches_an_uninterrupted_one(live_server, organisation, member,
                                                                       monkeypatch):
    from apps.sandbox import services as sandbox

    site = seed_ado("killed", items=ITEMS, seed=11)
    # Slow the vendor a little, so the worker is surely caught in the middle of the read.
    sandbox.site_controls_update(site=site, controls={"latency_ms": 400, "log_requests": True})
    connection = connection_create(organisation=organisation, actor=member, kind="azure_devops", name="K",
                                   base_url=f"{live_server.url}/sandbox/ado/killed", token=f"{PAT}-killed")
    log = Path(settings.VAR_DIR) / "log" / "test-catalog-worker.log"

    with celery_worker_process(extra_env=WORKER_ENV, log_path=log) as first:
        scan = services.scan_create(organisation=organisation, actor=member, connection=connection, project=PROJECT)
        wait_for(lambda: Scan.unscoped.get(pk=scan.pk).items_done >= 400, timeout=120, what="the first pages")
        _kill_hard(first)
    killed = Scan.unscoped.get(pk=scan.pk)
    assert killed.status == Scan.Status.RUNNING and 400 <= killed.items_done < ITEMS
    assert killed.checkpoint["phase"] == "work_items" and killed.checkpoint["state"]["last_id"]
    batches_before = _batch_requests(site)

    with celery_worker_process(extra_env=WORKER_ENV, log_path=log):
        wait_for(lambda: Scan.unscoped.get(pk=scan.pk).status == Scan.Status.DONE, timeout=180,
                 what="the scan to resume and finish in a new worker")
    resumed = Scan.unscoped.get(pk=scan.pk)
    # It carried on: the pages read before the kill were not read again (at most the one in flight).
    batches_total = _batch_requests(site)
    assert batches_total <= -(-ITEMS // 200) + 1, (batches_before, batches_total)
    assert resumed.steps > 2

    sandbox.site_controls_update(site=site, controls={"latency_ms": 0})
    monkeypatch.setattr(services, "_enqueue", lambda scan_id, countdown=None: None)  # the reference runs here
    reference = run_scan(services.scan_create(organisation=organisation, actor=member, connection=connection,
                                              project=PROJECT).pk)
    assert _comparable(resumed) == _comparable(reference)
    assert resumed.volumes["items"] == ITEMS
