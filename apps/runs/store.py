"""The engine's memory of one run, in the database (engine.ports.StorePort).

Every `record()` is one transaction that first proves this worker still holds the run's lease (a
conditional UPDATE on the run row, which also takes the row's write lock), then writes the id map, the
item states, the errors, the progress and the checkpoint together. A worker that lost the lease records
nothing and stops.
"""

import os
import socket
from collections import defaultdict
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Count, F, Q
from django.utils import timezone

from apps.runs.engine import PHASES
from apps.runs.engine.ports import ItemRef, LeaseLost, PlanLink, Recorded, Stop
from apps.runs.models import IdMapEntry, Run, RunError, RunItem, RunLink, RunSample, VerificationDifference

BULK = 500


def _chunks(values, size: int):
    """Lists of at most `size` from any iterable, without holding more than one list."""
    chunk = []
    for value in values:
        chunk.append(value)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def lease_seconds() -> int:
    return int(getattr(settings, "RUNS_LEASE_SECONDS", 90))


def lease_owner_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{os.urandom(4).hex()}"


def lease_holder_dead(owner: str) -> bool:
    """A lease held by a process of this machine that no longer exists (a worker killed with SIGKILL):
    taken over at once instead of waiting for it to expire."""
    try:
        host, pid, _ = owner.split(":")
    except ValueError:
        return False
    if host != socket.gethostname():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except (PermissionError, ValueError):
        return False
    return False


def lease_acquire(*, run_id: int, step: int, owner: str) -> bool:
    now = timezone.now()
    until = now + timedelta(seconds=lease_seconds())
    free = Q(lease_owner="") | Q(lease_until__lt=now) | Q(lease_owner=owner)
    run = Run.unscoped.filter(pk=run_id).only("lease_owner").first()
    if run and run.lease_owner and lease_holder_dead(run.lease_owner):
        free |= Q(lease_owner=run.lease_owner)
    return bool(Run.unscoped.filter(free, pk=run_id, step=step).update(lease_owner=owner, lease_until=until))


def _merge_warnings(into: dict, new: dict) -> dict:
    for code, entry in (new or {}).items():
        target = into.setdefault(code, {"count": 0, "messages": {}, "examples": []})
        target["count"] += entry["count"]
        for message, count in entry["messages"].items():
            if message in target["messages"] or len(target["messages"]) < 20:
                target["messages"][message] = target["messages"].get(message, 0) + count
        for example in entry["examples"]:
            if len(target["examples"]) < 10 and example not in target["examples"]:
                target["examples"].append(example)
    return into


