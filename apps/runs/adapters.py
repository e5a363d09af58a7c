"""The engine's ports on real connectors: Azure DevOps as the source, Jira (Cloud or Data Center) as the
destination. Thin: every vendor detail stays in the connectors."""

import re
import threading
from dataclasses import replace
from datetime import datetime
from urllib.parse import parse_qsl, quote, urlsplit

from apps.connections.connectors import records
from apps.connections.connectors.errors import ConnectorError, PermanentError, TransientError
from apps.mappings.transforms import ImageTarget
from apps.runs.engine.ports import SourceIteration
from apps.runs.readback import JiraReadBack

ATTACHMENT_URL = re.compile(r"/_apis/wit/attachments/([0-9a-fA-F-]{36})(?:[/?#]|$)")
ITERATION_STATES = {"past": "past", "current": "current", "future": "future"}


class AdoSource:
    """engine.ports.SourcePort over the Azure DevOps reader."""

    def __init__(self, connector, *, project: str, condition: str = ""):
        self.connector = connector
        self.project = project
        self.condition = condition  # the run's scope as a WIQL condition (apps/connections/scope.py)
        self._catalog = None
        self._lock = threading.Lock()

    def read_items(self, state: dict):
        if self.condition:
            state = {**(state or {}), "condition": self.condition}
        return self.connector.read("work_items", state, project=self.project)

    def items_by_ids(self, ids: list[str]) -> list[records.WorkItem]:
        from apps.connections.connectors.azure_devops import parse

        found = []
        numbers = [int(i) for i in ids if str(i).isdigit()]
        for start in range(0, len(numbers), 200):
            for body in self.connector.work_items_batch(self.project, numbers[start:start + 200]):
                item, _, _ = parse.work_item(body)
                found.append(item)
        return found

    def item_url(self, source_id: str) -> str:
        return f"{self.connector.config.base_url.rstrip('/')}/{quote(self.project)}/_workitems/edit/{source_id}"

    def _schema(self):
        if self._catalog is None:
            self._catalog = self.connector.discover(project=self.project)
        return self._catalog

    def iterations(self) -> list[SourceIteration]:
        return [SourceIteration(i.source_id, i.name, i.start, i.finish, i.state, i.goal)
                for i in self._schema().iterations]

    def areas(self) -> list[records.Area]:
        return list(self._schema().areas)

    # -- content ---------------------------------------------------------------------------------------
    def items_with_attachments(self, ids: list[str]):
        return [(item, attachments) for item, _, attachments in self.items_with_relations(ids)]

    def items_with_relations(self, ids: list[str]) -> list[tuple[records.WorkItem, list[records.Link],
                                                                   list[records.Attachment]]]:
        """The items again, each with its links (to items and outside) and files (metadata only)."""
        from apps.connections.connectors.azure_devops import parse

        found = []
        numbers = [int(i) for i in ids if str(i).isdigit()]
        for start in range(0, len(numbers), 200):
            for body in self.connector.work_items_batch(self.project, numbers[start:start + 200]):
                found.append(parse.work_item(body))
        return found

    def comments_of(self, source_id: str) -> list[records.Comment]:
        out = []
        for batch, _ in self.connector._comments_of(self.project, int(source_id), None):
            out += [c for c in batch if not c.is_deleted]
        return out

    def revisions_of(self, source_id: str) -> list[records.Revision]:
        from apps.runs.changelog import readable_revision

        names = self._field_names()
        out = []
        for batch, _ in self.connector._updates_of(self.project, int(source_id), None):
            out += [readable_revision(r, names) for r in batch]
        return [r for r in out if r.changes]

    def _field_names(self) -> dict[str, str]:
        with self._lock:  # read once per slice, not once per thread
            if getattr(self, "_names", None) is None:
                listing = self.connector._listing(f"{quote(self.project, safe='')}/_apis/wit/fields")
                self._names = {str(f.get("referenceName")): str(f.get("name") or f.get("referenceName"))
                               for f in listing}
            return self._names

    def image_attachment(self, src: str, *, item_id: str) -> records.Attachment | None:
        match = ATTACHMENT_URL.search(src or "")
        if not match:
            return None
        base = self.connector.config.base_url.rstrip("/").lower()
        if src.lower().startswith(("http://", "https://")) and not src.lower().startswith(base + "/"):
            return None  # another organisation's file: kept as a link
        name = next((v for k, v in parse_qsl(urlsplit(src).query) if k.lower() == "filename" and v.strip()), "")
        guid = match.group(1).lower()
        return records.Attachment(source_id=guid, work_item_id=item_id, filename=name or f"{guid}.png",
                                  download_url=src.split("?", 1)[0], is_inline=True)

    def attachment_chunks(self, attachment: records.Attachment):
        return self.connector.attachment_chunks(attachment)


