"""The read side of Azure DevOps Services (REST 7.1): projects, discover() and the read() streams.

Request economy (what bench/scan.py measures):
* the items of a project are listed by WIQL, `[System.Id] > last ORDER BY [System.Id]`, 20,000 ids per
  query (`$top`, so the service never refuses with VS402337), and fetched by `workitemsbatch`, 200 ids
  per request with their relations. A page of 200 is one request; the checkpoint after it is
  {"last_id": <the highest id done>}, so a resumed read re-runs one WIQL and carries on.
* the people the items name (identity fields) are yielded as Person records, once per page.
* counts that need no extra request come with the items: System.Rev (revisions), System.CommentCount
  (comments), the AttachedFile relations (attachments and their sizes), the link relations.
* the `comments` and `revisions` streams read per item (continuationToken / $skip paging), only for items
  that have any (the WIQL asks for `[System.CommentCount] > 0`; every item has revisions).
"""

from collections.abc import Iterator
from urllib.parse import quote

from apps.connections.connectors import records
from apps.connections.connectors.azure_devops import parse
from apps.connections.connectors.base import Catalog, Source
from apps.connections.connectors.errors import PermanentError

API = "7.1"
COMMENTS_API = "7.1-preview.4"
WIQL_PAGE = 20_000  # the most one WIQL answers
BATCH = 200  # the most workitemsbatch takes
COMMENTS_PAGE = 200
UPDATES_PAGE = 200
NODE_DEPTH = 50


