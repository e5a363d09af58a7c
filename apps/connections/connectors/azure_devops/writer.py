"""The Azure DevOps destination: what a migration writes into Azure DevOps Services (REST 7.1), keyed on the
source id.

`AdoWriter(connector, run_id=...)` wraps an AzureDevOpsConnector (its HTTP client: SSRF guard, retries on
429/503, pacing from the rate-limit headers, the request counter).

Contract for the engine:
* Items: `create_items(items, project=)` -> one `WriteResult` per item, in order, through `$batch` (50
  creates per request, each answered on its own), every create with `bypassRules=true` (the source's
  CreatedBy/CreatedDate/ChangedBy/ChangedDate and any state are accepted) and `suppressNotifications=true`.
  A failure after the request may have reached Azure DevOps (a timeout after sending, a dropped connection,
  a 500/502/504) is never retried here: its results say `error.ambiguous`, and the engine reconciles.
* Reconciliation key. Every created item carries, inside its create request, (1) the run's tag
  `migrayt-run-<the first 12 hex digits of the run's uid>` and (2) a Hyperlink relation back to the source
  item whose comment is `migrayt source <source id>`. `reconcile_created` (and the verification's duplicate
  scan, through `tagged_items`) finds the run's items by WIQL over the tag, paged by id (a tag is
  the one field every process has, that anyone may set, that WIQL matches exactly, and that needs no
  process customisation, unlike a custom field) and reads the source id from the Hyperlink's comment (a
  relation, not a field: it survives edits of the title or tags, and is the link back people click).
* History: `history_replay(item, revisions)` writes each RevisionWrite as one revision with its own
  ChangedBy/ChangedDate (bypassRules). Idempotent: the item's ChangedDate is the checkpoint, an entry not
  later than it was written already. Nothing else may write to the item before its history is replayed
  (Azure DevOps refuses a ChangedDate earlier than the last one), so links come after.
* State (`state_set`, from the current state), links (`link_add`: the item's relations read first, an
  existing one skipped), the Hyperlink back (`hyperlink_ensure`), the source's own web links
  (`hyperlinks_add`: Hyperlinks titled as in the source, a URL the item holds skipped), parent (`parent_set`), classification
  nodes (`node_ensure`: areas for components, iterations with their dates for sprints, found by path before
  they are made) and `item_delete` for roll-back.

Plain Python: no Django.
"""

import json
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import quote

from apps.connections.connectors.azure_devops.connector import AzureDevOpsConnector
from apps.connections.connectors.errors import ConnectorError, PermanentError
from apps.connections.connectors.records import (
    ErrorCategory,
    ItemWrite,
    LinkWrite,
    RevisionWrite,
    WriteError,
    WriteResult,
    repeated_source_ids,
)
from apps.connections.connectors.write_errors import may_have_happened as _ambiguous
from apps.connections.connectors.write_errors import write_error_from as _write_error_from

API = "7.1"
BATCH_MAX = 50
WIQL_TOP = 20_000
READ_BATCH = 200
PATCH = "application/json-patch+json"
HIERARCHY_REVERSE = "System.LinkTypes.Hierarchy-Reverse"
MARKER = "migrayt source "
# The longest hyperlink a work item keeps: Microsoft documents no number for Azure DevOps Services' REST API;
# 2,083 characters is the bound of the Hyperlink location in Team Foundation Server's work item tracking (and
# of Internet Explorer's address bar), which Azure DevOps inherited. Longer ones are refused before sending.
HYPERLINK_MAX = 2083
NODE_NAME_FORBIDDEN = '\\/$?*:"&><#%|+'


def _iso(value) -> str:
    if isinstance(value, datetime):
        value = value if value.tzinfo else value.replace(tzinfo=UTC)
        return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    return value


def _parse_iso(value) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def node_name(name: str) -> str:
    """A classification node name Azure DevOps accepts (no \\ / $ ? * : " & > < # % | +, no trailing dot)."""
    cleaned = "".join("-" if c in NODE_NAME_FORBIDDEN else c for c in str(name)).strip().rstrip(".")
    return cleaned[:255] or "Unnamed"


