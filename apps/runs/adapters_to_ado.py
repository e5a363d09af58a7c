"""The engine's ports on real connectors the other way round: Jira (Cloud or Data Center) as the source,
Azure DevOps as the destination (adapters.py holds Azure DevOps -> Jira). Thin: every vendor detail stays in
the connectors."""

import dataclasses
import re
from datetime import datetime
from urllib.parse import quote

from apps.connections.connectors import records
from apps.connections.connectors.errors import PermanentError
from apps.mappings.transforms import ImageTarget
from apps.runs import worklogs
from apps.runs.engine.ports import SourceIteration
from apps.runs.readback import AdoReadBack

_CONTENT_URL = re.compile(r"/rest/api/\d+/attachment/content/(\d+)(?:[/?#]|$)")


def _latest_sprint_id(value) -> str:
    """The sprint an issue is in now: the last of its sprints (Cloud: objects; older Data Center: strings
    "com.atlassian.greenhopper.service.sprint.Sprint@…[id=12,…]")."""
    values = value if isinstance(value, list) else [value] if value else []
    for entry in reversed(values):
        if isinstance(entry, dict) and entry.get("id") is not None:
            return str(entry["id"])
        match = re.search(r"\bid=(\d+)", str(entry))
        if match:
            return match.group(1)
        if isinstance(entry, int | str) and str(entry).isdigit():
            return str(entry)
    return ""


def _media_names(document) -> dict[str, str]:
    """ADF media nodes' ids and file names (their alt), anywhere in a document."""
    found, stack = {}, [document] if isinstance(document, dict) else []
    while stack:
        node = stack.pop()
        attrs = node.get("attrs") or {}
        if node.get("type") in ("media", "mediaInline") and attrs.get("id") and attrs.get("alt"):
            found[str(attrs["id"])] = str(attrs["alt"])
        stack += [child for child in node.get("content") or [] if isinstance(child, dict)]
    return found


