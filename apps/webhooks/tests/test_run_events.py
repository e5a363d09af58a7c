"""The engine tells webhooks about a real run: a live run from the Azure DevOps sandbox into the Jira Cloud
sandbox emits run.started, run.finished and run.report_ready, each a signed delivery of ids and counts."""

import json

import pytest
from django.conf import settings

from apps.connections.tests.conftest import LocalServer, Reply
from apps.runs import services as runs
from apps.runs.models import Run
from apps.runs.testing import TYPE_LEVELS, drive, sandbox_pair
from apps.webhooks import services
from apps.webhooks.models import WebhookDelivery

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not settings.SANDBOX_ENABLED, reason="the sandbox is off (MIGRAYT_SANDBOX_ENABLED)"),
]


def test_a_live_run_emits_started_finished_and_report_ready(live_server, organisation, member, monkeypatch):
    queued = []
    monkeypatch.setattr(services, "_enqueue", lambda delivery_id, countdown: queued.append(delivery_id))
    receiver = LocalServer()
    receiver.routes["/hook"] = [Reply(status=200)]
    try:
        _, secret = services.webhook_endpoint_create(organisation=organisation, actor=member, url=receiver.url("/hook"),
                                                     events=["run.started", "run.finished", "run.report_ready",
                                                             "run.failed"])
        pair = sandbox_pair(organisation=organisation, actor=member, base_url=live_server.url, items=8, seed=3)
        run = runs.run_create(organisation=organisation, actor=member, kind="live", plan=pair.plan,
                              source_connection=pair.source, destination_connection=pair.destination,
                              type_levels=TYPE_LEVELS, start=False)
        drive(run)
        run.refresh_from_db()
        assert run.state == Run.State.FINISHED, (run.error_code, run.error_message)
        deliveries = list(WebhookDelivery.objects.for_organisation(organisation).order_by("id"))
        assert [d.event for d in deliveries] == ["run.started", "run.finished", "run.report_ready"]
        for delivery_id in queued:
            assert services.webhook_delivery_attempt(delivery_id=delivery_id) == "delivered"
        finished = json.loads(receiver.seen[1].body)
        assert finished["type"] == "run.finished"
        assert finished["data"]["run_id"] == run.pk and finished["data"]["items"] == {"created": 8}
        for seen in receiver.seen:
            headers = {k.lower(): v for k, v in seen.headers.items()}
            assert services.webhook_signature_verify(secret=secret, header=headers["x-migrayt-signature"], body=seen.body)
            assert b"Fabrikam" not in seen.body and b"title" not in seen.body.lower()
    finally:
        receiver.close()
