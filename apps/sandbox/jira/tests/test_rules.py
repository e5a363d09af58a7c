"""Jira's rules as the Cloud sandbox applies them. Calls go through the checked client, so every answer
here (errors included) also validates against Atlassian's OpenAPI files."""

import time
from datetime import UTC, datetime

import pytest

from apps.sandbox import services as sandbox_services
from apps.sandbox.jira.adf import adf_doc, adf_paragraph
from apps.sandbox.jira.models import JiraAttachment, JiraIssue, JiraIssueLink, JiraProject, JiraSprint
from apps.sandbox.jira.services import jira_project_create
from apps.sandbox.jira.tests.conftest import CLOUD_SECRET

pytestmark = pytest.mark.django_db


@pytest.fixture
def project(cloud_site):
    return jira_project_create(site=cloud_site, key="MIG", name="Migration")


@pytest.fixture
def team_project(cloud_site):
    return jira_project_create(site=cloud_site, key="TM", name="Team", style="next-gen")


def create(jira, project="MIG", type_name="Task", summary="A task", **fields):
    return jira.post("/rest/api/3/issue", {"fields": {"project": {"key": project}, "issuetype": {"name": type_name},
                                                      "summary": summary, **fields}})


# --- auth ------------------------------------------------------------------------------------------
def test_authentication_answers_as_jira_cloud(cloud_site, make_client, basic):
    anonymous = make_client(cloud_site, {})
    response = anonymous.get("/rest/api/3/myself")
    assert response.status_code == 401
    assert response.body["errorMessages"] == ["You are not authenticated. Authentication required to perform this operation."]
    wrong_email = make_client(cloud_site, {"Authorization": basic("someone.else@example.com", CLOUD_SECRET)})
    response = wrong_email.get("/rest/api/3/myself")
    assert response.status_code == 401 and response["X-Seraph-LoginReason"] == "AUTHENTICATED_FAILED"
    assert make_client(cloud_site, {"Authorization": f"Bearer {CLOUD_SECRET}"}).get("/rest/api/3/myself").status_code == 401
    good = make_client(cloud_site, {"Authorization": basic("SANDBOX.ADMIN@migrayt.local", CLOUD_SECRET)})
    response = good.get("/rest/api/3/myself")
    assert response.status_code == 200
    assert response["X-AAccountId"] == response.body["accountId"]


def test_a_read_only_scoped_token_cannot_write(cloud_site, project, make_client, basic):
    sandbox_services.token_create(site=cloud_site, name="reader", scopes=["read:jira-work", "read:jira-user"],
                                  principal={"accountId": "5b10a2844c20165700ede21g", "email": "reader@example.com"},
                                  secret="reader-secret")
    reader = make_client(cloud_site, {"Authorization": basic("reader@example.com", "reader-secret")})
    assert reader.get("/rest/api/3/project/MIG").status_code == 200
    response = create(reader)
    assert response.status_code == 401
    assert response.body == {"code": 401, "message": "Unauthorized; scope does not match"}
    assert not JiraIssue.objects.filter(site=cloud_site).exists()
    permissions = reader.get("/rest/api/3/mypermissions", permissions="BROWSE_PROJECTS,CREATE_ISSUES").body["permissions"]
    assert permissions["BROWSE_PROJECTS"]["havePermission"] is True and permissions["CREATE_ISSUES"]["havePermission"] is False


def test_my_permissions(jira, project):
    permissions = jira.get("/rest/api/3/mypermissions", permissions="CREATE_ISSUES,LINK_ISSUES", projectKey="MIG").body
    assert {k: v["havePermission"] for k, v in permissions["permissions"].items()} == {"CREATE_ISSUES": True, "LINK_ISSUES": True}
    assert jira.get("/rest/api/3/mypermissions").status_code == 400
    assert jira.get("/rest/api/3/mypermissions", permissions="FLY").status_code == 400


# --- creating issues ---------------------------------------------------------------------------------
def test_create_returns_the_key_and_the_creator_is_the_caller(jira, project):
    response = create(jira, description=adf_doc(adf_paragraph("Ünïcode — 中文")), labels=["a", "b"])
    assert response.status_code == 201 and response.body["key"] == "MIG-1"
    issue = jira.get("/rest/api/3/issue/MIG-1").body["fields"]
    assert issue["creator"]["accountId"] == issue["reporter"]["accountId"] == "5b10a2844c20165700ede21g"
    assert issue["status"]["name"] == "To Do" and issue["labels"] == ["a", "b"]
    assert issue["description"]["content"][0]["content"][0]["text"] == "Ünïcode — 中文"


