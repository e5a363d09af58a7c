"""The verification phase: the destination read back and every planned item reconciled with what the run
should have written.

What is expected is computed the way the engine drafts it (`Drafter.draft` over the source item as it is
now and the frozen MappingPlan), so nothing of the mapping is re-implemented here. What is there comes
through `DestinationPort.read_back`, as neutral `ReadBack`s (the destination's ids and names, no vendor
JSON): the same comparison serves whichever way a run goes.

One slice reads a bounded number of created items back and hands the differences to the store with the
checkpoint in one transaction, so a crash replays at most the slice that was not recorded, and nothing is
counted twice. A difference is structure only: counts, lengths, hashes, ids, status and type names, never
a summary, a description or a comment.
"""

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field

from apps.connections.connectors import records
from apps.runs.engine import PHASES
from apps.runs.engine.draft import Warning

SLICE = 50  # items read back per request and per checkpoint

MISSING, EXTRA, DIFFERS = "missing", "extra", "differs"
CHECKS = ("exists", "duplicate", "type", "status", "parent", "links", "summary", "description", "priority",
          "labels", "components", "sprint", "assignee", "reporter", "fields", "comment_count", "attachments",
          "history", "web_links")
# Which preview warnings explain a difference in which check: those are shown after the unexplained ones.
ANNOUNCED_BY = {
    "value_unmapped": ("priority", "fields"), "value_invalid": ("fields",),
    "text_cut": ("summary", "description", "fields"), "formatting": ("description", "fields"),
    "person_no_account": ("assignee", "reporter", "fields"), "person_default": ("assignee", "reporter"),
    "state_unmapped": ("status",), "attachment_too_large": ("attachments",),
    "parent_level": ("parent",), "parent_missing": ("parent",),
}


@dataclass(frozen=True)
class ReadBack:
    """One destination item as read back, in neutral terms. `*_refs` hold every way the destination names
    the value (its id and its name), since a write may have named either."""

    destination_id: str
    key: str
    item: records.WorkItem
    type_refs: frozenset[str] = frozenset()
    status_refs: frozenset[str] = frozenset()
    priority_refs: frozenset[str] = frozenset()
    links: tuple[tuple[frozenset[str], str], ...] = ()  # (the link type's id and name, the far item's id)
    component_ids: tuple[str, ...] = ()
    sprint_ids: tuple[str, ...] = ()
    attachments: tuple[records.Attachment, ...] = ()
    comment_count: int = 0
    comment_ids: tuple[str, ...] | None = None  # None: the destination did not list them all
    revision_count: int | None = None  # a destination that keeps history as revisions: how many the item has
    web_links: tuple[tuple[str, str], ...] | None = None  # links out of the tracker (url, title); None: not read


@dataclass(frozen=True)
class Difference:
    source_id: str
    destination_key: str
    check: str
    kind: str  # missing / extra / differs
    explanation: str  # structure only
    announced: bool = False


@dataclass
class Expected:
    source_id: str
    destination_key: str
    write: records.ItemWrite
    parent_id: str = ""
    parent_key: str = ""
    links: list[tuple[str, str, str]] = field(default_factory=list)  # (link type, far destination id, key)
    sprint_id: str = ""
    comment_count: int | None = None  # None: neither comments nor history are carried by this run
    history_ids: list[str] | None = None  # the history comments the run recorded; None: history not carried
    history_batches: int = 0  # how many the source's revisions make
    revisions_min: int = 0  # a destination that replays history: the revisions the item must have at least
    attachments: list[tuple[str, int | None, str]] | None = None  # (name, size, sha256) or None: not carried
    over_limit: int = 0  # of those, over the destination's limit (announced in the preview)
    description_rewritten: bool = False  # the attachments phase showed its images from the destination
    announced: set[str] = field(default_factory=set)
    web_links: list[tuple[str, str]] | None = None  # the source's links out of the tracker (url, title)


def carried(plan) -> set[str]:
    """What besides fields this run writes: what the plan asks for and the engine has a phase for."""
    return {what for what in ("comments", "attachments", "history")
            if getattr(plan, what, False) and what in PHASES}


def announced_checks(warnings: list[Warning]) -> set[str]:
    return {check for w in warnings for check in ANNOUNCED_BY.get(w.code, ())}


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _text_shape(value) -> tuple[str, list[str], int]:
    """(format, top-level blocks, length): the shape of a rich text, not its content."""
    if isinstance(value, dict):
        blocks = [str(node.get("type", "?")) for node in value.get("content") or [] if isinstance(node, dict)]
        return "adf", blocks, len(json.dumps(value, sort_keys=True))
    text = str(value or "")
    return "wiki", [line.split(" ", 1)[0][:12] for line in text.strip().splitlines() if line.strip()], len(text)


