"""Staged attachments: S3 in production (moto on 127.0.0.1 here), a folder under var/ otherwise."""

import json
import os
import subprocess
import sys

import pytest
from django.conf import settings

from apps.core.exceptions import ApplicationError
from apps.core.storage import (
    staged_attachment_delete,
    staged_attachment_open,
    staged_attachment_save,
    staged_attachments_purge,
    staged_storage,
)
from apps.core.testing.aws import TEST_CREDENTIALS, TEST_REGION, boto_client, moto_server

_IN_A_PROCESS_CONFIGURED_FOR_S3 = """
import json, sys
import django
django.setup()
from apps.core import storage
command = json.loads(sys.argv[1])
assert type(storage.staged_storage()).__name__ == "S3Storage", type(storage.staged_storage())
if command["do"] == "save":
    key = storage.staged_attachment_save(organisation_id=7, run_id=42, name=command["name"], content=command["body"].encode())
    with storage.staged_attachment_open(organisation_id=7, run_id=42, key=key) as handle:
        assert handle.read() == command["body"].encode()
    print(json.dumps({"key": key}))
elif command["do"] == "delete":
    storage.staged_attachment_delete(organisation_id=7, run_id=42, key=command["key"])
    print(json.dumps({"exists": storage.staged_storage().exists(command["key"])}))
"""


def _run_with_s3(endpoint: str, bucket: str, command: dict) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MIGRAYT_S3", "AWS_"))}
    env |= TEST_CREDENTIALS | {
        "DJANGO_SETTINGS_MODULE": "migrayt.settings",
        "MIGRAYT_VAR_DIR": str(settings.VAR_DIR),
        "MIGRAYT_S3_BUCKET": bucket,
        "MIGRAYT_S3_REGION": TEST_REGION,
        "MIGRAYT_S3_ENDPOINT_URL": endpoint,
    }
    result = subprocess.run(
        [sys.executable, "-c", _IN_A_PROCESS_CONFIGURED_FOR_S3, json.dumps(command)],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_a_staged_attachment_is_stored_encrypted_in_s3_and_deleted():
    bucket = "migrayt-test-staged"
    with moto_server() as endpoint:
        s3 = boto_client("s3", endpoint)
        s3.create_bucket(Bucket=bucket)

        saved = _run_with_s3(endpoint, bucket, {"do": "save", "name": "../../etc/design spec.pdf", "body": "pdf bytes"})
        key = saved["key"]
        # The organisation and run lead the key; the customer's file name cannot climb out of it.
        assert key.startswith("org-7/run-42/") and key.endswith("/design_spec.pdf")
        stored = s3.get_object(Bucket=bucket, Key=f"staged/{key}")
        assert stored["Body"].read() == b"pdf bytes"
        assert stored["ServerSideEncryption"] == "aws:kms"
        grantees = [grant["Grantee"].get("URI", "") for grant in s3.get_object_acl(Bucket=bucket, Key=f"staged/{key}")["Grants"]]
        assert not [uri for uri in grantees if uri.endswith(("AllUsers", "AuthenticatedUsers"))]

        deleted = _run_with_s3(endpoint, bucket, {"do": "delete", "key": key})
        assert deleted == {"exists": False}
        assert s3.list_objects_v2(Bucket=bucket).get("KeyCount") == 0


@pytest.fixture
def staged_folder(tmp_path, settings):
    settings.STORAGES = settings.STORAGES | {
        "staged": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": tmp_path}}
    }
    return tmp_path


def test_a_key_of_another_organisation_or_run_is_refused(staged_folder):
    key = staged_attachment_save(organisation_id=1, run_id=10, name="a.png", content=b"one")
    with pytest.raises(ApplicationError, match="does not belong"):
        staged_attachment_open(organisation_id=2, run_id=10, key=key)
    with pytest.raises(ApplicationError, match="does not belong"):
        staged_attachment_delete(organisation_id=1, run_id=11, key=key)
    with pytest.raises(ApplicationError, match="does not belong"):
        staged_attachment_delete(organisation_id=1, run_id=10, key="org-1/run-10/../../org-2/run-3/x")
    assert staged_storage().exists(key)


@pytest.mark.parametrize(("organisation_id", "run_id"), [(0, 1), (None, 1), (1, "../2"), (1, "")])
def test_a_staged_attachment_needs_an_owner_and_a_plain_run_id(staged_folder, organisation_id, run_id):
    with pytest.raises(ApplicationError):
        staged_attachment_save(organisation_id=organisation_id, run_id=run_id, name="a.txt", content=b"x")


def test_purging_a_run_removes_its_files_and_only_its_files(staged_folder):
    same_name = [staged_attachment_save(organisation_id=1, run_id=10, name="a.png", content=b"x") for _ in range(2)]
    assert same_name[0] != same_name[1]  # a retried chunk never overwrites another attempt's file
    other_run = staged_attachment_save(organisation_id=1, run_id=11, name="a.png", content=b"y")
    other_org = staged_attachment_save(organisation_id=2, run_id=10, name="a.png", content=b"z")

    assert staged_attachments_purge(organisation_id=1, run_id=10) == 2
    assert not any(staged_storage().exists(key) for key in same_name)
    assert staged_storage().exists(other_run) and staged_storage().exists(other_org)
    assert staged_attachments_purge(organisation_id=1, run_id=10) == 0
