"""The production broker: a real Celery worker process consuming from Amazon SQS (moto on 127.0.0.1)."""

import json
import os
import subprocess
import sys

import pytest
from cryptography.fernet import Fernet
from django.conf import settings

from apps.core.models import WorkerHeartbeat, WorkerProbe
from apps.core.testing.aws import sqs_broker, sqs_send_task
from apps.core.testing.worker import celery_worker_process, wait_for


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_task_goes_through_sqs_to_a_real_worker_and_is_deleted_once_done():
    probe = WorkerProbe.objects.create()
    with sqs_broker() as broker:
        # Enqueued before any worker exists: the message must be waiting in SQS itself.
        sqs_send_task(broker, "core.worker_probe_answer", args=[probe.pk])
        assert broker.counts() == (1, 0)

        with celery_worker_process(extra_env=broker.env):
            answered = wait_for(
                lambda: WorkerProbe.objects.filter(pk=probe.pk, answered_at__isnull=False).first(),
                timeout=90,
                what="a worker on SQS to answer the probe",
            )
            assert answered.answered_by.startswith("test-worker@")
            # Acknowledged late, after the task ran: the message is gone, not merely hidden.
            wait_for(lambda: broker.counts() == (0, 0), timeout=30, what="the message to be deleted from SQS")
            assert WorkerHeartbeat.objects.exists()
        assert broker.counts(broker.dead_letter_queue_url) == (0, 0)


def _settings_with(env: dict) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "MIGRAYT_", "CELERY_", "AWS_"))}
    clean |= {"DJANGO_SETTINGS_MODULE": "migrayt.settings", "MIGRAYT_VAR_DIR": str(settings.VAR_DIR)} | env
    code = (
        "import django, json; django.setup(); from django.conf import settings as s; "
        "print(json.dumps({'options': s.CELERY_BROKER_TRANSPORT_OPTIONS, "
        "'remote': s.CELERY_WORKER_ENABLE_REMOTE_CONTROL, 'prefetch': s.CELERY_WORKER_PREFETCH_MULTIPLIER}))"
    )
    return subprocess.run(
        [sys.executable, "-c", code], cwd=settings.BASE_DIR, env=clean, capture_output=True, text=True, timeout=60
    )


SQS_ENV = {
    "CELERY_BROKER_URL": "sqs://",
    "AWS_REGION": "eu-west-1",
    "MIGRAYT_SQS_QUEUE_URL": "https://sqs.eu-west-1.amazonaws.com/123456789012/migrayt-production",
}


def test_sqs_settings_use_the_predefined_queue_with_a_visibility_timeout_longer_than_any_task():
    result = _settings_with(SQS_ENV | {"CELERY_TASK_TIME_LIMIT": "600", "CELERY_TASK_SOFT_TIME_LIMIT": "540"})
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    options = loaded["options"]
    assert options["predefined_queues"] == {"migrayt": {"url": SQS_ENV["MIGRAYT_SQS_QUEUE_URL"]}}
    assert options["region"] == "eu-west-1"
    assert options["visibility_timeout"] == 660
    assert options["is_secure"] is True
    assert loaded["remote"] is False
    assert loaded["prefetch"] == 1


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"CELERY_BROKER_URL": "sqs://", "MIGRAYT_SQS_QUEUE_URL": SQS_ENV["MIGRAYT_SQS_QUEUE_URL"]}, "MIGRAYT_SQS_REGION"),
        ({"CELERY_BROKER_URL": "sqs://", "AWS_REGION": "eu-west-1"}, "MIGRAYT_SQS_QUEUE_URL"),
        (SQS_ENV | {"MIGRAYT_SQS_QUEUE_URL": "ftp://queue"}, "MIGRAYT_SQS_QUEUE_URL"),
        (SQS_ENV | {"MIGRAYT_SQS_VISIBILITY_TIMEOUT": "300"}, "MIGRAYT_SQS_VISIBILITY_TIMEOUT"),
        (SQS_ENV | {"MIGRAYT_SQS_VISIBILITY_TIMEOUT": "soon"}, "MIGRAYT_SQS_VISIBILITY_TIMEOUT"),
        (SQS_ENV | {"CELERY_TASK_SOFT_TIME_LIMIT": "300"}, "CELERY_TASK_SOFT_TIME_LIMIT"),
        (
            SQS_ENV
            | {
                "MIGRAYT_ENV": "production",
                "DJANGO_SECRET_KEY": "k" * 60,
                "DJANGO_ALLOWED_HOSTS": "migrayt.example.com",
                "MIGRAYT_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
                "MIGRAYT_SQS_IS_SECURE": "false",
            },
            "MIGRAYT_SQS_IS_SECURE",
        ),
        ({"MIGRAYT_S3_BUCKET": "staged"}, "MIGRAYT_S3_REGION"),
        ({"MIGRAYT_LOG_FORMAT": "xml"}, "MIGRAYT_LOG_FORMAT"),
    ],
)
def test_a_bad_aws_configuration_stops_start_up_naming_the_variable(env, named):
    result = _settings_with(env)
    assert result.returncode != 0
    assert named in result.stderr