@pytest.mark.parametrize("field,value", [("created", "2020-01-01T00:00:00.000+0000"), ("creator", {"accountId": "x"}),
                                         ("updated", "2020-01-01T00:00:00.000+0000"), ("status", {"name": "Done"}),
                                         ("nosuchfield", 1)])
def test_read_only_and_unknown_fields_cannot_be_set(jira, project, field, value):
    response = create(jira, **{field: value})
    assert response.status_code == 400
    assert response.body["errors"][field] == f"Field '{field}' cannot be set. It is not on the appropriate screen, or unknown."
    assert not JiraIssue.objects.filter(project=project).exists()


def test_missing_and_invalid_basics_are_named(jira, project):
    response = jira.post("/rest/api/3/issue", {"fields": {"project": {"key": "MIG"}, "issuetype": {"name": "Nope"}}})
    assert response.status_code == 400
    assert response.body["errors"] == {"issuetype": "Specify a valid issue type", "summary": "You must specify a summary of the issue."}
    response = jira.post("/rest/api/3/issue", {"fields": {"project": {"key": "NOPE"}, "summary": "x"}})
    assert response.body["errors"] == {"project": "Specify a valid project ID or key"}
    assert create(jira, summary="x" * 256).body["errors"]["summary"] == "Summary must be less than 255 characters."
    assert create(jira, labels=["has space"]).body["errors"]["labels"] == "The label can't contain spaces."


def test_rich_text_must_be_a_valid_adf_document(jira, project):
    empty_text = adf_doc({"type": "paragraph", "content": [{"type": "text", "text": ""}]})
    response = create(jira, description=empty_text)
    assert response.status_code == 400 and response.body["errors"] == {"description": "INVALID_INPUT"}
    response = create(jira, description="plain text is Data Center's, not Cloud's")
    assert response.body["errors"]["description"].startswith("Operation value must be an Atlassian Document")
    response = create(jira, customfield_10037={"type": "doc", "version": 1, "content": [{"type": "nonsense"}]})
    assert response.body["errors"] == {"customfield_10037": "INVALID_INPUT"}
    assert create(jira, description=adf_doc(adf_paragraph("fine"))).status_code == 201
    key = "MIG-1"
    response = jira.post(f"/rest/api/3/issue/{key}/comment", {"body": empty_text})
    assert response.status_code == 400 and response.body["errors"] == {"comment": "INVALID_INPUT"}


def test_custom_fields_of_every_kind_are_checked_and_kept(jira, project, cloud_site):
    fields = {"customfield_10016": 5, "customfield_10030": {"value": "Major"}, "customfield_10031": [{"value": "iOS"}, {"value": "Web"}],
              "customfield_10032": 2.5, "customfield_10033": "2026-12-01", "customfield_10034": {"accountId": "5b10a2844c20165700ede21g"},
              "customfield_10035": ["v2"], "customfield_10036": "Globex", "customfield_10038": "https://example.com/spec"}
    assert create(jira, **fields).status_code == 201
    got = jira.get("/rest/api/3/issue/MIG-1").body["fields"]
    assert got["customfield_10030"]["value"] == "Major"
    assert [o["value"] for o in got["customfield_10031"]] == ["iOS", "Web"]
    assert got["customfield_10034"]["accountId"] == "5b10a2844c20165700ede21g"
    assert got["customfield_10016"] == 5 and got["customfield_10033"] == "2026-12-01"
    bad = create(jira, customfield_10030={"value": "Apocalyptic"}, customfield_10032="three", customfield_10038="not a url")
    assert set(bad.body["errors"]) == {"customfield_10030", "customfield_10032", "customfield_10038"}


# --- bulk create -------------------------------------------------------------------------------------
def _update(summary="x", type_name="Task", project="MIG"):
    fields = {"project": {"key": project}, "issuetype": {"name": type_name}}
    if summary is not None:
        fields["summary"] = summary
    return {"fields": fields}


def test_bulk_create_reports_partial_failures_by_element(jira, project):
    response = jira.post("/rest/api/3/issue/bulk", {"issueUpdates": [_update("one"), _update(None), _update("three"),
                                                                      _update("four", type_name="Nope")]})
    assert response.status_code == 201
    assert [i["key"] for i in response.body["issues"]] == ["MIG-1", "MIG-2"]
    assert [(e["failedElementNumber"], e["status"]) for e in response.body["errors"]] == [(1, 400), (3, 400)]
    assert response.body["errors"][0]["elementErrors"]["errors"] == {"summary": "You must specify a summary of the issue."}


