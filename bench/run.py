"""How fast a live run goes, against the floor the destination's rate limit sets.

    python bench/run.py --items 1000 [--rate 10] [--latency-ms 50] [--parallel 8] [--no-content] [--database-url ...]
    python bench/run.py --direction jira-ado --items 1000 ...   (a seeded Jira Cloud project into Azure DevOps)

Runs on its own from a checkout with the requirements installed: a temporary state folder and database,
an N-item Azure DevOps sandbox project and an empty Jira Cloud sandbox project served by gunicorn on
127.0.0.1 with the given latency and rate limit on the Jira site, a real Celery worker, one live run.

floor_ratio = wall time of the run / floor, where floor = the requests the run sent to Jira divided by the
rate the Jira site allows (requests per second). Last line: one JSON object with items, wall_s,
requests_per_item (Jira and Azure DevOps requests), create_requests_per_item (bulk creates only),
peak_rss_mb (the worker's processes) and floor_ratio.
"""

import argparse
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from apps.runs import bench  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--direction", choices=("ado-jira", "jira-ado"), default="ado-jira",
                        help="jira-ado: the rate limit and the figures are the Azure DevOps destination's")
    parser.add_argument("--rate", type=float, default=10.0, help="requests per second the Jira site allows")
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--parallel", type=int, default=8, help="requests in flight at once")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--database-url", default=None, help="e.g. postgres://postgres@127.0.0.1:5432/mig_bench")
    parser.add_argument("--broker-url", default=None, help="e.g. redis://127.0.0.1:6379/10 (default: a filesystem broker)")
    parser.add_argument("--timeout", type=float, default=3600)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--no-content", action="store_true",
                        help="leave comments, attachments and history out (they are carried by default)")
    parser.add_argument("--big-attachment-mb", type=int, default=0,
                        help="attach one file of this size to the first item and report the worker's peak memory")
    args = parser.parse_args()
    if args.items < 1 or args.rate <= 0 or args.parallel < 1:
        parser.error("--items, --rate and --parallel must be positive")
    if args.big_attachment_mb and args.direction != "ado-jira":
        parser.error("--big-attachment-mb seeds the Azure DevOps source: it is for --direction ado-jira only")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the server and the worker on the way out
    state, port = bench.prepare(database_url=args.database_url, broker_url=args.broker_url)
    try:
        return run(args, port)
    finally:
        bench.cleanup(state, args.keep)


