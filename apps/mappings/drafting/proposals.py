"""What a drafter proposes: one row of the review page.

Every element of the source schema gets exactly one proposal (a target, or a reasoned "no target"), so the
person reviewing sees everything that will happen, not just what matched. Confidence is calibrated so that
anything at or above AUTO_ACCEPT can be accepted in bulk: only knowledge of the standard processes and
names that are the same after normalising reach it; a guess by meaning never does.
"""

from dataclasses import asdict, dataclass, field
from enum import StrEnum

AUTO_ACCEPT = 0.85


class Kind(StrEnum):
    TYPE = "type"
    FIELD = "field"
    STATE = "state"
    VALUE = "value"
    PERSON = "person"
    ITERATION = "iteration"
    AREA = "area"
    TAG = "tag"
    LINK_TYPE = "link_type"


class Transform(StrEnum):
    COPY = "copy"
    RICH_TEXT = "rich_text"  # HTML <-> ADF / wiki markup
    TO_PLAIN_TEXT = "to_plain_text"  # rich text into a one-line field: formatting lost, long text cut
    MAP_VALUES = "map_values"
    PERSON = "person"
    DATE = "date"
    NUMBER = "number"
    HOURS_TO_SECONDS = "hours_to_seconds"  # ADO hours -> Jira time tracking seconds (and back)
    WORKLOG = "worklog"  # ADO Completed Work <-> Jira logged work
    TAGS_TO_LABELS = "tags_to_labels"
    VALUES_TO_TAGS = "values_to_tags"  # a list's names (Jira fix versions) as tags/labels, or joined in a field
    ITERATION = "iteration"
    AREA = "area"
    JOIN_DESCRIPTION = "join_description"  # no field to hold it: kept in a table under the description
    HISTORY = "history"  # kept in the item's history record, not as a field
    DROP = "drop"
    # Kinds other than fields
    CREATE = "create"  # make the sprint / component / label in the destination
    ATTRIBUTION = "attribution"  # a person with no account: name kept as text
    DEFAULT_PERSON = "default_person"


@dataclass
class Proposal:
    kind: Kind
    source: str  # the source element's id (type id, field id, state name, value, person id ...)
    target: str | None  # the destination element's id, or None when nothing receives it
    confidence: float
    reason: str
    layer: str  # "standard", "semantic", "llm" or "fallback"
    transform: Transform | None = None
    scope: str = ""  # what the row belongs to: the type of a state, the field of a value
    source_label: str = ""
    target_label: str = ""
    warnings: list[str] = field(default_factory=list)

    @property
    def auto_acceptable(self) -> bool:
        return self.target is not None and self.confidence >= AUTO_ACCEPT

    def key(self) -> tuple[str, str, str]:
        return (str(self.kind), self.scope, self.source)

    def as_dict(self) -> dict:
        data = asdict(self)
        data["kind"] = str(self.kind)
        data["transform"] = str(self.transform) if self.transform else None
        data["confidence"] = round(self.confidence, 3)
        return data
