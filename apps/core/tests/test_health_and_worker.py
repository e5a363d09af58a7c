import pytest
from django.conf import settings

from apps.core.models import WorkerHeartbeat, WorkerProbe
from apps.core.tasks import worker_probe_answer_task
from apps.core.testing.worker import celery_worker_process, wait_for


@pytest.mark.django_db
def test_healthz_reports_database_and_broker_and_no_worker(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["database"]["ok"] is True
    assert body["broker"]["ok"] is True
    assert body["worker"] == {"ok": False, "last_seen_at": None}


@pytest.mark.django_db
def test_healthz_fails_when_the_broker_is_unreachable(client, monkeypatch):
    from kombu import Connection

    from migrayt.celery import app

    # Nothing listens on port 1: the broker check must fail and say so.
    monkeypatch.setattr(app, "connection_for_write", lambda: Connection("redis://127.0.0.1:1/0"))
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["broker"]["ok"] is False


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_round_trip_through_a_real_worker_process(client):
    """Web side enqueues, a separate worker process answers, through whatever broker is configured
    (the filesystem transport by default, Redis in CI)."""
    probe = WorkerProbe.objects.create()
    with celery_worker_process():
        worker_probe_answer_task.delay(probe.pk)
        answered = wait_for(
            lambda: WorkerProbe.objects.filter(pk=probe.pk, answered_at__isnull=False).first(),
            timeout=90,
            what=f"a worker on {settings.CELERY_BROKER_URL.split(':')[0]} to answer",
        )
        assert answered.answered_by.startswith("test-worker@")
        wait_for(lambda: WorkerHeartbeat.objects.exists(), timeout=30, what="a worker heartbeat")
        body = client.get("/healthz").json()
        assert body["worker"]["ok"] is True
