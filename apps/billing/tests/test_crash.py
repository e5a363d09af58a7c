"""The engine's crash drill, with billing on: a live run in a real worker process, SIGKILLed at random
moments and restarted. The worker sends meter events to a local stand-in of Stripe's meter event endpoint
(on 127.0.0.1, keeping one event per identifier as Stripe does). Afterwards the events Stripe holds add up to
exactly the items the run's verification counts as migrated."""

import json
import random
import threading
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import parse_qs

import pytest
from django.conf import settings

from apps.billing.models import UsageReport
from apps.billing.tests.conftest import SECRET_KEY, WEBHOOK_SECRET, LocalServer, recording
from apps.billing.tests.test_usage import CUSTOMER, paid_account
from apps.runs.models import IdMapEntry, Run

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not settings.SANDBOX_ENABLED, reason="the sandbox is off (MIGRAYT_SANDBOX_ENABLED)"),
]
PORT = 9132  # billing's range is 9100-9199


class MeterEventStandIn(LocalServer):
    def __init__(self):
        self.kept: dict[str, int] = {}
        self.posts = 0
        self.lock = threading.Lock()
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):  # noqa: N802
                sent = {k: v[0] for k, v in parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode()).items()}
                with stand_in.lock:
                    stand_in.posts += 1
                    duplicate = sent.get("identifier") in stand_in.kept
                    if self.path == "/v1/invoiceitems" and sent.get("customer") == CUSTOMER:  # the minimum charge
                        status, body = 200, recording("invoice_item_minimum")
                    elif self.path != "/v1/billing/meter_events" or sent.get("payload[stripe_customer_id]") != CUSTOMER:
                        status, body = 400, {"error": {"type": "invalid_request_error", "message": "Unexpected."}}
                    elif duplicate:
                        status, body = 400, {"error": {"type": "invalid_request_error", "code": "duplicate_meter_event",
                                                       "message": "An event already exists with this identifier."}}
                    else:
                        stand_in.kept[sent["identifier"]] = int(sent["payload[value]"])
                        status, body = 200, dict(recording("meter_event"), identifier=sent["identifier"])
                raw = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

        self.serve(Handler, PORT)


def test_meter_events_add_up_to_the_verified_items_through_worker_crashes(live_server, organisation, member,
                                                                           settings):
    from apps.runs import services as runs
    from apps.runs.testing import TYPE_LEVELS, KillableWorker, crash_drill, sandbox_pair
    from apps.sandbox.services import site_controls_update

    settings.STRIPE_SECRET_KEY, settings.STRIPE_WEBHOOK_SECRET = SECRET_KEY, WEBHOOK_SECRET
    paid_account(organisation)
    pair = sandbox_pair(organisation=organisation, actor=member, base_url=live_server.url, items=120, seed=21,
                        slug="billcrash")
    site_controls_update(site=pair.jira_site, controls={"latency_ms": 40})
    env = {"STRIPE_SECRET_KEY": SECRET_KEY, "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
           "MIGRAYT_STRIPE_API_BASE": f"http://127.0.0.1:{PORT}", "MIGRAYT_RUNS_SLICE_SECONDS": "3"}
    with MeterEventStandIn() as stripe_stand_in:
        run = runs.run_create(organisation=organisation, actor=member, kind="live", plan=pair.plan,
                              source_connection=pair.source, destination_connection=pair.destination,
                              type_levels=TYPE_LEVELS, start=True)
        worker = KillableWorker(log_path=Path(settings.VAR_DIR) / "log" / "billing-crash-worker.log", extra_env=env)
        outcome = crash_drill(run=run, worker=worker, kills=3, rng=random.Random(17), timeout=420, min_gap=1.0,
                              max_gap=4.0)
        assert outcome["state"] == Run.State.FINISHED, outcome
        # The last meter events leave after the run's last commit: give the worker a moment to send them.
        worker.start()
        try:
            deadline = time.monotonic() + 90
            while UsageReport.unscoped.exclude(status="sent").exists() and time.monotonic() < deadline:
                time.sleep(0.5)
        finally:
            worker.stop()
        run.refresh_from_db()
        verified = run.stats["verify"]["created"]
        # Whether the destination holds each item exactly once is the engine's own crash test; billing follows
        # what the run's verification counts (its id map), whatever happened at the destination.
        assert verified == IdMapEntry.unscoped.filter(run=run, phase="items").count() > 0
        assert list(UsageReport.unscoped.exclude(status="sent").values_list("identifier", "status")) == []
        assert sum(stripe_stand_in.kept.values()) == verified, (stripe_stand_in.kept, outcome)
        assert sum(UsageReport.unscoped.filter(usage__run=run).values_list("quantity", flat=True)) == verified
        assert outcome["kills"] >= 1, outcome
