"""Jira Data Center 9.x as the second kind of site: /rest/api/2, wiki markup, users by name and key,
search with startAt and total, Epic Link as a custom field, personal access tokens, its rate-limit
headers, and the Cloud-only resources answered as Data Center answers them."""

import time

import pytest

from apps.sandbox import services as sandbox_services
from apps.sandbox.jira.adf import adf_doc, adf_paragraph
from apps.sandbox.jira.services import jira_project_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def project(dc_site):
    return jira_project_create(site=dc_site, key="DCP", name="Data Center project")


def create(jira_dc, type_name="Task", summary="A task", **fields):
    return jira_dc.post("/rest/api/2/issue", {"fields": {"project": {"key": "DCP"}, "issuetype": {"name": type_name},
                                                         "summary": summary, **fields}})


def test_personal_access_tokens_are_bearer_tokens(dc_site, make_client, basic):
    from apps.sandbox.jira.tests.conftest import DC_SECRET

    assert make_client(dc_site, {"Authorization": basic("admin", DC_SECRET)}).get("/rest/api/2/myself").status_code == 401
    response = make_client(dc_site, {"Authorization": f"Bearer {DC_SECRET}"}).get("/rest/api/2/myself")
    assert response.status_code == 200
    assert response.body["name"] == "admin" and response.body["key"] == "JIRAUSER10000" and "accountId" not in response.body
    assert response["X-AUSERNAME"] == "admin" and "X-AAccountId" not in response


def test_only_api_2_and_no_cloud_only_resources(jira_dc, project):
    assert jira_dc.get("/rest/api/3/myself").status_code == 404
    for path in ("/rest/api/2/search/jql", "/rest/api/2/project/search", "/rest/api/2/field/search"):
        response = jira_dc.get(path, jql="project = DCP")
        assert response.status_code == 404 and response.body["errorMessages"][0].startswith("null for uri"), path
    assert jira_dc.get("/rest/api/2/serverInfo").body["versionNumbers"][0] == 9
    removed = jira_dc.get("/rest/api/2/issue/createmeta", projectKeys="DCP")
    assert removed.status_code == 404 and removed.body["errorMessages"] == ["Issue Does Not Exist"]
    assert jira_dc.get("/rest/api/2/issue/createmeta/DCP/issuetypes").body["total"] == 5


def test_rich_text_is_wiki_markup(jira_dc, project):
    response = create(jira_dc, description="h2. Steps\n* one\n* two\n{code}x = 1{code}")
    assert response.status_code == 201
    issue = jira_dc.get(f"/rest/api/2/issue/{response.body['key']}").body
    assert issue["fields"]["description"].startswith("h2. Steps") and issue["self"].endswith(f"/rest/api/2/issue/{issue['id']}")
    assert create(jira_dc, description=adf_doc(adf_paragraph("ADF is Cloud's"))).body["errors"] == {
        "description": "Operation value must be a string"}
    comment = jira_dc.post(f"/rest/api/2/issue/{response.body['key']}/comment", {"body": "Thanks [~admin]! *bold*"})
    assert comment.status_code == 201 and comment.body["body"] == "Thanks [~admin]! *bold*"
    assert comment.body["author"]["name"] == "admin"


def test_users_by_name_and_key(jira_dc, project, dc_site):
    sandbox_services.site_seed(site=dc_site, items=0)
    ada = jira_dc.get("/rest/api/2/user/search", username="Ada").body[0]
    assert ada["name"] == "user01" and ada["key"] == "JIRAUSER10100" and ada["emailAddress"] == "user01@example.com"
    assert jira_dc.get("/rest/api/2/user", key="JIRAUSER10100").body["displayName"] == "Ada Lovelace"
    assert jira_dc.get("/rest/api/2/user", username="user01").body["key"] == "JIRAUSER10100"
    key = create(jira_dc, assignee={"name": "user01"}).body["key"]
    assert jira_dc.get(f"/rest/api/2/issue/{key}").body["fields"]["assignee"]["name"] == "user01"
    assert create(jira_dc, assignee={"accountId": "712020:x"}).body["errors"] == {"assignee": "Specify a valid value for assignee"}
    deactivated = create(jira_dc, assignee={"name": "user20"})
    assert deactivated.status_code == 400 and "cannot be assigned" in deactivated.body["errors"]["assignee"]


