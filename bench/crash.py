"""Exactly once under crashes: a live run whose worker is killed with SIGKILL at random moments.

    python bench/crash.py --items 5000 --kills 20 [--seed 1] [--database-url ...]

Runs on its own from a checkout: a temporary deployment (state folder, database, the sandboxes served by
gunicorn on 127.0.0.1), an N-item Azure DevOps sandbox project, an empty Jira Cloud project, a real Celery
worker in its own process group. While the run is going it SIGKILLs the whole group K times at random
moments and starts a new worker each time; then it waits for the run to finish and compares the Jira
sandbox's own tables with the source. Last line: one JSON object with items, kills, duplicates, missing,
wrong_parent, wrong_links (all four must be 0).
"""

import argparse
import random
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from apps.runs import bench  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=5000)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument("--min-gap", type=float, default=2.0, help="shortest wait between kills (s)")
    parser.add_argument("--max-gap", type=float, default=12.0, help="longest wait between kills (s)")
    parser.add_argument("--database-url", default=None, help="e.g. postgres://postgres@127.0.0.1:5432/mig_bench")
    parser.add_argument("--broker-url", default=None, help="e.g. redis://127.0.0.1:6379/10 (default: a filesystem broker)")
    parser.add_argument("--timeout", type=float, default=5400)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    if args.items < 1 or args.kills < 0:
        parser.error("--items must be 1 or more and --kills 0 or more")
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
    from apps.runs.testing import TYPE_LEVELS, KillableWorker, crash_drill, migration_check
    from apps.sandbox.services import site_controls_update

    organisation, user, pair = bench.setup_pair(items=args.items, port=port, seed=args.seed, slug="crash")
    site_controls_update(site=pair.jira_site, controls={"latency_ms": args.latency_ms})
    connections.close_all()
    server = bench.serve(port)
    try:
        run = services.run_create(organisation=organisation, actor=user, kind="live", plan=pair.plan,
                                  source_connection=pair.source, destination_connection=pair.destination,
                                  type_levels=TYPE_LEVELS)
        worker = KillableWorker(log_path=Path(settings.VAR_DIR) / "log" / "crash-worker.log",
                                extra_env={"MIGRAYT_RUNS_SLICE_SECONDS": "5", "MIGRAYT_LOG_LEVEL": "WARNING",
                                           "MIGRAYT_RUNS_RECONCILE_AFTER_SECONDS": "35"})
        outcome = crash_drill(run=run, worker=worker, kills=args.kills, rng=random.Random(args.seed),
                              timeout=args.timeout, min_gap=args.min_gap, max_gap=args.max_gap)
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(f"run {outcome['state']} after {outcome['wall_s']} s and {outcome['kills']} kills {outcome['error']}",
          flush=True)
    print(f"run stats: {run.stats.get('verify')}", flush=True)
    verdict = migration_check(ado_site=pair.ado_site, jira_site=pair.jira_site)
    figures = {"items": verdict["items"], "kills": outcome["kills"], "duplicates": verdict["duplicates"],
               "missing": verdict["missing"], "wrong_parent": verdict["wrong_parent"],
               "wrong_links": verdict["wrong_links"], "state": outcome["state"], "wall_s": outcome["wall_s"]}
    bench.last_line(figures)
    ok = outcome["state"] == "finished" and not any(figures[k] for k in ("duplicates", "missing", "wrong_parent",
                                                                         "wrong_links"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