class JiraSource:
    """engine.ports.SourcePort over the Jira reader (Cloud or Data Center), with what the history replay
    needs: each issue's changelog and comments."""

    def __init__(self, connector, *, project: str, condition: str = ""):
        self.connector = connector
        self.project = project
        self.condition = condition  # the run's scope as a JQL condition (apps/connections/scope.py)
        self._cache: dict[str, object] = {}
        self._keys: dict[str, str] = {}
        self._attached: dict[str, list[records.Attachment]] = {}  # the last slice's files, for inline images
        self._media_names: dict[str, str] = {}  # ADF media id -> file name

    def _cached(self, key: str, load):
        if key not in self._cache:
            self._cache[key] = load()
        return self._cache[key]

    def _sprint_field(self) -> str:
        return self._cached("sprint_field", self.connector.sprint_field_id)

    def _enrich(self, item: records.WorkItem) -> records.WorkItem:
        """Components are the issue's areas, its current sprint its iteration (the neutral fields the engine
        plans and maps by)."""
        components = item.fields.get("components") or []
        if components and not item.area_id and isinstance(components[0], dict):
            item.area_id = str(components[0].get("id", ""))
        sprint_field = self._sprint_field()
        if sprint_field and not item.iteration_id:
            item.iteration_id = _latest_sprint_id(item.fields.get(sprint_field))
        self._keys[item.source_id] = item.key
        return item

    def read_items(self, state: dict):
        if self.condition:
            state = {**(state or {}), "condition": self.condition}
        for record in self.connector.read("work_items", state or {}, project=self.project):
            yield self._enrich(record) if isinstance(record, records.WorkItem) else record

    def items_by_ids(self, ids: list[str]) -> list[records.WorkItem]:
        from apps.connections.connectors.jira import parse

        return [self._enrich(parse.issue(body, text_format=self.connector.text_format, project_key=self.project)[0])
                for body in self.connector.issues_bulk([i for i in ids if str(i).isdigit()])]

    def item_url(self, source_id: str) -> str:
        if source_id not in self._keys:
            self.items_by_ids([source_id])
        key = self._keys.get(source_id) or source_id
        return f"{self.connector.config.base_url.rstrip('/')}/browse/{quote(key)}"

    def iterations(self) -> list[SourceIteration]:
        return [SourceIteration(i.source_id, i.name, i.start, i.finish, i.state, i.goal)
                for i in self._cached("sprints", lambda: self.connector.sprints(self.project))]

    def areas(self) -> list[records.Area]:
        return list(self._cached("components", lambda: self.connector.components(self.project)))

    def revisions_bulk(self, ids: list[str]) -> dict[str, list[records.Revision]]:
        return self.connector.changelogs_of([i for i in ids if str(i).isdigit()])

    def revisions_of(self, source_id: str) -> list[records.Revision]:
        return self.revisions_bulk([source_id]).get(str(source_id), [])

    def comments_of(self, source_id: str) -> list[records.Comment]:
        comments = self.connector.comments_of(source_id)
        for comment in comments:  # the images a comment shows, by media id (ADF), as for the description
            self._media_names.update(_media_names(comment.body))
        return comments

    def person_mentioned(self, reference: str) -> records.Person | None:
        """The person a mention names: an account id (Cloud), or a user name (Data Center's "[~jdoe]", while
        its people are known by their key, JIRAUSER10100). The project's people first; a user name not among
        them is asked for once (Data Center's GET /user?username=)."""
        known = self._cached("mentioned", lambda: {p.source_id: p for p in self.connector.people(self.project)})
        if reference not in known and not self.connector.cloud:
            known[reference] = self.connector.person_by_name(reference)
        return known.get(reference)

    def items_with_attachments(self, ids: list[str]):
        found = []
        for item, attachments in self._attachments_load(ids):
            if worklogs.has_worklogs(item):  # the worklogs as one CSV file (apps/runs/worklogs.py)
                data = self._worklog_csv(item.source_id)
                attachments = [*attachments, worklogs.worklog_attachment(item, data)]
            found.append((self._enrich(item), attachments))
        return found

    def _attachments_load(self, ids: list[str]) -> list[tuple[records.WorkItem, list[records.Attachment]]]:
        from apps.connections.connectors.jira import parse

        found = []
        for body in self.connector.issues_bulk([i for i in ids if str(i).isdigit()]):
            item, _, attachments, _ = parse.issue(body, text_format=self.connector.text_format, project_key=self.project)
            self._attached[item.source_id] = attachments
            self._media_names.update(_media_names(item.description))
            found.append((item, attachments))
        return found

    def _worklog_csv(self, source_id: str) -> bytes:
        return self._cached(f"worklogs:{source_id}",
                            lambda: worklogs.worklog_csv(self.connector.worklogs_of(source_id)))

    def image_attachment(self, src: str, *, item_id: str) -> records.Attachment | None:
        """The attachment an inline image shows: ADF names it by a media id (not the attachment's id; its node's
        alt is the file name), wiki markup by file name ("!name.png|thumbnail!")."""
        if str(item_id) not in self._attached and str(item_id).isdigit():  # a comment's image, before the files
            self._attachments_load([str(item_id)])
        attached = self._attached.get(str(item_id)) or []
        shown = _CONTENT_URL.search(src or "")
        if shown and src.startswith(self.connector.config.base_url.rstrip("/") + "/"):
            # An external media node showing one of this site's files (what a migration into Jira writes).
            return next((a for a in attached if a.source_id == shown.group(1)), None)
        name = self._media_names.get(src, src)
        return next((a for a in attached if a.filename == name or a.source_id == src), None)

    def attachment_chunks(self, attachment: records.Attachment):
        if worklogs.is_worklog_attachment(attachment):
            return iter([self._worklog_csv(attachment.work_item_id)])
        return self.connector.attachment_chunks(attachment)

    def remote_links_of(self, source_id: str) -> list[records.Link]:
        """The issue's links out of the tracker (Jira's remote links), for the remote_links phase."""
        return self.connector.remote_links_of(source_id) if str(source_id).isdigit() else []

    def people_by_name(self) -> dict[str, str]:
        """Display name -> account id (Cloud) or user name (Data Center): a changelog names people by name."""
        people = self._cached("people", lambda: self.connector.people(self.project))
        return {p.display_name: p.source_id for p in people if p.display_name}

    def sprint_field(self) -> str:
        return self._sprint_field()


