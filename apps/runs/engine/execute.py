"""The phases, one bounded slice at a time.

`Engine.step()` looks at the run's current phase, does at most `budget_seconds` of work in it, and hands
the result to the store, which records it with the checkpoint in one transaction. Nothing is written to
the destination twice:

* items: before a create request the items are marked SENDING (committed); a crash while the request is
  out leaves them SENDING, and the next slice reconciles them first (`destination.find_created`, which
  reads the entity property carried inside the create request) and adopts what was created;
* links: the destination skips a link it already holds and the id map is keyed on (type, from, to);
* remote links upsert on their globalId; transitions start from the item's current status;
* the source's own links out of the tracker (web links) are keyed on their id (phase "web_links") and the
  destination reads the item's links before it adds one;
* components and sprints are found by name before they are made.
"""

import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from apps.connections.connectors import records
from apps.connections.connectors.errors import ConnectorError
from apps.mappings.plan import MappingPlan
from apps.runs.engine import PHASES
from apps.runs.engine.content import ContentPhases
from apps.runs.engine.draft import Drafter, Warning, payload_hash
from apps.runs.engine.ports import (
    DestinationPort,
    Failure,
    PlanItem,
    PlanLink,
    Recorded,
    SourcePort,
    StorePort,
)
from apps.runs.engine.replay import HistoryReplay

logger = logging.getLogger(__name__)

PLAN_FLUSH = 1000  # plan rows per checkpoint
HIERARCHY_PREFIX = "System.LinkTypes.Hierarchy"
MAX_ATTEMPTS = 5  # an item whose create keeps failing for reasons that are not throttling


@dataclass
class StepResult:
    phase: str
    units: int = 0
    phase_done: bool = False
    finished: bool = False
    wait_seconds: float = 0.0  # come back after this long (a create may still be in flight)


def canonical_link(link: records.Link) -> PlanLink | None:
    """ADO keeps a link on both ends (A Dependency-Forward B and B Dependency-Reverse A; Related on both):
    one direction per pair, so each is written once."""
    if not link.to_item_id or link.is_external or link.link_type_id.startswith(HIERARCHY_PREFIX):
        return None
    kind = link.link_type_id
    if "." not in kind:
        # Jira (link types are numbered; ADO's are reference names): a link shows on both issues, the inward end
        # marked as the mirror; the outward end says which way it goes ("A blocks B" is from A to B).
        return None if link.is_mirror else PlanLink(kind, link.from_item_id, link.to_item_id)
    if kind.endswith("-Reverse"):
        return PlanLink(kind[: -len("-Reverse")] + "-Forward", link.to_item_id, link.from_item_id)
    if kind.endswith("-Forward"):
        return PlanLink(kind, link.from_item_id, link.to_item_id)
    a, b = sorted((link.from_item_id, link.to_item_id), key=lambda v: (len(v), v))
    return PlanLink(kind, a, b)


def add_warning(bucket: dict, warning: Warning, source_id: str) -> None:
    entry = bucket.setdefault(warning.code, {"count": 0, "messages": {}, "examples": []})
    entry["count"] += 1
    messages = entry["messages"]
    if warning.message in messages:
        messages[warning.message] += 1
    elif len(messages) < 20:
        messages[warning.message] = 1
    if source_id and len(entry["examples"]) < 10 and source_id not in entry["examples"]:
        entry["examples"].append(source_id)