def _empty(value) -> bool:
    if value in (None, "", [], {}):
        return True
    return isinstance(value, dict) and not value.get("content")


def _blocks(blocks: list[str]) -> str:
    counts = Counter(blocks)
    return ", ".join(f"{name}×{n}" if n > 1 else name for name, n in counts.most_common(6)) or "none"


def compare(expected: Expected, actual: ReadBack | None, digests: dict[str, str] | None = None) -> list[Difference]:
    """Every difference between what should be and what is, for one item. `digests`: sha256 of the
    destination's attachments by their id, where they were read."""
    sid, key = expected.source_id, expected.destination_key

    def diff(check: str, kind: str, explanation: str) -> Difference:
        return Difference(sid, key, check, kind, explanation[:500], check in expected.announced)

    if actual is None:
        return [diff("exists", MISSING, "The item the run recorded is not in the destination (deleted, moved to "
                                        "another project or not readable).")]
    out: list[Difference] = []
    write, item = expected.write, actual.item
    if write.type_id and write.type_id not in actual.type_refs:
        out.append(diff("type", DIFFERS, f"Expected type “{write.type_id}”, found “{_name(actual.type_refs)}”."))
    if write.target_status and write.target_status not in actual.status_refs:
        out.append(diff("status", DIFFERS, f"Expected status “{write.target_status}”, found "
                                           f"“{_name(actual.status_refs)}”."))
    if (expected.parent_id or "") != (item.parent_id or ""):
        if not expected.parent_id:
            out.append(diff("parent", EXTRA, f"Expected no parent, found one (id {item.parent_id})."))
        elif not item.parent_id:
            out.append(diff("parent", MISSING, f"Expected under {expected.parent_key or expected.parent_id}, found "
                                               "no parent."))
        else:
            out.append(diff("parent", DIFFERS, f"Expected under {expected.parent_key or expected.parent_id}, found "
                                               f"under id {item.parent_id}."))
    out += _links(expected, actual, diff)
    if (write.summary or "").strip() != (item.title or "").strip():
        out.append(diff("summary", DIFFERS, f"The summary differs: {len(write.summary or '')} characters expected "
                                            f"(sha256 {_digest(write.summary or '')}), {len(item.title or '')} found "
                                            f"(sha256 {_digest(item.title or '')})."))
    out += _description(write.description, item.description, diff, rewritten=expected.description_rewritten)
    if write.priority and write.priority not in actual.priority_refs:
        out.append(diff("priority", DIFFERS, f"Expected priority “{write.priority}”, found "
                                             f"“{_name(actual.priority_refs) or 'none'}”."))
    want, have = Counter(write.labels), Counter(item.labels)
    if want != have:
        out.append(diff("labels", MISSING if want - have and not have - want else DIFFERS,
                        f"Expected {sum(want.values())} label(s), found {sum(have.values())}: "
                        f"{sum((want - have).values())} missing, {sum((have - want).values())} not expected."))
    if set(write.component_ids) != set(actual.component_ids):
        missing = sorted(set(write.component_ids) - set(actual.component_ids))
        extra = sorted(set(actual.component_ids) - set(write.component_ids))
        out.append(diff("components", MISSING if missing and not extra else DIFFERS,
                        f"Components missing: {', '.join(missing) or 'none'}; not expected: {', '.join(extra) or 'none'}."))
    if expected.sprint_id and expected.sprint_id not in actual.sprint_ids:
        out.append(diff("sprint", MISSING, f"Expected in sprint {expected.sprint_id}, found in "
                                           f"{', '.join(actual.sprint_ids) or 'no sprint'}."))
    for check, want_person, have_person in (("assignee", write.assignee, item.assignee),
                                            ("reporter", write.reporter, item.reporter)):
        have_id = have_person.source_id if have_person else ""
        if want_person and want_person != have_id:
            # People's ids are personal data: say only that it differs.
            out.append(diff(check, MISSING if not have_id else DIFFERS,
                            f"Expected an {check}, found none." if not have_id else
                            f"The {check} is another account than the mapping gives."))
    empty_fields = sorted(fid for fid, value in write.fields.items()
                          if not _empty(value) and _empty(item.fields.get(fid)))
    if empty_fields:
        out.append(diff("fields", MISSING, f"{len(empty_fields)} mapped field(s) empty in the destination: "
                                           f"{', '.join(empty_fields[:10])}."))
    if expected.comment_count is not None and expected.comment_count != actual.comment_count:
        out.append(diff("comment_count", MISSING if actual.comment_count < expected.comment_count else EXTRA,
                        f"Expected {expected.comment_count} comment(s), found {actual.comment_count}."))
    if expected.attachments is not None:
        out += _attachments(expected, actual, digests or {}, diff)
    if expected.history_ids is not None and expected.history_batches:
        recorded = len(expected.history_ids)
        present = recorded if actual.comment_ids is None else sum(1 for c in expected.history_ids
                                                                  if c in actual.comment_ids)
        if present < expected.history_batches:
            out.append(diff("history", MISSING, f"Expected {expected.history_batches} history comment(s) from the "
                                                f"source's revisions; {recorded} recorded, {present} found."))
    if expected.web_links is not None and actual.web_links is not None:
        out += _web_links(expected.web_links, actual.web_links, diff)
    if expected.revisions_min and actual.revision_count is not None and actual.revision_count < expected.revisions_min:
        out.append(diff("history", MISSING, f"Expected at least {expected.revisions_min} revision(s) (its creation "
                                            f"and the source's history replayed), found {actual.revision_count}."))
    return out


