"""What the round-trip report costs: a seeded Azure DevOps project migrated into Jira and back (two live runs in
this process, comments, files and history included), then the report timed on its own.

    python bench/roundtrip.py --items 100 [--latency-ms 20] [--database-url ...]

Runs on its own from a checkout (a temporary state folder and database; the sandboxes served by gunicorn on
127.0.0.1, MIGRAYT_BENCH_PORT for a port of one's own). Last line: one JSON object with items, the two runs'
seconds, report_s, items_per_s, the requests the report sent per item, and its summary.
"""

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from apps.runs import bench  # noqa: E402


def main() -> int:
    return bench.script_main(__doc__, run, items=100, latency_ms=20)


def _finish(run) -> float:
    started = time.monotonic()
    bench.step_until(run, lambda r: False)
    run.refresh_from_db()
    if run.state != "finished":
        raise SystemExit(f"run {run.pk} ended {run.state}: {run.error_message}")
    return round(time.monotonic() - started, 1)


def run(args, port: int) -> int:
    import django

    django.setup()
    from django.db import connections

    from apps.runs import roundtrip, services
    from apps.runs.testing import TYPE_LEVELS, return_leg
    from apps.sandbox.models import SandboxRequest
    from apps.sandbox.services import site_controls_update

    organisation, user, pair = bench.setup_pair(items=args.items, port=port, seed=args.seed, slug="rtbench",
                                                latency_ms=args.latency_ms)
    connections.close_all()
    server = bench.serve(port)
    try:
        run_a = services.run_create(organisation=organisation, actor=user, kind="live", plan=pair.plan,
                                    source_connection=pair.source, destination_connection=pair.destination,
                                    type_levels=TYPE_LEVELS, start=False)
        there_s = _finish(run_a)
        # The way back is mapped once run A made the Jira project (its sprints among the iterations).
        back = return_leg(pair=pair, organisation=organisation, actor=user, base_url=f"http://127.0.0.1:{port}",
                          slug="rtbench-back")
        site_controls_update(site=back.ado_site, controls={"latency_ms": args.latency_ms})
        run_b = services.run_create(organisation=organisation, actor=user, kind="live", plan=back.plan,
                                    source_connection=back.source, destination_connection=back.destination,
                                    start=False)
        back_s = _finish(run_b)
        mark = SandboxRequest.objects.order_by("-id").values_list("id", flat=True).first() or 0
        started = time.monotonic()
        report = roundtrip.round_trip_report(run_a=run_a, run_b=run_b)
        took = time.monotonic() - started
        sent = SandboxRequest.objects.filter(id__gt=mark).count()
        bench.last_line({"items": args.items, "there_s": there_s, "back_s": back_s, "report_s": round(took, 1),
                         "items_per_s": round(args.items / took, 1) if took else None,
                         "requests_per_item": round(sent / args.items, 2), "summary": report["summary"]})
    finally:
        server.terminate()
        server.wait(timeout=30)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