class RunStore:
    def __init__(self, run: Run, *, owner: str):
        self.run = run
        self.owner = owner
        self.run_uid = str(run.uid)
        self.started_at = run.started_at or run.created_at
        self.preview = run.is_preview
        self._last_alive = 0.0

    # -- the lease ---------------------------------------------------------------------------------------
    def _hold(self) -> Run:
        """Inside a transaction: prove the lease, lock the row, return it fresh."""
        until = timezone.now() + timedelta(seconds=lease_seconds())
        if not Run.unscoped.filter(pk=self.run.pk, lease_owner=self.owner).update(lease_until=until):
            raise LeaseLost(f"run {self.run.pk}: the lease is held by another worker")
        self.run = Run.unscoped.select_for_update().get(pk=self.run.pk)
        return self.run

    def keep_alive(self) -> None:
        with transaction.atomic():
            run = self._hold()
        if run.cancel_requested or run.pause_requested:
            raise Stop("cancel" if run.cancel_requested else "pause")

    # -- reads -----------------------------------------------------------------------------------------
    def phase(self) -> str:
        return self.run.phase

    def cursor(self) -> dict:
        return self.run.cursor or {}

    def _items(self):
        return RunItem.unscoped.filter(run_id=self.run.pk)

    def _map(self, phase: str):
        return IdMapEntry.unscoped.filter(run_id=self.run.pk, phase=phase, rolled_back=False)

    def mapped(self, phase: str) -> dict[str, str]:
        if phase == "sprint_stages":
            return dict(self._map(phase).values_list("source_id", "destination_key"))
        return dict(self._map(phase).values_list("source_id", "destination_id"))

    def destination_ids(self, source_ids) -> dict[str, tuple[str, str]]:
        ids = list(source_ids)
        found = {}
        for start in range(0, len(ids), BULK):
            for sid, did, key in self._map("items").filter(source_id__in=ids[start:start + BULK]).values_list(
                    "source_id", "destination_id", "destination_key"):
                found[sid] = (did, key)
        return found

    @staticmethod
    def _ref(item: RunItem, dest: tuple[str, str] = ("", "")) -> ItemRef:
        return ItemRef(item.source_id, item.parent_source_id, item.type_id, item.iteration_id, item.depth,
                       item.ordinal, dest[0], dest[1], item.target_status)

    def items_sending(self) -> list[ItemRef]:
        return [self._ref(i) for i in self._items().filter(state=RunItem.State.SENDING).order_by("ordinal")]

    def sending_since(self):
        """When the oldest create still unaccounted for was sent, less a margin for clocks: the window the
        reconciliation searches."""
        first = self._items().filter(state=RunItem.State.SENDING).order_by("sending_since").first()
        if first is None or first.sending_since is None:
            return None
        return first.sending_since - timedelta(minutes=2)

    def sending_age_seconds(self, *, youngest: bool = True) -> float | None:
        qs = self._items().filter(state=RunItem.State.SENDING).exclude(sending_since=None)
        first = qs.order_by("-sending_since" if youngest else "sending_since").first()
        return None if first is None else (timezone.now() - first.sending_since).total_seconds()

    def items_next(self, *, limit: int) -> list[ItemRef]:
        return [self._ref(i) for i in self._items().filter(state=RunItem.State.PENDING).order_by("ordinal")[:limit]]

    def items_mark_sending(self, source_ids: list[str]) -> None:
        with transaction.atomic():
            self._hold()
            for start in range(0, len(source_ids), BULK):
                self._items().filter(source_id__in=source_ids[start:start + BULK]).update(
                    state=RunItem.State.SENDING, sending_since=timezone.now(), attempts=F("attempts") + 1)

    def items_created(self, *, after_ordinal: int, limit: int) -> list[ItemRef]:
        items = list(self._items().filter(state=RunItem.State.CREATED, ordinal__gt=after_ordinal)
                     .order_by("ordinal")[:limit])
        dest = self.destination_ids(i.source_id for i in items)
        return [self._ref(i, dest.get(i.source_id, ("", ""))) for i in items if i.source_id in dest or self.preview]

    def items_in_iteration(self, iteration_id: str, *, exclude_types=()) -> list[str]:
        ids = list(self._items().filter(state=RunItem.State.CREATED, iteration_id=iteration_id)
                   .exclude(type_id__in=list(exclude_types)).order_by("ordinal").values_list("source_id", flat=True))
        return [did for did, _ in self.destination_ids(ids).values()]

    def links_next(self, *, after_ordinal: int, limit: int) -> list[tuple[int, PlanLink]]:
        rows = RunLink.unscoped.filter(run_id=self.run.pk, ordinal__gt=after_ordinal).order_by("ordinal")[:limit]
        return [(r.ordinal, PlanLink(r.link_type, r.from_source_id, r.to_source_id)) for r in rows]

    # -- plan --------------------------------------------------------------------------------------------
    def plan_add(self, *, items, links, warnings: dict, read_state: dict) -> None:
        org = self.run.organisation_id
        with transaction.atomic():
            run = self._hold()
            RunItem.unscoped.bulk_create(
                [RunItem(organisation_id=org, run_id=run.pk, source_id=i.source_id, parent_source_id=i.parent_source_id,
                         type_id=i.type_id, iteration_id=i.iteration_id) for i in items],
                batch_size=BULK, ignore_conflicts=True)
            RunLink.unscoped.bulk_create(
                [RunLink(organisation_id=org, run_id=run.pk, link_type=link.link_type,
                         from_source_id=link.from_source_id, to_source_id=link.to_source_id) for link in links],
                batch_size=BULK, ignore_conflicts=True)
            cursor = run.cursor or {}
            cursor["plan"] = {"read": read_state}
            run.cursor = cursor
            run.warnings = _merge_warnings(run.warnings or {}, warnings)
            run.progress["plan"]["done"] = self._items().count()
            run.updated_at = timezone.now()
            run.save(update_fields=["cursor", "warnings", "progress", "updated_at"])

    def plan_finalise(self, *, type_levels: dict, type_targets: dict, missing_level: dict) -> None:
        """Parents before children: each item's effective parent (skipping levels the mapping leaves out),
        its depth, and the order of creation."""
        rows = list(self._items().values_list("id", "source_id", "parent_source_id", "type_id"))
        by_source = {sid: (parent, type_id) for _, sid, parent, type_id in rows}
        # Items an adopted run (a sample) already wrote are created; nothing writes them again.
        adopted = set(self._map("items").values_list("source_id", flat=True))

        def migrated(sid):
            return bool(type_targets.get(by_source[sid][1]))

        effective: dict[str, str] = {}
        demoted: list[str] = []
        for _, sid, parent, type_id in rows:
            seen = set()
            while parent and parent in by_source and not migrated(parent) and parent not in seen:
                seen.add(parent)
                if missing_level.get(by_source[parent][1], "flatten") != "flatten":
                    parent = ""
                    break
                parent = by_source[parent][0]
            if parent and parent not in by_source:
                parent = ""  # outside the project, or deleted: created without a parent
            child_level = type_levels.get(type_targets.get(type_id) or "")
            if parent and child_level is not None:
                # Jira accepts a parent exactly one level up; climb until one fits, else no parent.
                climb = parent
                while climb and type_levels.get(type_targets.get(by_source[climb][1]) or "") != child_level + 1:
                    climb = by_source[climb][0] if climb in by_source else ""
                    if climb and climb not in by_source:
                        climb = ""
                if climb != parent:
                    demoted.append(sid)
                parent = climb
            effective[sid] = parent
        depth: dict[str, int] = {}

        def depth_of(sid, guard=0):
            if sid in depth:
                return depth[sid]
            parent = effective.get(sid, "")
            d = 0 if not parent or guard > 50 else depth_of(parent, guard + 1) + 1
            depth[sid] = d
            return d

        for _, sid, _, _ in rows:
            depth_of(sid)
        order = sorted(rows, key=lambda r: (depth[r[1]], len(r[1]), r[1]))
        counts: dict[str, int] = {}

        def updates():
            for ordinal, (pk, sid, _, _type_id) in enumerate(order):
                state = RunItem.State.PENDING if migrated(sid) else RunItem.State.SKIPPED
                if state == RunItem.State.PENDING and sid in adopted:
                    state = RunItem.State.CREATED
                counts[state] = counts.get(state, 0) + 1
                yield RunItem(pk=pk, parent_source_id=effective[sid], depth=depth[sid], ordinal=ordinal, state=state)

        with transaction.atomic():
            run = self._hold()
            # A model instance per item costs kilobytes: built and written BULK at a time, so the memory a
            # run needs does not grow with its size.
            for chunk in _chunks(updates(), BULK):
                RunItem.unscoped.bulk_update(chunk, ["parent_source_id", "depth", "ordinal", "state"])
            link_ids = list(RunLink.unscoped.filter(run_id=run.pk).order_by("id").values_list("id", flat=True))
            for chunk in _chunks((RunLink(pk=pk, ordinal=n) for n, pk in enumerate(link_ids)), BULK):
                RunLink.unscoped.bulk_update(chunk, ["ordinal"])
            # A link whose other end this run does not migrate (another project, a type left out) is not
            # written: said in the preview, with the item that has it, rather than skipped in silence.
            outside: list[str] = []
            for from_id, to_id in RunLink.unscoped.filter(run_id=run.pk).values_list("from_source_id", "to_source_id"):
                ends = [sid for sid in (from_id, to_id) if sid in by_source and migrated(sid)]
                if len(ends) == 1:
                    outside.append(ends[0])
            if outside:
                run.warnings = _merge_warnings(run.warnings or {}, {"link_outside": {
                    "count": len(outside), "examples": list(dict.fromkeys(outside))[:10],
                    "messages": {"A link to an item this run does not migrate (another project, or a type left "
                                 "out) is not written.": len(outside)}}})
            if demoted:
                run.warnings = _merge_warnings(run.warnings or {}, {"parent_level": {
                    "count": len(demoted), "examples": demoted[:10],
                    "messages": {"The destination does not accept this parent's level; the item goes under the "
                                 "nearest ancestor that fits (or none).": len(demoted)}}})
            run.progress["plan"].update(total=len(rows), done=len(rows))
            skipped = counts.get(RunItem.State.SKIPPED, 0)
            run.progress["items"].update(total=len(rows) - skipped, skipped=skipped,
                                         done=counts.get(RunItem.State.CREATED, 0))
            run.progress["links"]["total"] = len(link_ids)
            run.save(update_fields=["warnings", "progress"])

    # -- recording ---------------------------------------------------------------------------------------
    def record(self, *, phase: str, written: list[Recorded], failed: list, retry: list[str], cursor: dict,
               progress: dict, warnings: dict | None = None, requests: int = 0, statuses: dict | None = None,
               skipped: list | None = None) -> None:
        org = self.run.organisation_id
        now = timezone.now()
        with transaction.atomic():
            run = self._hold()
            real = [w for w in written if w.phase != "preview"]
            IdMapEntry.unscoped.bulk_create(
                [IdMapEntry(organisation_id=org, run_id=run.pk, phase=w.phase, source_id=w.source_id,
                            destination_id=w.destination_id, destination_key=w.destination_key,
                            payload_sha256=w.payload_sha256, adopted=w.adopted, written_at=now) for w in real
                 if w.phase != "sprint_stages"],
                batch_size=BULK, ignore_conflicts=True)
            for stage in (w for w in real if w.phase == "sprint_stages"):
                IdMapEntry.unscoped.update_or_create(
                    run_id=run.pk, phase="sprint_stages", source_id=stage.source_id,
                    defaults={"organisation_id": org, "destination_id": stage.destination_id,
                              "destination_key": stage.destination_key, "written_at": now})
            if phase == "items":
                created = [w.source_id for w in written]
                for start in range(0, len(created), BULK):
                    self._items().filter(source_id__in=created[start:start + BULK]).update(
                        state=RunItem.State.CREATED, sending_since=None, error_code="", error_message="")
                for start in range(0, len(retry), BULK):
                    self._items().filter(source_id__in=retry[start:start + BULK]).update(
                        state=RunItem.State.PENDING, sending_since=None)
                skipped_ids = [s.source_id for s in skipped or []]
                for start in range(0, len(skipped_ids), BULK):
                    self._items().filter(source_id__in=skipped_ids[start:start + BULK]).update(
                        state=RunItem.State.SKIPPED)
                by_status = defaultdict(list)
                for sid, status in (statuses or {}).items():
                    by_status[status].append(sid)
                for status, ids in by_status.items():
                    for start in range(0, len(ids), BULK):
                        self._items().filter(source_id__in=ids[start:start + BULK]).update(target_status=status)
                for failure in failed:
                    self._items().filter(source_id=failure.source_id).update(
                        state=RunItem.State.FAILED, sending_since=None, error_phase="items",
                        error_code=failure.code[:60], error_message=failure.message)
            elif failed:
                self._items().filter(source_id__in=[f.source_id for f in failed]).update(
                    error_phase=phase, error_code=failed[0].code[:60], error_message=failed[0].message)
            RunError.unscoped.bulk_create(
                [RunError(organisation_id=org, run_id=run.pk, phase=phase, source_id=f.source_id,
                          code=f.code[:60], message=f.message, at=now) for f in failed], batch_size=BULK)
            entry = run.progress.setdefault(phase, {"done": 0, "total": 0, "failed": 0, "skipped": 0})
            for key in ("done", "failed", "skipped"):
                entry[key] = entry.get(key, 0) + int(progress.get(key) or 0)
            for key in ("web_links", "web_links_refused"):  # the remote_links phase's links out of the tracker
                if progress.get(key):
                    entry[key] = entry.get(key, 0) + int(progress[key])
            if progress.get("off"):
                entry["off"] = True  # the mapping turned this phase off: shown as such, not as 0 of 0
            if progress.get("total") is not None:
                entry["total"] = progress["total"]
            if cursor:
                run.cursor = {**(run.cursor or {}), phase: {**(run.cursor or {}).get(phase, {}), **cursor}}
            if warnings:
                run.warnings = _merge_warnings(run.warnings or {}, warnings)
            stats = run.stats or {}
            stats["requests"] = stats.get("requests", 0) + requests
            run.stats = stats
            run.updated_at = now
            run.save(update_fields=["progress", "cursor", "warnings", "stats", "updated_at"])
            units = sum(v.get("done", 0) for k, v in run.progress.items() if k != "plan")
            RunSample.unscoped.create(organisation_id=org, run_id=run.pk, phase=phase, done=units,
                                      requests=stats["requests"], at=now)

    def phase_advance(self, *, to: str, totals: dict | None = None) -> None:
        with transaction.atomic():
            run = self._hold()
            run.phase = to
            created = self._items().filter(state=RunItem.State.CREATED)
            if self.preview:
                created = self._items().exclude(state__in=[RunItem.State.SKIPPED, RunItem.State.FAILED])
            if to == "states":
                run.progress["states"]["total"] = created.exclude(target_status="").count()
            elif to in ("attachments", "comments", "history"):
                run.progress.setdefault(to, {"done": 0, "total": 0, "failed": 0, "skipped": 0})["total"] = \
                    created.count()
            elif to == "remote_links":
                run.progress["remote_links"]["total"] = created.count()
            elif to == "sprints":
                run.progress["sprints"]["total"] = self._map("sprints").count() if not self.preview else \
                    run.progress["structure"].get("done", 0)
            elif to == "verify":
                run.progress["verify"]["total"] = 1 if self.preview else created.count()
            elif to == "done":
                run.state = Run.State.FINISHED
                run.finished_at = timezone.now()
                if self.preview:
                    run.expires_at = run.finished_at + timedelta(hours=getattr(settings, "RUNS_PREVIEW_TTL_HOURS", 24))
            run.updated_at = timezone.now()
            run.save()

    def _id_map_summary(self) -> dict:
        counts = dict(self._items().values_list("state").annotate(n=Count("id")).values_list("state", "n"))
        duplicates = (self._map("items").exclude(destination_id="").values("destination_id")
                      .annotate(n=Count("id")).filter(n__gt=1).count())
        return {"planned": sum(counts.values()), "created": counts.get("created", 0),
                "failed": counts.get("failed", 0), "skipped": counts.get("skipped", 0),
                "pending": counts.get("pending", 0) + counts.get("sending", 0),
                "adopted": self._map("items").filter(adopted=True).count(),
                "duplicate_destination_ids": duplicates,
                "links": self._map("links").count(), "remote_links": self._map("remote_links").count()}

    def verify(self) -> None:
        """What the id map says against the plan: every planned item written once or accounted for (a
        preview's verification; a live run reads the destination back, see verify_record)."""
        with transaction.atomic():
            run = self._hold()
            run.stats = {**(run.stats or {}), "verify": self._id_map_summary()}
            run.progress["verify"]["done"] = 1
            run.save(update_fields=["stats", "progress"])

    # -- verification (engine/verify.py) -----------------------------------------------------------------
    def links_touching(self, source_ids) -> list[PlanLink]:
        ids = list(source_ids)
        found = {}
        for start in range(0, len(ids), BULK):
            chunk = ids[start:start + BULK]
            for row in RunLink.unscoped.filter(Q(from_source_id__in=chunk) | Q(to_source_id__in=chunk),
                                               run_id=self.run.pk):
                found[row.pk] = PlanLink(row.link_type, row.from_source_id, row.to_source_id)
        return list(found.values())

    def _differences_save(self, run: Run, differences) -> None:
        VerificationDifference.unscoped.bulk_create(
            [VerificationDifference(organisation_id=run.organisation_id, run_id=run.pk, source_id=d.source_id[:120],
                                    destination_key=d.destination_key[:120], check_name=d.check, kind=d.kind,
                                    announced=d.announced, explanation=d.explanation[:500]) for d in differences],
            batch_size=BULK, ignore_conflicts=True)

    def verify_record(self, *, differences, cursor: dict, checked: int, requests: int = 0) -> None:
        """One slice of the verification: its differences, the items it checked and the checkpoint, together."""
        with transaction.atomic():
            run = self._hold()
            self._differences_save(run, differences)
            run.progress["verify"]["done"] = run.progress["verify"].get("done", 0) + checked
            run.cursor = {**(run.cursor or {}), "verify": cursor}
            run.stats = {**(run.stats or {}), "requests": (run.stats or {}).get("requests", 0) + requests}
            run.updated_at = timezone.now()
            run.save(update_fields=["progress", "cursor", "stats", "updated_at"])

    def verify_finish(self, *, differences, requests: int = 0) -> None:
        """The planned items that never reached the destination, the duplicates found, and the summary."""
        from apps.runs.engine.verify import MISSING, Difference

        with transaction.atomic():
            run = self._hold()
            unsettled = [Difference(item.source_id, "", "exists", MISSING,
                                    f"Not written: {item.error_code or 'failed'} in the {item.error_phase or 'items'} "
                                    "phase (see the run's errors)." if item.state == RunItem.State.FAILED else
                                    "Not written: the run never settled this item.")
                         for item in self._items().filter(state__in=[RunItem.State.FAILED, RunItem.State.PENDING,
                                                                     RunItem.State.SENDING]).only(
                             "source_id", "state", "error_code", "error_phase")]
            self._differences_save(run, [*unsettled, *differences])
            run.stats = {**(run.stats or {}), "verify": self._id_map_summary(),
                         "verification": verification_summary(run),
                         "requests": (run.stats or {}).get("requests", 0) + requests}
            run.updated_at = timezone.now()
            run.save(update_fields=["stats", "updated_at"])


