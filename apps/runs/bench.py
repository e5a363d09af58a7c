"""What bench/run.py and bench/crash.py share: a throw-away deployment (temporary state folder and
database, the sandboxes served by gunicorn on 127.0.0.1, a real Celery worker), a seeded Azure DevOps
project and an empty Jira Cloud project, and the figures."""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def prepare(*, database_url: str | None, broker_url: str | None = None) -> tuple[Path, int]:
    """Environment for a temporary deployment; call before django.setup()."""
    state = Path(tempfile.mkdtemp(prefix="migrayt-bench-runs-"))
    port = int(os.environ.get("MIGRAYT_BENCH_PORT") or 0) or free_port()  # a port range of one's own
    os.environ["MIGRAYT_VAR_DIR"] = str(state)
    os.environ["MIGRAYT_SANDBOX_ENABLED"] = "true"
    os.environ.setdefault("MIGRAYT_ENV", "development")
    os.environ["DJANGO_DEBUG"] = "false"
    os.environ["MIGRAYT_LOG_LEVEL"] = "WARNING"
    os.environ["MIGRAYT_SITE_URL"] = f"http://127.0.0.1:{port}"
    os.environ.pop("CELERY_BROKER_URL", None)
    os.environ.pop("DATABASE_URL", None)
    if database_url:
        os.environ["DATABASE_URL"] = database_url
    if broker_url:
        os.environ["CELERY_BROKER_URL"] = broker_url
    os.environ["DJANGO_SETTINGS_MODULE"] = "migrayt.settings"
    sys.path.insert(0, str(ROOT))
    return state, port


def serve(port: int, *, workers: int = 2):
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and fixed arguments
        [sys.executable, "-m", "gunicorn", "migrayt.wsgi:application", "--bind", f"127.0.0.1:{port}",
         "--workers", str(workers), "--threads", "4", "--log-level", "warning", "--timeout", "120"],
        cwd=ROOT, env=os.environ.copy(), start_new_session=True)
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise SystemExit("gunicorn did not start") from None
            time.sleep(0.2)


class RssWatch:
    """Peak resident memory of a process group (the worker and its pool children), sampled every 0.2 s."""

    def __init__(self):
        self.pgid = None
        self.peak_kb = 0
        self.peak_at = None  # when the peak was sampled (UTC), to name the phase it came in
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self):
        while not self._stop.wait(0.2):
            if self.pgid:
                rss = self._group_rss_kb(self.pgid)
                if rss > self.peak_kb:
                    self.peak_kb, self.peak_at = rss, datetime.now(UTC)

    @staticmethod
    def _group_rss_kb(pgid: int) -> int:
        total = 0
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                if os.getpgid(int(entry)) != pgid:
                    continue
                with open(f"/proc/{entry}/status") as status:
                    for line in status:
                        if line.startswith("VmRSS:"):
                            total += int(line.split()[1])
            except (OSError, ValueError):
                continue
        return total

    def stop(self):
        self._stop.set()


def setup_pair(*, items: int, port: int, seed: int, slug: str, sprints: bool = True, direction: str = "ado-jira",
               latency_ms: int | None = None):
    from django.core.management import call_command

    from apps.accounts.models import Membership, Organisation, User
    from apps.runs.testing import sandbox_pair

    call_command("migrate", verbosity=0, interactive=False)
    organisation = Organisation.objects.create(name="Bench", slug="bench")
    user = User.objects.create_user(email="bench@migrayt.local", password="bench-password-2026")  # noqa: S106
    Membership.objects.create(organisation=organisation, user=user, role=Membership.Role.OWNER)
    started = time.monotonic()
    if direction == "jira-ado":
        from apps.runs.testing import jira_sandbox_pair

        pair = jira_sandbox_pair(organisation=organisation, actor=user, base_url=f"http://127.0.0.1:{port}",
                                 items=items, seed=seed, slug=slug)
    else:
        pair = sandbox_pair(organisation=organisation, actor=user, base_url=f"http://127.0.0.1:{port}", items=items,
                            seed=seed, slug=slug, sprints=sprints)
    print(f"seeded {items} items in {time.monotonic() - started:.1f} s", flush=True)
    if latency_ms is not None:  # both sandboxes answer that much later, as a vendor far away does
        from apps.sandbox.services import site_controls_update

        for site in (pair.jira_site, pair.ado_site):
            site_controls_update(site=site, controls={"latency_ms": latency_ms})
    return organisation, user, pair


def script_main(doc: str, run, *, items: int, latency_ms: int, more=None) -> int:
    """The command line bench scripts share (--items, --latency-ms, --seed, --database-url, --keep, and what
    `more(parser)` adds): a temporary deployment prepared, `run(args, port)`, then cleaned up."""
    import argparse
    import signal

    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--items", type=int, default=items)
    parser.add_argument("--latency-ms", type=int, default=latency_ms)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--keep", action="store_true")
    if more:
        more(parser)
    args = parser.parse_args()
    if args.items < 1:
        parser.error("--items must be positive")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    state, port = prepare(database_url=args.database_url)
    try:
        return run(args, port)
    finally:
        cleanup(state, args.keep)