def _name(refs: frozenset[str]) -> str:
    """The readable one of an id and a name."""
    names = sorted((r for r in refs if not r.isdigit()), key=len)
    return names[0] if names else next(iter(sorted(refs)), "")


def _links(expected: Expected, actual: ReadBack, diff) -> list[Difference]:
    have = Counter()
    for type_refs, far in actual.links:
        have[(type_refs, far)] += 1
    missing = []
    for link_type, far_id, far_key in expected.links:
        match = next((k for k in have if have[k] and k[1] == far_id and link_type in k[0]), None)
        if match is None:
            missing.append(f"{link_type} {far_key or far_id}")
        else:
            have[match] -= 1
    extra = [f"{_name(refs)} {far}" for (refs, far), n in have.items() for _ in range(n)]
    if not missing and not extra:
        return []
    kind = MISSING if missing and not extra else (EXTRA if extra and not missing else DIFFERS)
    return [diff("links", kind, f"Expected {len(expected.links)} link(s), found {len(actual.links)}. Missing: "
                                f"{'; '.join(missing[:10]) or 'none'}. Not expected: {'; '.join(extra[:10]) or 'none'}.")]


def _web_links(want: list[tuple[str, str]], have: tuple[tuple[str, str], ...], diff) -> list[Difference]:
    """Each of the source's links out of the tracker once, at its URL, with its title (the destination keeps
    one link per URL: two source links to one URL are one). Counts only, never a URL or a title."""
    held = {url: title for url, title in have}
    wanted = dict(want)
    missing = sum(1 for url in wanted if url not in held)
    retitled = sum(1 for url, title in wanted.items() if url in held and held[url] != title)
    if not missing and not retitled:
        return []
    return [diff("web_links", MISSING if missing and not retitled else DIFFERS,
                 f"Expected {len(wanted)} link(s) out of the tracker, found {len(held)}: {missing} missing, "
                 f"{retitled} with another title.")]


def _description(want, have, diff, *, rewritten: bool = False) -> list[Difference]:
    if _empty(want):
        return []
    if _empty(have):
        return [diff("description", MISSING, "Expected a description, found none.")]
    want_format, want_blocks, want_len = _text_shape(want)
    have_format, have_blocks, have_len = _text_shape(have)
    if want_format != have_format:
        return [diff("description", DIFFERS, f"Expected {want_format}, found {have_format}.")]
    # What the run wrote comes first; a later phase may add to the end (a history section, rewritten images).
    # Images shown from the destination (a rewritten description) change some blocks' kind, not their number.
    shape = (lambda blocks: ["block"] * len(blocks)) if rewritten else list
    if shape(have_blocks)[:len(want_blocks)] != shape(want_blocks):
        return [diff("description", DIFFERS, f"Expected {len(want_blocks)} block(s) ({_blocks(want_blocks)}), "
                                             f"found {len(have_blocks)} ({_blocks(have_blocks)}); sizes {want_len} and "
                                             f"{have_len}.")]
    return []


