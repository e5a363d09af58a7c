"""What blocks approval of a mapping, and what only warns. Pure Python over rows and the two schemas.

Errors (approval is refused until they are fixed):
  undecided            rows nobody has accepted, edited or rejected yet
  required_unfilled    a required destination field of a type in use that no source field fills
  unknown_target       a target that is not in the destination's schema
  cannot_convert       a source field whose values cannot be written into its target field
  target_used_twice    two source fields written into one destination field
  value_not_allowed    a value the destination field does not allow
  value_unmapped       a value with no target, on a field the destination requires
  state_unmapped       a state of a type in use with no destination status
  state_unreachable    a status no transition of the destination's workflow reaches
  person_unmatched     people with no account in the destination and no default person
  bad_option           a row option that is not one of the choices

Warnings (lossy but allowed): the drafter's own lossy-transform warnings, types left out, levels the
destination lacks, removed states closed as done, values and fields dropped, people kept as text.
"""

from collections import deque
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Protocol

from apps.connections.connectors.base import Catalog
from apps.connections.connectors.records import FieldDefinition
from apps.mappings.drafting import knowledge as k
from apps.mappings.drafting.proposals import Kind, Transform

ERROR = "error"
WARNING = "warning"
MISSING_LEVEL_CHOICES = ("flatten", "link", "skip")
# A person with no account in the destination (a person row with no target): what their work carries.
# default_person: the set's default person, their name kept as text; attribution: no one, their name kept as
# text; inactive_account: their own identity written as an inactive account, where the destination allows it.
DEPARTED_CHOICES = ("default_person", "attribution", "inactive_account")
# Azure DevOps keeps an identity it cannot resolve as given when the write bypasses rules (the connection's
# account needs "Bypass rules on work item updates"); Jira refuses an inactive assignee or reporter.
DEPARTED_INACTIVE_KINDS = ("azure_devops",)


def departed_choice(options: dict | None, default_person: str) -> str:
    """What happens to the work of a person row that has no account: the row's choice, else the default
    person when the set has one, else attribution."""
    return (options or {}).get("departed") or ("default_person" if default_person else "attribution")
CREATE_PREFIX = "create:"

# Destination fields the engine fills itself (project, type, parent, workflow position).
ENGINE_SET_FIELDS = {
    "project", "issuetype", "parent", "status", "resolution",
    "System.State", "System.WorkItemType", "System.TeamProject", "System.AreaPath", "System.IterationPath",
    "System.Reason", "System.Parent",
}
# Transforms whose source and target field types must be compatible (the others are knowledge-made pairs
# with their own conversion: tags, iterations, areas, hours, worklogs).
TYPED_TRANSFORMS = {Transform.COPY, Transform.RICH_TEXT, Transform.TO_PLAIN_TEXT, Transform.NUMBER, Transform.DATE,
                    Transform.PERSON, Transform.MAP_VALUES}
NO_TARGET_TRANSFORMS = {Transform.DROP, Transform.HISTORY, Transform.JOIN_DESCRIPTION}
# Destination fields several source fields may fill: each adds its values (labels, fix versions as tags).
MANY_SOURCE_TARGETS = {"System.Tags", "labels"}


class RowLike(Protocol):
    kind: str
    scope: str
    source: str
    source_label: str
    transform: str
    options: dict
    warnings: list
    decision: str

    @property
    def effective_target(self) -> str | None: ...


@dataclass(frozen=True)
class Issue:
    level: str  # "error" or "warning"
    code: str
    message: str
    kind: str = ""
    scope: str = ""
    source: str = ""

    def as_dict(self) -> dict:
        return asdict(self)

    def row_key(self) -> tuple[str, str, str] | None:
        return (self.kind, self.scope, self.source) if self.source else None


@dataclass(frozen=True)
class SetOptions:
    default_person: str = ""
    areas_as_labels: bool = False
    destination_kind: str = ""