def vendor_error(status: int, body, *, what: str) -> WriteError:
    """A WriteError from Azure DevOps' error shape ({"message": "TF...: ...", "typeKey": ...})."""
    body = body if isinstance(body, dict) else {}
    reason = str(body.get("message") or "")[:1000]
    message = f"Azure DevOps refused to {what}" + (f": {reason}" if reason else f" (HTTP {status}).")
    if status in (401, 403):
        category, code = ErrorCategory.CONFIG, "permission"
    elif status == 429 or status >= 500:
        category, code = ErrorCategory.TRANSIENT, "server_busy" if status != 429 else "rate_limited"
    elif status == 404:
        category, code = ErrorCategory.PERMANENT, "not_found"
    elif "TF401347" in reason or "InvalidTreeName" in str(body.get("typeKey", "")):
        category, code = ErrorCategory.CONFIG, "unknown_path"
    else:
        category, code = ErrorCategory.PERMANENT, "rejected"
    return WriteError(category=category, code=code, message=message, details={"status": status,
                                                                             "type_key": str(body.get("typeKey", ""))})


def write_error_from(exc: ConnectorError, *, what: str) -> WriteError:
    return _write_error_from(exc, what=what, vendor="Azure DevOps")


def _raise(error: WriteError):
    from apps.connections.connectors.errors import TransientError

    cls = TransientError if error.category == ErrorCategory.TRANSIENT else PermanentError
    raise cls(error.message, code=error.code)


def hyperlink_refusal(url: str) -> str:
    """Why Azure DevOps would refuse `url` as a Hyperlink relation (a web page: http or https, and not too
    long), or "" when it takes it."""
    scheme = url.split(":", 1)[0].lower() if ":" in url else ""
    if scheme not in ("http", "https"):
        return (f"Azure DevOps takes only http and https hyperlinks, not “{scheme}:”." if scheme else
                "The link has no address Azure DevOps can open (no http or https URL).")
    if len(url) > HYPERLINK_MAX:
        return f"The address is {len(url):,} characters long; Azure DevOps keeps at most {HYPERLINK_MAX:,}."
    return ""


def web_link_comment(title: str) -> str:
    """A source link's title as its Hyperlink's comment: one that reads like the link back's (`migrayt source
    …`, the reconciliation key) is quoted, so it is never taken for it. `web_link_title` reads it back."""
    return f"“{title}”" if title.startswith(MARKER) else title


def web_link_title(comment: str) -> str:
    return comment[1:-1] if comment.startswith(f"“{MARKER}") and comment.endswith("”") else comment


def run_tag_of(run_id: str) -> str:
    """The tag every item a run creates carries: `migrayt-run-` and the first 12 hex digits of the run's uid
    (not its number: numbers restart per deployment, a uid does not)."""
    run_id = str(run_id or "")
    return f"migrayt-run-{run_id.replace('-', '')[:12]}" if run_id else ""