def _attachments(expected: Expected, actual: ReadBack, digests: dict[str, str], diff) -> list[Difference]:
    """By name and size, then by sha256 where both sides were read (`digests`: destination attachment id ->
    sha256). Names are not repeated in the explanation."""
    pool = list(actual.attachments)
    missing, wrong = 0, []
    for name, size, sha in expected.attachments or []:
        match = next((a for a in pool if a.filename == name and a.size_bytes == size
                      and (not sha or digests.get(a.source_id, sha) == sha)), None)
        if match is not None:
            pool.remove(match)
            continue
        same = next((a for a in pool if a.filename == name), None)
        if same is None:
            missing += 1
            continue
        pool.remove(same)
        found = digests.get(same.source_id, "")
        if same.size_bytes != size:
            wrong.append(f"{size} bytes expected, {same.size_bytes} found")
        else:
            wrong.append(f"sha256 {sha[:12]} expected, {found[:12]} found ({size} bytes)")
    # Files left in the pool are not differences: the run also uploads the images shown inline in comments.
    if not missing and not wrong:
        return []
    total = len(expected.attachments or [])
    over = expected.over_limit
    text = (f"Expected {total} attachment(s), found {len(actual.attachments)}: {missing} missing"
            f"{f' ({over} over the size limit)' if over else ''}"
            f"{'; ' + '; '.join(wrong[:5]) if wrong else ''}.")
    kind = MISSING if missing and not wrong else DIFFERS
    explained = bool(over) and missing <= over and not wrong
    return [Difference(expected.source_id, expected.destination_key, "attachments", kind, text[:500],
                       explained or "attachments" in expected.announced)]