def workflow_path(workflow: dict, target: str) -> list[str] | None:
    """The shortest list of statuses from the workflow's initial status to `target` (both included), or
    None when no chain of transitions reaches it. Names compare case-insensitively, as Jira's do."""
    initial = str(workflow.get("initial") or "")
    if not initial:
        return None
    edges: dict[str, list[str]] = {}
    names: dict[str, str] = {}
    for pair in workflow.get("transitions") or []:
        a, b = str(pair[0]), str(pair[1])
        names.setdefault(a.lower(), a)
        names.setdefault(b.lower(), b)
        edges.setdefault(a.lower(), []).append(b.lower())
    start, goal = initial.lower(), target.lower()
    names.setdefault(start, initial)
    previous: dict[str, str | None] = {start: None}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        if node == goal:
            path = []
            while node is not None:
                path.append(names.get(node, node))
                node = previous[node]
            return path[::-1]
        for nxt in edges.get(node, []):
            if nxt not in previous:
                previous[nxt] = node
                queue.append(nxt)
    return None


def mapping_validate(
    *,
    rows: Iterable[RowLike],
    source: Catalog,
    destination: Catalog,
    options: SetOptions,
    workflows: dict | None = None,
) -> list[Issue]:
    """Every problem of the mapping as it stands, errors first."""
    rows = list(rows)
    return _Validator(rows, source, destination, options, workflows or {}).run()