def step_until(run, done) -> None:
    """Run the run's steps in this process, one after another, until `done(run)` or the run stops."""
    from unittest import mock

    from apps.runs import services

    with mock.patch.object(services, "run_enqueue", lambda run, countdown=0: None):
        for _ in range(20000):
            run.refresh_from_db()
            if done(run) or not run.is_active:
                return
            services.run_step_execute(run_id=run.pk, step=run.step)
    raise SystemExit("the run did not get there")


def cleanup(state: Path, keep: bool) -> None:
    if not keep:
        shutil.rmtree(state, ignore_errors=True)


def last_line(figures: dict) -> None:
    print(json.dumps(figures), flush=True)


def phase_at(run, moment) -> str:
    """The phase a run was in at `moment`: that of its last throughput sample before it."""
    if moment is None:
        return ""
    sample = run.samples.filter(at__lte=moment).order_by("-at").values_list("phase", flat=True).first()
    return sample or "plan"


def phase_seconds(run) -> dict:
    """How long each phase took, from the run's throughput samples."""
    spans: dict[str, list] = {}
    for phase, at in run.samples.order_by("at").values_list("phase", "at"):
        spans.setdefault(phase, [at, at])[1] = at
    return {phase: round((end - start).total_seconds(), 1) for phase, (start, end) in spans.items()}


def big_attachment(pair, *, megabytes: int) -> None:
    """One file of `megabytes` MB attached to the first item of the Azure DevOps project, and a Jira site
    that takes it: what `--big-attachment-mb` moves while the worker's memory is watched."""
    import uuid

    from apps.sandbox.ado.models import AdoAttachment, AdoWorkItem

    size = megabytes * 1024 * 1024
    attachment = AdoAttachment.objects.create(site=pair.ado_site, guid=uuid.uuid4(), file_name="big.bin",
                                              content=os.urandom(1024 * 1024) * megabytes, size=size)
    item = AdoWorkItem.objects.filter(site=pair.ado_site, is_deleted=False).order_by("item_id").first()
    item.relations = [*item.relations, {"rel": "AttachedFile", "attachment_guid": str(attachment.guid),
                                        "attributes": {"name": "big.bin", "resourceSize": size, "comment": ""}}]
    item.save(update_fields=["relations"])
    pair.jira_site.options = {**(pair.jira_site.options or {}), "attachment_max_bytes": size + 1024 * 1024}
    pair.jira_site.save(update_fields=["options"])
    print(f"attached a {megabytes} MB file to item {item.item_id}", flush=True)


def _counted(kind, **sites) -> dict[str, int]:
    counts: dict[str, int] = {}
    for site, queryset in sites.items():
        for method, path in queryset.values_list("method", "path"):
            key = kind(site, method, path)
            counts[key] = counts.get(key, 0) + 1
    return dict(sorted(counts.items()))


def requests_by_kind(jira, ado) -> dict[str, int]:
    """The sandboxes' request logs sorted into what a run does: creates, comments, attachments ..."""
    def kind(site: str, method: str, path: str) -> str:
        if site == "ado":
            if "/comments" in path:
                return "ado_comments"
            if path.endswith("/updates"):
                return "ado_history"
            if "/_apis/wit/attachments" in path:
                return "ado_attachment_download"
            return "ado_items"
        if method == "POST" and path.endswith("/comment"):
            return "jira_comment"
        if method == "POST" and path.endswith("/attachments"):
            return "jira_attachment"
        if method == "PUT" and "/issue/" in path and path.rstrip("/").rsplit("/", 1)[-1].isdigit():
            return "jira_description"
        if path.endswith("/issue/bulk"):
            return "jira_create"
        if "/transitions" in path:
            return "jira_transition"
        if "issueLink" in path or "remotelink" in path:
            return "jira_links"
        return "jira_other_" + method.lower()

    return _counted(kind, ado=ado, jira=jira)


def requests_by_kind_to_ado(ado, jira) -> dict[str, int]:
    """The same the other way round (Jira the source, Azure DevOps the destination). A PATCH of a work item
    is a history revision, a state, a parent, a link or a file attached: the request log does not tell them
    apart, so they are one kind."""
    def kind(site: str, method: str, path: str) -> str:
        if site == "jira":
            for part in ("changelog", "worklog", "comment", "attachment", "bulkfetch", "search"):
                if part in path:
                    return f"jira_{part}"
            return "jira_other_" + method.lower()
        if path.endswith("/_apis/wit/$batch"):
            return "ado_create"
        if "/_apis/wit/attachments" in path:
            return "ado_upload" if method == "POST" else "ado_attachment_read"
        if "/classificationnodes" in path:
            return "ado_nodes"
        if path.endswith("/workitemsbatch"):
            return "ado_read_back"
        if path.endswith("/wiql"):
            return "ado_wiql"
        if "/_apis/wit/workitems/" in path.lower():
            return {"PATCH": "ado_item_update", "GET": "ado_item_read"}.get(method, "ado_item_" + method.lower())
        return "ado_other_" + method.lower()

    return _counted(kind, ado=ado, jira=jira)
