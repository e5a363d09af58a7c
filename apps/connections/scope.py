"""The scope of a migration: which source items a run takes, from Azure DevOps (WIQL) or Jira (JQL).

Filters (an area subtree, work item types, states, a created-date range) or a WIQL condition the person
writes, plus an optional sample size (the first N items in scope, by id, for a sample run into the real
destination before the full one). A scope becomes one WIQL condition that the Azure DevOps reader adds to
its id queries, so out-of-scope items are never read. `scope_count` runs that query and says how many items
are in scope (or, in plain words, what Azure DevOps found wrong with the query) before anything is saved.

A WIQL condition the person writes is checked so it cannot widen the query: balanced parentheses outside
string literals, closed literals, no SELECT/FROM/ORDER BY/ASOF/MODE; it is always ANDed, in parentheses, with
the project and the other filters.

A Jira source is scoped the same way with components instead of an area subtree and a JQL condition: the
scope becomes one JQL condition (`scope_jql_condition`) ANDed with the project, checked the same way (no
ORDER BY, balanced parentheses and quotes), and counted with Jira's own search (`search/approximate-count`
on Cloud, `search` with maxResults 0 on Data Center) so a bad clause is answered in Jira's words.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta

from apps.connections.connectors.errors import ConnectorError
from apps.core.exceptions import ApplicationError

MAX_SAMPLE = 10_000
WIQL_LIMIT = 20_000  # Azure DevOps refuses a flat query past this many results (VS402337)
_FORBIDDEN = re.compile(r"\b(select|from|order\s+by|asof|mode|group\s+by)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Scope:
    area_path: str = ""  # an area and everything under it ("Fabrikam Fiber\\Web")
    components: tuple[str, ...] = ()  # Jira components (names or ids): the Jira side of an area
    types: tuple[str, ...] = ()  # work item type names
    states: tuple[str, ...] = ()
    created_from: date | None = None  # inclusive
    created_to: date | None = None  # inclusive
    query: str = ""  # a WIQL condition (what follows WHERE), ANDed with the filters above
    sample: int | None = None  # a sample run: the first N items in scope, by id
    sample_max_id: int | None = field(default=None, compare=False)  # set by scope_count for a sample

    @property
    def is_everything(self) -> bool:
        return not (self.area_path or self.components or self.types or self.states or self.created_from or self.created_to
                    or self.query or self.sample)

    def as_dict(self) -> dict:
        data = asdict(self)
        for key in ("created_from", "created_to"):
            data[key] = data[key].isoformat() if data[key] else None
        data["types"], data["states"] = list(self.types), list(self.states)
        data["components"] = list(self.components)
        return data


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _names(values, what: str) -> tuple[str, ...]:
    if isinstance(values, str):
        values = [v for v in values.split(",")]
    cleaned = tuple(dict.fromkeys(str(v).strip() for v in (values or []) if str(v).strip()))
    for value in cleaned:
        if len(value) > 128:
            raise ApplicationError(f"A {what} name is far too long.", extra={"field": what})
    return cleaned


def _date(value, name: str) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ApplicationError(f"{name} must be a date like 2026-01-31.", extra={"field": name}) from None


def _outside_literals(text: str, *, quotes: str, backslash: bool) -> str:
    """The text outside string literals, or an ApplicationError when a literal is never closed or the
    parentheses do not balance (a condition must not leave the parentheses it is put in)."""
    if len(text) > 4000:
        raise ApplicationError("The query is too long (4,000 characters at most).", extra={"field": "query"})
    depth, quote, escaped, outside = 0, "", False, []
    for char in text:
        if quote:
            if escaped:
                escaped = False
            elif backslash and char == "\\":
                escaped = True
            elif char == quote:
                quote = ""  # WIQL's '' inside a literal closes and opens again: still inside
            continue
        if char in quotes:
            quote = char
            continue
        outside.append(char)
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth < 0:
                raise ApplicationError("The query closes a parenthesis it never opened.", extra={"field": "query"})
    if quote:
        raise ApplicationError("The query has a text in quotes that is never closed.", extra={"field": "query"})
    if depth:
        raise ApplicationError("The query opens a parenthesis it never closes.", extra={"field": "query"})
    return "".join(outside)


def wiql_condition_check(text: str) -> str:
    """The person's WIQL condition, or an ApplicationError saying why it cannot be used."""
    text = (text or "").strip()
    if not text:
        return ""
    outside = _outside_literals(text, quotes="'", backslash=False)
    if ";" in outside:
        raise ApplicationError("The query cannot hold ';'.", extra={"field": "query"})
    if _FORBIDDEN.search(outside):
        raise ApplicationError("Write only the condition (what follows WHERE), for example "
                               "[System.Tags] CONTAINS 'release-1'; not SELECT, FROM or ORDER BY.",
                               extra={"field": "query"})
    return text


