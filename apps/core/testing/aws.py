"""Amazon SQS and S3 for tests, served by moto on 127.0.0.1: never a real AWS host.

`sqs_broker()` starts moto in server mode (a separate process, because the Celery worker under test is a
separate process too), creates the work queue with a dead-letter queue as Terraform does, and gives the
environment a worker or a producer needs to use it through the production settings' SQS section:

    with sqs_broker() as broker, celery_worker_process(extra_env=broker.env):
        sqs_send_task(broker, "runs.chunk_execute", kwargs={"chunk_id": chunk.pk})
        wait_for(...)

Any task can be run this way: the producer is a separate `python` that loads the settings with the same
environment, so the message goes web -> SQS -> worker exactly as in production.
"""

import json
import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings

# Ports this part of the test suite may use (the engineers' live servers use other ranges).
MOTO_PORTS = range(8300, 8400)
TEST_REGION = "us-east-1"
TEST_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


def free_port(ports=MOTO_PORTS) -> int:
    for port in ports:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"No free port between {ports.start} and {ports.stop - 1} for moto.")


@contextmanager
def moto_server(*, log_path: Path | None = None):
    """Yield the endpoint URL of a moto server on 127.0.0.1, stopped afterwards."""
    port = free_port()
    log_path = log_path or Path(settings.VAR_DIR) / "log" / "test-moto.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ) | TEST_CREDENTIALS | {"AWS_DEFAULT_REGION": TEST_REGION}
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"moto exited with {process.returncode}; see {log_path}.")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"moto did not listen on 127.0.0.1:{port} within 30 s.") from None
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def boto_client(service: str, endpoint: str):
    import boto3

    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=TEST_REGION,
        aws_access_key_id=TEST_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=TEST_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )


@dataclass
class SqsBroker:
    endpoint: str
    queue_url: str
    dead_letter_queue_url: str
    env: dict = field(default_factory=dict)

    def client(self):
        return boto_client("sqs", self.endpoint)

    def counts(self, queue_url: str | None = None) -> tuple[int, int]:
        """(visible, in flight) messages of the work queue, or of `queue_url`."""
        attributes = self.client().get_queue_attributes(
            QueueUrl=queue_url or self.queue_url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]), int(attributes["ApproximateNumberOfMessagesNotVisible"])


@contextmanager
def sqs_broker(*, visibility_timeout: int | None = None, max_receive_count: int = 5):
    """A moto SQS with the work queue and its dead-letter queue, as deploy/terraform makes them."""
    queue_name = settings.CELERY_TASK_DEFAULT_QUEUE
    visibility_timeout = visibility_timeout or settings.CELERY_TASK_TIME_LIMIT + 60
    with moto_server() as endpoint:
        sqs = boto_client("sqs", endpoint)
        dead_letter_url = sqs.create_queue(QueueName=f"{queue_name}-dead-letter")["QueueUrl"]
        dead_letter_arn = sqs.get_queue_attributes(QueueUrl=dead_letter_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        queue_url = sqs.create_queue(
            QueueName=queue_name,
            Attributes={
                "VisibilityTimeout": str(visibility_timeout),
                "RedrivePolicy": json.dumps(
                    {"deadLetterTargetArn": dead_letter_arn, "maxReceiveCount": str(max_receive_count)}
                ),
            },
        )["QueueUrl"]
        host_port = endpoint.removeprefix("http://")
        env = TEST_CREDENTIALS | {
            "CELERY_BROKER_URL": f"sqs://{TEST_CREDENTIALS['AWS_ACCESS_KEY_ID']}:"
            f"{TEST_CREDENTIALS['AWS_SECRET_ACCESS_KEY']}@{host_port}",
            "MIGRAYT_SQS_QUEUE_URL": queue_url,
            "MIGRAYT_SQS_REGION": TEST_REGION,
            "MIGRAYT_SQS_VISIBILITY_TIMEOUT": str(visibility_timeout),
            "MIGRAYT_SQS_IS_SECURE": "false",
            # Short long-polls so that a worker stops quickly at the end of a test.
            "MIGRAYT_SQS_WAIT_SECONDS": "1",
        }
        yield SqsBroker(endpoint=endpoint, queue_url=queue_url, dead_letter_queue_url=dead_letter_url, env=env)


_SEND_TASK = """
import json, sys
import django
django.setup()
from django.conf import settings
from migrayt.celery import app
assert settings.CELERY_BROKER_URL.startswith("sqs://"), settings.CELERY_BROKER_URL
message = json.loads(sys.argv[1])
app.send_task(message["name"], args=message["args"], kwargs=message["kwargs"])
print("sent")
"""


def sqs_send_task(broker: SqsBroker, name: str, *, args: list | None = None, kwargs: dict | None = None) -> None:
    """Enqueue task `name` on the SQS broker from a separate process configured like the web service."""
    env = dict(os.environ) | broker.env | {"DJANGO_SETTINGS_MODULE": "migrayt.settings"}
    message = json.dumps({"name": name, "args": args or [], "kwargs": kwargs or {}})
    result = subprocess.run(
        [sys.executable, "-c", _SEND_TASK, message],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    if result.returncode != 0 or "sent" not in result.stdout:
        raise AssertionError(f"Could not enqueue {name} on SQS:\n{result.stderr[-3000:]}")
