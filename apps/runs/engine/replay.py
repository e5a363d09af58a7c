"""History as it happened, for a destination that can hold it (Azure DevOps with bypassRules).

An item is created with the values it had when it was created in the source (the changelog read backwards:
the first change of a field gives its value at creation), at its creation date, by its creator. Then every
changelog entry becomes one revision, in order, with its author and date, setting the fields the mapping
carries to their new values; what has no field in the destination (a resolution, a fix version, a link
change) is kept in the revision as a readable note. Comments come in at their place in time, under their
authors. Dates are made strictly increasing (a millisecond apart where the source has equal ones), as the
destination requires.

Plain functions over the neutral records and a Drafter (people, values, rich text): no vendor, no Django.
"""

import html
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from apps.connections.connectors import records
from apps.mappings.drafting.proposals import Transform

SIMPLE_TRANSFORMS = (Transform.COPY, Transform.NUMBER, Transform.DATE, Transform.MAP_VALUES, Transform.TO_PLAIN_TEXT)
NOTE_TITLE = "Migrated from Jira: changes with no field here"


@dataclass
class ReplayContext:
    """What the changelog's readable values need to become destination values."""

    people_by_name: dict[str, str] = field(default_factory=dict)  # display name -> source person id
    sprint_paths_by_name: dict[str, str] = field(default_factory=dict)  # source sprint name -> iteration path
    sprint_field: str = ""  # the source's sprint field id


def _aware(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def strictly_after(moments: list[datetime], floor: datetime | None) -> list[datetime]:
    """The same moments, each moved forward by a millisecond where needed so that every one is later than
    the one before (and than `floor`)."""
    out, previous = [], _aware(floor)
    for moment in moments:
        moment = _aware(moment)
        if previous is not None and moment <= previous:
            moment = previous + timedelta(milliseconds=1)
        out.append(moment)
        previous = moment
    return out


def _context(drafter) -> ReplayContext:
    return getattr(drafter, "replay_context", None) or ReplayContext()


def person_of(drafter, person: records.Person | None, what: str) -> str:
    """The destination identity for a source person; their name as text where they have none (bypassRules
    keeps it)."""
    if person is None:
        return ""
    return drafter.person(person, what, []) or person.display_name or person.source_id


def change_fields(drafter, item: records.WorkItem, field_id: str, value: Any) -> tuple[dict[str, Any], bool]:
    """The destination fields one source field takes when it becomes `value` (the changelog's readable
    text), and whether the mapping carries it at all."""
    plan = drafter.plan
    context = _context(drafter)
    text = "" if value is None else str(value)
    if field_id == "status":
        state = plan.states.get((item.type_id, text), "")
        return ({"System.State": state}, True) if state else ({}, False)
    if field_id == "assignee":
        if not text:
            return {"System.AssignedTo": None}, True
        account = context.people_by_name.get(text, text)
        return {"System.AssignedTo": person_of(drafter, records.Person(account, text), "Assigned to")}, True
    if field_id == "summary":
        return ({"System.Title": text}, True) if text else ({}, False)
    if field_id == "labels":
        return {"System.Tags": [t for t in text.split() if t]}, True
    if field_id == "description":
        rule = plan.fields.get("description")
        if rule is None or not rule.target_field:
            return {}, False
        return {rule.target_field: drafter.rich(text, "The description", []) if text else None}, True
    if context.sprint_field and field_id == context.sprint_field:
        names = [n.strip() for n in text.split(",") if n.strip()]
        if not names:
            return {"System.IterationPath": plan.destination_project}, True
        path = context.sprint_paths_by_name.get(names[-1])
        return ({"System.IterationPath": path}, True) if path else ({}, False)
    rule = plan.fields.get(field_id)
    if rule is None or not rule.target_field or rule.transform not in SIMPLE_TRANSFORMS:
        return {}, False
    if field_id == "priority" or rule.transform == Transform.MAP_VALUES:
        mapped = rule.values.get(text) if text else None
        if text and mapped is None:
            return {}, False
        if isinstance(mapped, str) and mapped.isdigit():
            mapped = int(mapped)
        return {rule.target_field: mapped}, True
    return {rule.target_field: drafter.transform(rule, text, []) if text else None}, True


def create_fields(drafter, item: records.WorkItem, *, status: str, revisions: list[records.Revision]) -> dict:
    """The fields that make the item as it was created: its date, its iteration, its state, and the first
    value of every field the changelog changes later."""
    plan = drafter.plan
    out: dict[str, Any] = {}
    if item.created_at:
        out["System.CreatedDate"] = _aware(item.created_at)
    if status:
        out["System.State"] = status
    if item.iteration_id in drafter.sprints:
        out["System.IterationPath"] = drafter.sprints[item.iteration_id]
    elif plan.iterations.get(item.iteration_id, "") and not plan.iterations[item.iteration_id].startswith("create:"):
        out["System.IterationPath"] = plan.iterations[item.iteration_id]
    if not plan.history:
        return out
    seen: set[str] = set()
    for revision in revisions:
        for change in revision.changes:
            if change.field_id in seen:
                continue
            seen.add(change.field_id)
            fields, carried = change_fields(drafter, item, change.field_id, change.old_value)
            if carried:
                out.update(fields)
    return out


def _note(lines: list[tuple[str, Any, Any]]) -> str:
    if not lines:
        return ""
    rows = "".join(f"<li>{html.escape(name)}: {html.escape(str(old) if old not in (None, '') else '—')} → "
                   f"{html.escape(str(new) if new not in (None, '') else '—')}</li>" for name, old, new in lines)
    return f"<p><em>{NOTE_TITLE}</em></p><ul>{rows}</ul>"


def current_fields(write: records.ItemWrite | None) -> dict[str, Any]:
    """The values the item has now in the source, in the destination's fields (what its history must end on)."""
    if write is None:
        return {}
    priority = write.priority
    out: dict[str, Any] = {"System.Title": write.summary, "System.AssignedTo": write.assignee or None,
                           "System.Tags": sorted(write.labels),
                           "Microsoft.VSTS.Common.Priority": int(priority) if str(priority).isdigit() else priority}
    if write.target_status:
        out["System.State"] = write.target_status
    if write.fields.get("System.IterationPath"):
        out["System.IterationPath"] = write.fields["System.IterationPath"]
    return out


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, list | tuple) or isinstance(b, list | tuple):
        return sorted(a or []) == sorted(b or [])
    return (a in (None, "")) and (b in (None, "")) or a == b