JIRA_KINDS = ("jira_cloud", "jira_data_center")
_JQL_FORBIDDEN = re.compile(r"\border\s+by\b", re.IGNORECASE)


def jql_condition_check(text: str) -> str:
    """The person's JQL condition, or an ApplicationError saying why it cannot be used: it is ANDed in
    parentheses with the project, so it must not close them early, leave a quote open or sort."""
    text = (text or "").strip()
    if not text:
        return ""
    if _JQL_FORBIDDEN.search(_outside_literals(text, quotes="\"'", backslash=True)):
        raise ApplicationError("Write only the condition, for example labels = release-1; the run orders the "
                               "issues itself (no ORDER BY).", extra={"field": "query"})
    return text


def scope_from_data(data: dict | None, *, source_kind: str = "azure_devops") -> Scope:
    """A Scope from API or form input, checked; ApplicationError names the field at fault. `source_kind`
    says whether the query is WIQL (Azure DevOps) or JQL (Jira)."""
    data = data or {}
    jira = source_kind in JIRA_KINDS
    sample = data.get("sample")
    if sample not in (None, ""):
        try:
            sample = int(sample)
        except (TypeError, ValueError):
            raise ApplicationError("The sample size must be a whole number.", extra={"field": "sample"}) from None
        if not 1 <= sample <= MAX_SAMPLE:
            raise ApplicationError(f"A sample is 1 to {MAX_SAMPLE:,} items.", extra={"field": "sample"})
    else:
        sample = None
    created_from, created_to = _date(data.get("created_from"), "created_from"), _date(data.get("created_to"), "created_to")
    if created_from and created_to and created_from > created_to:
        raise ApplicationError("The date range ends before it starts.", extra={"field": "created_to"})
    area = str(data.get("area_path") or "").strip().strip("\\")
    if len(area) > 400:
        raise ApplicationError("The area path is far too long.", extra={"field": "area_path"})
    components = _names(data.get("components"), "components")
    if jira and area:
        raise ApplicationError("Jira has no area paths: choose components instead.", extra={"field": "area_path"})
    if components and not jira:
        raise ApplicationError("Azure DevOps has no components: choose an area subtree instead.",
                               extra={"field": "components"})
    max_id = data.get("sample_max_id")
    check = jql_condition_check if jira else wiql_condition_check
    return Scope(area_path=area, components=components, types=_names(data.get("types"), "types"),
                 states=_names(data.get("states"), "states"), created_from=created_from, created_to=created_to,
                 query=check(data.get("query", "")), sample=sample, sample_max_id=int(max_id) if max_id else None)