def test_bulk_create_answers_400_when_every_element_fails(jira, project):
    response = jira.post("/rest/api/3/issue/bulk", {"issueUpdates": [_update(None), _update(None)]})
    assert response.status_code == 400
    assert response.body["issues"] == [] and [e["failedElementNumber"] for e in response.body["errors"]] == [0, 1]


def test_bulk_create_takes_fifty_at_most(jira, project):
    response = jira.post("/rest/api/3/issue/bulk", {"issueUpdates": [_update(f"n{i}") for i in range(51)]})
    assert response.status_code == 400 and "50 issues at most" in response.body["errors"][0]["elementErrors"]["errorMessages"][0]
    assert not JiraIssue.objects.filter(project=project).exists()
    assert jira.post("/rest/api/3/issue/bulk", {"issueUpdates": [_update(f"n{i}") for i in range(50)]}).status_code == 201
    assert JiraIssue.objects.filter(project=project).count() == 50


# --- parents -----------------------------------------------------------------------------------------
def test_parent_rules_of_company_managed_projects(jira, project):
    epic = create(jira, type_name="Epic", summary="Epic").body["key"]
    story = create(jira, type_name="Story", summary="Story", parent={"key": epic}).body["key"]
    assert jira.get(f"/rest/api/3/issue/{story}").body["fields"]["parent"]["key"] == epic
    missing = create(jira, type_name="Sub-task", summary="orphan")
    assert missing.status_code == 400 and "parent" in missing.body["errors"]
    under_epic = create(jira, type_name="Sub-task", summary="wrong level", parent={"key": epic})
    assert under_epic.body["errors"]["parent"] == "Given parent work item does not belong to appropriate hierarchy."
    under_story = create(jira, type_name="Story", summary="story under story", parent={"key": story})
    assert under_story.status_code == 400
    epic_with_parent = create(jira, type_name="Epic", summary="nested epic", parent={"key": epic})
    assert epic_with_parent.status_code == 400
    assert create(jira, type_name="Sub-task", summary="ok", parent={"key": story}).status_code == 201
    assert create(jira, type_name="Sub-task", summary="ghost", parent={"key": "MIG-999"}).body["errors"]["parent"] == \
        "Could not find issue by id or key."
    subtasks = jira.get(f"/rest/api/3/issue/{story}").body["fields"]["subtasks"]
    assert [s["fields"]["summary"] for s in subtasks] == ["ok"]


def test_team_managed_projects_have_their_own_types(jira, project, team_project):
    types = jira.get("/rest/api/3/issuetype/project", projectId=str(team_project.pk)).body
    assert {t["name"] for t in types} == {"Epic", "Story", "Task", "Bug", "Subtask"}
    assert all(t["scope"] == {"type": "PROJECT", "project": {"id": str(team_project.pk)}} for t in types)
    response = create(jira, project="TM", type_name="Sub-task", summary="company type")
    assert response.body["errors"] == {"issuetype": "Specify a valid issue type"}
    story = create(jira, project="TM", type_name="Story", summary="s").body["key"]
    assert create(jira, project="TM", type_name="Subtask", summary="sub", parent={"key": story}).status_code == 201
    styles = {p["key"]: p["style"] for p in jira.get("/rest/api/3/project/search").body["values"]}
    assert styles == {"MIG": "classic", "TM": "next-gen"}


# --- transitions -------------------------------------------------------------------------------------
def test_status_moves_only_through_the_workflow(jira, project):
    key = create(jira).body["key"]
    assert [t["id"] for t in jira.get(f"/rest/api/3/issue/{key}/transitions").body["transitions"]] == ["21"]
    response = jira.put(f"/rest/api/3/issue/{key}", {"fields": {"status": {"name": "Done"}}})
    assert response.status_code == 400 and "status" in response.body["errors"]
    response = jira.post(f"/rest/api/3/issue/{key}/transitions", {"transition": {"id": "41"}})
    assert response.status_code == 400 and response.body["errors"]["transition"] == "Transition id '41' is not valid for this issue."
    for transition in ("21", "31", "41"):
        assert jira.post(f"/rest/api/3/issue/{key}/transitions", {"transition": {"id": transition}}).status_code == 204
    fields = jira.get(f"/rest/api/3/issue/{key}").body["fields"]
    assert fields["status"]["name"] == "Done" and fields["resolution"]["name"] == "Done" and fields["resolutiondate"]
    history = jira.get(f"/rest/api/3/issue/{key}/changelog").body["values"]
    assert [i["toString"] for h in history for i in h["items"] if i["field"] == "status"] == ["In Progress", "In Review", "Done"]
    assert jira.post(f"/rest/api/3/issue/{key}/transitions", {"transition": {"id": "11"}}).status_code == 204
    assert jira.get(f"/rest/api/3/issue/{key}").body["fields"]["resolution"] is None