def _raise_for(result: records.WriteResult, what: str) -> None:
    if result.ok:
        return
    error = result.error
    cls = TransientError if error.category == records.ErrorCategory.TRANSIENT else PermanentError
    message = error.message if what.split("“")[-1].split("”")[0] in error.message else f"{what}: {error.message}"
    raise cls(message, code=error.code)


def _raise_unknown(result: records.WriteResult) -> None:
    """A write that may have reached the destination: reconciled later, never sent again at once."""
    if not result.ok and result.error.ambiguous:
        raise TransientError("The destination did not answer; the write may have happened.", code="ambiguous")


class JiraDestination(JiraReadBack):
    """engine.ports.DestinationPort over the Jira writer (and its reader, for the verification)."""

    bulk_size = 50

    def __init__(self, writer, *, project: str, parallel: int = 4, stager=None):
        self.writer = writer
        self.stager = stager  # apps.runs.staging.RunStager: attachments pass through the staged storage
        self.project = project
        self.kind = str(writer.connector.kind)
        self.parallel = parallel
        self._board = None
        self._versions: dict[str, str] = {}  # version name (case-folded) -> id, made or found this run
        self._versions_lock = threading.Lock()

    @property
    def attachment_limit_bytes(self) -> int | None:
        try:
            return self.writer.attachment_limit() or None
        except ConnectorError:
            return None

    def request_count(self) -> int:
        return self.writer.http.stats.total

    def create_items(self, items):
        """Jira refuses an issue naming a version its project lacks: each version the items name (fix versions,
        affected versions) is found by name or made first, once per run, and named by its id."""
        items = list(items)
        results: list[records.WriteResult | None] = [None] * len(items)
        ready = []
        for index, item in enumerate(items):
            try:
                ready.append((index, self._with_versions(item)))
            except ConnectorError as exc:  # nothing sent for this item: throttled, it is sent again later
                category = records.ErrorCategory.TRANSIENT if exc.kind == "transient" else records.ErrorCategory.PERMANENT
                results[index] = records.WriteResult(source_id=item.source_id, error=records.WriteError(
                    category, exc.code, exc.message))
        for (index, _), result in zip(ready, self.writer.create_items([item for _, item in ready],
                                                                      project=self.project), strict=True):
            results[index] = result
        return results

    def _with_versions(self, item: records.ItemWrite) -> records.ItemWrite:
        schema = self.writer.fields_schema()
        lists = [f for f in item.fields if (schema.get(f) or {}).get("items") == "version"
                 or (schema.get(f) or {}).get("type") == "version"]
        if not lists:
            return item
        fields = dict(item.fields)
        for field_id in lists:
            values = fields[field_id] if isinstance(fields[field_id], list | tuple) else [fields[field_id]]
            names = [n.strip() for v in values if v not in (None, "")
                     for n in (str(v).split(";") if not isinstance(v, dict) else [str(v.get("name") or "")]) if n.strip()]
            refs = [{"id": str(v["id"])} for v in values if isinstance(v, dict) and v.get("id")]
            fields[field_id] = refs + [{"id": self.version(name=name)} for name in dict.fromkeys(names)] or None
        return replace(item, fields=fields)

    def version(self, *, name: str) -> str:
        """The project's version of this name (any case), found or made once."""
        with self._versions_lock:
            if name.casefold() not in self._versions:
                result = self.writer.version_ensure(project=self.project, name=name)
                _raise_for(result, f"Version “{name}”")
                self._versions[name.casefold()] = result.destination_id
            return self._versions[name.casefold()]

    def find_created(self, *, since: datetime, source_ids, run_uid: str):
        return self.writer.reconcile_created(project=self.project, since=since, source_ids=source_ids, run_id=run_uid)

    def transition(self, *, destination_id: str, status: str) -> None:
        outcome = self.writer.transition_to(destination_id, status)
        if not outcome.ok:
            _raise_for(records.WriteResult(source_id=destination_id, error=outcome.error), f"Move to “{status}”")

    def link(self, link: records.LinkWrite) -> records.WriteResult:
        return self.writer.create_issue_links([link])[0]

    def remote_link(self, *, destination_id: str, global_id: str, url: str, title: str) -> str:
        result = self.writer.remote_link_upsert(destination_id, source_id=destination_id, url=url, title=title,
                                                application="Azure DevOps")
        _raise_for(result, "Link back to the source")
        return result.destination_id

    def parent_link(self, *, destination_id: str, parent_id: str) -> None:
        """The parent of an item created earlier without it (a sample's item whose parent the full run made)."""
        _raise_for(self.writer.parent_set(destination_id, source_id=destination_id, parent=parent_id), "Parent")

    def component(self, *, name: str) -> str:
        result = self.writer.component_ensure(project=self.project, name=name)
        _raise_for(result, f"Component “{name}”")
        return result.destination_id

    def board(self) -> str:
        if self._board is None:
            self._board = self.writer.board_for_project(self.project)
        return self._board

    def sprint_find(self, *, name: str) -> str | None:
        return None  # sprint_ensure finds by name before it creates

    def sprint_create(self, *, name, start, finish, goal, source_id) -> str:
        result = self.writer.sprint_ensure(board_id=self.board(), source_id=source_id, name=name, goal=goal,
                                           start=start, end=finish)
        _raise_for(result, f"Sprint “{name}”")
        return result.destination_id

    def sprint_add(self, *, sprint_id: str, destination_ids: list[str]) -> None:
        for result in self.writer.sprint_move_issues(sprint_id, destination_ids):
            _raise_for(result, "Fill the sprint")

    def sprint_start(self, *, sprint_id: str, start, finish) -> None:
        _raise_for(self.writer.sprint_bring_to(sprint_id, "active", start=start, end=finish), "Start the sprint")

    def sprint_close(self, *, sprint_id: str) -> None:
        _raise_for(self.writer.sprint_bring_to(sprint_id, "closed"), "Close the sprint")

    # -- content ---------------------------------------------------------------------------------------
    def comment_add(self, *, destination_id: str, source_id: str, body, header: str) -> str:
        result = self.writer.comment_add(destination_id, source_id=source_id, body=body, header=header,
                                         settle_now=False)
        _raise_unknown(result)
        _raise_for(result, "Comment")
        return result.destination_id

    def comment_find(self, *, destination_id: str, header: str) -> str | None:
        return self.writer.comment_find(destination_id, header=header)

    def attachment_upload(self, *, destination_id: str, source_id: str, filename: str, chunks, size: int | None,
                          mime_type: str = "") -> str:
        if self.stager is None:
            result = self.writer.attachment_upload(destination_id, source_id=source_id, filename=filename,
                                                   content=chunks, size=size, mime_type=mime_type)
        else:
            with self.stager.staged(filename, chunks) as handle:
                result = self.writer.attachment_upload(destination_id, source_id=source_id, filename=filename,
                                                       content=handle, mime_type=mime_type)
        _raise_unknown(result)
        _raise_for(result, "Attachment")
        return result.destination_id

    def attachments_of(self, *, destination_id: str) -> list[tuple[str, str, int]]:
        return [(str(a.get("id", "")), str(a.get("filename", "")), int(a.get("size") or 0))
                for a in self.writer.attachments(destination_id)]

    def image_target(self, *, attachment_id: str, filename: str) -> ImageTarget:
        if self.writer.cloud:
            return ImageTarget(url=self.writer.attachment_content_url(attachment_id))
        return ImageTarget(filename=filename)

    def description_set(self, *, destination_id: str, body) -> None:
        _raise_for(self.writer.description_set(destination_id, source_id=destination_id, body=body), "Description")

    def delete_item(self, *, destination_id: str) -> None:
        self.writer.http.request("DELETE", self.writer.api(f"issue/{destination_id}"), params={"deleteSubtasks": "true"},
                                 accept=(204, 404))

