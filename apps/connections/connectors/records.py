"""The neutral records: the only shapes the engine, the catalog and the mappings know.

A connector turns its vendor's JSON into these (and back, on the destination side). Every record carries
the id it has in its source system (`source_id`, a string: ADO ids are numbers, Jira's are numbers as
strings, some are GUIDs or account ids), so that writes can be keyed on it and re-runs never duplicate.

Rich text stays in the source's format (`TextFormat`) until a transform converts it; fields the neutral
model does not name travel in `fields`, keyed by the source's field id.
"""

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class TextFormat(StrEnum):
    HTML = "html"  # Azure DevOps rich text
    MARKDOWN = "markdown"  # Azure DevOps markdown fields and comments
    ADF = "adf"  # Jira Cloud REST v3 (Atlassian Document Format, a JSON document)
    WIKI = "wiki"  # Jira Data Center / REST v2 wiki markup
    PLAIN = "plain"


class StateCategory(StrEnum):
    """The common ground of ADO state categories and Jira status categories."""

    PROPOSED = "proposed"  # ADO Proposed; Jira "To Do" (new)
    IN_PROGRESS = "in_progress"  # ADO InProgress / Resolved; Jira "In Progress" (indeterminate)
    DONE = "done"  # ADO Completed; Jira "Done"
    REMOVED = "removed"  # ADO Removed; Jira has no such category


class FieldType(StrEnum):
    STRING = "string"
    TEXT = "text"  # long or rich text
    INTEGER = "integer"
    DECIMAL = "decimal"
    BOOLEAN = "boolean"
    DATE = "date"
    DATETIME = "datetime"
    PERSON = "person"
    OPTION = "option"  # one value from a list
    OPTIONS = "options"  # several values from a list (Jira multi-select, labels, ADO tags)
    ITERATION = "iteration"
    AREA = "area"
    LINK = "link"
    OTHER = "other"


@dataclass(frozen=True)
class Person:
    """Someone who appears in the data. Matching people across systems uses e-mail when the source
    reveals it (Jira Cloud often hides it), then the display name."""

    source_id: str  # ADO identity id or unique name; Jira accountId (Cloud) or key/name (Data Center)
    display_name: str = ""
    email: str = ""
    active: bool = True
    is_deleted: bool = False  # Jira's "former user", ADO identities that no longer resolve


@dataclass(frozen=True)
class State:
    name: str
    category: StateCategory
    source_id: str = ""  # Jira status id; ADO states are named, not numbered
    color: str = ""


@dataclass(frozen=True)
class WorkItemType:
    source_id: str  # ADO reference name or name; Jira issue type id
    name: str
    description: str = ""
    is_subtask: bool = False  # Jira sub-task types; ADO has none (Task is a normal child)
    hierarchy_level: int = 0  # 0 = standard; 1 = epic level (Jira) / portfolio backlog (ADO); -1 = sub-task
    states: tuple[State, ...] = ()
    field_ids: tuple[str, ...] = ()  # fields this type uses (for destinations: those it accepts)
    required_field_ids: tuple[str, ...] = ()
    disabled: bool = False


@dataclass(frozen=True)
class FieldDefinition:
    source_id: str  # ADO reference name (System.Title); Jira field id (summary, customfield_10010)
    name: str
    type: FieldType
    is_custom: bool = False
    is_multi_value: bool = False
    allowed_values: tuple[str, ...] = ()
    read_only: bool = False
    vendor_type: str = ""  # the vendor's own type name, for fields the neutral types flatten


@dataclass(frozen=True)
class LinkType:
    source_id: str  # ADO relation reference name (System.LinkTypes.Dependency-Forward); Jira link type id
    name: str
    outward: str = ""
    inward: str = ""
    is_hierarchy: bool = False  # parent/child: ADO Hierarchy-Forward/Reverse, Jira parent / sub-task


@dataclass(frozen=True)
class Iteration:
    """An ADO iteration or a Jira sprint."""

    source_id: str
    name: str
    path: str = ""  # ADO iteration path; Jira has a flat list per board
    start: datetime | None = None
    finish: datetime | None = None
    state: str = ""  # Jira: future / active / closed; ADO: past / current / future
    goal: str = ""
    board_id: str = ""