def test_a_transition_on_create_and_team_managed_global_transitions(jira, project, team_project):
    response = jira.post("/rest/api/3/issue", {"fields": {"project": {"key": "MIG"}, "issuetype": {"name": "Task"}, "summary": "x"},
                                               "transition": {"id": "21"}})
    assert response.status_code == 201
    assert jira.get(f"/rest/api/3/issue/{response.body['key']}").body["fields"]["status"]["name"] == "In Progress"
    response = jira.post("/rest/api/3/issue", {"fields": {"project": {"key": "MIG"}, "issuetype": {"name": "Task"}, "summary": "x"},
                                               "transition": {"id": "41"}})
    assert response.status_code == 400 and not JiraIssue.objects.filter(project=project, summary="x", status_id="10002").exists()
    key = create(jira, project="TM", type_name="Task").body["key"]
    assert jira.post(f"/rest/api/3/issue/{key}/transitions", {"transition": {"id": "41"}}).status_code == 204


def test_edit_records_the_change_and_keeps_created(jira, project):
    key = create(jira, summary="Before").body["key"]
    created = jira.get(f"/rest/api/3/issue/{key}").body["fields"]["created"]
    assert jira.put(f"/rest/api/3/issue/{key}", {"fields": {"summary": "After"},
                                                 "update": {"labels": [{"add": "x"}, {"add": "y"}, {"remove": "x"}]}}).status_code == 204
    fields = jira.get(f"/rest/api/3/issue/{key}").body["fields"]
    assert fields["summary"] == "After" and fields["labels"] == ["y"] and fields["created"] == created
    items = [i for h in jira.get(f"/rest/api/3/issue/{key}/changelog").body["values"] for i in h["items"]]
    assert {"field": "summary", "fromString": "Before", "toString": "After"}.items() <= items[0].items()


# --- search ------------------------------------------------------------------------------------------
def test_search_jql_pages_with_tokens_and_no_total(jira, project):
    jira.post("/rest/api/3/issue/bulk", {"issueUpdates": [_update(f"n{i}") for i in range(30)]})
    keys, token, pages = [], None, 0
    while True:
        query = {"jql": "project = MIG ORDER BY key DESC", "maxResults": "8", "fields": "summary"}
        if token:
            query["nextPageToken"] = token
        body = jira.get("/rest/api/3/search/jql", **query).body
        assert "total" not in body and "startAt" not in body
        keys += [i["key"] for i in body["issues"]]
        pages += 1
        if body["isLast"]:
            assert "nextPageToken" not in body
            break
        token = body["nextPageToken"]
    assert pages == 4 and keys == [f"MIG-{n}" for n in range(30, 0, -1)]
    ids_only = jira.post("/rest/api/3/search/jql", {"jql": "project = MIG", "maxResults": 3}).body
    assert ids_only["issues"] == [{"id": str(i)} for i in JiraIssue.objects.order_by("id").values_list("id", flat=True)[:3]]
    response = jira.get("/rest/api/3/search/jql", jql="project = OTHER", nextPageToken=token)
    assert response.status_code == 400 and "token" in response.body["errorMessages"][0]


def test_search_caps_pages_and_refuses_unbounded_queries(jira, project):
    jira.post("/rest/api/3/issue/bulk", {"issueUpdates": [_update(f"n{i}") for i in range(50)]})
    jira.post("/rest/api/3/issue/bulk", {"issueUpdates": [_update(f"m{i}") for i in range(50)]})
    jira.post("/rest/api/3/issue/bulk", {"issueUpdates": [_update(f"o{i}") for i in range(10)]})
    with_fields = jira.get("/rest/api/3/search/jql", jql="project = MIG", fields="summary,status", maxResults="5000").body
    assert len(with_fields["issues"]) == 100 and with_fields["isLast"] is False
    assert len(jira.get("/rest/api/3/search/jql", jql="project = MIG", maxResults="5000").body["issues"]) == 110
    for jql in ("", "ORDER BY created DESC"):
        response = jira.get("/rest/api/3/search/jql", jql=jql)
        assert response.status_code == 400 and response.body["errorMessages"] == [
            "Unbounded JQL queries are not allowed here. Please add a search restriction to your query."]
    response = jira.get("/rest/api/3/search", jql="project = MIG")
    assert response.status_code == 410 and "/rest/api/3/search/jql" in response.body["errorMessages"][0]