class _Validator:
    def __init__(self, rows, source: Catalog, destination: Catalog, options: SetOptions, workflows: dict):
        self.rows = rows
        self.src, self.dst = source, destination
        self.options = options
        self.workflows = workflows
        self.issues: list[Issue] = []
        self.by_kind: dict[str, list] = {}
        for row in rows:
            self.by_kind.setdefault(str(row.kind), []).append(row)
        self.src_fields = {f.source_id: f for f in source.fields}
        self.dst_fields = {f.source_id: f for f in destination.fields}
        self.src_types = {t.source_id: t for t in source.work_item_types}
        self.dst_types = {t.source_id: t for t in destination.work_item_types if not t.disabled}

    def rows_of(self, kind: Kind) -> list:
        return self.by_kind.get(str(kind), [])

    def add(self, level, code, message, row=None):
        if row is None:
            self.issues.append(Issue(level, code, message))
        else:
            self.issues.append(Issue(level, code, message, str(row.kind), row.scope, row.source))

    def run(self) -> list[Issue]:
        self.undecided()
        self.types()
        self.fields()
        self.required_fields()
        self.values()
        self.states()
        self.people()
        self.other_targets()
        self.structure()
        for row in self.rows:
            for text in row.warnings or []:
                self.add(WARNING, "lossy", f"{_label(row)}: {text}", row)
        return sorted(self.issues, key=lambda i: i.level != ERROR)

    # -- rules ------------------------------------------------------------------------------------------
    def undecided(self):
        pending: dict[str, int] = {}
        for row in self.rows:
            if row.decision == "pending":
                pending[str(row.kind)] = pending.get(str(row.kind), 0) + 1
        for kind, count in pending.items():
            self.add(ERROR, "undecided", f"{count} {_plural(kind, count)} still need a decision (accept, edit or "
                     "reject each, or accept all above a confidence).")

    def used_types(self) -> dict[str, str]:
        """Source type id -> destination type id, for the types that are carried."""
        return {r.source: r.effective_target for r in self.rows_of(Kind.TYPE)
                if r.effective_target and r.effective_target in self.dst_types}

    def types(self):
        for row in self.rows_of(Kind.TYPE):
            target = row.effective_target
            if target is None:
                self.add(WARNING, "type_left_out", f"Items of type '{_label(row)}' are left out of the migration.", row)
            elif target not in self.dst_types:
                self.add(ERROR, "unknown_target", f"Type '{_label(row)}' goes to '{target}', which is not an issue "
                         "type of the destination project.", row)
            level = (row.options or {}).get("missing_level")
            if level is not None and level not in MISSING_LEVEL_CHOICES:
                self.add(ERROR, "bad_option", f"Type '{_label(row)}': a missing level is handled by "
                         f"{', '.join(MISSING_LEVEL_CHOICES)}, not {level!r}.", row)

    def structure(self):
        """Levels the destination lacks: a parent level and its child level landing on one destination
        level (ADO Epic and Feature both becoming Jira epics) cannot keep the parent link."""
        used = self.used_types()
        by_level: dict[int, list] = {}
        for row in self.rows_of(Kind.TYPE):
            if row.source in used and row.source in self.src_types:
                by_level.setdefault(self.src_types[row.source].hierarchy_level, []).append(row)
        levels = sorted(by_level, reverse=True)
        for upper, lower in zip(levels, levels[1:], strict=False):
            for parent in by_level[upper]:
                for child in by_level[lower]:
                    p_level = self.dst_types[used[parent.source]].hierarchy_level
                    c_level = self.dst_types[used[child.source]].hierarchy_level
                    if p_level > c_level:
                        continue
                    choice = (parent.options or {}).get("missing_level") or "flatten"
                    what = {"flatten": f"the {_label(child)} items are attached to the {_label(parent)}'s own parent",
                            "link": "the parent link is kept as a plain link",
                            "skip": f"the {_label(parent)} items are left out"}.get(choice, "")
                    self.add(WARNING, "missing_level",
                             f"The destination has no level between '{_label(parent)}' and '{_label(child)}' "
                             f"(both land on level {p_level if p_level == c_level else 'inverted'}): {what}.", parent)

    def fields(self):
        targets: dict[str, list] = {}
        for row in self.rows_of(Kind.FIELD):
            target = row.effective_target
            sf = self.src_fields.get(row.source)
            if target is None:
                if row.decision == "rejected" and sf is not None and sf.is_custom:
                    self.add(WARNING, "field_dropped", f"Field '{_label(row)}' is not carried.", row)
                elif row.transform == Transform.JOIN_DESCRIPTION:
                    self.add(WARNING, "joined", f"Field '{_label(row)}' has no field of its own in the destination, and a run "
                             "does not carry it yet (a table under the description is planned): choose a field to "
                             "keep its value.", row)
                continue
            tf = self.dst_fields.get(target)
            if tf is None:
                self.add(ERROR, "unknown_target", f"Field '{_label(row)}' goes to '{target}', which is not a field "
                         "of the destination.", row)
                continue
            targets.setdefault(target, []).append(row)
            if tf.read_only:
                self.add(ERROR, "unknown_target", f"Field '{_label(row)}' goes to '{tf.name}', which cannot be "
                         "written.", row)
            if row.transform in NO_TARGET_TRANSFORMS:
                self.add(ERROR, "cannot_convert", f"Field '{_label(row)}' has a target but its transform "
                         f"({row.transform}) writes no field; choose a transform or remove the target.", row)
            elif sf is not None and row.transform in TYPED_TRANSFORMS and k.transform_between(sf, tf) is None:
                self.add(ERROR, "cannot_convert", f"'{_label(row)}' holds {sf.type} values; '{tf.name}' holds "
                         f"{tf.type}: they cannot be converted.", row)
        for target, rows in targets.items():
            if len(rows) > 1 and target not in MANY_SOURCE_TARGETS:
                names = ", ".join(f"'{_label(r)}'" for r in rows)
                self.add(ERROR, "target_used_twice", f"{names} are all written into '{self.dst_fields[target].name}'; "
                         "only one source field may fill a destination field.", rows[1])

    def required_fields(self):
        filled = {r.effective_target for r in self.rows_of(Kind.FIELD) if r.effective_target}
        unfilled: dict[str, list[str]] = {}
        for dst_type in sorted(set(self.used_types().values())):
            for fid in self.dst_types[dst_type].required_field_ids:
                if fid not in filled and fid not in ENGINE_SET_FIELDS:
                    unfilled.setdefault(fid, []).append(self.dst_types[dst_type].name)
        for fid, type_names in unfilled.items():
            name = self.dst_fields[fid].name if fid in self.dst_fields else fid
            self.add(ERROR, "required_unfilled", f"'{name}' is required on {', '.join(type_names)} in the "
                     "destination, and no source field fills it: map a source field onto it.")

    def values(self):
        field_rows = {r.source: r for r in self.rows_of(Kind.FIELD)}
        for row in self.rows_of(Kind.VALUE):
            field_row = field_rows.get(row.scope)
            target_field = self.dst_fields.get(field_row.effective_target) if field_row and field_row.effective_target else None
            if target_field is None:
                continue  # the field itself is not carried: its values do not matter
            target = row.effective_target
            if target is None:
                required = any(target_field.source_id in self.dst_types[t].required_field_ids
                               for t in self.used_types().values())
                if required:
                    self.add(ERROR, "value_unmapped", f"Value '{_label(row)}' of '{_label(field_row)}' has no target, "
                             f"and '{target_field.name}' is required in the destination.", row)
                else:
                    self.add(WARNING, "value_dropped", f"Items with '{_label(row)}' in '{_label(field_row)}' get an "
                             f"empty '{target_field.name}'.", row)
            elif target_field.allowed_values and target not in target_field.allowed_values:
                self.add(ERROR, "value_not_allowed", f"'{target}' is not a value '{target_field.name}' allows in the "
                         f"destination (it allows {_few(target_field.allowed_values)}).", row)

    def states(self):
        used = self.used_types()
        state_rows = {(r.scope, r.source): r for r in self.rows_of(Kind.STATE)}
        for src_type, dst_type in used.items():
            wit = self.src_types.get(src_type)
            if wit is None:
                continue
            allowed = {s.name.lower(): s.name for s in self.dst_types[dst_type].states}
            workflow = self.workflows.get(dst_type)
            for state in wit.states:
                row = state_rows.get((src_type, state.name))
                target = row.effective_target if row else None
                if target is None:
                    self.add(ERROR, "state_unmapped", f"{wit.name} items in '{state.name}' have no status to go to in "
                             "the destination.", row)
                    continue
                if allowed and target.lower() not in allowed:
                    self.add(ERROR, "unknown_target", f"'{target}' is not a status of {self.dst_types[dst_type].name} "
                             "in the destination.", row)
                    continue
                if workflow:
                    self.transition_path_check(row, workflow, target)
                if state.category == "removed" and not any(w in target.lower() for w in k.REMOVED_WORDS):
                    self.add(WARNING, "removed_as_done", f"Removed {wit.name} items will look like '{target}' in the "
                             "destination.", row)

    def transition_path_check(self, row, workflow: dict, target: str):
        path = (row.options or {}).get("transition_path")
        if path:
            ok = (isinstance(path, list) and len(path) >= 1
                  and path[0].lower() == str(workflow.get("initial", "")).lower()
                  and path[-1].lower() == target.lower()
                  and all(any(a.lower() == x.lower() and b.lower() == y.lower()
                              for x, y in workflow.get("transitions") or [])
                          for a, b in zip(path, path[1:], strict=False)))
            if not ok:
                self.add(ERROR, "state_unreachable", f"The transition path given for '{_label(row)}' "
                         f"({' → '.join(map(str, path))}) is not a chain of the destination's transitions.", row)
        elif workflow_path(workflow, target) is None:
            self.add(ERROR, "state_unreachable", f"No chain of transitions in the destination's workflow reaches "
                     f"'{target}' from '{workflow.get('initial')}'.", row)

    def people(self):
        known = {p.source_id for p in self.dst.people}
        unmatched = []
        for row in self.rows_of(Kind.PERSON):
            target = row.effective_target
            if target is None:
                unmatched.append(row)
            elif known and target not in known:
                self.add(WARNING, "person_unknown", f"'{_label(row)}' goes to account '{target}', which the "
                         "destination's scan did not list.", row)
        if not unmatched:
            return
        chosen = [r for r in unmatched if (r.options or {}).get("departed")]
        unmatched = [r for r in unmatched if not (r.options or {}).get("departed")]
        for row in chosen:
            choice = row.options["departed"]
            if choice == "default_person" and not self.options.default_person:
                self.add(ERROR, "person_unmatched", f"'{_label(row)}' is to go to the default person, and no default "
                         "person is set: choose one, or keep their name as text.", row)
            elif choice == "inactive_account" and self.options.destination_kind not in DEPARTED_INACTIVE_KINDS:
                self.add(ERROR, "person_inactive_refused", f"'{_label(row)}': this destination refuses an inactive "
                         "account as assignee or reporter; choose the default person or keep their name as text.", row)
        if chosen:
            self.add(WARNING, "attribution", f"{len(chosen)} {_plural('person', len(chosen))} with no account "
                     "decided one by one (default person, name kept as text, or an inactive account).")
        if not unmatched:
            return
        if not self.options.default_person:
            for row in unmatched:
                self.add(ERROR, "person_unmatched", f"'{_label(row)}' has no account in the destination and no default "
                         "person is set: map them, or choose a default person (their name is still kept as text).", row)
        else:
            self.add(WARNING, "attribution", f"{len(unmatched)} {_plural('person', len(unmatched))} with no account: "
                     "what they did goes to the default person, with their name kept as text.")
            if known and self.options.default_person not in known:
                self.add(WARNING, "person_unknown", f"The default person '{self.options.default_person}' is not among "
                         "the accounts the destination's scan listed.")

    def other_targets(self):
        for kind in (Kind.ITERATION, Kind.AREA, Kind.LINK_TYPE):
            for row in self.rows_of(kind):
                if kind == Kind.AREA and self.options.areas_as_labels:
                    continue  # labels are made as they come
                problem = target_check(kind=kind, scope=row.scope, target=row.effective_target, source=self.src,
                                       destination=self.dst)
                if problem:
                    self.add(ERROR, "unknown_target", f"{_label(row)}: {problem}", row)


