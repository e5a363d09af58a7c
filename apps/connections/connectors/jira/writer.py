"""The Jira destination: what a migration writes into Jira Cloud (REST v3, agile 1.0) and Jira Data Center
(REST v2, agile 1.0), keyed on the source id.

`JiraWriter(connector, run_id=...)` wraps a JiraCloudConnector or JiraDataCenterConnector (their HTTP
client: SSRF guard, retries on 429/503, pacing from the rate-limit headers, the request counter).

Contract for the engine:
* Items: `create_items(items, project=)` -> one `WriteResult` per item, in order. Bulk create, 50 per
  request, the source id inside each create as the `migrayt.source` entity property, so no created issue
  is ever without it. Partial failures are mapped per element (`failedElementNumber`). A failure after
  the request may have reached Jira (a timeout after sending, a dropped connection, a 500/502/504) is
  never retried here: its results say `error.ambiguous`, and the engine reconciles
  (`reconcile_created`) before writing those items again.
* State: `transition_to(issue, status)` walks the shortest transition path (the workflow as Jira serves
  it, cached per project and type; learned from the issue's transitions where the workflow cannot be
  read). Idempotent: it starts from the issue's current status.
* Links (`create_issue_links`, existing links read first and skipped), the link back to the source
  (`remote_link_upsert`, upsert by globalId = the source item's URL), entity properties, comments (with an
  attribution header), attachments (streamed, never whole in memory), sprints (create or find, fill in
  batches of 50, start, close), components and versions (find by name or create).
* Errors: item-level operations return `WriteResult`s with `WriteError(category, code, message,
  field_errors, ambiguous)`; the lower-level ones (`property_get`, `board_for_project` ...) raise the
  tagged `ConnectorError`s of `errors`.

Plain Python: no Django. Thread-safe: the engine may call one writer from several threads (the caches
are filled under a lock; httpx's client is thread-safe).
"""

import os
import secrets
import tempfile
import threading
from collections import OrderedDict, defaultdict, deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, BinaryIO
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx

from apps.connections.connectors.base import ConnectionKind
from apps.connections.connectors.errors import ConnectorError, PermanentError, TransientError
from apps.connections.connectors.jira import payloads
from apps.connections.connectors.jira.connector import JiraConnector
from apps.connections.connectors.records import (
    ErrorCategory,
    ItemWrite,
    LinkWrite,
    WriteError,
    WriteResult,
)
from apps.connections.connectors.write_errors import may_have_happened
from apps.connections.connectors.write_errors import write_error_from as _write_error_from

BULK_CREATE_MAX = 50
SPRINT_MOVE_MAX = 50
SEARCH_PAGE = 100
LINK_CACHE_ISSUES = 2000  # issues whose links a writer remembers (bounded: memory must not grow with the project)
MAX_TRANSITION_STEPS = 12
SPOOL_IN_MEMORY = 1024 * 1024  # an attachment of unknown size is spooled to disk past this
CHUNK = 64 * 1024
AGILE = "rest/agile/1.0"
CATEGORY_ORDER = {"new": 0, "indeterminate": 1, "done": 2}


# --- errors ----------------------------------------------------------------------------------------


_ambiguous = may_have_happened


def write_error_from(exc: ConnectorError, *, what: str) -> WriteError:
    return _write_error_from(exc, what=what, vendor="Jira")


def _json_or_none(response: httpx.Response):
    try:
        return response.json()
    except ValueError:
        return None


def vendor_error(status: int, body, *, what: str) -> WriteError:
    """A WriteError from Jira's error shape ({"errorMessages": [...], "errors": {field: reason}})."""
    body = body if isinstance(body, dict) else {}
    messages = [str(m) for m in body.get("errorMessages") or [] if m]
    field_errors = {str(k): str(v) for k, v in (body.get("errors") or {}).items()}
    reasons = messages + [f"{k}: {v}" for k, v in field_errors.items()]
    message = f"Jira refused to {what}" + (": " + "; ".join(reasons) if reasons else f" (HTTP {status}).")
    if status in (401, 403):
        category, code = ErrorCategory.CONFIG, "permission"
    elif status == 429 or status >= 500:
        category, code = ErrorCategory.TRANSIENT, "server_busy" if status != 429 else "rate_limited"
    elif any("cannot be set" in v or "appropriate screen" in v for v in field_errors.values()):
        category, code = ErrorCategory.CONFIG, "field_not_settable"
    elif status == 404:
        category, code = ErrorCategory.PERMANENT, "not_found"
    else:
        category, code = ErrorCategory.PERMANENT, "rejected"
    return WriteError(category=category, code=code, message=message[:2000], field_errors=field_errors,
                      details={"status": status})


def _field_error(exc: payloads.FieldValueError) -> WriteError:
    category = ErrorCategory.CONFIG if exc.field_id in ("parent", "type_id") else ErrorCategory.PERMANENT
    return WriteError(category=category, code="field_invalid", message=f"{exc.field_id}: {exc.message}",
                      field_errors={exc.field_id: exc.message})


# --- results that are not item writes -------------------------------------------------------------


@dataclass(frozen=True)
class IssueState:
    project: str  # key
    type_id: str
    status_id: str


@dataclass(frozen=True)
class TransitionOutcome:
    issue: str
    status_id: str = ""
    status_name: str = ""
    steps: tuple[str, ...] = ()  # the transition ids taken, in order
    error: WriteError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class _Edge:
    transition_id: str
    to: str


@dataclass
class _Workflow:
    """Transitions of one project and issue type: {from status id: edges}, "*" for global transitions.
    `complete` when read from the workflow itself; otherwise learned status by status from the issues'
    available transitions, `explored` naming the statuses whose transitions are known."""

    edges: dict[str, list[_Edge]] = field(default_factory=lambda: defaultdict(list))
    complete: bool = False
    explored: set[str] = field(default_factory=set)

    def out_of(self, status: str) -> list[_Edge]:
        return [e for e in [*self.edges.get(status, []), *self.edges.get("*", [])] if e.to != status]

    def known_statuses(self) -> set[str]:
        return {e.to for edges in self.edges.values() for e in edges} | set(self.explored)

    def path(self, start: str, goals: set[str]) -> list[_Edge] | None:
        """The fewest transitions from `start` to any of `goals` (breadth first)."""
        if start in goals:
            return []
        seen = {start}
        queue = deque([(start, [])])
        while queue:
            status, path = queue.popleft()
            for edge in self.out_of(status):
                if edge.to in seen:
                    continue
                if edge.to in goals:
                    return [*path, edge]
                seen.add(edge.to)
                queue.append((edge.to, [*path, edge]))
        return None


