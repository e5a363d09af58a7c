"""Scans against the sandbox on a live server: a seeded Azure DevOps organisation, a connection to it, and
a way to run a scan's steps in the test's own process (the worker tests run them in a real worker)."""

import pytest
from django.conf import settings

from apps.catalog import services
from apps.catalog.models import Scan
from apps.connections.services import connection_create

PAT = "catalog-test-pat-0001"
PROJECT = "Fabrikam Fiber"


def seed_ado(slug: str, items: int, seed: int = 5, *, scopes=("vso.work", "vso.project", "vso.work_write")):
    from apps.sandbox import services as sandbox

    site = sandbox.site_create(kind="ado", slug=slug)
    sandbox.site_seed(site=site, items=items, seed=seed)
    sandbox.token_create(site=site, name="catalog", scopes=list(scopes), secret=f"{PAT}-{slug}")
    return site


@pytest.fixture
def sandbox_required():
    if not settings.SANDBOX_ENABLED:
        pytest.skip("the sandbox is off (MIGRAYT_SANDBOX_ENABLED)")


@pytest.fixture
def enqueued(monkeypatch):
    """Scan steps are recorded instead of sent to a broker; `run_scan` runs them here."""
    calls = []
    monkeypatch.setattr(services, "_enqueue", lambda scan_id, countdown=None: calls.append(scan_id))
    return calls


def run_scan(scan_id: int, *, max_steps: int = 500) -> Scan:
    for _ in range(max_steps):
        after = services.scan_step(scan_id=scan_id)
        if after is None:
            return Scan.unscoped.get(pk=scan_id)
    raise AssertionError("the scan did not finish")


@pytest.fixture
def ado_connection(sandbox_required, live_server, organisation, member):
    seed_ado("catalog", items=40)
    return connection_create(organisation=organisation, actor=member, kind="azure_devops", name="Sandbox ADO",
                             base_url=f"{live_server.url}/sandbox/ado/catalog", token=f"{PAT}-catalog")
