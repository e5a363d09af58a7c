"""History as it happened, for a destination that can hold it (Azure DevOps with bypassRules).

An item is created with the values it had when it was created in the source (the changelog read backwards:
the first change of a field gives its value at creation), at its creation date, by its creator. Then every
changelog entry becomes one revision, in order, with its author and date, setting the fields the mapping
carries to their new values; what has no field in the destination (a resolution, a fix version, a link
change) is kept in the revision as a readable note. Comments come in at their place in time, under their
authors. Dates are made strictly increasing (a millisecond apart where the source has equal ones), as the
destination requires.

Plain functions over the neutral records and a Drafter (people, values, rich text), and the states phase's
replay over the ports (HistoryReplay, with the images comments show): no vendor, no Django.
"""

import html
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from apps.connections.connectors import records
from apps.connections.connectors.errors import ConnectorError, TransientError
from apps.mappings.drafting.proposals import Transform
from apps.mappings.transforms import ImageTarget
from apps.runs.engine.draft import LABELS, payload_hash
from apps.runs.engine.ports import Recorded

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


def _no_account(drafter, name: Any) -> bool:
    """A person the changelog names (by display name) who has no account of their own in the destination."""
    if name in (None, ""):
        return False
    return not drafter.plan.people.get(_context(drafter).people_by_name.get(str(name), str(name)))


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
    lists = lists_at_creation(drafter, item, revisions)
    moved = {change.field_id for revision in revisions for change in revision.changes} & set(lists)
    if moved or (lists and "System.Tags" in out):  # the tags hold the labels and the lists as they were then
        out.update(_list_fields(drafter, lists, _labels_at_creation(drafter, item, revisions), moved,
                                tags="System.Tags" in out))
    return out


def _labels_at_creation(drafter, item: records.WorkItem, revisions: list[records.Revision]) -> list[str]:
    first = next((c for r in revisions for c in r.changes if c.field_id == "labels"), None)
    if first is not None:
        return change_fields(drafter, item, "labels", first.old_value)[0]["System.Tags"]
    return list(item.labels) if drafter._wants(LABELS, "System.Tags", "labels") else []


def _list_change(names: list[str], *, removed: Any, added: Any) -> list[str]:
    out = [n for n in names if n != str(removed)] if removed not in (None, "") else list(names)
    return out + [str(added)] if added not in (None, "") and str(added) not in out else out


def lists_at_creation(drafter, item: records.WorkItem, revisions: list[records.Revision]) -> dict[str, list[str]]:
    """The lists the mapping carries as tags or in one field (fix versions: values_to_tags), each with its names
    when the item was created: today's, with every change undone from the newest (Jira writes one change per
    version added or removed, or one from a version to another)."""
    out = {}
    for field_id, rule in drafter.plan.fields.items():
        if rule.transform != Transform.VALUES_TO_TAGS or not rule.target_field or not drafter.fits(
                item, rule.target_field):
            continue
        names = drafter.tag_names(item.fields.get(field_id))
        for revision in reversed(revisions):
            for change in reversed(revision.changes):
                if change.field_id == field_id:
                    names = _list_change(names, removed=change.new_value, added=change.old_value)
        out[field_id] = names
    return out


def _list_fields(drafter, lists: dict[str, list[str]], labels: list[str], changed: set[str], *,
                 tags: bool) -> dict[str, Any]:
    """The destination fields the lists set: the tags are the labels and the names of every list carried as tags
    (written when the labels or one of those lists changed: `tags`, `changed`); a list carried in a field holds
    its names joined."""
    out: dict[str, Any] = {}
    tagged = [f for f in lists if drafter.plan.fields[f].target_field == "System.Tags"]
    if tags or changed & set(tagged):
        out["System.Tags"] = list(dict.fromkeys([*labels, *(name for f in tagged for name in lists[f])]))
    for field_id in changed - set(tagged):
        out[drafter.plan.fields[field_id].target_field] = "; ".join(lists[field_id]) or None
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
    if write.description:
        # The changelog holds a description as plain text: its last entry must not be the rich text's end.
        out["System.Description"] = write.description
    return out


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, list | tuple) or isinstance(b, list | tuple):
        return sorted(a or []) == sorted(b or [])
    return (a in (None, "")) and (b in (None, "")) or a == b