class Verifier:
    """The verify phase of one run, over the engine's ports (see Engine.phase_verify)."""

    def __init__(self, engine):
        self.engine = engine
        self.plan = engine.plan
        self.source = engine.source
        self.destination = engine.destination
        self.store = engine.store
        self.carried = carried(engine.plan)
        self._mapped: dict[str, dict[str, str]] = {}

    def mapped(self, phase: str) -> dict[str, str]:
        """The id map of a phase, read once per step (not once per slice)."""
        if phase not in self._mapped:
            self._mapped[phase] = self.store.mapped(phase)
        return self._mapped[phase]

    def step(self) -> tuple[int, bool]:
        """(items checked, phase done)."""
        after = int(self.store.cursor().get("verify", {}).get("after", -1))
        units = 0
        while self.engine.time_left() > 0:
            self.store.keep_alive()
            refs = self.store.items_created(after_ordinal=after, limit=SLICE)
            if not refs:
                self.store.verify_finish(differences=self.duplicates(), requests=self.engine.requests_since())
                return units, True
            differences = self.check(refs)
            after = refs[-1].ordinal
            self.store.verify_record(differences=differences, cursor={"after": after}, checked=len(refs),
                                     requests=self.engine.requests_since())
            units += len(refs)
        return units, False

    def check(self, refs) -> list[Difference]:
        ids = [ref.source_id for ref in refs]
        source_attachments: dict[str, list[records.Attachment]] = {}
        if "attachments" in self.carried:
            pairs = self.source.items_with_attachments(ids)
            sources = {item.source_id: item for item, _ in pairs}
            source_attachments = {item.source_id: list(files) for item, files in pairs}
        else:
            sources = {item.source_id: item for item in self.source.items_by_ids(ids)}
        parents = self.store.destination_ids({ref.parent_source_id for ref in refs if ref.parent_source_id})
        links = self.store.links_touching(ids)
        ends = self.store.destination_ids({s for link in links for s in (link.from_source_id, link.to_source_id)})
        sprints = self.mapped("sprints")
        subtasks = set(self.engine._subtask_types())
        read = self.destination.read_back([ref.destination_id for ref in refs])
        changelogs = self.source.revisions_bulk(ids) if self.engine.replays_history else {}
        history = self.mapped("history") if "history" in self.carried else {}
        rewritten = self.mapped("descriptions") if "attachments" in self.carried else {}
        limit = self.destination.attachment_limit_bytes if "attachments" in self.carried else None
        out: list[Difference] = []
        for ref in refs:
            item = sources.get(ref.source_id)
            if item is None:
                out.append(Difference(ref.source_id, ref.destination_key, "exists", DIFFERS,
                                      "The item is no longer in the source: nothing to compare it with."))
                continue
            parent_id, parent_key = parents.get(ref.parent_source_id, ("", "")) if ref.parent_source_id else ("", "")
            draft = self.engine.drafter.draft(item, source_url=self.source.item_url(item.source_id),
                                              parent_id=parent_id, parent_key=parent_key)
            if draft.write is None:
                continue
            expected = Expected(ref.source_id, ref.destination_key, draft.write, parent_id, parent_key,
                                announced=announced_checks(draft.warnings),
                                description_rewritten=ref.source_id in rewritten)
            for link in links:
                if ref.source_id not in (link.from_source_id, link.to_source_id):
                    continue
                target = self.plan.link_types.get(link.link_type)
                if not target or link.from_source_id not in ends or link.to_source_id not in ends:
                    continue
                far = link.to_source_id if link.from_source_id == ref.source_id else link.from_source_id
                expected.links.append((target, *ends[far]))
            if draft.sprint_source_id and ref.type_id not in subtasks:
                expected.sprint_id = sprints.get(draft.sprint_source_id, "")
            if self.engine.replays_history:
                expected.comment_count, expected.revisions_min = self.replayed(item, draft.write,
                                                                               changelogs.get(item.source_id, []))
            elif "comments" in self.carried or "history" in self.carried:
                expected.comment_count = int(item.comment_count or 0) if "comments" in self.carried else 0
            if "history" in self.carried and not self.engine.replays_history:
                expected.history_batches = self.history_batches(item.source_id)
                expected.history_ids = [cid for key, cid in history.items()
                                        if key.startswith(f"history:{ref.source_id}:")]
                expected.comment_count += expected.history_batches
            actual = read.get(ref.destination_id)
            if actual is not None and actual.web_links is not None and hasattr(self.source, "remote_links_of"):
                expected.web_links = [(link.url, link.comment) for link in self.source.remote_links_of(ref.source_id)
                                      if not self.engine._web_link_refusal(link)]
            digests: dict[str, str] = {}
            if "attachments" in self.carried:
                expected.attachments = []
                for attachment in source_attachments.get(ref.source_id, []):
                    size = attachment.size_bytes
                    if limit and size and size > limit:
                        expected.over_limit += 1
                        expected.attachments.append((attachment.filename, size, ""))
                    else:
                        expected.attachments.append((attachment.filename, size,
                                                     sha256_of(self.source.attachment_chunks(attachment))))
                wanted = {(name, size) for name, size, sha in expected.attachments if sha}
                for attachment in actual.attachments if actual else ():
                    if (attachment.filename, attachment.size_bytes) in wanted or any(
                            attachment.filename == name for name, _ in wanted):
                        digests[attachment.source_id] = sha256_of(self.destination.attachment_chunks(attachment))
            out += compare(expected, actual, digests)
        return out

    def replayed(self, item: records.WorkItem, write: records.ItemWrite, revisions) -> tuple[int, int]:
        """A destination that keeps history as revisions (Azure DevOps): (comments, revisions at least) the
        item must have, from the replay the states phase wrote (engine/replay.py, computed the same way): its
        creation, one revision per changelog entry and comment that says something, and a comment for each
        comment and readable note (Azure DevOps shows every History text as a comment)."""
        from apps.runs.engine.replay import current_fields, history

        self.engine._replay_context()
        comments = self.source.comments_of(item.source_id) if self.plan.comments else []
        writes = [w for w in history(self.engine.drafter, item, revisions, comments, current_fields(write))
                  if w.fields or w.note]
        return sum(1 for w in writes if w.note), 1 + len(writes)

    def history_batches(self, source_id: str) -> int:
        """How many history comments the item's revisions make, cut the way the history phase cuts them."""
        from apps.runs import changelog

        return len(changelog.changelog_batches(changelog.change_rows(self.source.revisions_of(source_id))))

    def duplicates(self) -> list[Difference]:
        """Issues carrying one of this run's source ids that the id map does not name: written twice."""
        finder = getattr(self.destination, "created_by_run", None)
        if finder is None:
            return []
        rows = list(finder(since=self.store.started_at, run_uid=self.store.run_uid))
        recorded = self.store.destination_ids({sid for _, _, sid in rows if sid})
        out = []
        for destination_id, key, source_id in rows:
            if not source_id or recorded.get(source_id, ("",))[0] == destination_id:
                continue
            mine = recorded.get(source_id, ("", ""))[1]
            out.append(Difference(source_id, key, "duplicate", EXTRA,
                                  f"{key} carries this item's source id too; the run recorded {mine}." if mine else
                                  f"{key} carries this item's source id, which the run did not record as written."))
        return out


def sha256_of(chunks) -> str:
    """sha256 over an iterator of byte chunks: a file is never held whole."""
    digest = hashlib.sha256()
    for chunk in chunks:
        digest.update(chunk)
    return digest.hexdigest()