def history(drafter, item: records.WorkItem, revisions: list[records.Revision],
            comments: list[records.Comment], current: dict[str, Any] | None = None) -> list[records.RevisionWrite]:
    """Every changelog entry and comment of the item as a revision to write, oldest first. Where the
    changelog does not explain a value the item has now (`current`), one last revision sets it, saying so."""
    entries: list[tuple[datetime, int, str, str, dict, str, bool]] = []
    replayed = create_fields(drafter, item, status="", revisions=revisions)
    for revision in revisions:
        if revision.changed_at is None:
            continue
        fields: dict[str, Any] = {}
        lost: list[tuple[str, Any, Any]] = []
        for change in revision.changes:
            mapped, carried = change_fields(drafter, item, change.field_id, change.new_value)
            if carried:
                fields.update(mapped)
            else:
                lost.append((change.field_id, change.old_value, change.new_value))
        replayed.update(fields)
        entries.append((_aware(revision.changed_at), 0, f"changelog:{revision.source_id}",
                        person_of(drafter, revision.author, "Changed by"), fields, _note(lost), False))
    for comment in comments:
        if comment.is_deleted or comment.created_at is None:
            continue
        body = drafter.rich(comment.body if isinstance(comment.body, dict) else str(comment.body or ""),
                            "A comment", [])
        if not body:
            continue
        entries.append((_aware(comment.created_at), 1, f"comment:{comment.source_id}",
                        person_of(drafter, comment.author, "Comment by"), {}, body, True))
    entries.sort(key=lambda e: (e[0], e[1], e[2]))
    unexplained = {ref: value for ref, value in (current or {}).items()
                   if ref in replayed and not _same(replayed[ref], value)}
    if unexplained:
        last = max([e[0] for e in entries] + [_aware(item.updated_at or item.created_at)])
        entries.append((last, 2, "current", "", unexplained, "<p><em>Values as the source shows them now (its "
                        "history does not record these changes).</em></p>", False))
    dates = strictly_after([e[0] for e in entries], item.created_at)
    return [records.RevisionWrite(source_id=sid, changed_at=when, author=author, fields=fields, note=note,
                                  is_comment=is_comment)
            for when, (_, _, sid, author, fields, note, is_comment) in zip(dates, entries, strict=True)]