class Engine(ContentPhases, HistoryReplay):
    def __init__(self, *, plan: MappingPlan, source: SourcePort, destination: DestinationPort | None,
                 store: StorePort, budget_seconds: float = 20.0, type_levels: dict[str, int] | None = None,
                 reconcile_after: float = 60.0,
                 clock: Callable[[], float] = time.monotonic):
        self.plan = plan
        self.source = source
        self.destination = destination
        self.store = store
        self.budget = budget_seconds
        self.type_levels = type_levels or {}
        self.clock = clock
        self.started = clock()
        self.preview = store.preview or destination is None
        self.parallel = max(1, getattr(destination, "parallel", 4) if destination else 4)
        self.bulk = max(1, min(50, getattr(destination, "bulk_size", 50) if destination else 50))
        rich = "wiki" if destination is not None and destination.kind == "jira_data_center" else "adf"
        if destination is None and plan.destination_kind == "jira_data_center":
            rich = "wiki"
        if (destination.kind if destination is not None else plan.destination_kind) == "azure_devops":
            rich = "html"
        self.drafter = Drafter(plan, rich_text=rich, components=store.mapped("components"),
                               sprints=store.mapped("sprints"), mentioned=getattr(source, "person_mentioned", None))
        self._requests_seen = destination.request_count() if destination else 0
        self.attachment_limit: int | None = None  # a preview is told the destination's limit
        self.sprint_lifecycle = True  # False for a sample run: sprints are filled, not started or closed
        # Items adopted from a sample whose parent the sample did not write (apps/runs/adoption.py): their
        # parent is set in the remote_links phase, recorded there with the link back, so only once.
        self.reparent: set[str] = set()
        self.reconcile_after = reconcile_after
        # Why the destination would refuse a link out of the tracker (a URL), "" where it takes it: set by the
        # adapters (the engine knows no vendor); None takes every link.
        self.web_link_refusal: Callable[[str], str] | None = None

    # -- the loop -----------------------------------------------------------------------------------------
    def time_left(self) -> float:
        return self.budget - (self.clock() - self.started)

    def requests_since(self) -> int:
        if not self.destination:
            return 0
        now = self.destination.request_count()
        made, self._requests_seen = now - self._requests_seen, now
        return made

    def step(self) -> StepResult:
        phase = self.store.phase()
        if phase not in PHASES:
            return StepResult(phase=phase, finished=True)
        handler = getattr(self, f"phase_{phase}")
        result = handler()
        if result.phase_done:
            following = PHASES[PHASES.index(phase) + 1] if phase != PHASES[-1] else "done"
            self.store.phase_advance(to=following)
            result.finished = following == "done"
        return result

    def _pool(self) -> ThreadPoolExecutor:
        return ThreadPoolExecutor(max_workers=self.parallel, thread_name_prefix="run-write")

    # -- plan ---------------------------------------------------------------------------------------------
    def phase_plan(self) -> StepResult:
        cursor = self.store.cursor().get("plan", {})
        read_state = cursor.get("read", {})
        items: list[PlanItem] = []
        links: dict[tuple, PlanLink] = {}
        warnings: dict = {}
        limit = self.destination.attachment_limit_bytes if self.destination else self.attachment_limit
        limit = limit or 10 * 1024 * 1024
        units = 0
        for record in self.source.read_items(read_state):
            if isinstance(record, records.WorkItem):
                items.append(PlanItem(record.source_id, record.parent_id, record.type_id, record.iteration_id))
            elif isinstance(record, records.Link):
                planned = canonical_link(record)
                if planned:
                    links[(planned.link_type, planned.from_source_id, planned.to_source_id)] = planned
            elif isinstance(record, records.Attachment):
                if record.size_bytes and record.size_bytes > limit and self.plan.attachments:
                    add_warning(warnings, Warning("attachment_too_large", f"An attachment of "
                                f"{record.size_bytes / 1048576:.1f} MB is over the destination's limit of "
                                f"{limit / 1048576:.0f} MB and will not be copied."), record.work_item_id)
            elif isinstance(record, records.StateCheckpoint) and record.stream == "work_items":
                read_state = record.state
                if len(items) >= PLAN_FLUSH or self.time_left() <= 0:
                    self.store.plan_add(items=items, links=list(links.values()), warnings=warnings,
                                        read_state=read_state)
                    units += len(items)
                    return StepResult("plan", units=units)
        self.store.plan_add(items=items, links=list(links.values()), warnings=warnings, read_state=read_state)
        self.store.plan_finalise(
            type_levels=self.type_levels,
            type_targets={k: v.target_type for k, v in self.plan.types.items()},
            missing_level={k: v.missing_level for k, v in self.plan.types.items()},
        )
        return StepResult("plan", units=units + len(items), phase_done=True)

    # -- structure: components and sprints (created future; filled, started, closed after the items) ----
    def phase_structure(self) -> StepResult:
        done_components = self.store.mapped("components")
        done_sprints = self.store.mapped("sprints")
        written: list[Recorded] = []
        failed: list[Failure] = []
        planned = 0
        if not self.plan.areas_as_labels:
            by_id = {area.source_id: area for area in self.source.areas()}
            for area_id, target in sorted(self.plan.areas.items()):
                if not target.startswith("create:") or area_id in done_components:
                    continue
                planned += 1
                if self.preview:
                    continue
                name = target.removeprefix("create:") or by_id.get(area_id, records.Area(area_id, area_id)).name
                try:
                    written.append(Recorded("components", area_id, self.destination.component(name=name)))
                except ConnectorError as exc:
                    if exc.kind == "transient":
                        raise
                    failed.append(Failure(area_id, "structure", exc.code, f"Component “{name}”: {exc.message}"))
        iterations = sorted(self.source.iterations(), key=lambda i: (i.start is None, i.start or 0, i.source_id))
        for iteration in iterations:
            target = self.plan.iterations.get(iteration.source_id, "")
            if not target.startswith("create:") or iteration.source_id in done_sprints:
                continue
            planned += 1
            if self.preview:
                continue
            name = target.removeprefix("create:") or iteration.name
            try:
                sprint_id = self.destination.sprint_find(name=name) or self.destination.sprint_create(
                    name=name, start=iteration.start, finish=iteration.finish, goal=iteration.goal,
                    source_id=iteration.source_id)
                written.append(Recorded("sprints", iteration.source_id, sprint_id, name))
            except ConnectorError as exc:
                if exc.kind == "transient":
                    raise
                failed.append(Failure(iteration.source_id, "structure", exc.code, f"Sprint “{name}”: {exc.message}"))
            if self.time_left() <= 0:
                break
        self.store.record(phase="structure", written=written, failed=failed, retry=[], cursor={},
                          progress={"done": len(written) + (planned if self.preview else 0),
                                    "failed": len(failed), "total": planned if self.preview else None},
                          requests=self.requests_since())
        more = any(self.plan.iterations.get(i.source_id, "").startswith("create:")
                   and i.source_id not in done_sprints and i.source_id not in {w.source_id for w in written}
                   and i.source_id not in {f.source_id for f in failed} for i in iterations)
        return StepResult("structure", units=len(written), phase_done=self.preview or not more)

    # -- items --------------------------------------------------------------------------------------------
    def reconcile(self) -> tuple[int, float]:
        """Items a crashed or timed-out slice may have created: adopt what the destination holds, send the
        rest again. Only once the request can no longer be running at the destination (`reconcile_after`
        seconds after it was sent): searching earlier could miss an issue that is still being created and
        write it twice. Returns (items adopted, seconds to wait before reconciling the younger ones)."""
        sending = self.store.items_sending()
        if not sending:
            return 0, 0.0
        youngest = self.store.sending_age_seconds(youngest=True)
        if youngest is not None and youngest < self.reconcile_after:
            return 0, max(1.0, self.reconcile_after - youngest)
        since = self.store.sending_since() or self.store.started_at
        found = self.destination.find_created(since=since, source_ids=[i.source_id for i in sending],
                                              run_uid=self.store.run_uid)
        written = [Recorded("items", sid, dest_id, key, adopted=True) for sid, (dest_id, key) in found.items()]
        retry = [i.source_id for i in sending if i.source_id not in found]
        logger.info("run reconciled %d item(s): %d adopted, %d to send again", len(sending), len(written), len(retry))
        self.store.record(phase="items", written=written, failed=[], retry=retry, cursor={},
                          progress={"done": len(written)}, requests=self.requests_since())
        return len(written), 0.0

    def phase_items(self) -> StepResult:
        units = 0
        if not self.preview:
            adopted, wait = self.reconcile()
            units += adopted
            if wait:
                # Parents must exist before their children: nothing more is sent until these are settled.
                return StepResult("items", units=units, wait_seconds=wait)
        while self.time_left() > 0:
            self.store.keep_alive()
            batch = self.store.items_next(limit=self.bulk * self.parallel * (4 if self.preview else 1))
            if not batch:
                return StepResult("items", units=units, phase_done=True)
            depth = batch[0].depth
            batch = [ref for ref in batch if ref.depth == depth]  # parents before children, always
            units += self._items_slice(batch)
        return StepResult("items", units=units)

    # -- history as it happened (a destination that holds it: engine/replay.py) ------------------------------
    @property
    def replays_history(self) -> bool:
        return bool(not self.preview and self.plan.history and getattr(self.destination, "replays_history", False)
                    and hasattr(self.source, "revisions_bulk"))

    def _items_slice(self, batch) -> int:
        sources = {item.source_id: item for item in self.source.items_by_ids([ref.source_id for ref in batch])}
        changelogs = {}
        if self.replays_history:
            self._replay_context()
            changelogs = self.source.revisions_bulk(list(sources))
        parents = self.store.destination_ids({ref.parent_source_id for ref in batch if ref.parent_source_id})
        warnings: dict = {}
        failed: list[Failure] = []
        skipped: list[Recorded] = []
        writes: list[tuple[records.ItemWrite, str]] = []
        for ref in batch:
            item = sources.get(ref.source_id)
            if item is None:
                failed.append(Failure(ref.source_id, "items", "gone", "The item is no longer in the source (deleted "
                                      "or moved since the plan)."))
                continue
            parent_id, parent_key = parents.get(ref.parent_source_id, ("", "")) if ref.parent_source_id else ("", "")
            if ref.parent_source_id and not parent_id and not self.preview:
                add_warning(warnings, Warning("parent_missing", "The parent was not created (it failed or is not "
                            "migrated); the item is created without a parent."), ref.source_id)
            draft = self.drafter.draft(item, source_url=self.source.item_url(item.source_id), parent_id=parent_id,
                                       parent_key=parent_key, revisions=changelogs.get(item.source_id))
            for warning in draft.warnings:
                add_warning(warnings, warning, ref.source_id)
            if draft.write is None:
                skipped.append(Recorded("items", ref.source_id))
                continue
            writes.append((draft.write, draft.payload_sha256))
        if self.preview:
            written = [Recorded("preview", w.source_id) for w, _ in writes]
            self.store.record(phase="items", written=written, failed=failed, retry=[], cursor={},
                              progress={"done": len(writes), "failed": len(failed), "skipped": len(skipped)},
                              warnings=warnings, statuses={w.source_id: w.target_status for w, _ in writes},
                              skipped=skipped)
            return len(writes)
        statuses = {w.source_id: w.target_status for w, _ in writes}
        self.store.items_mark_sending([w.source_id for w, _ in writes])
        hashes = {w.source_id: digest for w, digest in writes}
        chunks = [[w for w, _ in writes[i:i + self.bulk]] for i in range(0, len(writes), self.bulk)]
        results: list[records.WriteResult] = []
        # Bulk creates are the heaviest requests a destination serves: two at a time at most.
        with ThreadPoolExecutor(max_workers=min(2, self.parallel), thread_name_prefix="run-create") as pool:
            for chunk_results in pool.map(self._create_chunk, chunks):
                results.extend(chunk_results)
        written, retry = [], []
        for result in results:
            if result.ok:
                written.append(Recorded("items", result.source_id, result.destination_id, result.key,
                                        hashes.get(result.source_id, ""), adopted=result.existed))
            elif result.error and result.error.ambiguous:
                continue  # stays SENDING: the next slice reconciles it before anything is sent again
            elif result.error and result.error.category == records.ErrorCategory.TRANSIENT:
                retry.append(result.source_id)  # throttled or busy: never a failure
            else:
                error = result.error
                failed.append(Failure(result.source_id, "items", error.code if error else "error",
                                      _reason(error)))
        self.store.record(phase="items", written=written, failed=failed, retry=retry, cursor={},
                          progress={"done": len(written), "failed": len(failed), "skipped": len(skipped)},
                          warnings=warnings, requests=self.requests_since(), statuses=statuses, skipped=skipped)
        return len(written)

    def _create_chunk(self, chunk: list[records.ItemWrite]) -> list[records.WriteResult]:
        try:
            return self.destination.create_items(chunk)
        except ConnectorError as exc:
            ambiguous = exc.kind == "transient"
            category = records.ErrorCategory(exc.kind) if exc.kind in ("config", "transient", "permanent") else \
                records.ErrorCategory.PERMANENT
            error = records.WriteError(category=category, code=exc.code, message=exc.message, ambiguous=ambiguous)
            return [records.WriteResult(source_id=w.source_id, error=error) for w in chunk]

    # -- states, remote links: per created item, in parallel ---------------------------------------------
    def _per_item(self, phase: str, work: Callable, wanted: Callable, prepare: Callable | None = None,
                  preview: Callable | None = None) -> StepResult:
        cursor = self.store.cursor().get(phase, {})
        after = int(cursor.get("after", -1))
        done = set(self.store.mapped(phase)) if not self.preview else set()
        units = 0
        while self.time_left() > 0:
            self.store.keep_alive()
            refs = self.store.items_created(after_ordinal=after, limit=self.parallel * 25)
            if not refs:
                return StepResult(phase, units=units, phase_done=True)
            todo = [ref for ref in refs if wanted(ref) and ref.source_id not in done]
            written, failed, retry = [], [], []
            warnings, counted = {}, 0  # what a preview finds on the way (`preview`: a count and warnings)
            if prepare is not None and todo and not self.preview:
                prepare(todo)  # store reads happen here, never in the pool's threads
            if self.preview:
                written = [Recorded("preview", ref.source_id) for ref in todo]
                if preview is not None and todo:
                    counted, warnings = preview(todo)
            else:
                with self._pool() as pool:
                    for ref, outcome in zip(todo, pool.map(lambda r: _attempt(work, r), todo), strict=True):
                        if isinstance(outcome, list):  # the item's entry and what it recorded on the way
                            written += [o for o in outcome if isinstance(o, Recorded)]
                            failed += [o for o in outcome if isinstance(o, Failure)]
                        elif isinstance(outcome, Recorded):
                            written.append(outcome)
                        elif outcome.code == "transient":
                            retry.append(ref.source_id)
                        else:
                            failed.append(outcome)
                if retry:
                    # Throttled or busy: record what was done, keep the checkpoint before the first throttled
                    # item and come back; what is recorded already is not done again.
                    first = min(ref.ordinal for ref in todo if ref.source_id in retry)
                    self.store.record(phase=phase, written=written, failed=failed, retry=[],
                                      cursor={"after": first - 1},
                                      progress={"done": _count(written, phase), **_failed_count(failed),
                                                "web_links": _count_only(written, "web_links")},
                                      requests=self.requests_since())
                    return StepResult(phase, units=units + len(written))
            after = refs[-1].ordinal
            self.store.record(phase=phase, written=written, failed=failed, retry=[], cursor={"after": after},
                              progress={"done": _count(written, phase), **_failed_count(failed),
                                        "skipped": len(refs) - len(todo),
                                        "web_links": counted if self.preview else _count_only(written, "web_links")},
                              warnings=warnings, requests=self.requests_since())
            units += _count(written, phase)
        return StepResult(phase, units=units)

    def phase_states(self) -> StepResult:
        """The state each item reaches; where the destination holds history, the item's whole history is
        replayed first (before any link writes a revision dated now on it), and reaches the state itself."""
        replay = self.replays_history
        if replay:
            self._replay_context()

        def work(ref):
            files = self._replay_item(ref) if replay else []
            if ref.target_status:
                self.destination.transition(destination_id=ref.destination_id, status=ref.target_status)
            return [Recorded("states", ref.source_id, ref.destination_id, ref.destination_key,
                             payload_hash({"status": ref.target_status, "history": replay})), *files]
        return self._per_item("states", work, lambda ref: bool(ref.target_status) or replay,
                              self._replay_prepare if replay else None)

    def phase_remote_links(self) -> StepResult:
        # A destination that takes parents late (their link writes a revision on the parent, dated now) gets
        # them here, after every item's history.
        late = bool(getattr(self.destination, "parents_late", False))
        parents: dict[str, tuple[str, str]] = {}
        # The source's own links out of the tracker (Jira's remote links: commits, Confluence pages, any URL),
        # each written once, keyed on its id (phase "web_links"), next to the link back.
        web = hasattr(self.source, "remote_links_of") and (self.preview or hasattr(self.destination, "web_links_add"))
        web_done = set(self.store.mapped("web_links")) if web and not self.preview else set()

        def prepare(refs):
            if late or self.reparent:
                parents.update(self.store.destination_ids({r.parent_source_id for r in refs if r.parent_source_id}))

        def work(ref):
            url = self.source.item_url(ref.source_id)
            link_id = self.destination.remote_link(destination_id=ref.destination_id, global_id=url, url=url,
                                                   title=f"{self.plan.source_project} #{ref.source_id}")
            if (late or ref.source_id in self.reparent) and ref.parent_source_id in parents:
                self.destination.parent_link(destination_id=ref.destination_id,
                                             parent_id=parents[ref.parent_source_id][0])
            back = Recorded("remote_links", ref.source_id, str(link_id), "", payload_hash({"globalId": url}))
            return [back, *(self._web_links(ref, web_done) if web else [])]

        def preview(refs) -> tuple[int, dict]:
            found, warnings = 0, {}
            if web:
                for ref in refs:
                    for link in self.source.remote_links_of(ref.source_id):
                        refusal = self._web_link_refusal(link)
                        if refusal:
                            add_warning(warnings, Warning("web_link_refused", f"A remote link will not be copied: "
                                                          f"{refusal}"), ref.source_id)
                        else:
                            found += 1
            return found, warnings
        return self._per_item("remote_links", work, lambda ref: True, prepare, preview)

    def _web_link_refusal(self, link: records.Link) -> str:
        return self.web_link_refusal(link.url) if self.web_link_refusal else ""

    def _web_links(self, ref, done: set[str]) -> list[Recorded | Failure]:
        """The item's links out of the tracker that the id map does not hold yet; the destination reads the
        item's links first, so one written before a crash (not recorded) is not written again."""
        out: list[Recorded | Failure] = []
        todo = []
        for link in self.source.remote_links_of(ref.source_id):
            key = f"remotelink:{link.source_id}"
            if key in done:
                continue
            refusal = self._web_link_refusal(link)
            if refusal:
                out.append(Failure(ref.source_id, "remote_links", "web_link_refused",
                                   f"Remote link {link.source_id} was not copied: {refusal}"))
            else:
                todo.append((key, link))
        if todo:
            try:
                added = self.destination.web_links_add(destination_id=ref.destination_id,
                                                       links=[(link.url, link.comment) for _, link in todo])
            except ConnectorError as exc:
                if exc.kind == "transient":
                    raise
                # Refused for good: said, and the item's link back (and parent) stay recorded.
                return [*out, Failure(ref.source_id, "remote_links", "web_link_refused",
                                      f"Remote links {', '.join(link.source_id for _, link in todo)} were not "
                                      f"copied: {exc.message}")]
            out += [Recorded("web_links", key, ref.destination_id, "", payload_hash({"url": link.url,
                                                                                      "title": link.comment}),
                             adopted=not new) for (key, link), new in zip(todo, added, strict=True)]
        return out

    # -- links ------------------------------------------------------------------------------------------
    def phase_links(self) -> StepResult:
        if not self.plan.links:
            return StepResult("links", phase_done=True)
        cursor = self.store.cursor().get("links", {})
        after = int(cursor.get("after", -1))
        done = self.store.mapped("links")
        units = 0
        while self.time_left() > 0:
            self.store.keep_alive()
            rows = self.store.links_next(after_ordinal=after, limit=self.parallel * 25)
            if not rows:
                return StepResult("links", units=units, phase_done=True)
            ends = self.store.destination_ids({s for _, link in rows for s in (link.from_source_id, link.to_source_id)})
            todo, skipped = [], 0
            for ordinal, link in rows:
                key = f"{link.link_type}|{link.from_source_id}|{link.to_source_id}"
                target_type = self.plan.link_types.get(link.link_type)
                if key in done or not target_type or link.from_source_id not in ends or link.to_source_id not in ends:
                    skipped += 1
                    continue
                todo.append((ordinal, key, records.LinkWrite(source_id=key, link_type=target_type,
                                                             from_id=ends[link.from_source_id][0],
                                                             to_id=ends[link.to_source_id][0])))
            written, failed, retry_from = [], [], None
            if self.preview:
                written = [Recorded("preview", key) for _, key, _ in todo]
            else:
                with self._pool() as pool:
                    outcomes = list(pool.map(lambda t: _attempt(self._write_link, t[2]), todo))
                settled = []  # (ordinal, what happened), to keep only what lies before a throttled link
                for (ordinal, key, _), outcome in zip(todo, outcomes, strict=True):
                    if isinstance(outcome, Recorded):
                        settled.append((ordinal, outcome))
                    elif outcome.code == "transient":
                        retry_from = ordinal if retry_from is None else min(retry_from, ordinal)
                    else:
                        settled.append((ordinal, Failure(key, "links", outcome.code, outcome.message)))
                written = [x for _, x in settled if isinstance(x, Recorded)]
                failed = [x for _, x in settled if isinstance(x, Failure)]
            new_after = rows[-1][0] if retry_from is None else retry_from - 1
            self.store.record(phase="links", written=written, failed=failed, retry=[], cursor={"after": new_after},
                              progress={"done": len(written), "failed": len(failed), "skipped": skipped},
                              requests=self.requests_since())
            done.update({w.source_id: w.destination_id for w in written})
            units += len(written)
            if retry_from is not None:
                return StepResult("links", units=units)
            after = new_after
        return StepResult("links", units=units)

    def _write_link(self, link: records.LinkWrite) -> Recorded:
        result = self.destination.link(link)
        if not result.ok:
            error = result.error
            raise ConnectorError(_reason(error), code="transient" if error.category == "transient" else error.code)
        return Recorded("links", link.source_id, result.destination_id, "", payload_hash(link))

    # -- sprints: filled, started and closed in their real order ---------------------------------------
    def phase_sprints(self) -> StepResult:
        sprints = self.store.mapped("sprints")
        if not sprints:
            return StepResult("sprints", phase_done=True)
        stages = self.store.mapped("sprint_stages")
        iterations = sorted((i for i in self.source.iterations() if i.source_id in sprints),
                            key=lambda i: (i.start is None, i.start or 0, i.source_id))
        units = 0
        for iteration in iterations:
            if self.time_left() <= 0:
                return StepResult("sprints", units=units)
            stage = stages.get(iteration.source_id, "")
            if stage == "filled" and not self.sprint_lifecycle:
                continue
            if stage == "closed" or (stage == "started" and iteration.state not in ("past", "closed")):
                continue
            if self.preview:
                self.store.record(phase="sprints", written=[Recorded("sprint_stages", iteration.source_id, "", "previewed")],
                                  failed=[], retry=[], cursor={}, progress={"done": 1})
                units += 1
                continue
            sprint_id = sprints[iteration.source_id]
            try:
                if stage == "":
                    members = self.store.items_in_iteration(iteration.source_id, exclude_types=self._subtask_types())
                    for start in range(0, len(members), 50):
                        self.destination.sprint_add(sprint_id=sprint_id, destination_ids=members[start:start + 50])
                    stage = "filled"
                    self._stage(iteration.source_id, sprint_id, stage, final=not self.sprint_lifecycle or (
                        iteration.state not in ("current", "active", "past", "closed")))
                    if not self.sprint_lifecycle:
                        units += 1
                        continue
                if stage == "filled" and iteration.state in ("current", "active", "past", "closed"):
                    self.destination.sprint_start(sprint_id=sprint_id, start=iteration.start, finish=iteration.finish)
                    stage = "started"
                    self._stage(iteration.source_id, sprint_id, stage, final=iteration.state not in ("past", "closed"))
                if stage == "started" and iteration.state in ("past", "closed"):
                    self.destination.sprint_close(sprint_id=sprint_id)
                    stage = "closed"
                    self._stage(iteration.source_id, sprint_id, stage, final=True)
            except ConnectorError as exc:
                if exc.kind == "transient":
                    raise
                # The sprint stays where it got to; the rest of the run goes on, and the reason is shown.
                self.store.record(phase="sprints", written=[Recorded("sprint_stages", iteration.source_id, sprint_id,
                                                                     "closed")],
                                  failed=[Failure(iteration.source_id, "sprints", exc.code, exc.message)], retry=[],
                                  cursor={}, progress={}, requests=self.requests_since())
            units += 1
        return StepResult("sprints", units=units, phase_done=True)

    def _subtask_types(self) -> list[str]:
        """Source types that become sub-tasks: they follow their parent into a sprint and are not moved."""
        return [source for source, rule in self.plan.types.items()
                if rule.target_type and self.type_levels.get(rule.target_type) == -1]

    def _stage(self, iteration_id: str, sprint_id: str, stage: str, *, final: bool) -> None:
        self.store.record(phase="sprints", written=[Recorded("sprint_stages", iteration_id, sprint_id, stage)],
                          failed=[], retry=[], cursor={}, progress={"done": 1 if final else 0},
                          requests=self.requests_since())

    # -- verify -------------------------------------------------------------------------------------------
    def phase_verify(self) -> StepResult:
        """A preview checks its plan; a live run reads the destination back (engine/verify.py)."""
        if self.preview or not hasattr(self.destination, "read_back"):
            self.store.verify()
            return StepResult("verify", phase_done=True)
        from apps.runs.engine.verify import Verifier

        units, done = Verifier(self).step()
        return StepResult("verify", units=units, phase_done=done)


def _reason(error) -> str:
    if error is None:
        return "The destination refused the item without saying why."
    message = error.message
    if getattr(error, "field_errors", None):
        message += " (" + "; ".join(f"{k}: {v}" for k, v in error.field_errors.items()) + ")"
    return message[:1000]


def _count(written: list[Recorded], phase: str) -> int:
    return sum(1 for w in written if w.phase in (phase, "preview"))


def _count_only(written: list[Recorded], phase: str) -> int:
    return sum(1 for w in written if w.phase == phase)


def _failed_count(failed: list[Failure]) -> dict[str, int]:
    """Items that failed, and apart from them the links out of the tracker the destination refuses (the item's
    link back may be written all the same)."""
    refused = sum(1 for f in failed if f.code == "web_link_refused")
    return {"failed": len(failed) - refused, "web_links_refused": refused}


def _attempt(work: Callable, arg) -> list[Recorded] | Recorded | Failure:
    try:
        return work(arg)
    except ConnectorError as exc:
        source_id = getattr(arg, "source_id", "")
        if exc.kind == "transient" or exc.code == "transient":
            return Failure(source_id, "", "transient", exc.message)
        return Failure(source_id, "", exc.code, exc.message)