@dataclass(frozen=True)
class Area:
    """An ADO area path or a Jira component."""

    source_id: str
    name: str
    path: str = ""
    description: str = ""
    lead: Person | None = None


@dataclass(frozen=True)
class Link:
    """A link from one work item to another, or to the outside world."""

    source_id: str  # ADO relation index as "<item>:<rel>#<n>"; Jira issue link id
    link_type_id: str
    from_item_id: str
    to_item_id: str = ""  # empty for links outside the tracker
    url: str = ""  # hyperlinks, artifact links, remote links
    comment: str = ""
    is_external: bool = False
    # The far end of a link the source also reports from its other item (ADO keeps both ends of a link; a
    # symmetric link such as Related is kept twice). Counting and writing skip mirrors of links whose both
    # items are read, so each link is counted and written once.
    is_mirror: bool = False


@dataclass(frozen=True)
class Comment:
    source_id: str
    work_item_id: str
    author: Person | None
    created_at: datetime | None
    body: str = ""
    body_format: TextFormat = TextFormat.HTML
    updated_at: datetime | None = None
    updated_by: Person | None = None
    visibility: str = ""  # Jira group/role restriction; a destination that cannot restrict must warn
    is_deleted: bool = False


@dataclass(frozen=True)
class Worklog:
    """Work logged on an item (Jira): who, when it started, how long, and the note (rich text as the source has it)."""

    source_id: str
    work_item_id: str
    author: Person | None
    started_at: datetime | None
    seconds: int
    comment: Any = ""
    comment_format: TextFormat = TextFormat.HTML


@dataclass(frozen=True)
class Attachment:
    source_id: str
    work_item_id: str
    filename: str
    size_bytes: int | None = None
    mime_type: str = ""
    author: Person | None = None
    created_at: datetime | None = None
    download_url: str = ""  # fetched through the guarded HTTP client, streamed, never kept whole in memory
    is_inline: bool = False  # an image referenced from rich text


@dataclass(frozen=True)
class FieldChange:
    field_id: str
    old_value: Any = None
    new_value: Any = None
    field_name: str = ""  # as the source's history names it ("Fix Version"), where it says


@dataclass(frozen=True)
class Revision:
    """One entry of an item's history: an ADO update/revision, a Jira changelog history."""

    source_id: str
    work_item_id: str
    number: int  # ADO rev; Jira's changelog order
    author: Person | None
    changed_at: datetime | None
    changes: tuple[FieldChange, ...] = ()


@dataclass
class WorkItem:
    source_id: str  # ADO id, Jira issue id (numeric string)
    key: str  # what people call it: "1234" (ADO) or "PROJ-12" (Jira)
    project_id: str
    type_id: str
    title: str = ""
    description: str = ""
    description_format: TextFormat = TextFormat.HTML
    state: str = ""
    state_category: StateCategory | None = None
    priority: str = ""
    assignee: Person | None = None
    reporter: Person | None = None
    created_by: Person | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    resolved_at: datetime | None = None
    parent_id: str = ""
    iteration_id: str = ""
    area_id: str = ""
    labels: tuple[str, ...] = ()
    story_points: float | None = None
    revision: int = 0
    fields: dict[str, Any] = field(default_factory=dict)  # every other field, by source field id
    link_ids: tuple[str, ...] = ()
    comment_count: int | None = None
    attachment_count: int | None = None


@dataclass(frozen=True)
class Project:
    source_id: str
    key: str
    name: str
    process: str = ""  # ADO process template (Agile, Scrum, Basic, CMMI, inherited); Jira project style


@dataclass(frozen=True)
class StateCheckpoint:
    """Where a read got to, yielded between records. The caller stores `state` in the same transaction as
    what it did with the records before it, and passes it back to `read()` to resume there."""

    stream: str
    state: dict


Record = (
    WorkItem | Comment | Attachment | Link | Person | Iteration | Area | Revision | FieldDefinition
    | WorkItemType | LinkType | Project
)


