"""What the engine needs from the outside, as plain protocols.

Source        reads the project: items with their links and attachments (metadata only) in pages with
              checkpoints, items again by id when the engine writes them, the iterations and areas.
Destination   writes keyed on the source id (see records.ItemWrite / LinkWrite / WriteResult) and finds what a
              run created but did not record (reconciliation).
Store         the run's memory (Django in apps/runs/store.py, a dict in the tests): every `record_*` call is one
              transaction that writes the id map, the item states, the progress and the phase's checkpoint
              together, and refuses (raises LeaseLost) when another delivery of the task took the run over.
"""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from apps.connections.connectors import records
from apps.mappings.transforms import ImageTarget


class LeaseLost(Exception):
    """Another worker holds the run now: stop without recording anything."""


class Stop(Exception):
    """Pause or cancel was asked for: stop at the next checkpoint."""


@dataclass(frozen=True)
class PlanItem:
    source_id: str
    parent_source_id: str = ""
    type_id: str = ""
    iteration_id: str = ""


@dataclass(frozen=True)
class PlanLink:
    link_type: str
    from_source_id: str
    to_source_id: str


@dataclass(frozen=True)
class ItemRef:
    """A planned item as the store hands it back."""

    source_id: str
    parent_source_id: str = ""
    type_id: str = ""
    iteration_id: str = ""
    depth: int = 0
    ordinal: int = 0
    destination_id: str = ""
    destination_key: str = ""
    target_status: str = ""


@dataclass
class Recorded:
    """One write (or adoption) to record in the id map."""

    phase: str
    source_id: str
    destination_id: str = ""
    destination_key: str = ""
    payload_sha256: str = ""
    adopted: bool = False


@dataclass
class Failure:
    source_id: str
    phase: str
    code: str
    message: str


@dataclass
class SourceIteration:
    source_id: str
    name: str
    start: datetime | None = None
    finish: datetime | None = None
    state: str = ""  # past / current / future (ADO), closed / active / future (Jira)
    goal: str = ""


class SourcePort(Protocol):
    def read_items(self, state: dict) -> Iterator[records.WorkItem | records.Link | records.Attachment
                                                  | records.StateCheckpoint]: ...

    def items_by_ids(self, ids: list[str]) -> list[records.WorkItem]: ...

    def item_url(self, source_id: str) -> str: ...

    def iterations(self) -> list[SourceIteration]: ...

    def areas(self) -> list[records.Area]: ...

    # -- content (comments, attachments, inline images, history) -------------------------------------------
    def items_with_attachments(self, ids: list[str]) -> list[tuple[records.WorkItem, list[records.Attachment]]]:
        """The items again, each with its attached files (metadata only)."""

    def comments_of(self, source_id: str) -> list[records.Comment]:
        """The item's comments, oldest first."""

    def revisions_of(self, source_id: str) -> list[records.Revision]:
        """The item's revisions, oldest first, with readable field names and values (plain text)."""

    def image_attachment(self, src: str, *, item_id: str) -> records.Attachment | None:
        """The source attachment an inline image shows, or None for an image kept elsewhere."""

    def attachment_chunks(self, attachment: records.Attachment) -> Iterator[bytes]:
        """The file's bytes, streamed."""


