"""The read side of Jira Cloud (REST v3 + agile 1.0) and Jira Data Center (REST v2 + agile 1.0).

* Projects: Cloud `project/search` (paged), Data Center `project`.
* discover(): the project with its issue types (hierarchy level, sub-task), statuses per type with their
  categories (`project/{key}/statuses`), fields (`field`: vendor_type = the schema's `custom` plugin key or
  `system` name), per-type create metadata (`issue/createmeta/{project}/issuetypes/{id}`, paged: fields
  used, required, allowed values; needs the permission to create, skipped without it), priorities, link
  types, components, versions, sprints of the project's boards, and the people who can be assigned.
* work_items: `search/jql` (Cloud, nextPageToken) or `search` (Data Center, startAt), 100 issues a page
  with comment totals, attachments (metadata) and links, and the changelog total. The JQL is
  `project = KEY AND id > last ORDER BY id`, so the checkpoint {"last_id"} survives expired page tokens
  and issues created meanwhile. People named by the issues are yielded once per page.
* comments (`issue/{id}/comment`, paged) and revisions (Cloud: `changelog/bulkfetch`, 1000 issues and
  nextPageToken; Data Center: the issue with `expand=changelog`) per issue; `issues_bulk` (Cloud
  `issue/bulkfetch`, 100 at a time) for the engine's re-reads; an issue's remote links (`remote_links_of`,
  `issue/{id}/remotelink`: links out of the tracker, as records.Link with `is_external`).
"""

from collections.abc import Iterator
from urllib.parse import quote

from apps.connections.connectors import records
from apps.connections.connectors.base import Catalog, Source
from apps.connections.connectors.errors import ConfigError, PermanentError
from apps.connections.connectors.jira import parse
from apps.connections.connectors.records import TextFormat

PAGE = 100  # issues per search page with fields (Cloud's cap for search/jql with fields)
IDS_PAGE = 5000  # ids per page when only ids are asked
BULK = 100  # issue/bulkfetch
CHANGELOG_BULK = 1000  # changelog/bulkfetch issues per request
COMMENTS_PAGE = 100
AGILE_PAGE = 50
SEARCH_FIELDS = ["summary", "issuetype", "status", "project", "created", "updated", "resolutiondate", "priority",
                 "assignee", "reporter", "creator", "labels", "parent", "description", "comment", "attachment",
                 "issuelinks", "components", "fixVersions", "timeoriginalestimate", "timeestimate", "timespent",
                 "worklog"]


