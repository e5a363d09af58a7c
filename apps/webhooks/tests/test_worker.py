"""Deliveries through a real Celery worker process: emitted in a transaction, sent after commit by the
`webhooks.delivery_attempt` task, which schedules its own retry after a 503 (30 s later: not waited for here;
the retry sequence itself is covered in test_webhooks.py)."""

import pytest

from apps.connections.tests.conftest import LocalServer, Reply
from apps.core.testing.worker import celery_worker_process, wait_for
from apps.webhooks import services
from apps.webhooks.models import WebhookDelivery

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def test_a_worker_delivers_and_schedules_a_retry(organisation, member):
    receiver = LocalServer()
    receiver.routes["/hook"] = [Reply(status=200)]
    receiver.routes["/flaky"] = [Reply(status=503), Reply(status=200)]
    try:
        _, secret = services.webhook_endpoint_create(organisation=organisation, actor=member,
                                                     url=receiver.url("/hook"), events=["run.finished"])
        services.webhook_endpoint_create(organisation=organisation, actor=member, url=receiver.url("/flaky"),
                                         events=["run.finished"])
        with celery_worker_process():
            deliveries = services.webhook_event_emit(organisation=organisation, event="run.finished",
                                                     payload={"run_id": 5})
            assert len(deliveries) == 2
            wait_for(lambda: receiver.hits("/hook") == 1, timeout=60, what="the first delivery")
            steady = WebhookDelivery.objects.for_organisation(organisation).get(endpoint__url=receiver.url("/hook"))
            wait_for(lambda: WebhookDelivery.unscoped.get(pk=steady.pk).state == "delivered", what="delivered state")
            flaky = WebhookDelivery.objects.for_organisation(organisation).get(endpoint__url=receiver.url("/flaky"))
            wait_for(lambda: WebhookDelivery.unscoped.get(pk=flaky.pk).state == "retrying", what="a retry scheduled")
            flaky = WebhookDelivery.unscoped.get(pk=flaky.pk)
            assert flaky.last_status_code == 503 and flaky.attempts == 1
        seen = [s for s in receiver.seen if s.path == "/hook"][0]
        headers = {k.lower(): v for k, v in seen.headers.items()}
        assert services.webhook_signature_verify(secret=secret, header=headers["x-migrayt-signature"], body=seen.body)
    finally:
        receiver.close()
