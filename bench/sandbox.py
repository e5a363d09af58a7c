"""How fast the sandbox seeds a project and serves a migration's reads.

    python bench/sandbox.py --kind ado --items 10000 [--requests 2000] [--concurrency 8] [--port 0]

Runs on its own from a checkout with the requirements installed: it makes a temporary state folder (its
own SQLite database, unless --database-url is given), migrates, seeds an N-item project through the
vendor's seeder (`--kind jira` dispatches to the Jira seeder through the same registry), then serves the
vendor's typical read requests (its `bench_plan`) through a real HTTP server on 127.0.0.1 from several
client threads, and times them. Last line: one JSON object with kind, items, seed_s and requests_per_s.
"""

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

KINDS = {"ado": "ado", "jira": "jira_cloud", "jira_cloud": "jira_cloud", "jira_dc": "jira_dc"}


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, *args):
        pass


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kind", choices=sorted(KINDS), default="ado")
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--server", choices=["gunicorn", "wsgiref"], default="gunicorn",
                        help="gunicorn with --workers processes (as deployed), or one threaded wsgiref process")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--no-log", action="store_true", help="switch the request log off (one write less per request)")
    parser.add_argument("--database-url", default=None, help="e.g. postgres://postgres@127.0.0.1:5432/mig_bench")
    parser.add_argument("--keep", action="store_true", help="keep the temporary state folder")
    args = parser.parse_args()
    if args.items < 1 or args.requests < 1 or args.concurrency < 1:
        parser.error("--items, --requests and --concurrency must be 1 or more")

    state = Path(tempfile.mkdtemp(prefix="migrayt-bench-sandbox-"))
    os.environ["MIGRAYT_VAR_DIR"] = str(state)
    os.environ["MIGRAYT_SANDBOX_ENABLED"] = "true"
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
    import httpx
    from django.core.management import call_command
    from django.core.wsgi import get_wsgi_application

    from apps.sandbox import selectors, services
    from apps.sandbox.machinery import adapter_for_kind

    kind = KINDS[args.kind]
    started = time.monotonic()
    call_command("migrate", verbosity=0, interactive=False)
    print(f"state folder {state} (migrated in {time.monotonic() - started:.1f} s)")

    adapter = adapter_for_kind(kind)
    site = services.site_create(kind=kind, slug="bench")
    started = time.monotonic()
    summary = services.site_seed(site=site, items=args.items, seed=args.seed)
    seed_s = time.monotonic() - started
    print(f"seeded {args.items} items in {seed_s:.1f} s: {summary}")

    _, secret = services.token_create(site=site, name="bench", scopes=list(getattr(adapter, "full_scopes", ())),
                                      principal=getattr(adapter, "default_principal", lambda s: {})(site))
    if args.no_log:
        services.site_controls_update(site=site, controls={"log_requests": False})
    headers, plan = adapter.bench_plan(site, secret, seed=args.seed)

    from django.db import connections

    connections.close_all()  # the server processes open their own
    stop = _serve(args, get_wsgi_application)
    base = f"http://127.0.0.1:{stop.port}/sandbox/"
    print(f"serving on {base} ({args.server}{f', {args.workers} workers' if args.server == 'gunicorn' else ''})")

    timings: dict[str, list[float]] = {}
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    local = threading.local()

    def one(index: int):
        client = getattr(local, "client", None)
        if client is None:
            client = local.client = httpx.Client(headers=headers, timeout=60)
        method, path, body = plan[index % len(plan)]
        begin = time.monotonic()
        response = client.request(method, base + path, json=body)
        elapsed = time.monotonic() - begin
        name = path.split("?")[0].rsplit("/_apis/", 1)[-1]
        name = "/".join("{id}" if part.isdigit() else part for part in name.split("/"))
        with lock:
            timings.setdefault(f"{method} {name}", []).append(elapsed)
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

    for index in range(min(20, args.requests)):  # warm up the server and the caches
        one(index)
    timings.clear()
    statuses.clear()
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=args.concurrency) as pool:
        list(pool.map(one, range(args.requests)))
    wall = time.monotonic() - started
    stop()

    requests_per_s = args.requests / wall
    print(f"{args.requests} requests from {args.concurrency} threads in {wall:.1f} s: {requests_per_s:.0f} requests/s; statuses {statuses}")
    for name, values in sorted(timings.items()):
        values.sort()
        p95 = values[min(len(values) - 1, int(len(values) * 0.95))]
        print(f"  {name:45s} n={len(values):5d}  median {statistics.median(values) * 1000:7.1f} ms  p95 {p95 * 1000:7.1f} ms")
    log = selectors.request_log_summary(site=site)
    print(f"request log: {log['totals']}")
    errors = sum(n for status, n in statuses.items() if status >= 400)
    print(json.dumps({"kind": args.kind, "items": args.items, "seed_s": round(seed_s, 2),
                      "requests_per_s": round(requests_per_s, 1), "requests": args.requests, "errors": errors}))
    return 1 if errors else 0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _serve(args, get_wsgi_application):
    """Start the server; returns a callable that stops it, with the port as `.port`."""
    port = args.port or _free_port()
    if args.server == "wsgiref":
        server = make_server("127.0.0.1", port, get_wsgi_application(), server_class=_ThreadingServer,
                             handler_class=_QuietHandler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        stop = server.shutdown
    else:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "migrayt.wsgi:application", "--bind", f"127.0.0.1:{port}",
             "--workers", str(args.workers), "--log-level", "warning"], cwd=ROOT, env=os.environ.copy())
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    process.kill()
                    raise SystemExit("gunicorn did not start") from None
                time.sleep(0.2)

        def stop():
            process.terminate()
            process.wait(timeout=30)

    class Stop:
        def __call__(self):
            stop()

    handle = Stop()
    handle.port = port
    return handle


if __name__ == "__main__":
    sys.exit(main())
