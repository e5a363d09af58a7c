"""The engine's ports on real connectors: Azure DevOps as the source, Jira (Cloud or Data Center) as the
destination. Thin: every vendor detail stays in the connectors."""

from datetime import datetime
from urllib.parse import quote

from apps.connections.connectors import records
from apps.connections.connectors.errors import ConnectorError, PermanentError, TransientError
from apps.runs.engine.ports import SourceIteration
from apps.runs.readback import JiraReadBack

ITERATION_STATES = {"past": "past", "current": "current", "future": "future"}


class AdoSource:
    """engine.ports.SourcePort over the Azure DevOps reader."""

    def __init__(self, connector, *, project: str, condition: str = ""):
        self.connector = connector
        self.project = project
        self.condition = condition  # the run's scope as a WIQL condition (apps/connections/scope.py)
        self._catalog = None

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


def _raise_for(result: records.WriteResult, what: str) -> None:
    if result.ok:
        return
    error = result.error
    cls = TransientError if error.category == records.ErrorCategory.TRANSIENT else PermanentError
    message = error.message if what.split("“")[-1].split("”")[0] in error.message else f"{what}: {error.message}"
    raise cls(message, code=error.code)


class JiraDestination(JiraReadBack):
    """engine.ports.DestinationPort over the Jira writer (and its reader, for the verification)."""

    bulk_size = 50

    def __init__(self, writer, *, project: str, parallel: int = 4):
        self.writer = writer
        self.project = project
        self.kind = str(writer.connector.kind)
        self.parallel = parallel
        self._board = None

    @property
    def attachment_limit_bytes(self) -> int | None:
        try:
            return self.writer.attachment_limit() or None
        except ConnectorError:
            return None

    def request_count(self) -> int:
        return self.writer.http.stats.total

    def create_items(self, items):
        return self.writer.create_items(items, project=self.project)

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

    def delete_item(self, *, destination_id: str) -> None:
        self.writer.http.request("DELETE", self.writer.api(f"issue/{destination_id}"), params={"deleteSubtasks": "true"},
                                 accept=(204, 404))
