"""Every answer of the sandbox checked against Microsoft's 7.1 specification, and Microsoft's recorded
example requests replayed against the sandbox, coming back in the same shape."""

import json
import re
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest

from apps.sandbox.ado.models import AdoAttachment, AdoNode, AdoWorkItem
from apps.sandbox.ado.tests import contract
from apps.sandbox.ado.tests.conftest import AdoClient

pytestmark = pytest.mark.skipif(not contract.specs_available(),
                                reason=f"the Azure DevOps specs are not at {contract.SPECS} (../shared/specs/azure-devops)")


class CheckedClient(AdoClient):
    """Validates every successful JSON answer against the operation the spec defines for its URL."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.checked: dict[str, int] = {}
        self.unspecified: set[str] = set()

    def _check(self, method, url, response):
        if not 200 <= response.status_code < 300 or not response.get("Content-Type", "").startswith("application/json"):
            return response
        path = urlsplit(url).path.removeprefix("/sandbox/ado")
        operation = contract.operation_for(method, path)
        if operation is None:
            self.unspecified.add(f"{method} {path}")
            return response
        errors = contract.schema_errors(operation, json.loads(response.content))
        assert not errors, f"{method} {path} ({operation['operationId']}): {errors[:5]}"
        self.checked[operation["operationId"]] = self.checked.get(operation["operationId"], 0) + 1
        return response

    def get(self, path, version="7.1", **extra):
        return self._check("GET", self.url(path, version), super().get(path, version, **extra))

    def post(self, path, body, version="7.1", content_type="application/json", **extra):
        return self._check("POST", self.url(path, version), super().post(path, body, version, content_type, **extra))

    def patch(self, path, body, version="7.1", content_type="application/json-patch+json", **extra):
        return self._check("PATCH", self.url(path, version), super().patch(path, body, version, content_type, **extra))

    def put(self, path, body, version="7.1", **extra):
        return self._check("PUT", self.url(path, version), super().put(path, body, version, **extra))


@pytest.fixture
def checked(ado):
    client = CheckedClient(ado.site, "unused")
    client.auth = ado.auth
    return client


def ok(response):
    assert 200 <= response.status_code < 300, response.content[:500]
    return json.loads(response.content) if response.content else None


def test_every_endpoint_answers_in_the_specified_shape(checked):
    c = checked
    project = ok(c.get("_apis/projects"))["value"][0]
    ok(c.get(f"_apis/projects/{project['id']}?includeCapabilities=true"))
    ok(c.get(f"_apis/projects/{project['name']}/teams"))
    ok(c.get("_apis/teams", version="7.1-preview.3"))
    processes = ok(c.get("_apis/process/processes"))["value"]
    ok(c.get(f"_apis/process/processes/{processes[0]['id']}"))
    ok(c.get("_apis/wit/fields"))
    ok(c.get("Fabrikam Fiber/_apis/wit/fields/System.Title"))
    ok(c.get("Fabrikam Fiber/_apis/wit/workitemtypes"))
    ok(c.get("Fabrikam Fiber/_apis/wit/workitemtypes/Bug"))
    ok(c.get("Fabrikam Fiber/_apis/wit/workitemtypes/User Story/states"))
    ok(c.get("_apis/wit/workitemrelationtypes"))
    ok(c.get("Fabrikam Fiber/_apis/wit/classificationnodes?$depth=2"))
    ok(c.get("Fabrikam Fiber/_apis/wit/classificationnodes/Areas?$depth=3"))
    ok(c.get("Fabrikam Fiber/_apis/wit/classificationnodes/Iterations/Release 1"))
    ok(c.post("Fabrikam Fiber/_apis/wit/classificationnodes/Iterations",
              {"name": "Sprint X", "attributes": {"startDate": "2026-01-01T00:00:00Z", "finishDate": "2026-01-14T00:00:00Z"}}))
    ok(c.post("Fabrikam Fiber/_apis/wit/wiql", {"query": "SELECT [System.Id] FROM WorkItems WHERE [System.TeamProject] = @project ORDER BY [System.Id]"}))
    ok(c.post("Fabrikam Fiber/Fabrikam Fiber Team/_apis/wit/wiql", {"query": "SELECT [System.Id] FROM WorkItems"}))
    ok(c.get("_apis/wit/workitems?ids=1,2,3&$expand=all"))
    ok(c.get("_apis/wit/workitems?ids=1,2&fields=System.Title,System.State&asOf=" + datetime.now(UTC).isoformat().replace("+00:00", "Z")))
    ok(c.post("_apis/wit/workitemsbatch", {"ids": [1, 2, 99999], "errorPolicy": "omit", "$expand": "relations"}))
    upload = ok(c.post("_apis/wit/attachments?fileName=screen.png", b"\x89PNG...", content_type="application/octet-stream"))
    chunked = ok(c.post("_apis/wit/attachments?fileName=big.zip&uploadType=Chunked", b"", content_type="application/octet-stream"))
    ok(c.put(f"_apis/wit/attachments/{chunked['id']}?uploadType=Chunked", b"abc", HTTP_CONTENT_RANGE="bytes 0-2/3"))
    created = ok(c.create("User Story", "Contract ✓ 契約",
                          {"op": "add", "path": "/fields/System.Description", "value": "<p>Hello <b>world</b></p>"},
                          {"op": "add", "path": "/fields/System.AssignedTo", "value": "zoe.angstrom@fabrikam.example"},
                          {"op": "add", "path": "/relations/-", "value": {"rel": "AttachedFile", "url": upload["url"]}},
                          {"op": "add", "path": "/relations/-", "value": {"rel": "System.LinkTypes.Hierarchy-Reverse", "url": "x/_apis/wit/workItems/1"}}))
    item = created["id"]
    ok(c.patch(f"_apis/wit/workitems/{item}?bypassRules=true&suppressNotifications=true",
               [{"op": "add", "path": "/fields/System.State", "value": "Active"},
                {"op": "add", "path": "/fields/System.History", "value": "Started"}]))
    ok(c.patch(f"_apis/wit/workitems/{item}?validateOnly=true", [{"op": "add", "path": "/fields/System.Title", "value": "x"}]))
    ok(c.get(f"Fabrikam Fiber/_apis/wit/workitems/{item}?$expand=all"))
    ok(c.get(f"_apis/wit/workitems/{item}/revisions?$top=5"))
    ok(c.get(f"_apis/wit/workitems/{item}/revisions/1"))
    ok(c.get(f"_apis/wit/workitems/{item}/updates"))
    ok(c.get(f"_apis/wit/workitems/{item}/updates/2"))
    v = "7.1-preview.4"
    comment = ok(c.post(f"Fabrikam Fiber/_apis/wit/workitems/{item}/comments", {"text": "Looks good 👍"}, version=v + "&format=markdown"))
    ok(c.get(f"Fabrikam Fiber/_apis/wit/workitems/{item}/comments?$top=1&$expand=renderedText", version=v))
    ok(c.get(f"Fabrikam Fiber/_apis/wit/workitems/{item}/comments/{comment['id']}", version=v))
    ok(c.patch(f"Fabrikam Fiber/_apis/wit/workitems/{item}/comments/{comment['id']}", {"text": "Edited"}, version=v,
               content_type="application/json"))
    ok(c.get("_apis/identities?searchFilter=General&filterValue=zoe.angstrom@fabrikam.example"))
    ok(c.post("_apis/wit/$batch", [{"method": "PATCH", "uri": f"/_apis/wit/workitems/{item}?api-version=7.1",
                                    "body": [{"op": "add", "path": "/fields/System.Title", "value": "batched"}]}]))
    doomed = ok(c.create("Task", "doomed"))["id"]
    deleted = c.client.delete(c.url(f"Fabrikam Fiber/_apis/wit/workitems/{doomed}"), HTTP_AUTHORIZATION=c.auth)
    c._check("DELETE", c.url(f"Fabrikam Fiber/_apis/wit/workitems/{doomed}"), deleted)
    ok(c.get("Fabrikam Fiber/_apis/wit/recyclebin"))
    ok(c.get(f"Fabrikam Fiber/_apis/wit/recyclebin/{doomed}"))
    ok(c.patch(f"Fabrikam Fiber/_apis/wit/recyclebin/{doomed}", {"isDeleted": False}, content_type="application/json"))

    expected = {
        "Projects_List", "Projects_Get", "Teams_Get Teams", "Teams_Get All Teams", "Processes_List", "Processes_Get",
        "Fields_List", "Fields_Get", "Work Item Types_List", "Work Item Types_Get", "Work Item Type States_List",
        "Work Item Relation Types_List", "Classification Nodes_Get Root Nodes", "Classification Nodes_Get",
        "Classification Nodes_Create Or Update", "Wiql_Query By Wiql", "Work Items_List", "Work Items_Get Work Items Batch",
        "Attachments_Create", "Attachments_Upload Chunk", "Work Items_Create", "Work Items_Update", "Work Items_Get Work Item",
        "Revisions_List", "Revisions_Get", "Updates_List", "Updates_Get", "Comments_Add Comment", "Comments_Get Comments Batch",
        "Comments_Get Comment", "Comments_Update Comment", "Identities_Read Identities", "Work Items_Delete",
        "Recyclebin_Get Deleted Work Item Shallow References", "Recyclebin_Get", "Recyclebin_Restore Work Item",
    }
    assert expected <= set(c.checked), sorted(expected - set(c.checked))
    # Only the endpoints Microsoft does not describe in these files went unchecked.
    assert all(re.search(r"/_apis/wit/\$batch", p) for p in c.unspecified), c.unspecified


# ---------------------------------------------------------------------------------------------- replay

REPLAYED = ["wit/7.1/httpExamples/" + f for f in (
    "workItems", "workItemsBatch", "wiql", "comments", "updates", "revisions", "classificationNodes",
    "workItemRelationTypes", "workItemTypes", "workItemTypeStates", "fields", "attachments", "recycleBin")] + [
    "core/7.1/httpExamples/projects", "core/7.1/httpExamples/teams", "ims/7.1/httpExamples/Identities"]

SKIPPED = {
    "GET__wit_wiql__queryId_.json": "stored queries are not part of the sandbox",
    "GET_work_item_template.json": "work item templates are not part of the sandbox",
    "GET__wit_workitems__issueId__comments_3.json": "comments by ids are not part of the sandbox",
    "POST_wit_field.json": "field administration is not part of the sandbox",
    "UPDATE_wit_fields_LockField.json": "field administration is not part of the sandbox",
    "UPDATE_wit_fields_UndeleteField.json": "field administration is not part of the sandbox",
    "POST__projects.json": "project creation is not part of the sandbox",
    "SearchByIdentityDescriptors.json": "identity descriptor searches are not part of the sandbox",
    "SearchBySubjectDescriptors.json": "identity descriptor searches are not part of the sandbox",
    "GET__wit_recyclebin__ids_.json": "recycle bin batch reads are not part of the sandbox",
    "GET__wit_recyclebin__id_.json": "the api-version 1.0 shape (Name, Project, DeletedDate), replaced by WorkItemDelete in 7.1",
}
SKIPPED_PREFIXES = {
    "DELETE__wit_classificationNodes": "moving and deleting nodes is not part of the sandbox",
    "PATCH__wit_classificationNodes": "moving and deleting nodes is not part of the sandbox",
    "POST__wit_classificationNodes_areas__areaParent_": "this example moves a node (body {id}); moving is not part of the sandbox",
    "POST__wit_classificationNodes_iterations__iterationParent_": "this example moves a node (body {id}); moving is not part of the sandbox",
    "DELETE__projects__projectId__teams": "team administration is not part of the sandbox",
    "PATCH__projects__projectId__teams": "team administration is not part of the sandbox",
    "POST__projects__projectId__teams": "team administration is not part of the sandbox",
}
# The pre-7.1 comments API (api-version 3.0-preview: `revision`, `revisedBy`) was replaced by the 7.1 one.
OLD_COMMENTS = re.compile(r"comments_(1|2)(_collectionscope)?\.json$")


def example_files():
    files = []
    for folder in REPLAYED:
        files += sorted((contract.SPECS / folder).glob("*.json"))
    return files


def _method(path, example):
    method = example.get("x-ms-vss-request-method")
    if method and method != "-":
        return method
    if isinstance(example.get("parameters", {}).get("body"), dict) and "query" in example["parameters"]["body"]:
        return "POST"  # the WIQL example is filed as GET but posts its query
    return path.name.split("_")[0].upper().replace("UPDATE", "PATCH")


@pytest.mark.parametrize("path", example_files() if contract.specs_available() else [], ids=lambda p: f"{p.parent.name}/{p.name}")
def test_recorded_example_replays_in_the_same_shape(path, ado):
    reason = SKIPPED.get(path.name) or next((r for p, r in SKIPPED_PREFIXES.items() if path.name.startswith(p)), None)
    if reason:
        pytest.skip(reason)
    example = contract.load_json(path)
    if "comments" in str(path.parent.name) and OLD_COMMENTS.search(path.name) and "3.0-preview" in example.get("x-ms-vss-request-url", ""):
        pytest.skip("the pre-7.1 comments API shape (api-version 3.0-preview), replaced by the 7.1 comments API")
    method = _method(path, example)
    url = example.get("x-ms-vss-request-url")
    if not url:
        pytest.skip("the example does not record its request URL")
    world = _World(ado, path.name)
    request_path, query = world.translate(method, url)
    body = world.body(path, example.get("parameters", {}).get("body"))
    version = "7.1-preview.4" if "/comments" in request_path else "7.1"
    query.setdefault("api-version", version)
    full = f"/sandbox/ado/{ado.site.slug}{request_path}?{urlencode(query)}"
    client = ado.client
    kwargs = {"HTTP_AUTHORIZATION": ado.auth}
    if method == "GET":
        response = client.get(full, **kwargs)
    elif method == "DELETE":
        response = client.delete(full, **kwargs)
    elif method == "PUT":
        response = client.put(full, body, content_type="application/octet-stream", HTTP_CONTENT_RANGE=f"bytes 0-{len(body) - 1}/{len(body)}", **kwargs)
    else:
        is_patch_doc = isinstance(body, list) and "/_apis/wit/workitems" in request_path.lower() and "$batch" not in request_path
        content_type = "application/json-patch+json" if is_patch_doc else "application/octet-stream" if isinstance(body, bytes) else "application/json"
        data = body if isinstance(body, bytes) else json.dumps(body)
        response = client.generic(method, full, data, content_type=content_type, **kwargs)
    assert 200 <= response.status_code < 300, (full, response.content[:400])
    expected_status = next(iter(example["responses"]))
    expected = example["responses"][expected_status].get("body")
    if expected is None or not response.content or not response.get("Content-Type", "").startswith("application/json"):
        return
    ours = json.loads(response.content)
    problems = contract.shape_mismatches(expected, ours)
    assert not problems, problems[:10]


class _World:
    """Maps the ids of Microsoft's recorded organisation (fabrikam) onto the seeded sandbox."""

    def __init__(self, ado, example_name):
        from apps.sandbox.ado.projects import project_create

        self.ado = ado
        self.example_name = example_name
        site = ado.site
        self.project = site.ado_projects.get()
        self.scrum = project_create(site=site, name="Fabrikam-Scrum", process="Scrum")
        self.team = self.project.teams.get()
        items = list(AdoWorkItem.objects.filter(site=site, project=self.project).order_by("item_id"))
        self.item = max(items, key=lambda i: i.rev)
        self.others = [i.item_id for i in items if i.item_id != self.item.item_id][:2]
        for n in range(3):  # enough comments for a second page at $top=2
            ado.post(f"_apis/wit/workitems/{self.item.item_id}/comments", {"text": f"replay {n}"}, version="7.1-preview.4")
        self.comment = self.item.comments.order_by("comment_id").first()
        self.attachment = AdoAttachment.objects.filter(site=site).first()
        self.nodes = {n.node_id for n in AdoNode.objects.filter(project=self.project)}
        doomed = self._fresh_item("Task", "for the recycle bin")
        ado.delete(f"_apis/wit/workitems/{doomed}")
        self.deleted = doomed

    def _fresh_item(self, type_name, title, project=None, links=False):
        ops = []
        if links:  # three relations, as Microsoft's recorded task had when its examples removed /relations/2
            ops = [{"op": "add", "path": "/relations/-", "value": {"rel": "System.LinkTypes.Related", "url": f"x/_apis/wit/workItems/{i}",
                                                                   "attributes": {"comment": "recorded"}}} for i in self.others]
            ops.append({"op": "add", "path": "/relations/-", "value": {"rel": "Hyperlink", "url": "https://example.org/spec"}})
        return json.loads(self.ado.create(type_name, title, *ops, project=project or self.project.name).content)["id"]

    def _fresh_task(self, title):
        if self.example_name.startswith("PATCH__wit_workitems__bug1Id_2"):
            return self._fresh_item("Bug", title, project=self.scrum.name)
        if self.example_name.startswith("PATCH__wit_workitems__bug1Id"):
            return self._fresh_item("Bug", title)
        return self._fresh_item("Task", title, links=True)

    def translate(self, method, url):
        parts = urlsplit(url)
        path = parts.path
        path = re.sub(r"^/A[0-9a-f-]{36}", "", path)  # vssps host
        segments = [s for s in path.split("/") if s]
        if segments and segments[0] != "_apis" and parts.netloc.endswith("dev.azure.com"):
            segments = segments[1:]  # the organisation
        if segments and segments[0] != "_apis":
            segments[0] = self.project.name
        path = "/" + "/".join(segments)
        item = self.item.item_id
        if method in ("PATCH",) and "/comments" not in path:
            item = self._fresh_task("patched by a replayed example")
        if method == "DELETE" and "/comments" not in path:
            item = self._fresh_task("deleted by a replayed example")
        path = re.sub(r"(?i)/_apis/projects/[^/]+/teams/[^/]+", f"/_apis/projects/{self.project.guid}/teams/{self.team.guid}", path)
        path = re.sub(r"(?i)/_apis/projects/[0-9a-f-]{36}", f"/_apis/projects/{self.project.guid}", path)
        path = re.sub(r"(?i)/recyclebin/\d+", f"/recyclebin/{self.deleted}", path)
        path = re.sub(r"(?i)/workitems/\d+", f"/workItems/{item}", path)
        path = re.sub(r"(?i)/comments/\d+", f"/comments/{self.comment.comment_id}", path)
        path = re.sub(r"(?i)/revisions/\d+", "/revisions/2", path)
        path = re.sub(r"(?i)/updates/\d+", "/updates/1", path)
        attachment = self.attachment.guid
        if method == "PUT":
            attachment = json.loads(self.ado.post("_apis/wit/attachments?fileName=large.zip&uploadType=Chunked", b"",
                                                  content_type="application/octet-stream").content)["id"]
        path = re.sub(r"(?i)/attachments/[0-9a-f-]{36}", f"/attachments/{attachment}", path)
        path = re.sub(r"(?i)/classificationNodes/areas/[^/?]+", "/classificationNodes/areas/Web", path)
        path = re.sub(r"(?i)/classificationNodes/iterations/[^/?]+", "/classificationNodes/iterations/Release 1", path)
        if "recyclebin" in path.lower() and method == "DELETE" and not path.lower().startswith(f"/{self.project.name.lower()}"):
            path = f"/{self.project.name}" + path  # the recycle bin is project-scoped in 7.1
        if "recyclebin" in path.lower() and method == "GET" and re.search(r"/recyclebin/\d+", path) and not path.lower().startswith(f"/{self.project.name.lower()}"):
            path = f"/{self.project.name}" + path
        query = {}
        for key, value in parse_qsl(parts.query, keep_blank_values=True):
            if key in ("api-version", "continuationToken", "fromRevision", "$reclassifyId"):
                continue
            if key == "ids":
                value = ",".join(str(i) for i in sorted(self.nodes)[:2]) if "classification" in path.lower() else \
                    ",".join(str(i) for i in [self.item.item_id, *self.others])
            if key == "asOf":
                value = datetime.now(UTC).isoformat().replace("+00:00", "Z")
            if key == "identityIds":
                value = str(self.ado.site.ado_identities.first().guid)
            if key == "filterValue":
                value = "zoe.angstrom@fabrikam.example"
            query[key] = value
        if path.lower().endswith("/_apis/identities") and "searchFilter" in query and query["searchFilter"].lower() not in (
                "general", "mailaddress", "accountname", "displayname"):
            query["searchFilter"] = "General"
        return path, query

    def body(self, path, body):
        if isinstance(body, str):
            return body.encode("utf-8")
        if body is not None:
            text = json.dumps(body)
            text = text.replace("Fabrikam-Fiber-Git\\\\Website", f"{self.project.name}\\\\Web")
            text = text.replace("Fabrikam-Fiber-Git", self.project.name)
            text = text.replace("fabrikamfiber4@hotmail.com", "jamal.hartnett@fabrikam.example")
            body = json.loads(text)
        if isinstance(body, dict) and "name" in body and "classificationNodes" in path.name:
            body = {**body, "name": f"{body['name']} (replayed)"}
        if isinstance(body, dict) and "ids" in body:
            return {**body, "ids": [self.item.item_id, *self.others]}
        if isinstance(body, list):
            ops = []
            for op in body:
                if not isinstance(op, dict):
                    continue
                if op.get("op") == "test":
                    continue  # the recorded revision numbers are fabrikam's
                if isinstance(op.get("value"), dict) and "url" in op["value"]:
                    value = dict(op["value"])
                    value["url"] = re.sub(r"(?i)workItems/\d+", f"workItems/{self.others[0]}", value["url"])
                    if re.search(r"(?i)/attachments/", value["url"]):
                        value["url"] = f"http://x/_apis/wit/attachments/{self.attachment.guid}"
                    op = {**op, "value": value}
                ops.append(op)
            return ops
        return body
