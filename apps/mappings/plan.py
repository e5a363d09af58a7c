"""What the engine needs of an approved mapping version: plain data, no Django, no vendor.

A frozen MappingVersion turns into a MappingPlan (`apps.mappings.selectors.mapping_version_plan`), which
the preview and the run use to turn source records into destination records. Every entry is keyed on a
source id; a source element missing from a map is left out on purpose and the preview says so.
"""

from dataclasses import dataclass, field

from apps.mappings.drafting.proposals import Transform


@dataclass(frozen=True)
class FieldRule:
    source_field: str  # source field id (System.Title, customfield_10010)
    target_field: str | None  # destination field id; None with JOIN_DESCRIPTION / HISTORY / DROP
    transform: Transform
    values: dict[str, str | None] = field(default_factory=dict)  # MAP_VALUES: source value -> target value


@dataclass(frozen=True)
class TypeRule:
    source_type: str
    target_type: str | None  # None: items of this type are left out
    # A level the destination lacks: "flatten" (keep the item, attach its children to its parent),
    # "link" (keep the item, replace the parent link with a plain link) or "skip".
    missing_level: str = "flatten"


@dataclass(frozen=True)
class MappingPlan:
    version_id: int
    source_kind: str
    destination_kind: str
    source_project: str
    destination_project: str
    types: dict[str, TypeRule] = field(default_factory=dict)
    fields: dict[str, FieldRule] = field(default_factory=dict)
    # (source type, source state) -> destination status / state name
    states: dict[tuple[str, str], str] = field(default_factory=dict)
    # source person id -> destination account id; None: keep the name as attribution text
    people: dict[str, str | None] = field(default_factory=dict)
    default_person: str | None = None
    # source person id (people mapped to None) -> "default_person", "attribution" or "inactive_account"
    # (validation.DEPARTED_CHOICES); absent: the default person when there is one, else attribution
    departed: dict[str, str] = field(default_factory=dict)
    # source iteration / area id -> destination sprint / component id, or "create:<name>"
    iterations: dict[str, str] = field(default_factory=dict)
    areas: dict[str, str] = field(default_factory=dict)
    areas_as_labels: bool = False
    # source link type -> destination link type id; None: not written
    link_types: dict[str, str | None] = field(default_factory=dict)
    # source tag -> destination label, where a tag is renamed (the others become labels as they are)
    tags: dict[str, str] = field(default_factory=dict)
    # (source type, source state) -> the destination statuses to pass through, first to last, where the
    # destination's workflow is known; absent: the engine finds the path to `states[...]` itself
    state_paths: dict[tuple[str, str], tuple[str, ...]] = field(default_factory=dict)
    # what to carry besides fields
    comments: bool = True
    attachments: bool = True
    links: bool = True
    history: bool = True