# --- attachments ------------------------------------------------------------------------------------


def _form_quote(value: str) -> str:
    """A multipart parameter value as browsers write it (HTML5): quotes and line breaks escaped."""
    return value.replace("\\", "\\\\").replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")


class _MultipartBody:
    """A multipart/form-data body with one part named `file`, produced chunk by chunk: the content is
    never held whole. Iterating again (a retry after 429) starts over when the content can be re-read;
    otherwise it raises a transient error instead of sending a short body."""

    def __init__(self, *, filename: str, mime_type: str, size: int, chunks: Callable[[], Iterator[bytes]],
                 replayable: bool):
        self.boundary = "migrayt-" + secrets.token_hex(16)
        name = _form_quote(filename or "attachment")
        self.head = (f"--{self.boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n"
                     f"Content-Type: {mime_type or 'application/octet-stream'}\r\n\r\n").encode()
        self.tail = f"\r\n--{self.boundary}--\r\n".encode()
        self.size = size
        self.length = len(self.head) + size + len(self.tail)
        self._chunks = chunks
        self._replayable = replayable
        self._started = False

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={self.boundary}"

    def __iter__(self):
        if self._started and not self._replayable:
            raise TransientError("The attachment's content can be read only once and Jira asked to send it again; "
                                 "upload it again from its source.", code="stream_not_replayable")
        self._started = True
        yield self.head
        sent = 0
        for chunk in self._chunks():
            if not chunk:
                continue
            sent += len(chunk)
            if sent > self.size:
                raise PermanentError(f"The attachment is longer than the {self.size} bytes announced.",
                                     code="size_mismatch")
            yield bytes(chunk)
        if sent != self.size:
            raise PermanentError(f"The attachment ended after {sent} of the {self.size} bytes announced.",
                                 code="size_mismatch")
        yield self.tail


def _file_chunks(handle: BinaryIO, start: int) -> Callable[[], Iterator[bytes]]:
    def chunks():
        handle.seek(start)
        while True:
            chunk = handle.read(CHUNK)
            if not chunk:
                return
            yield chunk

    return chunks


# --- the writer -------------------------------------------------------------------------------------