class JiraReader(Source):
    """Mixed into the Jira connectors; `api_version` "3" is Cloud, "2" Data Center."""

    STREAMS = ("work_items", "comments", "revisions")

    @property
    def cloud(self) -> bool:
        return self.api_version == "3"

    @property
    def text_format(self) -> TextFormat:
        return TextFormat.ADF if self.cloud else TextFormat.WIKI

    def _api(self, path: str) -> str:
        return f"rest/api/{self.api_version}/{path}"

    @staticmethod
    def _q(value: str) -> str:
        return quote(str(value), safe="")

    def _optional(self, path: str, **params):
        """A read that some sites or permissions do not allow: None instead of an error. (A Cloud token whose
        scopes do not cover it answers 401; the credentials themselves were proven by the reads before.)"""
        try:
            return self.http.get_json(path, params=params or None)
        except (PermanentError, ConfigError) as exc:
            if exc.status_code in (400, 401, 403, 404, 405, 410):
                return None
            raise

    # -- projects and schema ------------------------------------------------------------------------------

    def projects(self) -> list[records.Project]:
        if not self.cloud:
            return [self._project(p) for p in self.http.get_json(self._api("project")) or []]
        out, start = [], 0
        while True:
            body = self.http.get_json(self._api("project/search"), params={"startAt": str(start), "maxResults": "50"})
            values = body.get("values") or []
            out += [self._project(p) for p in values]
            start += len(values)
            if body.get("isLast", True) or not values:
                return out

    @staticmethod
    def _project(body: dict) -> records.Project:
        return records.Project(source_id=str(body.get("id")), key=str(body.get("key")), name=str(body.get("name")),
                               process=str(body.get("style") or body.get("projectTypeKey") or ""))

    def project(self, project: str) -> records.Project:
        return self._project(self.http.get_json(self._api(f"project/{self._q(project)}")))

    def discover(self, *, project: str) -> Catalog:
        body = self.http.get_json(self._api(f"project/{self._q(project)}"))
        the_project = self._project(body)
        key = the_project.key
        statuses = {str(t.get("id")): t.get("statuses") or []
                    for t in self.http.get_json(self._api(f"project/{self._q(key)}/statuses")) or []}
        field_bodies = self.http.get_json(self._api("field")) or []
        allowed: dict[str, list[str]] = {}
        priorities = self._optional(self._api("priority")) or []
        allowed["priority"] = [str(p.get("name")) for p in priorities if p.get("name")]
        versions = self._optional(self._api(f"project/{self._q(key)}/versions")) or []
        if versions:
            allowed["fixVersions"] = allowed["versions"] = [str(v.get("name")) for v in versions]
        types = []
        for type_body in body.get("issueTypes") or []:
            used, required = self._create_meta(key, str(type_body.get("id")), allowed)
            types.append(parse.work_item_type(type_body, statuses.get(str(type_body.get("id")), []), used, required))
        fields = [parse.field_definition(f, tuple(allowed.get(str(f.get("id")), ()))) for f in field_bodies]
        link_body = self._optional(self._api("issueLinkType")) or {}
        link_types = [parse.link_type(t) for t in link_body.get("issueLinkTypes") or []]
        link_types.append(records.LinkType(source_id="parent", name="Parent", outward="parent of",
                                           inward="child of", is_hierarchy=True))
        components = [parse.component(c) for c in self._optional(self._api(f"project/{self._q(key)}/components")) or []]
        return Catalog(project=the_project, work_item_types=types, fields=fields, link_types=link_types,
                       iterations=self._sprints(key), areas=components, people=self._assignable(key))

    def _create_meta(self, project_key: str, type_id: str, allowed: dict) -> tuple[list[str], list[str]]:
        """Fields a type takes on creation, the required ones, and their allowed values (into `allowed`)."""
        used, required, start = [], [], 0
        while True:
            body = self._optional(self._api(f"issue/createmeta/{self._q(project_key)}/issuetypes/{self._q(type_id)}"),
                                  startAt=str(start), maxResults="200")
            if not isinstance(body, dict):
                return used, required  # not allowed to create here (a read-only account): fine for a source
            values = body.get("fields") or body.get("values") or []
            for meta in values:
                field_id = str(meta.get("fieldId") or meta.get("key") or "")
                used.append(field_id)
                if meta.get("required"):
                    required.append(field_id)
                options = [parse.allowed_value_text(v) for v in meta.get("allowedValues") or []]
                if options and field_id not in ("issuetype", "project"):
                    known = allowed.setdefault(field_id, [])
                    known += [o for o in options if o and o not in known]
            start += len(values)
            if not values or start >= int(body.get("total") or 0):
                return used, required

    def _sprints(self, project_key: str) -> list[records.Iteration]:
        boards, start = [], 0
        while True:
            body = self._optional("rest/agile/1.0/board", projectKeyOrId=project_key, startAt=str(start),
                                  maxResults=str(AGILE_PAGE))
            if not isinstance(body, dict):
                break  # no Jira Software on this site
            values = body.get("values") or []
            boards += [b for b in values if b.get("type") == "scrum"]
            start += len(values)
            if body.get("isLast", True) or not values:
                break
        sprints: dict[str, records.Iteration] = {}
        for board in boards:
            start = 0
            while True:
                body = self._optional(f"rest/agile/1.0/board/{board['id']}/sprint", startAt=str(start),
                                      maxResults=str(AGILE_PAGE))
                if not isinstance(body, dict):
                    break
                values = body.get("values") or []
                for value in values:
                    sprints.setdefault(str(value.get("id")), parse.sprint(value, board["id"]))
                start += len(values)
                if body.get("isLast", True) or not values:
                    break
        return list(sprints.values())

    def _assignable(self, project_key: str) -> list[records.Person]:
        people, start = {}, 0
        while True:
            body = self._optional(self._api("user/assignable/search"), project=project_key, startAt=str(start),
                                  maxResults="1000")
            if body is None and start == 0:
                # No assignable-user search here: Cloud lists every user; Data Center matches all on ".".
                body = (self._optional(self._api("users/search"), startAt="0", maxResults="1000") if self.cloud
                        else self._optional(self._api("user/search"), username=".", maxResults="1000"))
                if isinstance(body, list):
                    for user in body:
                        found = parse.person(user)
                        if found and user.get("accountType", "atlassian") == "atlassian":
                            people.setdefault(found.source_id, found)
                break
            if not isinstance(body, list) or not body:
                break
            for user in body:
                found = parse.person(user)
                if found and user.get("accountType", "atlassian") == "atlassian":
                    people.setdefault(found.source_id, found)
            start += len(body)
            if len(body) < 1000:
                break
        return list(people.values())

    # -- reading ------------------------------------------------------------------------------------------

    def _jql(self, project: str, last_id: int, condition: str = "") -> str:
        # `condition`: a run's scope (apps/connections/scope.py scope_jql_condition), checked there so it
        # cannot leave its parentheses.
        scoped = f" AND ({condition})" if condition else ""
        return f'project = "{project}" AND id > {int(last_id)}{scoped} ORDER BY id ASC'

    def _search_page(self, jql: str, *, token=None, start: int = 0, fields=None, expand: str = "",
                     max_results: int = 100) -> tuple[list[dict], str | None, bool]:
        """One page of a search: (issues, next page token, last page?)."""
        if self.cloud:
            payload = {"jql": jql, "maxResults": max_results, "fields": fields or ["id"]}
            if expand:
                payload["expand"] = expand
            if token:
                payload["nextPageToken"] = token
            body = self.http.request("POST", self._api("search/jql"), json=payload, idempotent=True).json()
            return body.get("issues") or [], body.get("nextPageToken"), bool(body.get("isLast", True))
        payload = {"jql": jql, "startAt": start, "maxResults": max_results, "fields": fields or ["id"]}
        if expand:
            payload["expand"] = [expand]
        body = self.http.request("POST", self._api("search"), json=payload, idempotent=True).json()
        issues = body.get("issues") or []
        return issues, None, start + len(issues) >= int(body.get("total") or 0) or not issues

    def count_items(self, project: str) -> int | None:
        jql = f'project = "{project}"'
        if self.cloud:
            response = self.http.request("POST", self._api("search/approximate-count"), json={"jql": jql},
                                         idempotent=True)
            return int(response.json().get("count") or 0)
        body = self.http.request("POST", self._api("search"), json={"jql": jql, "maxResults": 0, "fields": ["id"]},
                                 idempotent=True).json()
        return int(body.get("total") or 0)

    def read(self, stream: str, state: dict, *, project: str) -> Iterator:
        if stream == "work_items":
            yield from self._read_issues(state or {}, project)
        elif stream == "comments":
            yield from self._read_comments(state or {}, project)
        elif stream == "revisions":
            yield from self._read_changelogs(state or {}, project)
        else:
            raise PermanentError(f"Jira has no stream {stream!r}; it has {', '.join(self.STREAMS)}.",
                                 code="unknown_stream")

    def _issue_pages(self, project: str, last: int, *, fields, expand: str = "", max_results: int | None = None,
                     condition: str = ""):
        """Pages of issues above `last` (and in `condition`, a JQL scope), in id order, whatever the search API."""
        max_results = max_results or PAGE
        jql = self._jql(project, last, condition)
        token, start = None, 0
        while True:
            issues, token, is_last = self._search_page(jql, token=token, start=start, fields=fields, expand=expand,
                                                       max_results=max_results)
            start += len(issues)
            if issues:
                yield issues
            if is_last or not issues or (self.cloud and not token):
                return

    def _read_issues(self, state: dict, project: str) -> Iterator:
        last = int(state.get("last_id") or 0)
        # A migration's scope: a JQL condition kept in the state, so a resumed run reads the same issues.
        condition = str(state.get("condition") or "")
        kept = {"condition": condition} if condition else {}
        fields = SEARCH_FIELDS + ["*navigable"]
        for page in self._issue_pages(project, last, fields=fields, expand="changelog", condition=condition):
            people: dict[str, records.Person] = {}
            for body in page:
                item, links, attachments, seen = parse.issue(body, text_format=self.text_format, project_key=project)
                yield item
                yield from links
                yield from attachments
                for someone in seen:
                    people.setdefault(someone.source_id, someone)
                last = max(last, int(body.get("id")))
            yield from people.values()
            yield records.StateCheckpoint("work_items", {"last_id": last, **kept})

    def issue_ids(self, project: str, last: int = 0) -> Iterator[list[int]]:
        for page in self._issue_pages(project, last, fields=["id"], max_results=IDS_PAGE if self.cloud else 1000):
            yield [int(i["id"]) for i in page]

    def issues_bulk(self, ids: list) -> list[dict]:
        """Issues by id (all fields), 100 per request on Cloud; Data Center searches `id in (...)`."""
        out = []
        for start in range(0, len(ids), BULK):
            chunk = [str(i) for i in ids[start:start + BULK]]
            if self.cloud:
                body = self.http.request("POST", self._api("issue/bulkfetch"), idempotent=True,
                                         json={"issueIdsOrKeys": chunk, "fields": SEARCH_FIELDS + ["*navigable"]}).json()
                out += body.get("issues") or []
            else:
                issues, _, _ = self._search_page(f"id in ({', '.join(chunk)}) ORDER BY id ASC",
                                                 fields=SEARCH_FIELDS + ["*navigable"], max_results=BULK)
                out += issues
        return out

    def _read_comments(self, state: dict, project: str) -> Iterator:
        last = int(state.get("last_id") or 0)
        current, position = state.get("item"), state.get("position")
        start_from = last if current is None else int(current) - 1
        for ids in self.issue_ids(project, start_from):
            for issue_id in ids:
                start = int(position or 0) if current is not None and issue_id == int(current) else 0
                current = position = None
                while True:
                    body = self.http.get_json(self._api(f"issue/{issue_id}/comment"),
                                              params={"startAt": str(start), "maxResults": str(COMMENTS_PAGE),
                                                      "orderBy": "created"})
                    values = body.get("comments") or []
                    for value in values:
                        yield parse.comment(value, str(issue_id), self.text_format)
                    start += len(values)
                    if not values or start >= int(body.get("total") or 0):
                        break
                    yield records.StateCheckpoint("comments", {"last_id": last, "item": issue_id, "position": start})
                last = issue_id
                yield records.StateCheckpoint("comments", {"last_id": last})

    def _read_changelogs(self, state: dict, project: str) -> Iterator:
        last = int(state.get("last_id") or 0)
        for ids in self.issue_ids(project, last):
            for start in range(0, len(ids), CHANGELOG_BULK if self.cloud else PAGE):
                chunk = ids[start:start + (CHANGELOG_BULK if self.cloud else PAGE)]
                yield from self._changelogs_of(chunk)
                last = chunk[-1]
                yield records.StateCheckpoint("revisions", {"last_id": last})

    def sprint_field_id(self) -> str:
        """The id of the site's sprint field (Jira Software's gh-sprint custom field), or ""."""
        for body in self.http.get_json(self._api("field")) or []:
            if (body.get("schema") or {}).get("custom") == "com.pyxis.greenhopper.jira:gh-sprint":
                return str(body.get("id"))
        return ""

    def sprints(self, project: str) -> list[records.Iteration]:
        return self._sprints(project)

    def components(self, project: str) -> list[records.Area]:
        return [parse.component(c) for c in self._optional(self._api(f"project/{self._q(project)}/components")) or []]

    def people(self, project: str) -> list[records.Person]:
        return self._assignable(project)

    def person_by_name(self, name: str) -> records.Person | None:
        """One user by user name (Data Center, GET /user?username=), or None where it is not known or not
        allowed."""
        body = self._optional(self._api("user"), username=name)
        return parse.person(body) if isinstance(body, dict) else None

    def changelogs_of(self, ids: list) -> dict[str, list[records.Revision]]:
        """The changelog of each issue (by id), oldest entry first: the engine's history replay."""
        out: dict[str, list[records.Revision]] = {str(i): [] for i in ids}
        for start in range(0, len(ids), CHANGELOG_BULK if self.cloud else PAGE):
            for revision in self._changelogs_of([int(i) for i in ids[start:start + (CHANGELOG_BULK if self.cloud else PAGE)]]):
                out.setdefault(revision.work_item_id, []).append(revision)
        for entries in out.values():
            entries.sort(key=lambda r: (r.changed_at is None, r.changed_at, r.number))
        return out

    def comments_of(self, issue_id) -> list[records.Comment]:
        """Every comment of one issue, oldest first."""
        out, start = [], 0
        while True:
            body = self.http.get_json(self._api(f"issue/{self._q(issue_id)}/comment"),
                                      params={"startAt": str(start), "maxResults": str(COMMENTS_PAGE), "orderBy": "created"})
            values = body.get("comments") or []
            out += [parse.comment(value, str(issue_id), self.text_format) for value in values]
            start += len(values)
            if not values or start >= int(body.get("total") or 0):
                return out

    def remote_links_of(self, issue_id) -> list[records.Link]:
        """The issue's remote links (web links, commits, Confluence pages), as Jira lists them (not paged)."""
        body = self.http.get_json(self._api(f"issue/{self._q(issue_id)}/remotelink"))
        return [parse.remote_link(value, str(issue_id)) for value in body or [] if isinstance(value, dict)]

    def worklogs_of(self, issue_id) -> list[records.Worklog]:
        """Every worklog of one issue, oldest started first."""
        out, start = [], 0
        while True:
            body = self.http.get_json(self._api(f"issue/{self._q(issue_id)}/worklog"),
                                      params={"startAt": str(start), "maxResults": str(COMMENTS_PAGE)})
            values = body.get("worklogs") or []
            out += [parse.worklog(value, str(issue_id), self.text_format) for value in values]
            start += len(values)
            if not values or start >= int(body.get("total") or 0):
                return sorted(out, key=lambda w: (w.started_at is None, w.started_at, w.source_id))

    def _changelogs_of(self, ids: list[int]) -> Iterator[records.Revision]:
        if not self.cloud:
            issues, _, _ = self._search_page(f"id in ({', '.join(map(str, ids))}) ORDER BY id ASC", fields=["id"],
                                             expand="changelog", max_results=len(ids))
            for issue in issues:
                for n, history in enumerate((issue.get("changelog") or {}).get("histories") or [], start=1):
                    yield parse.revision(history, str(issue["id"]), n)
            return
        token, numbers = None, {}
        while True:
            payload = {"issueIdsOrKeys": [str(i) for i in ids], "maxResults": 1000}
            if token:
                payload["nextPageToken"] = token
            body = self.http.request("POST", self._api("changelog/bulkfetch"), json=payload, idempotent=True).json()
            for group in body.get("issueChangeLogs") or []:
                issue_id = str(group.get("issueId"))
                for history in group.get("changeHistories") or []:
                    numbers[issue_id] = numbers.get(issue_id, 0) + 1
                    yield parse.revision(history, issue_id, numbers[issue_id])
            token = body.get("nextPageToken")
            if not token:
                return

    # -- attachments ----------------------------------------------------------------------------------------

    def attachment_chunks(self, attachment: records.Attachment, *, chunk_size: int = 64 * 1024) -> Iterator[bytes]:
        """The file's bytes, chunk by chunk, never all in memory."""
        url = attachment.download_url or self._api(f"attachment/content/{self._q(attachment.source_id)}")
        with self.http.stream("GET", url, endpoint=f"/rest/api/{self.api_version}/attachment/content/{{id}}") as response:
            yield from response.iter_bytes(chunk_size)