def test_search_ids_pages_hold_five_thousand(jira, cloud_site):
    sandbox_services.site_seed(site=cloud_site, items=5100, seed=3)
    body = jira.post("/rest/api/3/search/jql", {"jql": "project = ACME", "maxResults": 10000}).body
    assert len(body["issues"]) == 5000 and body["isLast"] is False
    rest = jira.post("/rest/api/3/search/jql", {"jql": "project = ACME", "maxResults": 10000, "nextPageToken": body["nextPageToken"]}).body
    assert len(rest["issues"]) == 100 and rest["isLast"] is True


def test_the_jql_subset(jira, seeded_cloud):
    site = seeded_cloud
    issues = JiraIssue.objects.filter(site=site)

    def count(jql):
        response = jira.post("/rest/api/3/search/approximate-count", {"jql": jql})
        assert response.status_code == 200, response.body
        return response.body["count"]

    assert count("project = ACME") == 120
    assert count("project = ACME AND issuetype = Epic") == issues.filter(issue_type__name="Epic").count()
    assert count("project = ACME AND issuetype in (Story, Bug)") == issues.filter(issue_type__name__in=["Story", "Bug"]).count()
    assert count("key >= ACME-100") == 21 and count("key > ACME-100 AND key <= ACME-110") == 10
    assert count("project = ACME AND labels = customer") == issues.filter(labels_index__contains="|customer|").count()
    assert count("project = ACME AND labels is EMPTY") == issues.filter(labels_index="").count()
    assert count("updated >= -3650d") == 120 and count("updated > '2999-01-01'") == 0
    assert count('project = ACME AND (status = "Done" OR status = "In Progress")') == issues.filter(status_id__in=["10002", "3"]).count()
    assert count("project = ACME AND NOT issuetype = Epic") == issues.exclude(issue_type__name="Epic").count()
    epic = issues.filter(issue_type__name="Epic").first()
    assert count(f"parent = {epic.key}") == epic.children.count()
    assert count("sprint in openSprints()") == issues.filter(sprints__state__in=["active", "future"]).distinct().count()
    for bad, message in (("nosuchfield = 1", "Field 'nosuchfield' does not exist or you do not have permission to view it."),
                         ("issue.property[migrayt].n = 1", "Field 'issue.property[migrayt].n' does not exist"),
                         ("project = ", "Expecting either a value"), ("updated > 'last tuesday'", "Date value 'last tuesday'")):
        response = jira.post("/rest/api/3/search/approximate-count", {"jql": bad})
        assert response.status_code == 400 and message in response.body["errorMessages"][0], (bad, response.body)


# --- links, remote links, comments ---------------------------------------------------------------------
def test_issue_links_answer_201_without_a_body_and_duplicates_are_accepted(jira, project):
    a, b = create(jira).body["key"], create(jira).body["key"]
    link = {"type": {"name": "Blocks"}, "inwardIssue": {"key": a}, "outwardIssue": {"key": b}}
    first = jira.post("/rest/api/3/issueLink", link)
    assert first.status_code == 201 and first.content == b""
    assert jira.post("/rest/api/3/issueLink", link).status_code == 201
    assert JiraIssueLink.objects.filter(site=project.site).count() == 1
    links = jira.get(f"/rest/api/3/issue/{b}").body["fields"]["issuelinks"]
    assert [(link_["type"]["name"], link_["inwardIssue"]["key"]) for link_ in links] == [("Blocks", a)]
    assert jira.post("/rest/api/3/issueLink", {**link, "type": {"name": "Nope"}}).status_code == 404
    assert jira.post("/rest/api/3/issueLink", {**link, "inwardIssue": {"key": b}}).status_code == 400


def test_remote_links_upsert_by_global_id(jira, project):
    key = create(jira).body["key"]
    body = {"globalId": "ado:workitem:42", "object": {"url": "https://dev.azure.com/x/_workitems/edit/42", "title": "Work item 42"}}
    first = jira.post(f"/rest/api/3/issue/{key}/remotelink", body)
    again = jira.post(f"/rest/api/3/issue/{key}/remotelink", {**body, "object": {**body["object"], "title": "Renamed"}})
    assert (first.status_code, again.status_code) == (201, 200) and first.body["id"] == again.body["id"]
    links = jira.get(f"/rest/api/3/issue/{key}/remotelink").body
    assert len(links) == 1 and links[0]["object"]["title"] == "Renamed"
    assert jira.get(f"/rest/api/3/issue/{key}/remotelink", globalId="ado:workitem:42").body["id"] == first.body["id"]
    assert jira.post(f"/rest/api/3/issue/{key}/remotelink", {"object": {"title": "no url"}}).status_code == 400