class AdoDestination(AdoReadBack):
    """engine.ports.DestinationPort over the Azure DevOps writer. Azure DevOps keeps history as it happened
    (`replays_history`); parents are set after every item's history (`parents_late`), since a child's parent
    link writes a revision on the parent, dated now, and Azure DevOps then refuses the parent's older
    history. Sprints are iterations (their dates say past, current or future), set on the item at creation:
    filling, starting and closing them are nothing to do. The verification reads it back (readback.AdoReadBack)."""

    kind = "azure_devops"
    bulk_size = 50
    replays_history = True
    parents_late = True
    attachment_limit_bytes = 130 * 1024 * 1024

    def __init__(self, writer, *, project: str, parallel: int = 4, iteration_parent: str = ""):
        self.writer = writer
        self.project = project
        self.parallel = parallel
        self.iteration_parent = iteration_parent  # where sprints go, relative to the project's root iteration

    def request_count(self) -> int:
        return self.writer.http.stats.total

    def create_items(self, items):
        return self.writer.create_items([dataclasses.replace(i, parent_id="", parent_key="") for i in items],
                                        project=self.project)

    def find_created(self, *, since: datetime, source_ids, run_uid: str):
        return self.writer.reconcile_created(project=self.project, source_ids=source_ids, run_id=run_uid)

    def transition(self, *, destination_id: str, status: str) -> None:
        self.writer.state_set(destination_id, status)

    def link(self, link: records.LinkWrite) -> records.WriteResult:
        return self.writer.link_add(link)

    def remote_link(self, *, destination_id: str, global_id: str, url: str, title: str) -> str:
        return self.writer.hyperlink_ensure(destination_id, url=url, source_id="")

    def web_links_add(self, *, destination_id: str, links: list[tuple[str, str]]) -> list[bool]:
        return self.writer.hyperlinks_add(destination_id, links)

    def parent_link(self, *, destination_id: str, parent_id: str) -> None:
        self.writer.parent_set(destination_id, parent_id)

    def history_replay(self, *, destination_id: str, revisions: list[records.RevisionWrite]) -> int:
        return self.writer.history_replay(destination_id, revisions)

    def attachment_upload(self, *, destination_id: str, source_id: str, filename: str, chunks, size: int | None,
                          mime_type: str = "") -> str:
        if size is not None and size > self.attachment_limit_bytes:
            raise PermanentError(f"The file is over Azure DevOps' limit of {self.attachment_limit_bytes // 1048576} MB.",
                                 code="too_large")
        return self.writer.attachment_upload(destination_id, source_id=source_id, filename=filename, chunks=chunks,
                                             project=self.project, size=size)

    def attachments_of(self, *, destination_id: str) -> list[tuple[str, str, int]]:
        return self.writer.attachments(destination_id)

    def file_upload(self, *, source_id: str, filename: str, chunks, size: int | None) -> str:
        if size is not None and size > self.attachment_limit_bytes:
            raise PermanentError(f"The file is over Azure DevOps' limit of {self.attachment_limit_bytes // 1048576} MB.",
                                 code="too_large")
        return self.writer.file_upload(filename=filename, chunks=chunks, project=self.project, size=size)

    def image_target(self, *, attachment_id: str, filename: str) -> ImageTarget:
        return ImageTarget(url=self.writer.attachment_url(attachment_id))

    def description_set(self, *, destination_id: str, body) -> None:
        self.writer.description_set(destination_id, str(body or ""))

    def component(self, *, name: str) -> str:
        return self.writer.node_ensure(project=self.project, structure="Areas", name=name)

    def sprint_find(self, *, name: str) -> str | None:
        return None  # node_ensure finds by path before it creates

    def sprint_create(self, *, name, start, finish, goal, source_id) -> str:
        return self.writer.node_ensure(project=self.project, structure="Iterations", name=name, start=start,
                                       finish=finish, parent_path=self.iteration_parent)

    def sprint_add(self, *, sprint_id: str, destination_ids: list[str]) -> None:
        return None

    def sprint_start(self, *, sprint_id: str, start, finish) -> None:
        return None

    def sprint_close(self, *, sprint_id: str) -> None:
        return None

    def delete_item(self, *, destination_id: str) -> None:
        self.writer.item_delete(destination_id)

    def type_fields(self) -> dict[str, frozenset[str]]:
        return self.writer.type_fields(project=self.project)


def ado_type_fields(connection, project: str) -> dict[str, frozenset[str]]:
    """The destination project's types and the fields each has (what the one-item preview drafts against, as
    the run does)."""
    from apps.connections.connectors.azure_devops.writer import AdoWriter
    from apps.connections.services import connection_connector

    with connection_connector(connection) as connector:
        return AdoWriter(connector).type_fields(project=project)


def engine_to_ado(run, store):
    """The engine of a run from Jira into Azure DevOps, and what to close after the step (services._engine_for
    builds the other direction)."""
    from django.conf import settings

    from apps.connections.connectors.azure_devops.writer import AdoWriter, hyperlink_refusal
    from apps.connections.services import connection_connector
    from apps.runs.engine.execute import Engine
    from apps.runs.planjson import plan_from_dict

    source_connector = connection_connector(run.source_connection)
    closers = [source_connector]
    destination_connector = connection_connector(run.destination_connection)
    closers.append(destination_connector)
    # Both the preview and the run read the destination's types: a field a type lacks is left out and said.
    ado = AdoDestination(AdoWriter(destination_connector, run_id=str(run.uid)), project=run.destination_project,
                         parallel=getattr(settings, "RUNS_PARALLEL_REQUESTS", 4))
    destination = None if run.is_preview else ado
    condition = (run.plan.get("scope") or {}).get("condition", "")
    source = JiraSource(source_connector, project=run.source_project, condition=condition)
    engine = Engine(plan=plan_from_dict(run.plan), source=source,
                    destination=destination, store=store, budget_seconds=getattr(settings, "RUNS_SLICE_SECONDS", 20),
                    reconcile_after=getattr(settings, "RUNS_RECONCILE_AFTER_SECONDS", 60),
                    type_levels=run.plan.get("destination_type_levels") or {})
    engine.drafter.type_fields = ado.type_fields()
    engine.web_link_refusal = hyperlink_refusal
    if run.is_preview:
        engine.attachment_limit = AdoDestination.attachment_limit_bytes
    return engine, closers
