"""How many requests a catalog scan makes, against the fewest the vendor's API allows.

    python bench/scan.py --items 1000 [--seed 1] [--port 0] [--server gunicorn|wsgiref] [--database-url ...]

Runs on its own from a checkout with the requirements installed: a temporary state folder (its own SQLite
database unless --database-url is given), migrations, an N-item Azure DevOps sandbox project seeded with
comments, revisions, links and attachments, the sandbox served on a real local port (gunicorn, as
deployed, or a threaded wsgiref server), then a source scan of that project through the real connector
and the catalog's own steps (services.scan_step, one after another in this process, as a worker would run
them), and the figures. Last line: one JSON object with items, wall_s, requests_per_item and request_ratio.

The minimum the vendor's API allows, for a scan that reads every item with its relations (what the
catalog needs to count revisions, comments, links and attachments and their sizes):
    schema:  5 requests  (project with its process, work item types with states, fields, relation types,
                          the area and iteration trees in one classification-nodes call)
    listing: ceil(N / 20,000) WIQL queries (the most one query returns)
    items:   ceil(N / 200) workitemsbatch requests (the most one batch takes), with relations
    comments and revisions: 0. The counts come with the items (System.CommentCount, System.Rev); reading
                          them one item at a time would be N requests more each, for nothing the catalog keeps.
request_ratio = every request the sandbox served for the scan (its request log: the project check when
the scan is created, and every retry, included) / that minimum. The server processes are warmed up first
(their requests are not counted): a cold start is not the scan's doing.
"""

import argparse
import json
import math
import os
import shutil
import socket
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PORT_RANGE = range(8700, 8800)  # the catalog's own range of ports on shared machines
PAT = "bench-scan-pat-000000000000"


def minimum_requests(items: int) -> dict:
    return {"schema": 5, "listing": max(1, math.ceil(items / 20_000)), "items": math.ceil(items / 200)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port in 8700-8799")
    parser.add_argument("--server", choices=["gunicorn", "wsgiref"], default="gunicorn")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--database-url", default=None, help="e.g. postgres://postgres@127.0.0.1:5432/mig_catalog")
    parser.add_argument("--keep", action="store_true", help="keep the temporary state folder")
    args = parser.parse_args()
    if args.items < 1:
        parser.error("--items must be 1 or more")

    state = Path(tempfile.mkdtemp(prefix="migrayt-bench-scan-"))
    os.environ["MIGRAYT_VAR_DIR"] = str(state)
    os.environ["MIGRAYT_SANDBOX_ENABLED"] = "true"
    os.environ["MIGRAYT_ALLOW_PRIVATE_URLS"] = "true"
    os.environ.setdefault("MIGRAYT_ENV", "development")
    os.environ["DJANGO_DEBUG"] = "false"
    os.environ["MIGRAYT_LOG_LEVEL"] = "WARNING"
    os.environ.pop("DATABASE_URL", None)
    if args.database_url:
        os.environ["DATABASE_URL"] = args.database_url
    os.environ["DJANGO_SETTINGS_MODULE"] = "migrayt.settings"
    try:
        return run(args, state)
    finally:
        if not args.keep:
            shutil.rmtree(state, ignore_errors=True)


def run(args, state: Path) -> int:
    import django

    django.setup()
    from django.core.management import call_command
    from django.core.wsgi import get_wsgi_application
    from django.db import connections

    from apps.catalog import services as catalog
    from apps.catalog.models import Scan
    from apps.connections.services import connection_create
    from apps.core.testing.factories import MembershipFactory
    from apps.sandbox import services as sandbox
    from apps.sandbox.models import SandboxRequest

    started = time.monotonic()
    call_command("migrate", verbosity=0, interactive=False)
    print(f"state folder {state} (migrated in {time.monotonic() - started:.1f} s)")
    site = sandbox.site_create(kind="ado", slug="bench")
    started = time.monotonic()
    summary = sandbox.site_seed(site=site, items=args.items, seed=args.seed)
    print(f"seeded {args.items} items in {time.monotonic() - started:.1f} s: {summary}")
    sandbox.token_create(site=site, name="bench", scopes=["vso.work", "vso.project"], secret=PAT)
    membership = MembershipFactory()
    connections.close_all()  # the server processes open their own

    from bench.sandbox import _serve  # the sandbox benchmark's server: gunicorn or threaded wsgiref

    args.port = args.port or _free_port()
    stop = _serve(args, get_wsgi_application)
    base = f"http://127.0.0.1:{stop.port}/sandbox/ado/bench"
    print(f"serving the sandbox on {base} ({args.server})")
    _warm_up(base, args.workers)
    try:
        connection = connection_create(organisation=membership.organisation, actor=membership.user,
                                       kind="azure_devops", name="Bench", base_url=base, token=PAT)
        catalog._enqueue = lambda scan_id, countdown=None: None  # the steps run here, one after another
        log_from = SandboxRequest.objects.filter(site=site).order_by("-id").values_list("id", flat=True).first() or 0
        started = time.monotonic()
        scan = catalog.scan_create(organisation=membership.organisation, actor=membership.user,
                                   connection=connection, project="Fabrikam Fiber")
        steps = 0
        while True:
            steps += 1
            after = catalog.scan_step(scan_id=scan.pk)
            if after is None:
                break
            if after:
                time.sleep(after)
        wall = time.monotonic() - started
    finally:
        stop()
    scan = Scan.unscoped.get(pk=scan.pk)
    if scan.status != Scan.Status.DONE:
        print(f"the scan ended {scan.status}: {scan.error_code} {scan.error_message}")
        return 1
    served = SandboxRequest.objects.filter(site=site, id__gt=log_from)
    by_endpoint: dict[str, int] = {}
    for endpoint in served.values_list("endpoint", flat=True):
        by_endpoint[endpoint] = by_endpoint.get(endpoint, 0) + 1
    total = sum(by_endpoint.values())
    minimum = minimum_requests(args.items)
    floor = sum(minimum.values())
    v = scan.volumes
    print(f"scan {scan.pk}: {v['items']} items, {v['revisions']} revisions, {v['comments']} comments, "
          f"{v['links']} links, {v['attachments']} attachments ({v['attachment_bytes']} bytes), "
          f"{v['inline_images']} inline images, {v.get('people', 0)} people; {steps} steps in {wall:.1f} s")
    print(f"requests served: {total} {dict(sorted(by_endpoint.items()))}")
    print(f"requests the scan counted itself: {scan.requests_made} (the project check at creation is not among them)")
    print(f"minimum: {floor} {minimum}")
    print(json.dumps({"items": args.items, "wall_s": round(wall, 2), "requests": total,
                      "requests_per_item": round(total / args.items, 4), "minimum_requests": floor,
                      "request_ratio": round(total / floor, 3), "steps": steps}))
    return 0 if v["items"] == args.items else 1


def _warm_up(base: str, workers: int) -> None:
    """Load the application in every server process before counting: a cold process can take longer than
    the connection test's short timeout on a busy machine, and its retry is not the scan's doing."""
    import httpx

    with httpx.Client(timeout=120, auth=("", PAT)) as client:
        for _ in range(max(2, workers * 2)):
            client.get(f"{base}/_apis/projects", params={"api-version": "7.1"})


def _free_port() -> int:
    for port in PORT_RANGE:
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise SystemExit("No free port in 8700-8799.")


if __name__ == "__main__":
    sys.exit(main())