# (image reference, alt) -> how the destination shows it, and the file to attach where the item does not hold
# it yet; None: not a file the run has uploaded (the image stays a text note).
ImageFinder = Callable[[str, str], tuple[ImageTarget, records.FileAttach | None] | None]


def history(drafter, item: records.WorkItem, revisions: list[records.Revision],
            comments: list[records.Comment], current: dict[str, Any] | None = None, *,
            images: ImageFinder | None = None) -> list[records.RevisionWrite]:
    """Every changelog entry and comment of the item as a revision to write, oldest first. Where the
    changelog does not explain a value the item has now (`current`), one last revision sets it, saying so.
    A comment shows the images `images` finds, and its revision attaches those the item does not hold yet
    (the first comment that shows a file attaches it)."""
    entries: list[tuple[datetime, int, str, str, dict, str, bool, tuple]] = []
    attached: set[str] = set()
    replayed = create_fields(drafter, item, status="", revisions=revisions)
    lists = lists_at_creation(drafter, item, revisions)  # fix versions as tags or in a field: as they change
    labels = _labels_at_creation(drafter, item, revisions) if lists else []
    for revision in revisions:
        if revision.changed_at is None:
            continue
        fields: dict[str, Any] = {}
        lost: list[tuple[str, Any, Any]] = []
        changed: set[str] = set()
        for change in revision.changes:
            if change.field_id in lists:  # one version added or removed (or one for another)
                lists[change.field_id] = _list_change(lists[change.field_id], removed=change.old_value,
                                                      added=change.new_value)
                changed.add(change.field_id)
                continue
            mapped, carried = change_fields(drafter, item, change.field_id, change.new_value)
            # a field the destination type lacks is refused there: the change is kept in the note instead
            mapped = {ref: value for ref, value in mapped.items() if drafter.fits(item, ref)}
            if carried and mapped:
                fields.update(mapped)
                if change.field_id == "assignee" and (_no_account(drafter, change.old_value)
                                                      or _no_account(drafter, change.new_value)):
                    # the default person (or nobody) stands for them: the note says who it really was
                    lost.append((change.field_name or change.field_id, change.old_value, change.new_value))
            else:
                lost.append((change.field_name or change.field_id, change.old_value, change.new_value))
        if lists:
            labels = fields.get("System.Tags", labels)
            fields.update(_list_fields(drafter, lists, labels, changed, tags="System.Tags" in fields))
        replayed.update(fields)
        entries.append((_aware(revision.changed_at), 0, f"changelog:{revision.source_id}",
                        person_of(drafter, revision.author, "Changed by"), fields, _note(lost), False, ()))
    for comment in sorted((c for c in comments if not c.is_deleted and c.created_at is not None),
                          key=lambda c: _aware(c.created_at)):
        files: list[records.FileAttach] = []
        body = drafter.rich(comment.body if isinstance(comment.body, dict) else str(comment.body or ""),
                            "A comment", [], image_resolver=_shown(images, files, attached) if images else None)
        if not body:
            continue
        attached.update(f.source_id for f in files)
        entries.append((_aware(comment.created_at), 1, f"comment:{comment.source_id}",
                        person_of(drafter, comment.author, "Comment by"), {}, body, True, tuple(files)))
    entries.sort(key=lambda e: (e[0], e[1], e[2]))
    unexplained = {ref: value for ref, value in (current or {}).items()
                   if ref in replayed and not _same(replayed[ref], value) and drafter.fits(item, ref)}
    if unexplained:
        last = max([e[0] for e in entries] + [_aware(item.updated_at or item.created_at)])
        entries.append((last, 2, "current", "", unexplained, "<p><em>Values as the source shows them now (its "
                        "history does not record these changes).</em></p>", False, ()))
    dates = strictly_after([e[0] for e in entries], item.created_at)
    return [records.RevisionWrite(source_id=sid, changed_at=when, author=author, fields=fields, note=note,
                                  is_comment=is_comment, files=files)
            for when, (_, _, sid, author, fields, note, is_comment, files) in zip(dates, entries, strict=True)]


