"""Staged attachments: files copied from the source on their way to the destination, kept only as long as
the run needs them.

They live in the `staged` storage: a folder under var/ by default, the S3 bucket named by MIGRAYT_S3_BUCKET
in production (encrypted, private, expiring after a day by a lifecycle rule, see deploy/terraform). Every
key starts with the organisation's id and the run's id, so one customer's files are never listed, read or
deleted through another's run, and a finished run's files can be removed by prefix.
"""

import re
import uuid

from django.core.files.base import ContentFile, File
from django.core.files.storage import storages

from apps.core.exceptions import ApplicationError

STAGED_STORAGE_ALIAS = "staged"
_UNSAFE_NAME_CHARACTERS = re.compile(r"[^A-Za-z0-9._-]+")


def staged_storage():
    return storages[STAGED_STORAGE_ALIAS]


def _safe_name(name: str) -> str:
    # Attachment names come from customers' tickets: keep them readable but never let them form a path.
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = _UNSAFE_NAME_CHARACTERS.sub("_", base).strip("._")[:120]
    return cleaned or "attachment"


def staged_attachment_prefix(*, organisation_id: int, run_id: int | str) -> str:
    if not isinstance(organisation_id, int) or organisation_id <= 0:
        raise ApplicationError("A staged attachment needs the id of the organisation that owns it.")
    run = str(run_id)
    if not re.fullmatch(r"[A-Za-z0-9-]{1,64}", run):
        raise ApplicationError("A staged attachment needs a run id made of letters, digits and dashes.")
    return f"org-{organisation_id}/run-{run}/"


def staged_attachment_save(*, organisation_id: int, run_id: int | str, name: str, content: bytes | File) -> str:
    """Store one attachment and return its key. Keys are unique, so a retried chunk never overwrites the
    file another attempt is still reading."""
    key = f"{staged_attachment_prefix(organisation_id=organisation_id, run_id=run_id)}{uuid.uuid4().hex}/{_safe_name(name)}"
    body = ContentFile(content) if isinstance(content, bytes | bytearray) else content
    return staged_storage().save(key, body)


def _checked_key(*, organisation_id: int, run_id: int | str, key: str) -> str:
    prefix = staged_attachment_prefix(organisation_id=organisation_id, run_id=run_id)
    if not key.startswith(prefix) or ".." in key.split("/"):
        raise ApplicationError("That staged attachment does not belong to this run.", extra={"key": key})
    return key


def staged_attachment_open(*, organisation_id: int, run_id: int | str, key: str):
    return staged_storage().open(_checked_key(organisation_id=organisation_id, run_id=run_id, key=key), "rb")


def staged_attachment_delete(*, organisation_id: int, run_id: int | str, key: str) -> None:
    staged_storage().delete(_checked_key(organisation_id=organisation_id, run_id=run_id, key=key))


def staged_attachments_purge(*, organisation_id: int, run_id: int | str) -> int:
    """Delete every staged file of one run (when it finishes or is cancelled); returns how many."""
    storage = staged_storage()
    prefix = staged_attachment_prefix(organisation_id=organisation_id, run_id=run_id)
    removed = 0
    for key in _walk(storage, prefix.rstrip("/")):
        storage.delete(key)
        removed += 1
    return removed


def _walk(storage, folder: str):
    try:
        folders, files = storage.listdir(folder)
    except FileNotFoundError:
        return
    for name in files:
        yield f"{folder}/{name}"
    for sub in folders:
        yield from _walk(storage, f"{folder}/{sub}")