# --- destination writes ----------------------------------------------------------------------------------
# What the engine hands a destination to write, already in the destination's terms (its type ids, field
# ids, people's account ids, rich text converted), and what comes back. Every write names the source id it
# is keyed on, so the engine can record it in the id map with its checkpoint.


class ErrorCategory(StrEnum):
    CONFIG = "config"  # the person must change something (mapping, permissions, a field on a screen)
    TRANSIENT = "transient"  # busy or unreachable for now: try again later
    PERMANENT = "permanent"  # this item as it is will never be accepted


@dataclass(frozen=True)
class WriteError:
    category: ErrorCategory
    code: str  # stable, for programs: "field_invalid", "too_large", "no_transition_path", "ambiguous" ...
    message: str  # plain words; never a secret, never ticket content beyond field names
    field_errors: dict[str, str] = field(default_factory=dict)  # destination field id -> the vendor's reason
    # The request may have reached the destination before it failed (a timeout after sending, a dropped
    # connection, a gateway error): the write may have happened. Reconcile before writing it again.
    ambiguous: bool = False
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ItemWrite:
    """One item to create in the destination.

    `description` is already in the destination's rich-text format (an ADF document dict for Jira Cloud,
    wiki markup for Jira Data Center). `fields` maps destination field ids to neutral values (str, number,
    date/datetime, list of those); the destination shapes them by its field's schema. People are the
    destination's account ids (Jira Cloud accountId; Jira Data Center user name)."""

    source_id: str
    type_id: str  # destination issue type id (or name)
    summary: str
    source_url: str = ""  # the item in the source system: the link back, and the reconciliation key
    source_key: str = ""
    parent_id: str = ""  # destination id of the parent (Jira Cloud: any level; Data Center: sub-task parent or epic)
    parent_key: str = ""  # destination key of the parent, where known (Data Center's Epic Link takes a key)
    description: Any = None
    fields: dict[str, Any] = field(default_factory=dict)
    labels: tuple[str, ...] = ()
    component_ids: tuple[str, ...] = ()
    priority: str = ""  # destination priority id or name
    assignee: str = ""
    reporter: str = ""
    target_status: str = ""  # destination status name or id, reached through transitions after creation


@dataclass(frozen=True)
class LinkWrite:
    """An issue link: `from_id` <outward verb of the type> `to_id` ("A blocks B")."""

    source_id: str
    link_type: str  # destination link type id or name
    from_id: str  # destination issue id or key
    to_id: str


def repeated_source_ids(items: list) -> dict[int, "WriteResult"]:
    """{index: refusal} for every write whose source id came earlier in the same call: written once."""
    seen: set[str] = set()
    refused = {}
    for index, item in enumerate(items):
        if item.source_id in seen:
            refused[index] = WriteResult(source_id=item.source_id, error=WriteError(
                ErrorCategory.PERMANENT, "duplicate_source_id",
                "This source id appears twice in one write; it was written once."))
        seen.add(item.source_id)
    return refused


@dataclass(frozen=True)
class RevisionWrite:
    """One entry of an item's history written as it happened, where the destination can hold it (Azure
    DevOps with bypassRules): `fields` maps destination field ids to their new values, `note` is HTML for what
    the destination has no field for (or a comment's text, with `is_comment`). `author` is a destination
    identity; `changed_at` must be later than the item's previous revision."""

    source_id: str  # the source changelog entry or comment id
    changed_at: datetime
    author: str = ""
    fields: dict[str, Any] = field(default_factory=dict)
    note: str = ""
    is_comment: bool = False
    files: tuple["FileAttach", ...] = ()  # uploaded files this revision attaches (the images its comment shows)


@dataclass(frozen=True)
class FileAttach:
    """A file uploaded to the destination but not attached yet, attached by the revision that first shows it."""

    source_id: str  # the id map key of the file (attachment:<item>:<file>), kept on the attachment relation
    destination_id: str  # the uploaded file's id
    filename: str


@dataclass(frozen=True)
class WriteResult:
    source_id: str
    destination_id: str = ""
    key: str = ""
    error: WriteError | None = None
    existed: bool = False  # found already in the destination (nothing was written)

    @property
    def ok(self) -> bool:
        return self.error is None