def phase_index(phase: str) -> int:
    return PHASES.index(phase) if phase in PHASES else len(PHASES)


def verification_summary(run: Run) -> dict:
    """Items checked, matched, differing and missing, and the differences by check (announced apart)."""
    rows = VerificationDifference.unscoped.filter(run_id=run.pk)
    missing = set(rows.filter(check_name="exists", kind="missing").values_list("source_id", flat=True))
    differing = set(rows.exclude(Q(check_name="exists", kind="missing") | Q(check_name="duplicate"))
                    .values_list("source_id", flat=True))
    checked = int((run.progress or {}).get("verify", {}).get("done", 0))
    failed = RunItem.unscoped.filter(run_id=run.pk, state__in=[RunItem.State.FAILED, RunItem.State.PENDING,
                                                                 RunItem.State.SENDING]).count()
    by_check = {}
    for check, announced, n in rows.values_list("check_name", "announced").annotate(n=Count("id")).order_by():
        entry = by_check.setdefault(check, {"unexplained": 0, "announced": 0})
        entry["announced" if announced else "unexplained"] += n
    return {"items_checked": checked + failed, "matched": checked + failed - len(missing | differing),
            "differing": len(differing - missing), "missing": len(missing),
            "duplicates": rows.filter(check_name="duplicate").count(),
            "differences": rows.count(), "unexplained": rows.filter(announced=False).count(),
            "announced": rows.filter(announced=True).count(), "by_check": dict(sorted(by_check.items()))}