class AzureDevOpsReader(Source):
    """Mixed into AzureDevOpsConnector: everything a source (or a destination's discover) reads."""

    STREAMS = ("work_items", "comments", "revisions")

    # -- helpers ------------------------------------------------------------------------------------------

    @staticmethod
    def _p(project: str) -> str:
        return quote(project, safe="")

    def _get(self, path: str, **params):
        return self.http.get_json(path, params={**params, "api-version": params.pop("api_version", API)})

    def _listing(self, path: str, **params) -> list:
        body = self._get(path, **params)
        return list(body.get("value") or []) if isinstance(body, dict) else []

    # -- projects and schema ------------------------------------------------------------------------------

    def projects(self) -> list[records.Project]:
        out, token = [], None
        while True:
            params = {"$top": "200", "api-version": API}
            if token:
                params["continuationToken"] = token
            response = self.http.request("GET", "_apis/projects", params=params)
            body = response.json()
            out += [records.Project(source_id=str(p.get("id")), key=str(p.get("name")), name=str(p.get("name")))
                    for p in body.get("value") or []]
            token = response.headers.get("x-ms-continuationtoken")
            if not token:
                return out

    def project(self, project: str) -> records.Project:
        body = self._get(f"_apis/projects/{self._p(project)}", includeCapabilities="true")
        template = ((body.get("capabilities") or {}).get("processTemplate") or {}).get("templateName", "")
        return records.Project(source_id=str(body.get("id")), key=str(body.get("name")), name=str(body.get("name")),
                               process=str(template))

    def discover(self, *, project: str) -> Catalog:
        """Process metadata of one project: types (states with categories, hierarchy level, fields used and
        required), fields (types, picklist values where the service gives them), relation types, area and
        iteration trees (with dates). People are not listed by the service per project: the catalog gets
        those seen in the items (`people_seen` of a read)."""
        the_project = self.project(project)
        p = self._p(the_project.name)
        type_bodies = self._listing(f"{p}/_apis/wit/workitemtypes")
        types = [parse.work_item_type(b) for b in type_bodies]
        # Allowed values: what the types' field instances list (the states, and picklists on the service).
        allowed: dict[str, list[str]] = {}
        for body in type_bodies:
            for instance in body.get("fieldInstances") or body.get("fields") or []:
                ref = instance.get("referenceName")
                if ref and ref != "System.State" and instance.get("allowedValues"):
                    values = allowed.setdefault(ref, [])
                    values += [str(v) for v in instance["allowedValues"] if str(v) not in values]
        fields = []
        field_bodies = self._listing(f"{p}/_apis/wit/fields")
        self._rich_fields = {f["referenceName"] for f in field_bodies if f.get("type") in parse.RICH_TEXT_TYPES}
        for body in field_bodies:
            ref = body.get("referenceName", "")
            values = allowed.get(ref) or []
            if not values and body.get("isPicklist") and body.get("picklistId"):
                values = self._picklist(body["picklistId"])
            fields.append(parse.field_definition(body, tuple(values)))
        link_types = parse.link_types(self._listing("_apis/wit/workitemrelationtypes"))
        iterations, areas = [], []
        for root in self._listing(f"{p}/_apis/wit/classificationnodes", **{"$depth": str(NODE_DEPTH)}):
            structure = str(root.get("structureType", "")).lower()
            if structure == "iteration":
                iterations += parse.classification_nodes(root, structure="iteration")
            elif structure == "area":
                areas += parse.classification_nodes(root, structure="area")
        self._state_categories = {(t.name, s.name): s.category for t in types for s in t.states}
        return Catalog(project=the_project, work_item_types=types, fields=fields, link_types=link_types,
                       iterations=iterations, areas=areas, people=[])

    def _picklist(self, picklist_id: str) -> list[str]:
        try:
            body = self._get(f"_apis/work/processes/lists/{quote(str(picklist_id), safe='')}")
        except PermanentError:
            return []  # an inherited process' list we may not read: the catalog shows the values seen instead
        return [str(v) for v in body.get("items") or []] if isinstance(body, dict) else []

    # -- reading ------------------------------------------------------------------------------------------

    def read(self, stream: str, state: dict, *, project: str) -> Iterator:
        if stream == "work_items":
            yield from self._read_work_items(state or {}, project)
        elif stream == "comments":
            yield from self._read_per_item(state or {}, project, stream, self._comments_of,
                                           "[System.CommentCount] > 0")
        elif stream == "revisions":
            yield from self._read_per_item(state or {}, project, stream, self._updates_of, "")
        else:
            raise PermanentError(f"Azure DevOps has no stream {stream!r}; it has {', '.join(self.STREAMS)}.",
                                 code="unknown_stream")

    def ids_after(self, project: str, last_id: int, *, condition: str = "") -> list[int]:
        """Up to 20,000 ids of the project's work items above `last_id`, in order. The last answer is kept
        for the life of this connector, so counting the items and then reading them asks once."""
        cache_key = (project, int(last_id), condition)
        cached = getattr(self, "_last_ids", None)
        if cached is not None and cached[0] == cache_key:
            return list(cached[1])
        where = f"[System.TeamProject] = @project AND [System.Id] > {int(last_id)}"
        if condition:
            where += f" AND {condition}"
        body = self.http.request(
            "POST", f"{self._p(project)}/_apis/wit/wiql", params={"api-version": API, "$top": str(WIQL_PAGE)},
            # `where` holds an int and our own constant conditions, never user input.
            json={"query": f"SELECT [System.Id] FROM WorkItems WHERE {where} ORDER BY [System.Id] ASC"},  # noqa: S608
            idempotent=True,  # a query: repeating it changes nothing
        ).json()
        ids = [int(row["id"]) for row in body.get("workItems") or []]
        self._last_ids = (cache_key, ids)
        return ids

    def count_items(self, project: str) -> int | None:
        """How many items the project has, for progress bars: one WIQL of ids (no content)."""
        total, last = 0, 0
        while True:
            ids = self.ids_after(project, last)
            total += len(ids)
            if len(ids) < WIQL_PAGE:
                return total
            last = ids[-1]

    def work_items_batch(self, project: str, ids: list[int]) -> list[dict]:
        body = self.http.request(
            "POST", f"{self._p(project)}/_apis/wit/workitemsbatch", params={"api-version": API},
            json={"ids": ids, "$expand": "relations", "errorPolicy": "omit"},
            idempotent=True,  # a read sent as POST
        ).json()
        return [item for item in body.get("value") or [] if item]

    def _rich_text_fields(self, project: str) -> set[str]:
        cached = getattr(self, "_rich_fields", None)
        if cached is None:
            cached = {f["referenceName"] for f in self._listing(f"{self._p(project)}/_apis/wit/fields")
                      if f.get("type") in parse.RICH_TEXT_TYPES}
            self._rich_fields = cached
        return cached

    def _read_work_items(self, state: dict, project: str) -> Iterator:
        last = int(state.get("last_id") or 0)
        # A migration's scope (apps/connections/scope.py): a WIQL condition kept in the state, so a resumed
        # read asks for the same items.
        condition = str(state.get("condition") or "")
        rich = self._rich_text_fields(project)
        categories = getattr(self, "_state_categories", None)
        while True:
            ids = self.ids_after(project, last, condition=condition)
            for start in range(0, len(ids), BATCH):
                chunk = ids[start:start + BATCH]
                people: dict[str, records.Person] = {}
                for body in self.work_items_batch(project, chunk):
                    item, links, attachments = parse.work_item(body, rich_text_fields=rich, state_categories=categories)
                    yield item
                    yield from links
                    yield from attachments
                    for someone in parse.people_in_fields(item.fields):
                        people.setdefault(someone.source_id, someone)
                yield from people.values()  # the people this page names, once each
                last = chunk[-1]
                yield records.StateCheckpoint("work_items", {"last_id": last, **({"condition": condition} if condition else {})})
            if len(ids) < WIQL_PAGE:
                return

    def _read_per_item(self, state: dict, project: str, stream: str, pages, condition: str) -> Iterator:
        """Items in id order, each read page by page. The state names the last item finished and, mid-item,
        the item and where its pages got to."""
        last = int(state.get("last_id") or 0)
        current, position = state.get("item"), state.get("position")
        while True:
            ids = self.ids_after(project, last if current is None else int(current) - 1, condition=condition)
            for item_id in ids:
                start = position if current is not None and item_id == int(current) else None
                current, position = None, None
                for batch, next_position in pages(project, item_id, start):
                    yield from batch
                    if next_position is not None:
                        yield records.StateCheckpoint(stream, {"last_id": last, "item": item_id,
                                                               "position": next_position})
                last = item_id
                yield records.StateCheckpoint(stream, {"last_id": last})
            if len(ids) < WIQL_PAGE:
                return

    def _comments_of(self, project: str, item_id: int, token):
        while True:
            params = {"api-version": COMMENTS_API, "$top": str(COMMENTS_PAGE), "order": "asc"}
            if token:
                params["continuationToken"] = token
            body = self.http.get_json(f"{self._p(project)}/_apis/wit/workItems/{item_id}/comments", params=params)
            token = body.get("continuationToken")
            yield [parse.comment(c, str(item_id)) for c in body.get("comments") or []], token
            if not token:
                return

    def _updates_of(self, project: str, item_id: int, skip):
        skip = int(skip or 0)
        while True:
            body = self.http.get_json(f"{self._p(project)}/_apis/wit/workItems/{item_id}/updates",
                                      params={"api-version": API, "$top": str(UPDATES_PAGE), "$skip": str(skip)})
            values = body.get("value") or []
            skip += len(values)
            more = len(values) == UPDATES_PAGE
            yield [parse.revision(u, str(item_id)) for u in values], skip if more else None
            if not more:
                return

    # -- attachments ----------------------------------------------------------------------------------------

    def attachment_chunks(self, attachment: records.Attachment, *, chunk_size: int = 64 * 1024) -> Iterator[bytes]:
        """The file's bytes, chunk by chunk, never all in memory: write them on as they come."""
        url = attachment.download_url or f"_apis/wit/attachments/{attachment.source_id}"
        with self.http.stream("GET", url, params={"api-version": API, "download": "true"},
                              endpoint="/_apis/wit/attachments/{id}") as response:
            yield from response.iter_bytes(chunk_size)
