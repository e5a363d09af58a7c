"""What the verification phase costs: a live run in this process up to its verify phase, then the verify phase
timed on its own.

    python bench/verify.py --items 300 [--latency-ms 50] [--content] [--database-url ...]

Runs on its own from a checkout (a temporary state folder and database; the Azure DevOps and Jira Cloud
sandboxes served by gunicorn on 127.0.0.1, MIGRAYT_BENCH_PORT for a port of one's own). Last line: one JSON
object with items, verify_s, items_per_s, the requests the verification sent to Jira and to Azure DevOps
per item, and the report's summary (a clean run: no unexplained difference).
"""

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from apps.runs import bench  # noqa: E402


def main() -> int:
    return bench.script_main(__doc__, run, items=300, latency_ms=50, more=lambda parser: parser.add_argument(
        "--content", action="store_true", help="carry comments, attachments and history too"))


def run(args, port: int) -> int:
    import django

    django.setup()
    from dataclasses import replace

    from django.db import connections

    from apps.runs import services
    from apps.runs.testing import TYPE_LEVELS
    from apps.sandbox.models import SandboxRequest

    organisation, user, pair = bench.setup_pair(items=args.items, port=port, seed=args.seed, slug="vbench",
                                                latency_ms=args.latency_ms)
    if not args.content:
        pair.plan = replace(pair.plan, comments=False, attachments=False, history=False)
    connections.close_all()
    server = bench.serve(port)
    try:
        run = services.run_create(organisation=organisation, actor=user, kind="live", plan=pair.plan,
                                  source_connection=pair.source, destination_connection=pair.destination,
                                  type_levels=TYPE_LEVELS, start=False)
        bench.step_until(run, lambda r: r.phase == "verify")
        mark = SandboxRequest.objects.order_by("-id").values_list("id", flat=True).first() or 0
        started = time.monotonic()
        bench.step_until(run, lambda r: r.phase != "verify")
        took = time.monotonic() - started
        run.refresh_from_db()
        sent = SandboxRequest.objects.filter(id__gt=mark)
        jira, ado = sent.filter(site=pair.jira_site).count(), sent.filter(site=pair.ado_site).count()
        summary = (run.stats or {}).get("verification") or {}
        bench.last_line({"items": args.items, "content": args.content, "state": run.state,
                         "verify_s": round(took, 1), "items_per_s": round(args.items / took, 1) if took else None,
                         "jira_requests": jira, "ado_requests": ado,
                         "requests_per_item": round((jira + ado) / args.items, 3),
                         "summary": {k: v for k, v in summary.items() if k != "by_check"},
                         "by_check": summary.get("by_check", {})})
    finally:
        server.terminate()
        server.wait(timeout=30)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