def run(args, port: int) -> int:
    import django

    django.setup()
    from django.conf import settings
    from django.db import connections

    from apps.runs import services
    from apps.runs.models import Run
    from apps.runs.testing import TYPE_LEVELS, KillableWorker
    from apps.sandbox.models import SandboxRequest
    from apps.sandbox.services import site_controls_update

    organisation, user, pair = bench.setup_pair(items=args.items, port=port, seed=args.seed, slug="bench",
                                                direction=args.direction)
    # The destination's site (rate limit, requests counted against the floor) and the source's.
    dest_site, source_site = (pair.ado_site, pair.jira_site) if args.direction == "jira-ado" else (pair.jira_site,
                                                                                                    pair.ado_site)
    create_path = "/_apis/wit/$batch" if args.direction == "jira-ado" else "/issue/bulk"
    if args.no_content:
        from dataclasses import replace

        pair.plan = replace(pair.plan, comments=False, attachments=False, history=False)
    if args.big_attachment_mb:
        bench.big_attachment(pair, megabytes=args.big_attachment_mb)
    window = 10
    site_controls_update(site=dest_site, controls={
        "latency_ms": args.latency_ms, "rate_limit_site": int(args.rate * window), "rate_window_seconds": window})
    site_controls_update(site=source_site, controls={"latency_ms": args.latency_ms})
    connections.close_all()
    server = bench.serve(port)
    watch = bench.RssWatch()
    worker = KillableWorker(log_path=Path(settings.VAR_DIR) / "log" / "bench-worker.log",
                            extra_env={"MIGRAYT_RUNS_PARALLEL_REQUESTS": str(args.parallel),
                                       "MIGRAYT_LOG_LEVEL": "WARNING"}).start()
    watch.pgid = worker.process.pid
    try:
        run = services.run_create(organisation=organisation, actor=user, kind="live", plan=pair.plan,
                                  source_connection=pair.source, destination_connection=pair.destination,
                                  type_levels=TYPE_LEVELS if args.direction == "ado-jira" else {})
        deadline = time.monotonic() + args.timeout
        last = ""
        while time.monotonic() < deadline:
            run.refresh_from_db()
            line = f"{run.state} {run.phase} " + " ".join(
                f"{k}={v.get('done', 0)}/{v.get('total', 0)}" for k, v in run.progress.items() if v.get("total"))
            if line != last:
                print(line, flush=True)
                last = line
            if not run.is_active:
                break
            time.sleep(1)
    finally:
        worker.stop()
        watch.stop()
        server.terminate()
        server.wait(timeout=30)
    if run.state != Run.State.FINISHED:
        print(f"run ended {run.state}: {run.error_message}", flush=True)
        return 1
    wall = (run.finished_at - run.started_at).total_seconds()
    jira = SandboxRequest.objects.filter(site=dest_site)  # the destination's requests (Jira's by default)
    jira_requests = jira.count()
    ado_requests = SandboxRequest.objects.filter(site=source_site).count()
    creates = jira.filter(method="POST", path__endswith=create_path).count()
    throttled = jira.filter(status=429).count()
    floor = jira_requests / args.rate
    by_endpoint = {}
    for method, path in jira.values_list("method", "path"):
        key = method + " " + "/".join("{id}" if p.isdigit() else p for p in path.split("/")[4:])
        by_endpoint[key] = by_endpoint.get(key, 0) + 1
    dest_name, source_name = ("ado", "jira") if args.direction == "jira-ado" else ("jira", "ado")
    print(f"{dest_name} requests {jira_requests} ({throttled} answered 429), {source_name} requests {ado_requests}; "
          f"by endpoint: "
          f"{dict(sorted(by_endpoint.items(), key=lambda kv: -kv[1])[:12])}", flush=True)
    served = sorted(jira.filter(method="POST", path__endswith=create_path, status__in=(200, 201))
                    .values_list("duration_ms", flat=True))
    if served:
        print(f"bulk creates served in {served[len(served) // 2]} ms (median), {served[-1]} ms at most", flush=True)
    print(f"seconds per phase (first to last checkpoint): {bench.phase_seconds(run)}", flush=True)
    print(f"peak memory {watch.peak_kb / 1024:.1f} MB, sampled in the {bench.phase_at(run, watch.peak_at)!r} phase",
          flush=True)
    # (sorted by what an Azure DevOps -> Jira run does; the other direction has the endpoints above)
    if args.big_attachment_mb:
        from apps.sandbox.jira.models import JiraAttachment

        biggest = JiraAttachment.objects.filter(issue__site=pair.jira_site).order_by("-size").values_list(
            "size", flat=True).first()
        print(f"largest file in Jira: {biggest or 0} bytes (sent: {args.big_attachment_mb * 1048576})", flush=True)
    source_requests = SandboxRequest.objects.filter(site=source_site)
    kinds = bench.requests_by_kind(jira, source_requests) if args.direction == "ado-jira" else \
        bench.requests_by_kind_to_ado(jira, source_requests)
    print("requests per item by kind: " + ", ".join(f"{k} {v / args.items:.2f}" for k, v in kinds.items()), flush=True)
    print(f"wall {wall:.1f} s, floor {floor:.1f} s at {args.rate:g} requests/s", flush=True)
    bench.last_line({"items": args.items, "wall_s": round(wall, 1),
                     "requests_per_item": round((jira_requests + ado_requests) / args.items, 3),
                     "create_requests_per_item": round(creates / args.items, 4),
                     "peak_rss_mb": round(watch.peak_kb / 1024, 1), "floor_ratio": round(wall / floor, 3),
                     "big_attachment_mb": args.big_attachment_mb,
                     "per_item_by_kind": {k: round(v / args.items, 3) for k, v in kinds.items()}})
    return 0


if __name__ == "__main__":
    sys.exit(main())