class JiraWriter:
    def __init__(self, connector: JiraConnector, *, run_id: str = ""):
        self.connector = connector
        self.http = connector.http
        self.cloud = connector.kind == ConnectionKind.JIRA_CLOUD
        self.run_id = str(run_id or "")
        self._lock = threading.RLock()
        self._cache: dict[Any, Any] = {}
        self._workflows: dict[tuple[str, str], _Workflow] = {}
        self._links: OrderedDict[str, list[dict]] = OrderedDict()

    # -- small helpers ---------------------------------------------------------------------------------

    def api(self, path: str) -> str:
        return self.connector.api(path)

    def _issue_path(self, issue: str, rest: str = "") -> str:
        return self.api(f"issue/{quote(str(issue), safe='')}" + (f"/{rest}" if rest else ""))

    def _cached(self, key, load: Callable[[], Any]):
        with self._lock:
            if key not in self._cache:
                self._cache[key] = load()
            return self._cache[key]

    @staticmethod
    def _write_once(send: Callable[[], httpx.Response], *, find: Callable[[], Any]) -> httpx.Response | Any:
        """Send a write that is not idempotent. When its outcome is unknown (the request may have reached
        Jira), look for what it would have made (`find`, read with retries): return that if found, else send
        it once more, now that it is known not to exist."""
        try:
            return send()
        except ConnectorError as exc:
            if not _ambiguous(exc):
                raise
            found = find()
            if found:
                return found
            return send()

    def _get_all_pages(self, path: str, params: dict | None = None, *, key: str = "values") -> list:
        """Every value of a paged Jira list (startAt / isLast), or the list itself for unpaged answers."""
        out, start = [], 0
        while True:
            body = self.http.get_json(path, params={**(params or {}), "startAt": str(start), "maxResults": "50"})
            if isinstance(body, list):
                return body
            values = body.get(key) or []
            out.extend(values)
            start += len(values)
            if body.get("isLast", True) or not values or start >= int(body.get("total", start) or start):
                return out

    # -- schema ----------------------------------------------------------------------------------------

    def fields_schema(self) -> dict[str, dict]:
        """{field id: schema} of every field of the site (one request, cached)."""
        def load():
            return {str(f["id"]): dict(f.get("schema") or {}) for f in self.http.get_json(self.api("field"))}

        return self._cached("fields", load)

    def epic_link_field(self) -> str:
        return next((fid for fid, schema in self.fields_schema().items()
                     if schema.get("custom") == payloads.EPIC_LINK_CUSTOM_TYPE), "")

    def project(self, project: str) -> dict:
        """The project with its issue types (cached)."""
        return self._cached(("project", str(project).upper()),
                            lambda: self.http.get_json(self.api(f"project/{quote(str(project), safe='')}")))

    def issue_type(self, project: str, type_ref: str) -> dict | None:
        types = self.project(project).get("issueTypes") or []
        ref = str(type_ref).strip()
        return (next((t for t in types if str(t.get("id")) == ref), None)
                or next((t for t in types if str(t.get("name", "")).casefold() == ref.casefold()), None))

    def statuses(self) -> dict[str, dict]:
        """{status id: {"name", "category"}} of the site (cached)."""
        def load():
            return {str(s["id"]): {"name": s.get("name", ""), "category": (s.get("statusCategory") or {}).get("key", "")}
                    for s in self.http.get_json(self.api("status"))}

        return self._cached("statuses", load)

    def link_types(self) -> list[dict]:
        return self._cached("link_types", lambda: self.http.get_json(self.api("issueLinkType")).get("issueLinkTypes", []))

    def myself(self) -> dict:
        return self._cached("myself", lambda: self.http.get_json(self.api("myself")))

    # -- items -----------------------------------------------------------------------------------------

    def create_items(self, items: Iterable[ItemWrite], *, project: str) -> list[WriteResult]:
        """Create every item in `project` through bulk create, 50 per request; one result per item, in the
        order given. Never sends an item twice within the call."""
        items = list(items)
        results: list[WriteResult | None] = [None] * len(items)
        ready: list[tuple[int, dict]] = []
        try:
            schema = self.fields_schema()
            epic_link = "" if self.cloud else self.epic_link_field()
            self.project(project)
        except ConnectorError as exc:
            error = write_error_from(exc, what=f"read the schema of project {project}")
            return [WriteResult(source_id=item.source_id, error=error) for item in items]
        seen: set[str] = set()
        for index, item in enumerate(items):
            if item.source_id in seen:
                results[index] = WriteResult(source_id=item.source_id, error=WriteError(
                    ErrorCategory.PERMANENT, "duplicate_source_id",
                    "This source id appears twice in one write; it was written once."))
                continue
            seen.add(item.source_id)
            issue_type = self.issue_type(project, item.type_id)
            if issue_type is None:
                results[index] = WriteResult(source_id=item.source_id, error=WriteError(
                    ErrorCategory.CONFIG, "unknown_issue_type",
                    f"Project {project} has no issue type {item.type_id!r}; check the type mapping.",
                    field_errors={"issuetype": "unknown"}))
                continue
            try:
                payload = payloads.issue_create_payload(item, project=project, cloud=self.cloud, fields_schema=schema,
                                                        issue_type=issue_type, epic_link_field=epic_link,
                                                        run_id=self.run_id)
            except payloads.FieldValueError as exc:
                results[index] = WriteResult(source_id=item.source_id, error=_field_error(exc))
                continue
            ready.append((index, payload))
        for start in range(0, len(ready), BULK_CREATE_MAX):
            batch = ready[start:start + BULK_CREATE_MAX]
            for index, result in zip([i for i, _ in batch], self._bulk_create([items[i] for i, _ in batch],
                                                                              [p for _, p in batch]), strict=True):
                results[index] = result
        return results

    def _bulk_create(self, items: list[ItemWrite], bodies: list[dict]) -> list[WriteResult]:
        try:
            response = self.http.request("POST", self.api("issue/bulk"), json={"issueUpdates": bodies},
                                         accept=(200, 201, 400))
        except ConnectorError as exc:
            error = write_error_from(exc, what="create the items")
            return [WriteResult(source_id=item.source_id, error=error) for item in items]
        body = _json_or_none(response)
        body = body if isinstance(body, dict) else {}
        created = [i for i in body.get("issues") or [] if isinstance(i, dict)]
        failed: dict[int, dict] = {}
        whole_request: list[dict] = []
        for entry in body.get("errors") or []:
            number = entry.get("failedElementNumber") if isinstance(entry, dict) else None
            if isinstance(number, int) and 0 <= number < len(items):
                failed[number] = entry
            else:
                whole_request.append(entry if isinstance(entry, dict) else {})
        results = []
        if len(created) + len(failed) != len(items):
            # Jira's answer does not account for every element: which were created cannot be told.
            if not created and whole_request:
                entry = whole_request[0]
                error = vendor_error(int(entry.get("status") or response.status_code), entry.get("elementErrors"),
                                     what="create the items")
                return [WriteResult(source_id=item.source_id, error=error) for item in items]
            error = WriteError(ErrorCategory.TRANSIENT, "unaccounted",
                               "Jira's answer to the bulk create did not account for every item; reconcile before "
                               "writing them again.", ambiguous=True)
            return [WriteResult(source_id=item.source_id, error=error) for item in items]
        made = iter(created)
        for number, item in enumerate(items):
            if number in failed:
                entry = failed[number]
                results.append(WriteResult(source_id=item.source_id, error=vendor_error(
                    int(entry.get("status") or 400), entry.get("elementErrors"), what="create this item")))
            else:
                issue = next(made)
                results.append(WriteResult(source_id=item.source_id, destination_id=str(issue.get("id", "")),
                                           key=str(issue.get("key", ""))))
        return results

    # -- state -----------------------------------------------------------------------------------------

    def issue_state(self, issue: str) -> IssueState:
        fields = self.http.get_json(self._issue_path(issue), params={"fields": "status,issuetype,project"})["fields"]
        return IssueState(project=str(fields["project"]["key"]), type_id=str(fields["issuetype"]["id"]),
                          status_id=str(fields["status"]["id"]))

    def _status_ids(self, target: str) -> set[str]:
        statuses = self.statuses()
        ref = str(target).strip()
        if ref in statuses:
            return {ref}
        return {sid for sid, s in statuses.items() if s["name"].casefold() == ref.casefold()}

    def _cloud_workflow_for(self, project: str) -> _Workflow | None:
        """The project's workflow as /workflow/search serves it, when one workflow serves the project and
        the account may read workflows; None otherwise."""
        with self._lock:
            workflows = self._cache.get("workflows")
            if workflows is None:
                try:
                    workflows = self._get_all_pages(self.api("workflow/search"),
                                                    {"expand": "transitions,statuses,projects"})
                except ConnectorError as exc:
                    if exc.kind == "transient":
                        return None  # learn this time; read the workflows again next time
                    workflows = []  # not allowed to read workflows (an admin permission): learn from the issues
                self._cache["workflows"] = workflows
        if not workflows:
            return None
        info = self.project(project)
        keys = {str(info.get("key", "")).upper(), str(info.get("id", ""))}
        serving = [w for w in workflows if any(str(p.get("key", "")).upper() in keys or str(p.get("id", "")) in keys
                                                for p in w.get("projects") or [])]
        if len(serving) != 1 or not serving[0].get("transitions"):
            return None
        flow = _Workflow(complete=True)
        for transition in serving[0]["transitions"]:
            if transition.get("type") == "initial":
                continue
            edge = _Edge(str(transition["id"]), str(transition["to"]))
            sources = [str(s) for s in transition.get("from") or []]
            for source in sources or ["*"]:
                flow.edges[source].append(edge)
        return flow

    def _workflow(self, state: IssueState) -> _Workflow:
        key = (state.project.upper(), state.type_id)
        with self._lock:
            if key not in self._workflows:
                flow = self._cloud_workflow_for(state.project) if self.cloud else None
                self._workflows[key] = flow or _Workflow()
            return self._workflows[key]

    def _learn(self, issue: str, flow: _Workflow, status: str) -> None:
        body = self.http.get_json(self._issue_path(issue, "transitions"))
        edges = [_Edge(str(t["id"]), str((t.get("to") or {}).get("id", ""))) for t in body.get("transitions") or []]
        with self._lock:
            flow.edges[status] = [e for e in edges if e.to]
            flow.explored.add(status)

    def transition_to(self, issue: str, target_status: str, *, current: IssueState | None = None) -> TransitionOutcome:
        """Move `issue` to `target_status` (a status name or id) along the fewest transitions. Starts from
        the issue's current status (read unless `current` is given), so calling it again is harmless."""
        targets = set()
        try:
            targets = self._status_ids(target_status)
        except ConnectorError as exc:
            return TransitionOutcome(issue, error=write_error_from(exc, what="read the statuses"))
        if not targets:
            return TransitionOutcome(issue, error=WriteError(
                ErrorCategory.CONFIG, "unknown_status", f"Jira has no status named {target_status!r}; check the state "
                "mapping."))
        steps: list[str] = []
        replanned = False
        recoveries = 0
        try:
            state = current or self.issue_state(issue)
            flow = self._workflow(state)
            status = state.status_id
            for _ in range(MAX_TRANSITION_STEPS):
                if status in targets:
                    name = self.statuses().get(status, {}).get("name", "")
                    return TransitionOutcome(issue, status, name, tuple(steps))
                if not flow.complete and status not in flow.explored:
                    self._learn(issue, flow, status)
                with self._lock:
                    path = flow.path(status, targets)
                    if path is None and not flow.complete:
                        # Not known yet: go towards the nearest status whose transitions are still unknown.
                        unexplored = flow.known_statuses() - flow.explored
                        path = flow.path(status, unexplored) if unexplored else None
                if not path:
                    return TransitionOutcome(issue, status, self.statuses().get(status, {}).get("name", ""),
                                             tuple(steps), WriteError(
                        ErrorCategory.CONFIG, "no_transition_path",
                        f"The workflow offers no way from status {self._status_label(status)} to "
                        f"{target_status!r} for this issue type; check the state mapping or the workflow."))
                edge = path[0]
                try:
                    response = self.http.request("POST", self._issue_path(issue, "transitions"),
                                                 json={"transition": {"id": edge.transition_id}},
                                                 accept=(204, 200, 400))
                except ConnectorError as exc:
                    if not _ambiguous(exc) or recoveries >= 3:
                        raise
                    # The transition may have happened: see where the issue is now and go on from there.
                    recoveries += 1
                    status = self.issue_state(issue).status_id
                    if status == edge.to:
                        steps.append(edge.transition_id)
                    continue
                if response.status_code == 400:
                    if replanned:
                        return TransitionOutcome(issue, status, "", tuple(steps), vendor_error(
                            400, _json_or_none(response), what=f"move the issue to {target_status!r}"))
                    # Our picture of the workflow or of the issue is out of date: look again, once.
                    replanned = True
                    status = self.issue_state(issue).status_id
                    with self._lock:
                        flow.explored.discard(status)
                        if flow.complete:
                            flow.complete = False
                            flow.edges.clear()
                            flow.explored.clear()
                    continue
                steps.append(edge.transition_id)
                status = edge.to
        except ConnectorError as exc:
            return TransitionOutcome(issue, error=write_error_from(exc, what=f"move the issue to {target_status!r}"),
                                     steps=tuple(steps))
        return TransitionOutcome(issue, status, "", tuple(steps), WriteError(
            ErrorCategory.CONFIG, "no_transition_path",
            f"No path to {target_status!r} within {MAX_TRANSITION_STEPS} transitions."))

    def _status_label(self, status_id: str) -> str:
        name = self.statuses().get(status_id, {}).get("name")
        return f"{name!r}" if name else status_id

    # -- links -----------------------------------------------------------------------------------------

    def _link_type(self, ref: str) -> dict | None:
        ref = str(ref).strip()
        types = self.link_types()
        return (next((t for t in types if str(t.get("id")) == ref), None)
                or next((t for t in types if str(t.get("name", "")).casefold() == ref.casefold()), None))

    def issue_links(self, issue: str) -> list[dict]:
        fields = self.http.get_json(self._issue_path(issue), params={"fields": "issuelinks"}).get("fields") or {}
        return list(fields.get("issuelinks") or [])

    @staticmethod
    def _refs(issue: dict | None) -> set[str]:
        issue = issue or {}
        return {str(issue.get("id", "")), str(issue.get("key", "")).upper()} - {""}

    def _existing_link(self, existing: list[dict], link_type: dict, to_ref: str) -> dict | None:
        to_ref = str(to_ref).upper()
        symmetric = str(link_type.get("inward", "")).casefold() == str(link_type.get("outward", "")).casefold()
        for entry in existing:
            if str((entry.get("type") or {}).get("id")) != str(link_type["id"]):
                continue
            if to_ref in self._refs(entry.get("outwardIssue")):
                return entry
            if symmetric and to_ref in self._refs(entry.get("inwardIssue")):
                return entry
        return None

    def create_issue_links(self, links: Iterable[LinkWrite]) -> list[WriteResult]:
        """Create each link unless the source issue has it already (Jira would accept a duplicate); one
        result per link, `existed` for those found. A symmetric type ("relates to") found in either
        direction counts as present."""
        links = list(links)
        results: list[WriteResult | None] = [None] * len(links)
        by_from: dict[str, list[int]] = defaultdict(list)
        for index, link in enumerate(links):
            by_from[str(link.from_id)].append(index)
        try:
            self.link_types()
        except ConnectorError as exc:
            error = write_error_from(exc, what="read the link types")
            return [WriteResult(source_id=link.source_id, error=error) for link in links]
        for from_id, indexes in by_from.items():
            try:
                existing = self._links_of(from_id)
            except ConnectorError as exc:
                error = write_error_from(exc, what=f"read the links of {from_id}")
                for index in indexes:
                    results[index] = WriteResult(source_id=links[index].source_id, error=error)
                continue
            for index in indexes:
                results[index] = self._link_one(links[index], existing)
        return results

    def _links_of(self, issue: str) -> list[dict]:
        """The issue's links, read once per writer and kept up to date with what this writer adds: the
        engine may ask for one link at a time without costing a read each."""
        key = str(issue).upper()
        with self._lock:
            if key in self._links:
                self._links.move_to_end(key)
                return self._links[key]
        links = self.issue_links(issue)
        with self._lock:
            self._links[key] = links
            while len(self._links) > LINK_CACHE_ISSUES:
                self._links.popitem(last=False)
        return links

    def _remember_link(self, link_type: dict, from_id: str, to_id: str, existing: list[dict], link_id: str = "") -> None:
        with self._lock:
            existing.append({"id": link_id, "type": {"id": str(link_type["id"])},
                             "outwardIssue": {"id": str(to_id), "key": str(to_id)}})
            reverse = self._links.get(str(to_id).upper())
            if reverse is not None:
                reverse.append({"id": link_id, "type": {"id": str(link_type["id"])},
                                "inwardIssue": {"id": str(from_id), "key": str(from_id)}})

    def _link_one(self, link: LinkWrite, existing: list[dict]) -> WriteResult:
        link_type = self._link_type(link.link_type)
        composite = f"{link.from_id}:{link.link_type}:{link.to_id}"
        if link_type is None:
            return WriteResult(source_id=link.source_id, key=composite, error=WriteError(
                ErrorCategory.CONFIG, "unknown_link_type", f"Jira has no link type {link.link_type!r}; check the link "
                "mapping."))
        if str(link.from_id).upper() == str(link.to_id).upper():
            return WriteResult(source_id=link.source_id, key=composite, error=WriteError(
                ErrorCategory.PERMANENT, "self_link", "An issue cannot be linked to itself."))
        found = self._existing_link(existing, link_type, link.to_id)
        if found is not None:
            return WriteResult(source_id=link.source_id, destination_id=str(found.get("id", "")), key=composite,
                               existed=True)
        body = {"type": {"id": str(link_type["id"])}, "inwardIssue": payloads._issue_ref(link.from_id),
                "outwardIssue": payloads._issue_ref(link.to_id)}

        def post():
            return self.http.request("POST", self.api("issueLink"), json=body, accept=(200, 201, 400, 404))

        try:
            response = self._write_once(post, find=lambda: self._existing_link(self.issue_links(link.from_id),
                                                                               link_type, link.to_id))
        except ConnectorError as exc:
            return WriteResult(source_id=link.source_id, key=composite, error=write_error_from(exc, what="link the issues"))
        if isinstance(response, dict):  # it had been written before the connection dropped
            self._remember_link(link_type, link.from_id, link.to_id, existing, str(response.get("id", "")))
            return WriteResult(source_id=link.source_id, destination_id=str(response.get("id", "")), key=composite)
        if response.status_code in (400, 404):
            return WriteResult(source_id=link.source_id, key=composite,
                               error=vendor_error(response.status_code, _json_or_none(response), what="link the issues"))
        # Later links see this one, so a repeat (in this call or a later one) is skipped too.
        self._remember_link(link_type, link.from_id, link.to_id, existing)
        return WriteResult(source_id=link.source_id, key=composite)

    # -- the link back, properties ----------------------------------------------------------------------

    def remote_link_upsert(self, issue: str, *, source_id: str, url: str, title: str, summary: str = "",
                           relationship: str = "migrated from", icon_url: str = "",
                           application: str = "") -> WriteResult:
        """The link back to the source item: a remote link whose globalId is the source item's URL, so
        writing it again updates it instead of adding a second one."""
        obj: dict[str, Any] = {"url": url, "title": (title or url)[:255]}
        if summary:
            obj["summary"] = summary[:255]
        if icon_url:
            obj["icon"] = {"url16x16": icon_url, "title": application or title}
        body: dict[str, Any] = {"globalId": url[:255], "relationship": relationship, "object": obj}
        if application:
            body["application"] = {"type": "com.migrayt.source", "name": application}
        try:
            # An upsert by globalId: repeating it after a dropped connection cannot add a second link.
            response = self.http.request("POST", self._issue_path(issue, "remotelink"), json=body,
                                         accept=(200, 201, 400, 404), idempotent=True)
        except ConnectorError as exc:
            return WriteResult(source_id=source_id, error=write_error_from(exc, what="link back to the source"))
        data = _json_or_none(response)
        if response.status_code in (400, 404):
            return WriteResult(source_id=source_id, error=vendor_error(response.status_code, data,
                                                                        what="link back to the source"))
        return WriteResult(source_id=source_id, destination_id=str((data or {}).get("id", "")),
                           existed=response.status_code == 200)

    def remote_links(self, issue: str) -> list[dict]:
        return self.http.get_json(self._issue_path(issue, "remotelink"))

    def property_set(self, issue: str, key: str, value: Any) -> None:
        self.http.request("PUT", self._issue_path(issue, f"properties/{quote(key, safe='')}"), json=value,
                          accept=(200, 201))

    def property_get(self, issue: str, key: str) -> Any | None:
        """The property's value, or None when the issue has no such property."""
        response = self.http.request("GET", self._issue_path(issue, f"properties/{quote(key, safe='')}"),
                                     accept=(200, 404))
        if response.status_code == 404:
            return None
        return (_json_or_none(response) or {}).get("value")

    # -- comments --------------------------------------------------------------------------------------

    def comment_add(self, issue: str, *, source_id: str, body: Any, header: str = "", visibility: dict | None = None,
                    existing_id: str = "", settle_now: bool = True) -> WriteResult:
        """Add the comment (or update `existing_id`, the id the engine recorded for this source comment),
        with `header` (who wrote it and when, in the source) in italics on top. When the outcome is unknown
        (a timeout, a dropped connection), `settle_now` looks for it by its header at once and sends it again
        if absent; without it the error says `ambiguous` and the caller reconciles later, once a slow request
        can no longer be in flight (the run engine does)."""
        try:
            content = payloads.rich_text_with_header(body, header, cloud=self.cloud)
        except payloads.FieldValueError as exc:
            return WriteResult(source_id=source_id, error=_field_error(exc))
        payload: dict[str, Any] = {"body": content}
        if visibility:
            payload["visibility"] = visibility
        if existing_id:
            method, path = "PUT", self._issue_path(issue, f"comment/{quote(str(existing_id), safe='')}")
        else:
            method, path = "POST", self._issue_path(issue, "comment")
        def send():
            return self.http.request(method, path, json=payload, accept=(200, 201, 400, 404),
                                     idempotent=method == "PUT")

        try:
            if method == "POST" and header.strip() and settle_now:
                response = self._write_once(send, find=lambda: self.comment_find(issue, header=header))
            else:
                response = send()
        except ConnectorError as exc:
            return WriteResult(source_id=source_id, error=write_error_from(exc, what="add the comment"))
        if isinstance(response, str):  # written before the connection dropped, and found by its header
            return WriteResult(source_id=source_id, destination_id=response)
        data = _json_or_none(response)
        if response.status_code in (400, 404):
            return WriteResult(source_id=source_id, error=vendor_error(response.status_code, data,
                                                                        what="add the comment"))
        return WriteResult(source_id=source_id, destination_id=str((data or {}).get("id", "")))

    def comment_find(self, issue: str, *, header: str) -> str | None:
        """The id of the issue's first comment that starts with `header`: after an ambiguous failure, the
        comment that may have been written."""
        start = 0
        while True:
            body = self.http.get_json(self._issue_path(issue, "comment"),
                                      params={"startAt": str(start), "maxResults": "100", "orderBy": "created"})
            comments = body.get("comments") or []
            for comment in comments:
                if self._starts_with_header(comment.get("body"), header):
                    return str(comment.get("id"))
            start += len(comments)
            if not comments or start >= int(body.get("total") or 0):
                return None

    def _starts_with_header(self, body, header: str) -> bool:
        if self.cloud:
            first = ((body or {}).get("content") or [None])[0] if isinstance(body, dict) else None
            return first == payloads._adf_header(header.strip())
        return isinstance(body, str) and body.startswith(f"_{payloads.wiki_escape(header.strip())}_")

    # -- attachments -----------------------------------------------------------------------------------

    def attachment_limit(self) -> int:
        """The site's upload limit in bytes (0 when the site does not say)."""
        def load():
            try:
                return int(self.http.get_json(self.api("attachment/meta")).get("uploadLimit") or 0)
            except (ConnectorError, TypeError, ValueError):
                return 0

        return self._cached("attachment_limit", load)

    def attachment_upload(self, issue: str, *, source_id: str, filename: str, content: BinaryIO | Iterable[bytes],
                          size: int | None = None, mime_type: str = "", precheck: bool = True) -> WriteResult:
        """Upload one file, streamed: `content` is a binary file object or an iterable of bytes (with `size`
        when known; otherwise it is spooled to a temporary file first, never kept whole in memory). A file
        over the site's limit is refused before sending when the size is known (`precheck`), and a 413 from
        Jira is reported the same way: a permanent error naming both sizes."""
        spool = None
        try:
            if hasattr(content, "read"):
                start = content.tell() if content.seekable() else 0
                if content.seekable():
                    content.seek(0, os.SEEK_END)
                    size = content.tell() - start
                    chunks, replayable = _file_chunks(content, start), True
                else:
                    spool = self._spool(iter(lambda: content.read(CHUNK), b""))
            elif size is None:
                spool = self._spool(iter(content))
            else:
                iterator = iter(content)
                chunks, replayable = (lambda: iterator), False
            if spool is not None:
                size = spool.tell()
                chunks, replayable = _file_chunks(spool, 0), True
            limit = self.attachment_limit() if precheck else 0
            if limit and size > limit:
                return WriteResult(source_id=source_id, error=self._too_large(filename, size, limit))
            body = _MultipartBody(filename=filename, mime_type=mime_type, size=size, chunks=chunks,
                                  replayable=replayable)
            response = self.http.request(
                "POST", self._issue_path(issue, "attachments"), content=body,
                headers={"X-Atlassian-Token": "no-check", "Content-Type": body.content_type,
                         "Content-Length": str(body.length)},
                accept=(200, 400, 404, 413, 415),
            )
        except ConnectorError as exc:
            return WriteResult(source_id=source_id, error=write_error_from(exc, what=f"upload {filename!r}"))
        finally:
            if spool is not None:
                spool.close()
        data = _json_or_none(response)
        if response.status_code == 413:
            return WriteResult(source_id=source_id, error=self._too_large(filename, size, self.attachment_limit(),
                                                                          vendor=data))
        if response.status_code != 200:
            return WriteResult(source_id=source_id, error=vendor_error(response.status_code, data,
                                                                        what=f"attach {filename!r}"))
        first = data[0] if isinstance(data, list) and data else {}
        return WriteResult(source_id=source_id, destination_id=str(first.get("id", "")))

    @staticmethod
    def _spool(chunks: Iterator[bytes]):
        spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115 - closed by the caller
        for chunk in chunks:
            spool.write(chunk)
        return spool

    @staticmethod
    def _too_large(filename: str, size: int, limit: int, vendor=None) -> WriteError:
        said = ""
        if isinstance(vendor, dict) and vendor.get("errorMessages"):
            said = " Jira said: " + " ".join(str(m) for m in vendor["errorMessages"])[:300]
        limit_text = f"the site's limit of {limit} bytes" if limit else "the site's limit"
        return WriteError(ErrorCategory.PERMANENT, "too_large",
                          f"{filename!r} is {size} bytes, over {limit_text}; it was not attached.{said}",
                          details={"size_bytes": size, "limit_bytes": limit})

    def attachment_content_url(self, attachment_id: str) -> str:
        """Where the site serves an attachment's content: what an inline image shows once it is uploaded."""
        base = self.connector.config.base_url.rstrip("/")
        return f"{base}/{self.api(f'attachment/content/{quote(str(attachment_id), safe=str())}').lstrip('/')}"

    def description_set(self, issue: str, *, source_id: str, body: Any) -> WriteResult:
        """Replace the issue's description (ADF on Cloud, wiki markup on Data Center): a PUT, so sending it
        again after a dropped connection changes nothing."""
        try:
            value = payloads.rich_text(body, cloud=self.cloud, field_id="description")
        except payloads.FieldValueError as exc:
            return WriteResult(source_id=source_id, error=_field_error(exc))
        return self._fields_put(issue, source_id=source_id, fields={"description": value}, what="update the description")

    def _fields_put(self, issue: str, *, source_id: str, fields: dict, what: str) -> WriteResult:
        """PUT some fields of an issue (idempotent: sending it again changes nothing)."""
        try:
            response = self.http.request("PUT", self._issue_path(issue), json={"fields": fields},
                                         accept=(204, 400, 404), idempotent=True)
        except ConnectorError as exc:
            return WriteResult(source_id=source_id, error=write_error_from(exc, what=what))
        if response.status_code != 204:
            return WriteResult(source_id=source_id, error=vendor_error(response.status_code, _json_or_none(response),
                                                                        what=what))
        return WriteResult(source_id=source_id, destination_id=str(issue))

    def parent_set(self, issue: str, *, source_id: str, parent: str) -> WriteResult:
        """Set the parent of an issue that exists already (Cloud: the parent field; Data Center: the Epic Link
        field, by the parent's key): a PUT, so sending it again changes nothing."""
        if self.cloud:
            fields = {"parent": {"key": parent} if not str(parent).isdigit() else {"id": str(parent)}}
        else:
            epic_link = self.epic_link_field()
            if not epic_link:
                return WriteResult(source_id=source_id, error=_field_error(payloads.FieldValueError(
                    "parent", "this Jira Data Center site has no Epic Link field to set the parent with.")))
            key = parent
            if str(parent).isdigit():
                key = self.http.get_json(self._issue_path(parent), params={"fields": "key"}).get("key") or parent
            fields = {epic_link: key}
        return self._fields_put(issue, source_id=source_id, fields=fields, what="set the parent")

    def attachments(self, issue: str) -> list[dict]:
        fields = self.http.get_json(self._issue_path(issue), params={"fields": "attachment"}).get("fields") or {}
        return list(fields.get("attachment") or [])

    # -- rollback --------------------------------------------------------------------------------------

    def item_delete(self, issue: str) -> bool:
        """Delete an issue this run created (with its sub-tasks). False when it was gone already."""
        response = self.http.request("DELETE", self._issue_path(issue), params={"deleteSubtasks": "true"},
                                     accept=(204, 404))
        return response.status_code == 204

    # -- sprints ---------------------------------------------------------------------------------------

    def board_for_project(self, project: str) -> str:
        """The project's scrum board (sprints live on a board)."""
        def load():
            boards = self._get_all_pages(f"{AGILE}/board", {"projectKeyOrId": project, "type": "scrum"})
            if not boards:
                raise PermanentError(f"Project {project} has no scrum board, so it cannot hold sprints.",
                                     code="no_board")
            return str(boards[0]["id"])

        return self._cached(("board", str(project).upper()), load)

    def sprints(self, board_id: str) -> list[dict]:
        return self._get_all_pages(f"{AGILE}/board/{board_id}/sprint")

    def sprint_ensure(self, *, board_id: str, source_id: str, name: str, goal: str = "",
                      start: datetime | None = None, end: datetime | None = None) -> WriteResult:
        """The board's sprint of this name (cut to Jira's 30 characters), created as a future sprint when
        the board has none; `existed` when found."""
        fitted = payloads.sprint_name_fit(name)
        if not fitted:
            return WriteResult(source_id=source_id, error=WriteError(ErrorCategory.PERMANENT, "field_invalid",
                                                                     "A sprint needs a name."))
        def find():
            return next((s for s in self.sprints(board_id) if str(s.get("name", "")).strip() == fitted), None)

        try:
            found = find()
            if found is not None:
                return WriteResult(source_id=source_id, destination_id=str(found["id"]), key=fitted, existed=True)
            body: dict[str, Any] = {"name": fitted, "originBoardId": int(board_id)}
            if goal:
                body["goal"] = goal
            if start:
                body["startDate"] = payloads.jira_datetime(start)
            if end:
                body["endDate"] = payloads.jira_datetime(end)
            response = self._write_once(lambda: self.http.request("POST", f"{AGILE}/sprint", json=body,
                                                                  accept=(200, 201, 400)), find=find)
        except ConnectorError as exc:
            return WriteResult(source_id=source_id, error=write_error_from(exc, what=f"create sprint {fitted!r}"))
        if isinstance(response, dict):
            return WriteResult(source_id=source_id, destination_id=str(response["id"]), key=fitted)
        data = _json_or_none(response)
        if response.status_code == 400:
            return WriteResult(source_id=source_id, error=vendor_error(400, data, what=f"create sprint {fitted!r}"))
        return WriteResult(source_id=source_id, destination_id=str(data["id"]), key=fitted)

    def sprint_move_issues(self, sprint_id: str, issues: Iterable[str]) -> list[WriteResult]:
        """Put issues into the sprint, 50 per request (sub-tasks follow their parent and must not be
        listed). Moving an issue that is in the sprint already changes nothing."""
        issues = [str(i) for i in issues]
        results = []
        for start in range(0, len(issues), SPRINT_MOVE_MAX):
            batch = issues[start:start + SPRINT_MOVE_MAX]
            try:
                # Moving issues into the sprint they are in changes nothing: safe to repeat.
                response = self.http.request("POST", f"{AGILE}/sprint/{sprint_id}/issue", json={"issues": batch},
                                             accept=(200, 204, 400, 404), idempotent=True)
                error = (vendor_error(response.status_code, _json_or_none(response), what="move issues into the sprint")
                         if response.status_code in (400, 404) else None)
            except ConnectorError as exc:
                error = write_error_from(exc, what="move issues into the sprint")
            results += [WriteResult(source_id=issue, destination_id=str(sprint_id), error=error) for issue in batch]
        return results

    def sprint_get(self, sprint_id: str) -> dict:
        return self.http.get_json(f"{AGILE}/sprint/{sprint_id}")

    def sprint_bring_to(self, sprint_id: str, state: str, *, start: datetime | None = None,
                        end: datetime | None = None, source_id: str = "") -> WriteResult:
        """Take the sprint to `state` (future, active or closed) from wherever it is, starting it with its
        dates on the way: future -> active -> closed. So a sprint that was closed in the source ends closed,
        with the issues it held. Idempotent."""
        state = state.lower()
        order = ["future", "active", "closed"]
        if state not in order:
            return WriteResult(source_id=source_id, destination_id=str(sprint_id), error=WriteError(
                ErrorCategory.PERMANENT, "field_invalid", f"A sprint state is future, active or closed, not {state!r}."))
        try:
            sprint = self.sprint_get(sprint_id)
            current = sprint.get("state", "future")
            if order.index(current) > order.index(state):
                return WriteResult(source_id=source_id, destination_id=str(sprint_id), error=WriteError(
                    ErrorCategory.PERMANENT, "sprint_state",
                    f"The sprint is {current} already; Jira cannot take it back to {state}."))
            if current == "future" and state in ("active", "closed"):
                begin = start or _parse_jira_datetime(sprint.get("startDate"))
                finish = end or _parse_jira_datetime(sprint.get("endDate"))
                if not begin or not finish:
                    return WriteResult(source_id=source_id, destination_id=str(sprint_id), error=WriteError(
                        ErrorCategory.PERMANENT, "sprint_dates", "Jira starts a sprint only with a start and an end "
                        "date; this one has none."))
                response = self.http.request("POST", f"{AGILE}/sprint/{sprint_id}", accept=(200, 400), idempotent=True, json={
                    "state": "active", "startDate": payloads.jira_datetime(begin),
                    "endDate": payloads.jira_datetime(finish)})
                if response.status_code == 400:
                    return WriteResult(source_id=source_id, destination_id=str(sprint_id),
                                       error=vendor_error(400, _json_or_none(response), what="start the sprint"))
                current = "active"
            if current == "active" and state == "closed":
                response = self.http.request("POST", f"{AGILE}/sprint/{sprint_id}", json={"state": "closed"},
                                             accept=(200, 400), idempotent=True)
                if response.status_code == 400:
                    return WriteResult(source_id=source_id, destination_id=str(sprint_id),
                                       error=vendor_error(400, _json_or_none(response), what="close the sprint"))
        except ConnectorError as exc:
            return WriteResult(source_id=source_id, destination_id=str(sprint_id),
                               error=write_error_from(exc, what=f"take the sprint to {state}"))
        return WriteResult(source_id=source_id, destination_id=str(sprint_id), key=state)

    # -- components and versions -----------------------------------------------------------------------

    def component_ensure(self, *, project: str, name: str, source_id: str = "", description: str = "") -> WriteResult:
        """The project's component of this name (case-insensitive), created when missing."""
        return self._named_ensure(project=project, name=name, source_id=source_id, kind="component",
                                  list_path=f"project/{quote(str(project), safe='')}/components",
                                  create_body=lambda info: {"name": name.strip(), "project": info["key"],
                                                            **({"description": description} if description else {})})

    def version_ensure(self, *, project: str, name: str, source_id: str = "", description: str = "",
                       release_date: str = "", released: bool = False) -> WriteResult:
        """The project's version (fix version / release) of this name, created when missing."""
        def body(info):
            data = {"name": name.strip(), "projectId": int(info["id"]), "released": released}
            if description:
                data["description"] = description
            if release_date:
                data["releaseDate"] = release_date
            return data

        return self._named_ensure(project=project, name=name, source_id=source_id, kind="version",
                                  list_path=f"project/{quote(str(project), safe='')}/versions", create_body=body)

    def _named_ensure(self, *, project: str, name: str, source_id: str, kind: str, list_path: str,
                      create_body: Callable[[dict], dict]) -> WriteResult:
        wanted = (name or "").strip()
        if not wanted:
            return WriteResult(source_id=source_id, error=WriteError(ErrorCategory.PERMANENT, "field_invalid",
                                                                     f"A {kind} needs a name."))
        def find():
            existing = self.http.get_json(self.api(list_path))
            values = existing.get("values", []) if isinstance(existing, dict) else existing
            return next((v for v in values if str(v.get("name", "")).strip().casefold() == wanted.casefold()), None)

        try:
            found = find()
            if found is not None:
                return WriteResult(source_id=source_id, destination_id=str(found["id"]), key=found["name"], existed=True)
            body = create_body(self.project(project))
            response = self._write_once(lambda: self.http.request("POST", self.api(kind), json=body,
                                                                  accept=(200, 201, 400, 404)), find=find)
        except ConnectorError as exc:
            return WriteResult(source_id=source_id, error=write_error_from(exc, what=f"create the {kind} {wanted!r}"))
        if isinstance(response, dict):
            return WriteResult(source_id=source_id, destination_id=str(response["id"]), key=str(response["name"]))
        data = _json_or_none(response)
        if response.status_code in (400, 404):
            return WriteResult(source_id=source_id, error=vendor_error(response.status_code, data,
                                                                        what=f"create the {kind} {wanted!r}"))
        return WriteResult(source_id=source_id, destination_id=str(data["id"]), key=str(data.get("name", wanted)))

    # -- reconciliation --------------------------------------------------------------------------------

    def _jql_bound(self, moment: datetime, *, lower: bool) -> str:
        """A JQL date for `moment` that is safe whichever zone Jira reads it in (the searching user's, as
        Jira documents, or UTC): the earlier of the two readings for a lower bound, the later for an
        upper one, widened by the minute JQL cannot express."""
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        try:
            zone = ZoneInfo(str(self.myself().get("timeZone") or "UTC"))
        except (ZoneInfoNotFoundError, ValueError, ConnectorError):
            zone = UTC
        readings = [moment.astimezone(UTC).replace(tzinfo=None), moment.astimezone(zone).replace(tzinfo=None)]
        if lower:
            return payloads.jql_minute(min(readings) - timedelta(minutes=1))
        return payloads.jql_minute(max(readings) + timedelta(minutes=2))

    def created_with_source(self, *, project: str, since: datetime,
                            until: datetime | None = None) -> Iterator[tuple[str, str, dict]]:
        """(issue id, key, migrayt.source value) of every issue created in `project` in the window, oldest
        first, through a bounded JQL search paged by nextPageToken (Cloud) or startAt (Data Center). Issues
        without the property (made by people, not by a migration) come with an empty dict."""
        jql = f"project = {payloads.jql_string(project)} AND created >= {payloads.jql_string(self._jql_bound(since, lower=True))}"
        if until is not None:
            jql += f" AND created <= {payloads.jql_string(self._jql_bound(until, lower=False))}"
        jql += " ORDER BY created ASC"
        for issue in self._search(jql):
            properties = issue.get("properties")
            if properties is None:
                value = self.property_get(str(issue["id"]), payloads.SOURCE_PROPERTY)
            else:
                value = properties.get(payloads.SOURCE_PROPERTY)
            yield str(issue["id"]), str(issue.get("key", "")), value if isinstance(value, dict) else {}

    def _search(self, jql: str) -> Iterator[dict]:
        if self.cloud:
            token = None
            while True:
                body = {"jql": jql, "fields": ["key"], "properties": [payloads.SOURCE_PROPERTY],
                        "maxResults": SEARCH_PAGE}
                if token:
                    body["nextPageToken"] = token
                # A search changes nothing: safe to repeat after any failure.
                page = self.http.request("POST", self.api("search/jql"), json=body, idempotent=True).json()
                yield from page.get("issues") or []
                token = page.get("nextPageToken")
                if not token or page.get("isLast"):
                    return
        start = 0
        while True:
            page = self.http.get_json(self.api("search"), params={
                "jql": jql, "startAt": str(start), "maxResults": str(SEARCH_PAGE), "fields": "key",
                "properties": payloads.SOURCE_PROPERTY})
            issues = page.get("issues") or []
            yield from issues
            start += len(issues)
            if not issues or start >= int(page.get("total") or 0):
                return

    def reconcile_created(self, *, project: str, since: datetime, source_ids: Iterable[str],
                          until: datetime | None = None, run_id: str | None = None) -> dict[str, tuple[str, str]]:
        """{source id: (issue id, key)} for the issues among `source_ids` that exist in `project`, created
        in the window, carrying the `migrayt.source` property (of `run_id` when given, by default this
        writer's run): what a run created but did not record. Stops reading once every id is found; the
        oldest issue wins if one source id was created twice."""
        wanted = {str(s) for s in source_ids}
        run = self.run_id if run_id is None else str(run_id)
        found: dict[str, tuple[str, str]] = {}
        if not wanted:
            return found
        for issue_id, key, value in self.created_with_source(project=project, since=since, until=until):
            source_id = str(value.get("source_id", ""))
            if source_id not in wanted or source_id in found:
                continue
            if run and str(value.get("run_id", "")) != run:
                continue
            found[source_id] = (issue_id, key)
            if len(found) == len(wanted):
                break
        return found


def _parse_jira_datetime(value) -> datetime | None:
    if not value:
        return None
    try:
        return payloads._parse_datetime(value, "date")
    except payloads.FieldValueError:
        return None