class AdoWriter:
    def __init__(self, connector: AzureDevOpsConnector, *, run_id: str = ""):
        self.connector = connector
        self.http = connector.http
        self.run_id = str(run_id or "")
        self.base_url = connector.config.base_url.rstrip("/")

    # -- helpers ---------------------------------------------------------------------------------------

    @property
    def run_tag(self) -> str:
        return run_tag_of(self.run_id)

    @staticmethod
    def _p(project: str) -> str:
        return quote(project, safe="")

    def item_url(self, item_id: str) -> str:
        return f"{self.base_url}/_apis/wit/workItems/{item_id}"

    @staticmethod
    def marker(source_id: str) -> str:
        return f"{MARKER}{source_id}"

    def _params(self, **extra) -> dict:
        return {"bypassRules": "true", "suppressNotifications": "true", "api-version": API, **extra}

    def _tags(self, labels: Iterable[str]) -> str:
        tags = [t.replace(";", ",").strip() for t in labels if str(t).strip()]
        if self.run_tag and self.run_tag not in tags:
            tags.append(self.run_tag)
        return "; ".join(dict.fromkeys(tags))

    def _field_op(self, ref: str, value) -> dict:
        if ref == "System.Tags":
            value = self._tags(value if isinstance(value, list | tuple) else str(value or "").split(";"))
        elif isinstance(value, list | tuple):
            value = "; ".join(str(v) for v in value)
        return {"op": "add", "path": f"/fields/{ref}", "value": _iso(value)}

    # -- items -----------------------------------------------------------------------------------------

    def create_ops(self, item: ItemWrite) -> list[dict]:
        """The JSON Patch document that creates one item."""
        fields: dict[str, Any] = {"System.Title": item.summary}
        if item.description:
            fields["System.Description"] = item.description
        if item.assignee:
            fields["System.AssignedTo"] = item.assignee
        if item.reporter:
            fields["System.CreatedBy"] = item.reporter
            fields["System.ChangedBy"] = item.reporter
        if item.priority:
            fields["Microsoft.VSTS.Common.Priority"] = int(item.priority) if str(item.priority).isdigit() else item.priority
        if item.component_ids:
            fields["System.AreaPath"] = item.component_ids[0]
        fields["System.Tags"] = list(item.labels)
        fields.update(item.fields)
        if "System.CreatedDate" in fields and "System.ChangedDate" not in fields:
            fields["System.ChangedDate"] = fields["System.CreatedDate"]
        ops = [self._field_op(ref, value) for ref, value in fields.items() if value not in (None, "")
               or ref == "System.Tags"]
        if item.parent_id:
            ops.append({"op": "add", "path": "/relations/-",
                        "value": {"rel": HIERARCHY_REVERSE, "url": self.item_url(item.parent_id)}})
        if item.source_url:
            ops.append({"op": "add", "path": "/relations/-", "value": {
                "rel": "Hyperlink", "url": item.source_url, "attributes": {"comment": self.marker(item.source_id)}}})
        return ops

    def create_items(self, items: Iterable[ItemWrite], *, project: str) -> list[WriteResult]:
        """Create every item in `project`, 50 per `$batch` request; one result per item, in the order given.
        Never sends an item twice within the call."""
        items = list(items)
        refused = repeated_source_ids(items)
        results: list[WriteResult | None] = [refused.get(i) for i in range(len(items))]
        ready = [i for i in range(len(items)) if i not in refused]
        for start in range(0, len(ready), BATCH_MAX):
            chunk = ready[start:start + BATCH_MAX]
            for index, result in zip(chunk, self._batch_create([items[i] for i in chunk], project), strict=True):
                results[index] = result
        return results

    def _batch_create(self, items: list[ItemWrite], project: str) -> list[WriteResult]:
        query = "&".join(f"{k}={v}" for k, v in self._params().items())
        operations = [{"method": "PATCH", "uri": f"/{self._p(project)}/_apis/wit/workitems/${quote(item.type_id, safe='')}?{query}",
                       "headers": {"Content-Type": PATCH}, "body": self.create_ops(item)} for item in items]
        try:
            response = self.http.request("POST", "_apis/wit/$batch", params={"api-version": API}, json=operations)
        except ConnectorError as exc:
            error = write_error_from(exc, what="create the items")
            return [WriteResult(source_id=item.source_id, error=error) for item in items]
        try:
            answers = response.json().get("value") or []
        except (ValueError, AttributeError):
            answers = []
        if len(answers) != len(items):
            error = WriteError(ErrorCategory.TRANSIENT, "unaccounted", "Azure DevOps' answer to the batch did not "
                               "account for every item; reconcile before writing them again.", ambiguous=True)
            return [WriteResult(source_id=item.source_id, error=error) for item in items]
        results = []
        for item, answer in zip(items, answers, strict=True):
            code = int(answer.get("code") or 0) if isinstance(answer, dict) else 0
            try:
                body = json.loads(answer.get("body") or "null") if isinstance(answer, dict) else None
            except ValueError:
                body = None
            if 200 <= code < 300 and isinstance(body, dict) and body.get("id"):
                results.append(WriteResult(source_id=item.source_id, destination_id=str(body["id"]),
                                           key=str(body["id"])))
            else:
                results.append(WriteResult(source_id=item.source_id,
                                           error=vendor_error(code, body, what="create this item")))
        return results

    def reconcile_created(self, *, project: str, source_ids: Iterable[str], run_id: str = "") -> dict[str, tuple[str, str]]:
        """{source id: (item id, item id)} of the wanted items this run created: the run's tag by WIQL, then
        the source id in each one's Hyperlink comment. The lowest id wins if one was created twice."""
        wanted = {str(s) for s in source_ids}
        tag = run_tag_of(run_id) if run_id else self.run_tag
        if not wanted or not tag:
            return {}
        found: dict[str, tuple[str, str]] = {}
        for item in self.tagged_items(project=project, tag=tag):
            source_id = self.source_id_of(item)
            if source_id in wanted and source_id not in found:
                found[source_id] = (str(item["id"]), str(item["id"]))
        return found

    def tagged_items(self, *, project: str, tag: str) -> Iterator[dict]:
        """Every work item of `project` carrying `tag`, with its relations, in id order. A WIQL query answers
        20,000 ids at most (more is refused, or cut at `$top`), so the ids are read in pages after the last
        one seen; the items 200 at a time (workitemsbatch's limit)."""
        if not tag:
            return
        # WIQL, not SQL: the project name is quoted the WIQL way, the tag is ours (letters, digits, dashes).
        quoted, tag = project.replace("'", "''"), tag.replace("'", "''")
        after = 0
        while True:
            query = ("SELECT [System.Id] FROM WorkItems WHERE [System.TeamProject] = '" + quoted + "' "  # noqa: S608
                     f"AND [System.Tags] CONTAINS '{tag}' AND [System.Id] > {after} ORDER BY [System.Id]")
            body = self.http.request("POST", f"{self._p(project)}/_apis/wit/wiql", json={"query": query},
                                     params={"api-version": API, "$top": str(WIQL_TOP)}, idempotent=True).json()
            ids = [int(w["id"]) for w in body.get("workItems") or []]
            for start in range(0, len(ids), READ_BATCH):
                yield from self.items_get(ids[start:start + READ_BATCH], project=project)
            if len(ids) < WIQL_TOP or ids[-1] <= after:
                return
            after = ids[-1]

    def source_id_of(self, item: dict) -> str:
        for relation in item.get("relations") or []:
            comment = str((relation.get("attributes") or {}).get("comment") or "")
            if relation.get("rel") == "Hyperlink" and comment.startswith(MARKER):
                return comment[len(MARKER):].strip()
        return ""

    def items_get(self, ids: list[int], *, project: str) -> list[dict]:
        if not ids:
            return []
        body = self.http.request("POST", f"{self._p(project)}/_apis/wit/workitemsbatch", idempotent=True,
                                 params={"api-version": API},
                                 json={"ids": ids, "$expand": "relations", "errorPolicy": "omit"}).json()
        return [v for v in body.get("value") or [] if v]

    def item_get(self, item_id: str) -> dict:
        return self.http.get_json(f"_apis/wit/workitems/{int(item_id)}", params={"$expand": "relations",
                                                                                 "api-version": API})

    def type_fields(self, *, project: str) -> dict[str, frozenset[str]]:
        """{work item type name: the fields it has} in the project: Azure DevOps refuses a write that sets a
        field the item's type lacks (TF51535), so the engine leaves such a value out and says so."""
        from apps.connections.connectors.azure_devops import parse

        body = self.http.get_json(f"{self._p(project)}/_apis/wit/workitemtypes", params={"api-version": API})
        types = [parse.work_item_type(b) for b in (body.get("value") or []) if isinstance(b, dict)]
        return {t.name: frozenset(t.field_ids) for t in types if t.field_ids}

    def item_update(self, item_id: str, ops: list[dict], *, what: str) -> dict:
        try:
            response = self.http.request("PATCH", f"_apis/wit/workitems/{int(item_id)}", params=self._params(),
                                         content=json.dumps(ops).encode(), headers={"Content-Type": PATCH},
                                         accept=tuple(range(200, 500)))
        except ConnectorError:
            raise
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code >= 400:
            _raise(vendor_error(response.status_code, body, what=what))
        return body or {}

    def item_delete(self, item_id: str) -> bool:
        response = self.http.request("DELETE", f"_apis/wit/workitems/{int(item_id)}", params={"api-version": API},
                                     accept=(200, 204, 404))
        return response.status_code != 404

    # -- state, links, the link back ------------------------------------------------------------------

    def state_set(self, item_id: str, state: str) -> bool:
        """Bring the item to `state` (bypassRules: any state is reachable in one step). False if it was there."""
        current = self.item_get(item_id)
        if (current.get("fields") or {}).get("System.State") == state:
            return False
        self.item_update(item_id, [{"op": "add", "path": "/fields/System.State", "value": state}],
                         what=f"move the item to “{state}”")
        return True

    def _has_relation(self, item: dict, rel: str, url: str = "", target_id: str = "") -> bool:
        for relation in item.get("relations") or []:
            if relation.get("rel") != rel:
                continue
            if target_id and str(relation.get("url", "")).rstrip("/").lower().endswith(f"/workitems/{target_id}"):
                return True
            if url and relation.get("url") == url:
                return True
        return False

    def link_add(self, link: LinkWrite) -> WriteResult:
        """`from_id` gets a relation of type `link_type` to `to_id`, unless it has it already."""
        key = f"{link.from_id}:{link.link_type}:{link.to_id}"
        try:
            item = self.item_get(link.from_id)
            if self._has_relation(item, link.link_type, target_id=link.to_id):
                return WriteResult(source_id=link.source_id, destination_id=key, existed=True)
            self.item_update(link.from_id, [{"op": "add", "path": "/relations/-", "value": {
                "rel": link.link_type, "url": self.item_url(link.to_id)}}], what="link the items")
        except ConnectorError as exc:
            return WriteResult(source_id=link.source_id, error=write_error_from(exc, what="link the items"))
        return WriteResult(source_id=link.source_id, destination_id=key)

    def parent_set(self, item_id: str, parent_id: str) -> bool:
        item = self.item_get(item_id)
        if self._has_relation(item, HIERARCHY_REVERSE, target_id=parent_id):
            return False
        self.item_update(item_id, [{"op": "add", "path": "/relations/-", "value": {
            "rel": HIERARCHY_REVERSE, "url": self.item_url(parent_id)}}], what="set the parent")
        return True

    def hyperlink_ensure(self, item_id: str, *, url: str, source_id: str) -> str:
        item = self.item_get(item_id)
        for relation in item.get("relations") or []:
            comment = str((relation.get("attributes") or {}).get("comment") or "")
            if relation.get("rel") == "Hyperlink" and (relation.get("url") == url or comment == self.marker(source_id)):
                return f"{item_id}:Hyperlink"
        self.item_update(item_id, [{"op": "add", "path": "/relations/-", "value": {
            "rel": "Hyperlink", "url": url, "attributes": {"comment": self.marker(source_id)}}}],
            what="link back to the source")
        return f"{item_id}:Hyperlink"

    def hyperlinks_add(self, item_id: str, links: list[tuple[str, str]]) -> list[bool]:
        """The source's own links out of the tracker, `(url, title)` each, as Hyperlink relations with the title
        as their comment, in one PATCH; the item's relations are read first and a URL it holds already is not
        added again (Azure DevOps keeps one relation per URL). One answer per link: True if it was added now.
        Never the link back: a title that reads like its comment is quoted (`web_link_comment`)."""
        item = self.item_get(item_id)
        held = {str(r.get("url") or "") for r in item.get("relations") or [] if r.get("rel") == "Hyperlink"}
        ops, added = [], []
        for url, title in links:
            refusal = hyperlink_refusal(url)
            if refusal:
                raise PermanentError(refusal, code="hyperlink_refused")
            added.append(url not in held)
            if url in held:
                continue
            held.add(url)
            ops.append({"op": "add", "path": "/relations/-", "value": {
                "rel": "Hyperlink", "url": url, "attributes": {"comment": web_link_comment(title)}}})
        if ops:
            self.item_update(item_id, ops, what="add the source's web links")
        return added

    # -- attachments and the description -------------------------------------------------------------

    def attachment_upload(self, item_id: str, *, source_id: str, filename: str, chunks, project: str,
                          size: int | None = None) -> str:
        """Upload a file (streamed) and attach it to the item; returns the attachment's id (a GUID). The
        relation's comment carries the source attachment id, so a crashed upload is found by `attachments`.
        A known `size` is sent as the Content-Length: a server that does not read a chunked body (one behind
        a plain WSGI server, as the sandbox is) would otherwise store an empty file."""
        file_id, url = self._upload(filename=filename, chunks=chunks, project=project, size=size)
        self.item_update(item_id, [self._attach_op(url, source_id=source_id, filename=filename)],
                         what="attach a file")
        return file_id

    def file_upload(self, *, filename: str, chunks, project: str, size: int | None = None) -> str:
        """Upload a file (streamed) without attaching it to an item; returns its id. A history revision then
        attaches it at its own date (`RevisionWrite.files`): attaching it now would write a revision dated now,
        after which Azure DevOps refuses the item's older history."""
        return self._upload(filename=filename, chunks=chunks, project=project, size=size)[0]

    def _upload(self, *, filename: str, chunks, project: str, size: int | None) -> tuple[str, str]:
        headers = {"Content-Type": "application/octet-stream"}
        if size is not None:
            headers["Content-Length"] = str(size)
        response = self.http.request("POST", f"{self._p(project)}/_apis/wit/attachments",
                                     params={"fileName": filename, "api-version": API}, content=chunks,
                                     headers=headers)
        body = response.json()
        url = str(body.get("url") or "")
        return str(body.get("id") or url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]), url

    def _attach_op(self, url: str, *, source_id: str, filename: str) -> dict:
        return {"op": "add", "path": "/relations/-", "value": {
            "rel": "AttachedFile", "url": url, "attributes": {"comment": self.marker(source_id), "name": filename}}}

    def attachment_url(self, attachment_id: str) -> str:
        return f"{self.base_url}/_apis/wit/attachments/{attachment_id}"

    def attachments(self, item_id: str) -> list[tuple[str, str, int]]:
        """(id, file name, size) of the files attached to the item."""
        return [(str(r.get("url", "")).split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1],
                 str((r.get("attributes") or {}).get("name") or ""),
                 int((r.get("attributes") or {}).get("resourceSize") or 0))
                for r in self.item_get(item_id).get("relations") or [] if r.get("rel") == "AttachedFile"]

    def description_set(self, item_id: str, html: str) -> None:
        self.item_update(item_id, [{"op": "add", "path": "/fields/System.Description", "value": html}],
                         what="update the description")

    # -- classification nodes -------------------------------------------------------------------------

    def node_ensure(self, *, project: str, structure: str, name: str, start: datetime | None = None,
                    finish: datetime | None = None, parent_path: str = "") -> str:
        """The work item path (`Project\\Parent\\Name`) of an area (`structure="Areas"`) or iteration
        (`"Iterations"`, with its dates) under `parent_path` (relative to the project), made if missing."""
        name = node_name(name)
        relative = "/".join(p for p in [*parent_path.replace("\\", "/").split("/"), name] if p)
        group = f"{self._p(project)}/_apis/wit/classificationnodes/{structure}"
        body: dict[str, Any] = {"name": name}
        if structure == "Iterations" and (start or finish):
            body["attributes"] = {k: _iso(v) for k, v in (("startDate", start), ("finishDate", finish)) if v}
        parent_url = f"{group}/{quote(parent_path.strip('/'), safe='/')}" if parent_path.strip("/") else group
        response = self.http.request("POST", parent_url, params={"api-version": API}, json=body,
                                     accept=(200, 201, 409))
        if response.status_code == 409:
            self.http.get_json(f"{group}/{quote(relative, safe='/')}", params={"api-version": API})
        return "\\".join([project, *relative.split("/")])

    # -- history --------------------------------------------------------------------------------------

    def history_replay(self, item_id: str, revisions: list[RevisionWrite]) -> int:
        """Write each revision later than the item's last one, in order, as its own revision with its author
        and date. Returns how many were written."""
        current = self.item_get(item_id)
        last = _parse_iso((current.get("fields") or {}).get("System.ChangedDate"))
        written = 0
        for revision in sorted(revisions, key=lambda r: r.changed_at):
            when = revision.changed_at if revision.changed_at.tzinfo else revision.changed_at.replace(tzinfo=UTC)
            if last and when <= last:
                continue  # written before (the item's ChangedDate is where its replay got to)
            ops = [{"op": "add", "path": "/fields/System.ChangedDate", "value": _iso(when)}]
            if revision.author:
                ops.append({"op": "add", "path": "/fields/System.ChangedBy", "value": revision.author})
            ops += [self._field_op(ref, value) if value not in (None, "") or ref == "System.Tags"
                    else {"op": "remove", "path": f"/fields/{ref}"} for ref, value in revision.fields.items()]
            if revision.note:
                ops.append({"op": "add", "path": "/fields/System.History", "value": revision.note})
            ops += [self._attach_op(self.attachment_url(f.destination_id), source_id=f.source_id, filename=f.filename)
                    for f in revision.files]
            if len(ops) == 1 + bool(revision.author):
                continue  # nothing to say
            try:
                self.item_update(item_id, ops, what="replay a revision")
            except ConnectorError as exc:
                if not _ambiguous(exc):
                    raise
                after = _parse_iso((self.item_get(item_id).get("fields") or {}).get("System.ChangedDate"))
                if not after or after < when:
                    self.item_update(item_id, ops, what="replay a revision")
            last = when
            written += 1
        return written