def _jql_text(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


# How each query language says the scope's filters: {} is the quoted value (or list of them).
_WIQL = {"quote": None, "area_path": "[System.AreaPath] UNDER {}", "components": "",
         "types": "[System.WorkItemType] IN ({})", "states": "[System.State] IN ({})",
         "from": "[System.CreatedDate] >= {}", "to": "[System.CreatedDate] < {}", "max_id": "[System.Id] <= {}"}
_JQL = {"quote": "jql", "area_path": "", "components": "component in ({})", "types": "issuetype in ({})",
        "states": "status in ({})", "from": "created >= {}", "to": "created < {}", "max_id": "id <= {}"}


def _scope_condition(scope: Scope, says: dict) -> str:
    quote = _jql_text if says["quote"] == "jql" else _literal
    parts = []
    if scope.area_path and says["area_path"]:
        parts.append(says["area_path"].format(quote(scope.area_path)))
    for name in ("components", "types", "states"):
        values = getattr(scope, name)
        if values and says[name]:
            parts.append(says[name].format(", ".join(quote(v) for v in values)))
    if scope.created_from:
        parts.append(says["from"].format(quote(scope.created_from.isoformat())))
    if scope.created_to:
        parts.append(says["to"].format(quote((scope.created_to + timedelta(days=1)).isoformat())))
    if scope.query:
        parts.append(f"({scope.query})")
    if scope.sample and scope.sample_max_id:
        parts.append(says["max_id"].format(int(scope.sample_max_id)))
    return " AND ".join(parts)


def scope_jql_condition(scope: Scope) -> str:
    """The JQL condition a Jira reader adds to `project = X` (and its own paging clause)."""
    return _scope_condition(scope, _JQL)


def scope_wiql_condition(scope: Scope) -> str:
    """The WIQL condition the reader adds to `[System.TeamProject] = @project AND [System.Id] > n`."""
    return _scope_condition(scope, _WIQL)


@dataclass
class ScopeCount:
    count: int  # items in scope (for a sample: the sample's size)
    total_in_scope: int  # items the filters match, before the sample
    condition: str
    scope: Scope


def scope_count(*, connection, project: str, scope: Scope) -> ScopeCount:
    """Ask the source how many items are in scope, and fix a sample to the ids it covers. Raises
    ApplicationError with the vendor's own explanation when it refuses the query."""
    from dataclasses import replace

    from apps.connections.secret_store import SecretUnreadable
    from apps.connections.services import connection_connector

    if connection.kind in JIRA_KINDS:
        return _jira_scope_count(connection=connection, project=project, scope=scope)
    if connection.kind != "azure_devops":
        raise ApplicationError("Scopes narrow an Azure DevOps or Jira source.", extra={"field": "connection"})
    if scope.components:
        raise ApplicationError("Azure DevOps has no components: choose an area subtree instead.",
                               extra={"field": "components"})
    condition = scope_wiql_condition(replace(scope, sample_max_id=None))
    try:
        with connection_connector(connection, quick=True) as connector:
            ids = _ids_in_scope(connector, project, condition)
    except SecretUnreadable as exc:
        raise ApplicationError(str(exc)) from None
    except ConnectorError as exc:
        raise ApplicationError(f"Azure DevOps could not be asked: {exc.message}") from None
    total = len(ids)
    if scope.sample:
        chosen = ids[:scope.sample]
        scope = replace(scope, sample_max_id=chosen[-1] if chosen else None)
        return ScopeCount(count=len(chosen), total_in_scope=total, condition=scope_wiql_condition(scope), scope=scope)
    return ScopeCount(count=total, total_in_scope=total, condition=condition, scope=scope)


def _ids_in_scope(connector, project: str, condition: str) -> list[int]:
    from urllib.parse import quote

    from apps.connections.connectors.azure_devops.reader import API

    ids, last = [], 0
    while True:
        where = f"[System.TeamProject] = @project AND [System.Id] > {int(last)}" + (f" AND {condition}" if condition else "")
        response = connector.http.request(
            "POST", f"{quote(project, safe='')}/_apis/wit/wiql", params={"api-version": API, "$top": str(WIQL_LIMIT)},
            # The person's part of the condition passed wiql_condition_check: it cannot leave its parentheses.
            json={"query": f"SELECT [System.Id] FROM WorkItems WHERE {where} ORDER BY [System.Id] ASC"},  # noqa: S608
            accept=tuple(range(200, 600)), idempotent=True, endpoint="wit/wiql")
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code == 404:
            raise ApplicationError(f"Azure DevOps has no project {project!r} on this connection.",
                                   extra={"field": "project"})
        if response.status_code >= 400:
            vendor = str(body.get("message", "") if isinstance(body, dict) else "")[:300]
            raise ApplicationError(f"Azure DevOps refused the query: {vendor or f'HTTP {response.status_code}'}. Check "
                                   "field names (like [System.State]), values in single quotes and area paths.",
                                   extra={"field": "query"})
        page = [int(row["id"]) for row in body.get("workItems") or []]
        ids += page
        if len(page) < WIQL_LIMIT:
            return ids
        last = page[-1]


def scope_count_for_version(*, organisation, mapping_version_id, scope_data: dict | None) -> ScopeCount:
    """`scope_count` for the source of an approved mapping version (what the run creation page asks before
    anything is saved)."""
    from apps.mappings.models import MappingVersion

    try:
        version = MappingVersion.objects.for_organisation(organisation).select_related(
            "mapping_set__source_scan__connection").get(pk=mapping_version_id)
    except (MappingVersion.DoesNotExist, ValueError, TypeError):
        raise ApplicationError("Choose an approved mapping version.", extra={"field": "mapping_version"}) from None
    scan = version.mapping_set.source_scan
    if scan is None or scan.connection is None:
        raise ApplicationError("The mapping's source scan (or its connection) no longer exists.",
                               extra={"field": "mapping_version"})
    project = scan.project_key or version.mapping_set.source_project
    return scope_count(connection=scan.connection, project=project,
                       scope=scope_from_data(scope_data, source_kind=scan.connection.kind))


def _jira_scope_count(*, connection, project: str, scope: Scope) -> ScopeCount:
    from dataclasses import replace

    from apps.connections.secret_store import SecretUnreadable
    from apps.connections.services import connection_connector

    if scope.area_path:
        raise ApplicationError("Jira has no area paths: choose components instead.", extra={"field": "area_path"})
    condition = scope_jql_condition(replace(scope, sample_max_id=None))
    jql = f"project = {_jql_text(project)}" + (f" AND {condition}" if condition else "")
    try:
        with connection_connector(connection, quick=True) as connector:
            total = _jira_count(connector, jql)
            if not scope.sample:
                return ScopeCount(count=total, total_in_scope=total, condition=condition, scope=scope)
            ids = _jira_first_ids(connector, jql, scope.sample)
    except SecretUnreadable as exc:
        raise ApplicationError(str(exc)) from None
    except ConnectorError as exc:
        raise ApplicationError(f"Jira could not be asked: {exc.message}") from None
    scope = replace(scope, sample_max_id=ids[-1] if ids else None)
    return ScopeCount(count=len(ids), total_in_scope=total, condition=scope_jql_condition(scope), scope=scope)


def _jira_refusal(response) -> ApplicationError:
    try:
        body = response.json()
    except ValueError:
        body = {}
    messages = body.get("errorMessages") if isinstance(body, dict) else None
    vendor = " ".join(str(m) for m in (messages or [])[:3])[:300] or f"HTTP {response.status_code}"
    return ApplicationError(f"Jira refused the query: {vendor}. Check field names (like status or component), "
                            "values in quotes and the project's types and statuses.", extra={"field": "query"})


def _jira_count(connector, jql: str) -> int:
    if connector.cloud:
        response = connector.http.request("POST", connector._api("search/approximate-count"), json={"jql": jql},
                                          accept=tuple(range(200, 600)), idempotent=True, endpoint="search/count")
        if response.status_code >= 400:
            raise _jira_refusal(response)
        return int(response.json().get("count") or 0)
    response = connector.http.request("POST", connector._api("search"), json={"jql": jql, "maxResults": 0,
                                                                          "fields": ["id"]},
                                      accept=tuple(range(200, 600)), idempotent=True, endpoint="search")
    if response.status_code >= 400:
        raise _jira_refusal(response)
    return int(response.json().get("total") or 0)


def _jira_first_ids(connector, jql: str, n: int) -> list[int]:
    """The ids of the first n issues in scope, by id (a sample)."""
    ids, token, start = [], None, 0
    while len(ids) < n:
        size = min(100, n - len(ids))
        if connector.cloud:
            payload = {"jql": f"{jql} ORDER BY id ASC", "maxResults": size, "fields": ["id"]}
            if token:
                payload["nextPageToken"] = token
            response = connector.http.request("POST", connector._api("search/jql"), json=payload,
                                              accept=tuple(range(200, 600)), idempotent=True, endpoint="search/jql")
        else:
            payload = {"jql": f"{jql} ORDER BY id ASC", "startAt": start, "maxResults": size, "fields": ["id"]}
            response = connector.http.request("POST", connector._api("search"), json=payload,
                                              accept=tuple(range(200, 600)), idempotent=True, endpoint="search")
        if response.status_code >= 400:
            raise _jira_refusal(response)
        body = response.json()
        page = [int(issue["id"]) for issue in body.get("issues") or []]
        ids += page
        start += len(page)
        token = body.get("nextPageToken")
        if not page or (connector.cloud and (body.get("isLast", True) or not token)):
            break
    return ids[:n]