def test_comments_page_and_keep_author_and_dates_to_jira(jira, project):
    key = create(jira).body["key"]
    for n in range(5):
        assert jira.post(f"/rest/api/3/issue/{key}/comment", {"body": adf_doc(adf_paragraph(f"c{n}"))}).status_code == 201
    page = jira.get(f"/rest/api/3/issue/{key}/comment", startAt="1", maxResults="2", orderBy="-created").body
    assert page["total"] == 5 and [c["body"]["content"][0]["content"][0]["text"] for c in page["comments"]] == ["c3", "c2"]
    response = jira.post(f"/rest/api/3/issue/{key}/comment", {"body": adf_doc(adf_paragraph("x")), "visibility": {"type": "role", "value": "Nobody"}})
    assert response.status_code == 400


# --- attachments -------------------------------------------------------------------------------------
def _upload(jira, key, content=b"hello", name="hello.txt", xsrf="no-check", field="file"):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.test.client import encode_multipart

    payload = encode_multipart("BoUnDaRy", {field: SimpleUploadedFile(name, content, content_type="text/plain")})
    headers = {"X-Atlassian-Token": xsrf} if xsrf else {}
    return jira.request("POST", f"/rest/api/3/issue/{key}/attachments", raw=payload, headers=headers,
                        content_type="multipart/form-data; boundary=BoUnDaRy")


def test_attachments_need_the_xsrf_header_a_file_part_and_fit_the_limit(jira, project, cloud_site):
    key = create(jira).body["key"]
    refused = _upload(jira, key, xsrf=None)
    assert refused.status_code == 403 and refused.content == b"XSRF check failed"
    assert _upload(jira, key, field="upload").status_code == 400
    cloud_site.options = {**cloud_site.options, "attachment_max_bytes": 1000}
    cloud_site.save()
    assert _upload(jira, key, content=b"x" * 1001).status_code == 413
    response = _upload(jira, key, content="žluťoučký kůň".encode(), name="kůň.txt")
    assert response.status_code == 200 and response.body[0]["filename"] == "kůň.txt"
    content = jira.client.get(f"/sandbox/jira/{cloud_site.slug}/rest/api/3/attachment/content/{response.body[0]['id']}",
                              HTTP_AUTHORIZATION=jira.headers["Authorization"])
    assert content.content == "žluťoučký kůň".encode()
    assert content["Content-Disposition"] == "attachment; filename=\"k__.txt\"; filename*=UTF-8''k%C5%AF%C5%88.txt"
    # Markup is never served as markup from the product's origin.
    html = _upload(jira, key, content=b"<script>alert(1)</script>", name="x.html").body[0]
    JiraAttachment.objects.filter(pk=html["id"]).update(mime_type="text/html")
    served = jira.client.get(f"/sandbox/jira/{cloud_site.slug}/rest/api/3/attachment/content/{html['id']}",
                             HTTP_AUTHORIZATION=jira.headers["Authorization"])
    assert served["Content-Type"] == "application/octet-stream" and served["Content-Security-Policy"].startswith("sandbox")


# --- properties --------------------------------------------------------------------------------------
def test_entity_properties_have_size_limits(jira, project):
    key = create(jira).body["key"]
    assert jira.put(f"/rest/api/3/issue/{key}/properties/source", {"ado": 42}).status_code == 201
    assert jira.put(f"/rest/api/3/issue/{key}/properties/source", {"ado": 43}).status_code == 200
    assert jira.get(f"/rest/api/3/issue/{key}/properties/source").body == {"key": "source", "value": {"ado": 43}}
    too_big = jira.put(f"/rest/api/3/issue/{key}/properties/big", {"blob": "x" * 33000})
    assert too_big.status_code == 400 and "32768" in too_big.body["errorMessages"][0]
    assert jira.put(f"/rest/api/3/issue/{key}/properties/{'k' * 256}", 1).status_code == 400
    assert jira.get(f"/rest/api/3/issue/{key}/properties").body["keys"][0]["key"] == "source"