def _shown(images: ImageFinder, files: list[records.FileAttach], attached: set[str]):
    """An image resolver for one comment: the images `images` finds, collecting the files to attach."""
    def resolve(src: str, alt: str) -> ImageTarget | None:
        found = images(src, alt)
        if found is None:
            return None
        target, attach = found
        if attach is not None and attach.source_id not in attached and attach not in files:
            files.append(attach)
        return target
    return resolve


class HistoryReplay:
    """Mixed into engine.execute.Engine (plan, source, destination, store, drafter, parallel, _pool(),
    requests_since(), _images(), _limit()): the states phase's replay, for a destination that holds history.

    Images that comments show are files of the item. They are uploaded before the slice writes any history
    (`_replay_prepare`, in the main thread), keyed `attachment:<item>:<file>` as the attachments phase keys
    them, and recorded (phase `uploads`) before a revision shows them: a crash after that reuses them, never
    uploads them again. The revision of the first comment that shows a file attaches it, at the comment's date
    (attaching it earlier would write a revision dated now, and the destination would refuse the older history).
    The item's states entry records them as attachments in the same transaction, so the attachments phase
    does not upload them again; a file already uploaded by the attachments phase (a re-run) is shown as it is.
    """

    def _replay_context(self) -> ReplayContext:
        if getattr(self.drafter, "replay_context", None) is None:
            sprints = self.drafter.sprints
            self.drafter.replay_context = ReplayContext(
                people_by_name=self.source.people_by_name(),
                sprint_paths_by_name={i.name: sprints[i.source_id] for i in self.source.iterations()
                                      if i.source_id in sprints},
                sprint_field=self.source.sprint_field())
        return self.drafter.replay_context

    def _replay_files(self) -> dict[str, dict[str, str]]:
        if getattr(self, "_replay_known", None) is None:
            self._replay_known = {phase: dict(self.store.mapped(phase)) for phase in ("attachments", "uploads")}
        return self._replay_known

    def _replay_load(self, source_id: str) -> tuple[records.WorkItem, list[records.Revision], list[records.Comment]] | None:
        found = self.source.items_by_ids([source_id])
        if not found:
            return None
        revisions = self.source.revisions_bulk([source_id]).get(source_id, [])
        comments = self.source.comments_of(source_id) if self.plan.comments else []
        return found[0], revisions, comments

    def _replay_prepare(self, refs) -> None:
        """Read the slice's items, histories and comments; upload the images their comments show that are not
        uploaded yet, and record them before anything shows them."""
        self._replay_loaded: dict[str, tuple] = {}
        self._replay_blocked: set[str] = set()
        known = self._replay_files() if self.plan.attachments else {}  # store reads: here, not in the pool
        ids = [ref.source_id for ref in refs]
        try:
            items = {item.source_id: item for item in self.source.items_by_ids(ids)}
            changelogs = self.source.revisions_bulk(ids)
        except ConnectorError as exc:
            # Throttled: the slice comes back (no comment may go without its images); refused: each item reads
            # its own and says what went wrong.
            if exc.kind == "transient":
                self._replay_blocked.update(ids)
            return

        def comments_of(source_id):
            try:
                return self.source.comments_of(source_id) if self.plan.comments else []
            except ConnectorError as exc:
                return exc

        with self._pool() as pool:
            comments = dict(zip(ids, pool.map(comments_of, ids), strict=True))
        for source_id in ids:
            if isinstance(comments[source_id], ConnectorError):
                if comments[source_id].kind == "transient":
                    self._replay_blocked.add(source_id)
            elif source_id in items:
                self._replay_loaded[source_id] = (items[source_id], changelogs.get(source_id, []),
                                                  comments[source_id])
        if not self.plan.attachments:
            return
        todo: dict[str, tuple[str, records.Attachment]] = {}
        for source_id, (_, _, item_comments) in self._replay_loaded.items():
            for comment in item_comments:
                if comment.is_deleted:
                    continue
                try:
                    shown = self._images(comment.body, source_id)
                except ConnectorError:
                    self._replay_blocked.add(source_id)
                    break
                for attachment in shown:
                    key = f"attachment:{source_id}:{attachment.source_id}"
                    if key in known["attachments"] or key in known["uploads"]:
                        continue
                    if attachment.size_bytes and attachment.size_bytes > self._limit():
                        continue  # not shown; the attachments phase reports it with its size
                    todo.setdefault(key, (source_id, attachment))
        if not todo:
            return

        def upload(key):
            source_id, attachment = todo[key]
            try:
                return self.destination.file_upload(source_id=key, filename=attachment.filename,
                                                    chunks=self.source.attachment_chunks(attachment),
                                                    size=attachment.size_bytes), None
            except ConnectorError as exc:
                return None, exc

        uploaded: list[Recorded] = []
        with self._pool() as pool:
            for key, (file_id, error) in zip(todo, pool.map(upload, list(todo)), strict=True):
                source_id, attachment = todo[key]
                if file_id:
                    uploaded.append(Recorded("uploads", key, file_id, "", payload_hash(
                        {"name": attachment.filename, "size": attachment.size_bytes})))
                elif error is not None and error.kind == "transient":
                    self._replay_blocked.add(source_id)  # its history waits: no comment without its image
        if uploaded:
            self.store.record(phase="states", written=uploaded, failed=[], retry=[], cursor={}, progress={},
                              requests=self.requests_since())
            known["uploads"].update({r.source_id: r.destination_id for r in uploaded})

    def _replay_item(self, ref) -> list[Recorded]:
        """Write the item's changelog and comments as revisions, each under its author and date; what was
        written before is skipped by the destination (its last revision date is the checkpoint). Returns the
        files the revisions attach, to record as the item's attachments."""
        if ref.source_id in getattr(self, "_replay_blocked", ()):
            raise TransientError("An image a comment shows could not be uploaded yet.", code="transient")
        loaded = getattr(self, "_replay_loaded", {}).pop(ref.source_id, None) or self._replay_load(ref.source_id)
        if loaded is None:
            return []
        item, revisions, comments = loaded
        known = self._replay_files() if self.plan.attachments else {"attachments": {}, "uploads": {}}
        shown: dict[str, records.Attachment] = {}

        def images(src: str, alt: str):
            attachment = self.source.image_attachment(src, item_id=item.source_id)
            if attachment is None:
                return None
            key = f"attachment:{item.source_id}:{attachment.source_id}"
            file_id = known["attachments"].get(key) or known["uploads"].get(key)
            if not file_id:
                return None
            shown[key] = attachment
            target = self.destination.image_target(attachment_id=file_id, filename=attachment.filename)
            held = key in known["attachments"]
            return target, None if held else records.FileAttach(key, file_id, attachment.filename)

        now = current_fields(self.drafter.draft(item).write)
        writes = history(self.drafter, item, revisions, comments, now,
                         images=images if self.plan.attachments else None)
        self.destination.history_replay(destination_id=ref.destination_id, revisions=writes)
        return [Recorded("attachments", f.source_id, f.destination_id, "",
                         payload_hash({"name": f.filename, "size": shown[f.source_id].size_bytes}))
                for write in writes for f in write.files]
