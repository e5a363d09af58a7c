"""Attachments on their way from the source to the destination pass through the staged storage
(apps/core/storage.py: S3 when configured, a local folder otherwise), chunk by chunk: never a whole file in
memory, and a file that can be sent again when the destination asks for a retry. Each staged file is
deleted as soon as it is uploaded (or failed), and whatever a killed worker left is purged when the run
ends, fails or is cancelled (Zero Data Retention)."""

import io
import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from django.core.files.base import File

from apps.core.storage import (
    staged_attachment_delete,
    staged_attachment_open,
    staged_attachment_save,
    staged_attachments_purge,
)

logger = logging.getLogger(__name__)


class _ChunkReader(io.RawIOBase):
    """A read()-able, non-seekable view of an iterator of byte chunks (what both storages' save() read)."""

    def __init__(self, chunks: Iterable[bytes]):
        self._chunks: Iterator[bytes] = iter(chunks)
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self._pending:
            try:
                self._pending = next(self._chunks)
            except StopIteration:
                return 0
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size


class RunStager:
    def __init__(self, *, organisation_id: int, run_id: int):
        self.organisation_id = organisation_id
        self.run_id = run_id

    @contextmanager
    def staged(self, filename: str, chunks: Iterable[bytes]):
        """Copy the chunks into the staged storage, yield the staged file opened for reading, delete it."""
        where = {"organisation_id": self.organisation_id, "run_id": self.run_id}
        reader = io.BufferedReader(_ChunkReader(chunks), buffer_size=64 * 1024)
        key = staged_attachment_save(**where, name=filename, content=File(reader, name=filename))
        try:
            with staged_attachment_open(**where, key=key) as handle:
                yield handle
        finally:
            staged_attachment_delete(**where, key=key)


def run_staged_purge(*, organisation_id: int, run_id: int) -> int:
    """Delete every staged file a run left (a worker killed between staging and deleting)."""
    removed = staged_attachments_purge(organisation_id=organisation_id, run_id=run_id)
    if removed:
        logger.info("run %s: %d staged file(s) purged", run_id, removed)
    return removed