# --- sprints -----------------------------------------------------------------------------------------
def test_the_sprint_state_machine(jira, project):
    board = project.boards.get()
    sprint = jira.post("/rest/agile/1.0/sprint", {"name": "S1", "originBoardId": board.pk}).body
    assert sprint["state"] == "future" and "startDate" not in sprint
    url = f"/rest/agile/1.0/sprint/{sprint['id']}"
    response = jira.post(url, {"state": "active"})
    assert response.status_code == 400 and "start date and an end date" in response.body["errors"]["startDate"]
    assert jira.post(url, {"state": "closed"}).status_code == 400
    started = jira.post(url, {"state": "active", "startDate": "2026-11-01T09:00:00.000+00:00", "endDate": "2026-11-15T17:00:00.000Z"})
    assert started.status_code == 200 and started.body["state"] == "active"
    before = datetime.now(UTC)
    closed = jira.post(url, {"state": "closed", "completeDate": "2001-01-01T00:00:00.000Z"}).body
    complete = datetime.strptime(closed["completeDate"], "%Y-%m-%dT%H:%M:%S.%f%z")
    assert closed["state"] == "closed" and abs((complete - before).total_seconds()) < 5
    assert jira.post(url, {"state": "active"}).status_code == 400
    assert jira.post(url, {"goal": "Renamed goal"}).status_code == 200
    assert jira.post(url, {"startDate": "2026-10-01T00:00:00.000Z"}).status_code == 400


def test_moving_issues_into_sprints(jira, project):
    board = project.boards.get()
    jira.post("/rest/api/3/issue/bulk", {"issueUpdates": [_update(f"n{i}") for i in range(50)]})
    jira.post("/rest/api/3/issue/bulk", {"issueUpdates": [_update("fifty-one")]})
    future = jira.post("/rest/agile/1.0/sprint", {"name": "Next", "originBoardId": board.pk}).body["id"]
    keys = [f"MIG-{n}" for n in range(1, 52)]
    response = jira.post(f"/rest/agile/1.0/sprint/{future}/issue", {"issues": keys})
    assert response.status_code == 400 and "50" in response.body["errorMessages"][0]
    assert jira.post(f"/rest/agile/1.0/sprint/{future}/issue", {"issues": keys[:50]}).status_code == 204
    assert jira.get(f"/rest/agile/1.0/sprint/{future}/issue", maxResults="5").body["total"] == 50
    sprint_field = jira.get("/rest/api/3/issue/MIG-1").body["fields"]["customfield_10020"]
    assert [s["name"] for s in sprint_field] == ["Next"]
    closed = JiraSprint.objects.create(site=project.site, board=board, name="Old", state="closed", created=datetime.now(UTC))
    response = jira.post(f"/rest/agile/1.0/sprint/{closed.pk}/issue", {"issues": ["MIG-51"]})
    assert response.status_code == 400 and "closed" in response.body["errorMessages"][0]


# --- rate limits -------------------------------------------------------------------------------------
def test_burst_limit_answers_429_with_jiras_headers_then_serves_again(jira, project, cloud_site):
    sandbox_services.site_controls_update(site=cloud_site, controls={"rate_limit_token": 5, "rate_window_seconds": 1})
    time.sleep(1 - time.time() % 1 + 0.01)  # start at the beginning of a window
    answers = [jira.get("/rest/api/3/myself") for _ in range(6)]
    assert [a.status_code for a in answers] == [200] * 5 + [429]
    assert answers[0]["X-RateLimit-Limit"] == "5" and answers[0]["X-RateLimit-Remaining"] == "4"
    assert "X-RateLimit-NearLimit" not in answers[0] and answers[4]["X-RateLimit-NearLimit"] == "true"
    limited = answers[5]
    assert limited["Retry-After"] == "1" and limited["RateLimit-Reason"] == "jira-burst-based"
    assert datetime.strptime(limited["X-RateLimit-Reset"], "%Y-%m-%dT%H:%MZ")
    assert limited.body["errorMessages"] == ["Rate limit exceeded."]
    time.sleep(int(limited["Retry-After"]))
    assert jira.get("/rest/api/3/myself").status_code == 200


def test_the_per_issue_write_limit(jira, project, cloud_site):
    key = create(jira).body["key"]
    cloud_site.options = {**cloud_site.options, "per_issue_write_limit": 3, "per_issue_write_window_seconds": 1}
    cloud_site.save()
    time.sleep(1 - time.time() % 1 + 0.01)
    statuses = [jira.post(f"/rest/api/3/issue/{key}/comment", {"body": adf_doc(adf_paragraph(str(n)))}).status_code for n in range(4)]
    assert statuses == [201, 201, 201, 429]
    other = create(jira).body["key"]
    assert jira.put(f"/rest/api/3/issue/{other}", {"fields": {"summary": "another issue is not limited"}}).status_code == 204
    limited = jira.post(f"/rest/api/3/issue/{key}/comment", {"body": adf_doc(adf_paragraph("again"))})
    assert limited.status_code == 429 and limited["RateLimit-Reason"] == "jira-per-issue-on-write"
    time.sleep(int(limited["Retry-After"]))
    assert jira.post(f"/rest/api/3/issue/{key}/comment", {"body": adf_doc(adf_paragraph("later"))}).status_code == 201