def target_check(*, kind: str, scope: str, target: str | None, source: Catalog, destination: Catalog,
                 field_rows: dict[str, str | None] | None = None) -> str | None:
    """Why `target` cannot be the target of a row of `kind`, or None when it can. Used when a person edits
    a row, so a typo is answered at once rather than at approval."""
    if target is None or target == "":
        return None
    if kind == Kind.TYPE:
        ok = any(t.source_id == target and not t.disabled for t in destination.work_item_types)
        return None if ok else f"'{target}' is not an issue type of the destination."
    if kind == Kind.FIELD:
        f = next((f for f in destination.fields if f.source_id == target), None)
        if f is None:
            return f"'{target}' is not a field of the destination."
        return f"'{f.name}' cannot be written." if f.read_only else None
    if kind == Kind.STATE:
        names = {s.name for t in destination.work_item_types for s in t.states}
        return None if target in names else f"'{target}' is not a status of the destination."
    if kind == Kind.VALUE:
        field_target = (field_rows or {}).get(scope)
        f = next((f for f in destination.fields if f.source_id == field_target), None)
        if f is not None and f.allowed_values and target not in f.allowed_values:
            return f"'{target}' is not a value '{f.name}' allows (it allows {_few(f.allowed_values)})."
        return None
    if kind == Kind.LINK_TYPE:
        ok = any(lt.source_id == target for lt in destination.link_types)
        return None if ok else f"'{target}' is not a link type of the destination."
    if kind == Kind.ITERATION:
        if target.startswith(CREATE_PREFIX):
            return None if target[len(CREATE_PREFIX):].strip() else "Name the sprint to create."
        ok = any(i.source_id == target for i in destination.iterations)
        return None if ok else f"'{target}' is not a sprint of the destination (use create:<name> to make one)."
    if kind == Kind.AREA:
        if target.startswith(CREATE_PREFIX):
            return None if target[len(CREATE_PREFIX):].strip() else "Name the component or label to create."
        ok = any(a.source_id == target for a in destination.areas)
        return None if ok else f"'{target}' is not a component of the destination (use create:<name> to make one)."
    if kind == Kind.PERSON:
        ok = not destination.people or any(p.source_id == target for p in destination.people)
        return None if ok else f"'{target}' is not an account the destination's scan listed."
    return None


def field_candidates(sf: FieldDefinition | None, destination: Catalog) -> list[FieldDefinition]:
    """Destination fields a source field could be written into."""
    writable = [f for f in destination.fields if not f.read_only]
    if sf is None:
        return writable
    return [f for f in writable if k.transform_between(sf, f) is not None]


def _label(row) -> str:
    return row.source_label or row.source


def _plural(kind: str, count: int) -> str:
    word = {"type": "type", "field": "field", "state": "state", "value": "value", "person": "person",
            "iteration": "iteration", "area": "area", "tag": "tag", "link_type": "link type"}.get(kind, kind)
    if count == 1:
        return word
    return "people" if word == "person" else word + "s"


def _few(values, limit: int = 6) -> str:
    values = list(values)
    shown = ", ".join(f"'{v}'" for v in values[:limit])
    return shown + (f" and {len(values) - limit} more" if len(values) > limit else "")