def test_epic_link_is_a_custom_field(jira_dc, project):
    epic = create(jira_dc, type_name="Epic", summary="Epic").body["key"]
    story = create(jira_dc, type_name="Story", summary="Story", customfield_10014=epic).body["key"]
    fields = jira_dc.get(f"/rest/api/2/issue/{story}").body["fields"]
    assert fields["customfield_10014"] == epic and "parent" not in fields
    assert create(jira_dc, type_name="Story", summary="s", parent={"key": epic}).status_code == 400
    assert create(jira_dc, type_name="Story", summary="s", customfield_10014=story).body["errors"] == {
        "customfield_10014": f"The issue '{story}' is not an epic."}
    sub = create(jira_dc, type_name="Sub-task", summary="sub", parent={"key": story}).body["key"]
    assert jira_dc.get(f"/rest/api/2/issue/{sub}").body["fields"]["parent"]["key"] == story
    assert "customfield_10014" in {f["id"] for f in jira_dc.get("/rest/api/2/field").body}
    count = jira_dc.get("/rest/api/2/search", jql=f'"Epic Link" = {epic}', fields="key").body["total"]
    assert count == 1


def test_search_pages_with_start_at_and_total(jira_dc, project):
    for n in range(12):
        create(jira_dc, summary=f"n{n}")
    page = jira_dc.get("/rest/api/2/search", jql="project = DCP ORDER BY key ASC", startAt="5", maxResults="4").body
    assert page["total"] == 12 and page["startAt"] == 5 and page["maxResults"] == 4
    assert [i["key"] for i in page["issues"]] == ["DCP-6", "DCP-7", "DCP-8", "DCP-9"]
    assert "summary" in page["issues"][0]["fields"]
    everything = jira_dc.post("/rest/api/2/search", {"jql": "", "startAt": 0, "maxResults": 5000}).body
    assert everything["maxResults"] == 1000 and everything["total"] == 12  # unbounded JQL is fine on DC
    with_changelog = jira_dc.get("/rest/api/2/search", jql="key = DCP-1", expand="changelog").body["issues"][0]
    assert "histories" in with_changelog["changelog"]


def test_data_center_rate_limit_headers(jira_dc, project, dc_site):
    sandbox_services.site_controls_update(site=dc_site, controls={"rate_limit_token": 3, "rate_window_seconds": 2})
    time.sleep(2 - time.time() % 2 + 0.01)
    answers = [jira_dc.get("/rest/api/2/myself") for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    first = answers[0]
    assert (first["X-RateLimit-Limit"], first["X-RateLimit-Remaining"], first["X-RateLimit-Interval-Seconds"],
            first["X-RateLimit-FillRate"]) == ("3", "2", "2", "3")
    assert "X-RateLimit-Reset" not in first and "RateLimit-Reason" not in answers[3]
    assert int(answers[3]["Retry-After"]) >= 1


def test_data_center_agile_and_transitions(jira_dc, project, dc_site):
    key = create(jira_dc).body["key"]
    assert jira_dc.post(f"/rest/api/2/issue/{key}/transitions", {"transition": {"id": "21"}}).status_code == 204
    board = jira_dc.get("/rest/agile/1.0/board").body["values"][0]
    sprint = jira_dc.post("/rest/agile/1.0/sprint", {"name": "DC 1", "originBoardId": board["id"]}).body
    assert jira_dc.post(f"/rest/agile/1.0/sprint/{sprint['id']}/issue", {"issues": [key]}).status_code == 204
    assert jira_dc.get(f"/rest/agile/1.0/sprint/{sprint['id']}/issue").body["issues"][0]["key"] == key