# --- metadata ----------------------------------------------------------------------------------------
def test_createmeta_is_paged_and_the_old_endpoint_is_gone(jira, project):
    assert jira.get("/rest/api/3/issue/createmeta").status_code == 410
    types = jira.get("/rest/api/3/issue/createmeta/MIG/issuetypes", maxResults="2").body
    assert types["total"] == 5 and len(types["issueTypes"]) == 2
    assert jira.get("/rest/api/3/issue/createmeta/MIG/issuetypes", maxResults="500").body["maxResults"] == 200
    sub = next(t for t in jira.get("/rest/api/3/issue/createmeta/MIG/issuetypes").body["issueTypes"] if t["subtask"])
    assert sub["hierarchyLevel"] == -1
    fields = {f["fieldId"]: f for f in jira.get(f"/rest/api/3/issue/createmeta/MIG/issuetypes/{sub['id']}").body["fields"]}
    assert fields["parent"]["required"] is True and fields["summary"]["required"] is True
    assert {o["value"] for o in fields["customfield_10030"]["allowedValues"]} == {"Critical", "Major", "Minor", "Trivial"}


def test_users_hide_emails_as_their_privacy_settings_say(jira, seeded_cloud):
    users = {u["displayName"]: u for u in jira.get("/rest/api/3/users/search", maxResults="100").body}
    assert "emailAddress" in users["Ada Lovelace"] and "emailAddress" not in users["Linus Virtanen"]
    assert users["Ex Employee"]["active"] is False and users["李娜"]["accountType"] == "atlassian"
    assert [u["displayName"] for u in jira.get("/rest/api/3/user/search", query="Zoë").body] == ["Zoë Ångström"]
    assert jira.get("/rest/api/3/user/search", query="user03@example.com").body == []  # hidden address, not searchable
    assert jira.get("/rest/api/3/user", username="user01").status_code == 400


def test_field_search_and_workflows(jira, seeded_cloud):
    custom = jira.get("/rest/api/3/field/search", type="custom", maxResults="100").body["values"]
    kinds = {f["schema"].get("custom", "").rsplit(":", 1)[-1] for f in custom}
    assert {"select", "multiselect", "float", "datepicker", "userpicker", "labels", "textfield", "textarea", "url",
            "jsw-story-points", "gh-sprint"} <= kinds
    assert [f["name"] for f in jira.get("/rest/api/3/field/search", query="story point").body["values"]] == ["Story point estimate"]
    workflows = jira.get("/rest/api/3/workflow/search", expand="transitions").body["values"]
    classic = next(w for w in workflows if w["isDefault"])
    assert {"id": "41", "name": "Done", "description": "", "from": ["3", "10001"], "to": "10002", "type": "directed"} in classic["transitions"]


def test_unknown_site_and_wrong_api_version(jira, cloud_site):
    assert jira.client.get("/sandbox/jira/nope/rest/api/3/myself").status_code == 404
    response = jira.client.get(f"/sandbox/jira/{cloud_site.slug}/rest/api/2/myself", HTTP_AUTHORIZATION=jira.headers["Authorization"])
    assert response.status_code == 404 and "/rest/api/3" in response.json()["errorMessages"][0]


def test_projects_are_visible_in_the_site_page(client, admin_user, seeded_cloud):
    client.force_login(admin_user)
    assert f"/sandbox/jira/{seeded_cloud.slug}/" in client.get("/sandbox/").content.decode()  # linked from the index
    page = client.get(f"/sandbox/jira/{seeded_cloud.slug}/")
    assert page.status_code == 200 and "ACME-1" in page.content.decode()
    issue = JiraIssue.objects.filter(site=seeded_cloud).exclude(changelogs=None).first()
    detail = client.get(f"/sandbox/jira/{seeded_cloud.slug}/browse/{issue.key}/")
    assert detail.status_code == 200 and issue.summary in detail.content.decode()
    assert client.get(f"/sandbox/jira/{seeded_cloud.slug}/browse/NOPE-1/").status_code == 404


def test_reset_empties_the_site_and_keeps_its_tokens(jira, seeded_cloud):
    sandbox_services.site_reset(site=seeded_cloud)
    assert not JiraIssue.objects.filter(site=seeded_cloud).exists() and not JiraProject.objects.filter(site=seeded_cloud).exists()
    assert jira.get("/rest/api/3/myself").status_code == 200