class DestinationPort(Protocol):
    kind: str  # jira_cloud / jira_data_center
    bulk_size: int  # items per create request
    parallel: int  # requests in flight at once that the destination tolerates
    attachment_limit_bytes: int | None

    def create_items(self, items: list[records.ItemWrite]) -> list[records.WriteResult]: ...

    def find_created(self, *, since: datetime, source_ids: Iterable[str], run_uid: str) -> dict[str, tuple[str, str]]: ...

    def transition(self, *, destination_id: str, status: str) -> None: ...

    def link(self, link: records.LinkWrite) -> records.WriteResult: ...

    def remote_link(self, *, destination_id: str, global_id: str, url: str, title: str) -> str: ...

    def component(self, *, name: str) -> str: ...

    def sprint_create(self, *, name: str, start: datetime | None, finish: datetime | None, goal: str,
                      source_id: str) -> str: ...

    def sprint_find(self, *, name: str) -> str | None: ...

    def sprint_add(self, *, sprint_id: str, destination_ids: list[str]) -> None: ...

    def sprint_start(self, *, sprint_id: str, start: datetime | None, finish: datetime | None) -> None: ...

    def sprint_close(self, *, sprint_id: str) -> None: ...

    def delete_item(self, *, destination_id: str) -> None: ...

    # -- content: every call keyed on the source piece, so a reconciliation can find what it wrote ---------
    def comment_add(self, *, destination_id: str, source_id: str, body: Any, header: str) -> str:
        """Write one comment (`body` in the destination's rich text) with the attribution `header` on top;
        returns its id. A dropped connection is settled by the header, never by writing twice."""

    def comment_find(self, *, destination_id: str, header: str) -> str | None:
        """The id of the comment that starts with `header` (after a crash), or None."""

    def attachment_upload(self, *, destination_id: str, source_id: str, filename: str, chunks: Iterator[bytes],
                          size: int | None, mime_type: str = "") -> str:
        """Upload one file, streamed; returns its id. Over the destination's limit: PermanentError too_large."""

    def attachments_of(self, *, destination_id: str) -> list[tuple[str, str, int]]:
        """(id, file name, size) of the files the item holds (a reconciliation after a crash)."""

    def file_upload(self, *, source_id: str, filename: str, chunks: Iterator[bytes], size: int | None) -> str:
        """A destination that replays history (`replays_history`): upload one file, streamed, without attaching
        it to an item; returns its id. The history revision that first shows it attaches it
        (records.RevisionWrite.files)."""

    def image_target(self, *, attachment_id: str, filename: str) -> ImageTarget:
        """How rich text shows an uploaded file inline."""

    def description_set(self, *, destination_id: str, body: Any) -> None:
        """Replace the description (rich text rewritten to show uploaded images)."""

    def request_count(self) -> int: ...


@dataclass
class Totals:
    values: dict[str, Any] = field(default_factory=dict)


class StorePort(Protocol):
    run_uid: str
    started_at: datetime
    preview: bool

    def cursor(self) -> dict: ...

    def phase(self) -> str: ...

    def keep_alive(self) -> None:
        """Renew the lease; raise LeaseLost or Stop."""

    def plan_add(self, *, items: list[PlanItem], links: list[PlanLink], warnings: dict, read_state: dict) -> None: ...

    def plan_finalise(self, *, type_levels: dict[str, int], type_targets: dict[str, str | None],
                      missing_level: dict[str, str]) -> None: ...

    def items_sending(self) -> list[ItemRef]: ...

    def sending_since(self) -> datetime | None: ...

    def sending_age_seconds(self, *, youngest: bool = True) -> float | None: ...

    def items_next(self, *, limit: int) -> list[ItemRef]: ...

    def items_mark_sending(self, source_ids: list[str]) -> None: ...

    def items_created(self, *, after_ordinal: int, limit: int) -> list[ItemRef]: ...

    def destination_ids(self, source_ids: Iterable[str]) -> dict[str, tuple[str, str]]: ...

    def links_next(self, *, after_ordinal: int, limit: int) -> list[tuple[int, PlanLink]]: ...

    def mapped(self, phase: str) -> dict[str, str]: ...

    def record(self, *, phase: str, written: list[Recorded], failed: list[Failure], retry: list[str],
               cursor: dict, progress: dict[str, int], warnings: dict | None = None,
               requests: int = 0, statuses: dict[str, str] | None = None,
               skipped: list[Recorded] | None = None) -> None: ...

    def items_in_iteration(self, iteration_id: str, *, exclude_types=()) -> list[str]: ...

    def verify(self) -> None: ...

    def phase_advance(self, *, to: str, totals: dict[str, int] | None = None) -> None: ...
