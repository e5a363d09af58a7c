"""Components and versions: POST /component and POST /version (Cloud /rest/api/3, Data Center /rest/api/2),
read back one by one and per project. The Cloud client checks every answer and every accepted body against
Atlassian's OpenAPI file."""

import pytest

from apps.sandbox.jira.models import JiraComponent, JiraIssue, JiraVersion
from apps.sandbox.jira.services import jira_project_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def project(cloud_site):
    return jira_project_create(site=cloud_site, key="MIG", name="Migration")


@pytest.fixture
def dc_project(dc_site):
    return jira_project_create(site=dc_site, key="DCP", name="Data Center project")


def test_component_created_read_back_and_usable_on_an_issue(jira, project):
    created = jira.post("/rest/api/3/component", {"name": "Backend", "project": "MIG", "description": "Server side",
                                                  "assigneeType": "PROJECT_DEFAULT"})
    assert created.status_code == 201
    assert created.body["name"] == "Backend" and created.body["project"] == "MIG"
    assert created.body["projectId"] == project.pk and created.body["description"] == "Server side"
    one = jira.get(f"/rest/api/3/component/{created.body['id']}")
    assert one.status_code == 200 and one.body["id"] == created.body["id"]
    listed = jira.get("/rest/api/3/project/MIG/components")
    assert [c["name"] for c in listed.body] == ["Backend"]
    issue = jira.post("/rest/api/3/issue", {"fields": {"project": {"key": "MIG"}, "issuetype": {"name": "Task"},
                                                       "summary": "x", "components": [{"name": "Backend"}]}})
    assert issue.status_code == 201
    assert JiraIssue.objects.get(pk=issue.body["id"]).component_ids == [int(created.body["id"])]
    by_id = jira.post("/rest/api/3/issue/bulk", {"issueUpdates": [{"fields": {
        "project": {"key": "MIG"}, "issuetype": {"name": "Task"}, "summary": "y",
        "components": [{"id": created.body["id"]}]}}]})
    assert by_id.status_code == 201


def test_component_refusals(jira, project):
    jira.post("/rest/api/3/component", {"name": "Backend", "project": "MIG"})
    twice = jira.post("/rest/api/3/component", {"name": "backend", "project": "MIG"})
    assert twice.status_code == 400 and "already exists" in twice.body["errors"]["name"]
    assert JiraComponent.objects.filter(project=project).count() == 1
    nameless = jira.post("/rest/api/3/component", {"project": "MIG"})
    assert nameless.status_code == 400 and "name" in nameless.body["errors"]
    assert jira.post("/rest/api/3/component", {"name": "X"}).body["errors"] == {
        "project": "The project key must be specified."}
    unknown = jira.post("/rest/api/3/component", {"name": "X", "project": "NOPE"})
    assert unknown.status_code == 404 and "NOPE" in unknown.body["errorMessages"][0]
    lead = jira.post("/rest/api/3/component", {"name": "X", "project": "MIG", "leadAccountId": "no-such-account"})
    assert lead.status_code == 400 and "leadAccountId" in lead.body["errors"]
    assert jira.post("/rest/api/3/component", raw="not json").status_code == 400
    assert jira.get("/rest/api/3/component/999999").status_code == 404
    assert not JiraComponent.objects.filter(project=project, name="X").exists()


def test_version_created_read_back_and_listed(jira, project):
    created = jira.post("/rest/api/3/version", {"name": "1.0", "projectId": project.pk, "description": "First",
                                                "startDate": "2026-01-05", "releaseDate": "2026-02-01",
                                                "released": True})
    assert created.status_code == 201
    assert created.body["name"] == "1.0" and created.body["projectId"] == project.pk
    assert created.body["released"] is True and created.body["releaseDate"] == "2026-02-01"
    one = jira.get(f"/rest/api/3/version/{created.body['id']}")
    assert one.status_code == 200 and one.body["startDate"] == "2026-01-05"
    jira.post("/rest/api/3/version", {"name": "2.0", "projectId": project.pk})
    listed = jira.get("/rest/api/3/project/MIG/versions")
    assert [v["name"] for v in listed.body] == ["1.0", "2.0"]
    assert listed.body[1]["released"] is False and "releaseDate" not in listed.body[1]


def test_version_refusals(jira, project):
    jira.post("/rest/api/3/version", {"name": "1.0", "projectId": project.pk})
    twice = jira.post("/rest/api/3/version", {"name": "1.0", "projectId": project.pk})
    assert twice.status_code == 400 and "already exists" in twice.body["errors"]["name"]
    bad_date = jira.post("/rest/api/3/version", {"name": "2.0", "projectId": project.pk, "releaseDate": "01/02/2026"})
    assert bad_date.status_code == 400 and "yyyy-MM-dd" in bad_date.body["errors"]["releaseDate"]
    backwards = jira.post("/rest/api/3/version", {"name": "2.0", "projectId": project.pk,
                                                  "startDate": "2026-03-01", "releaseDate": "2026-02-01"})
    assert backwards.status_code == 400 and "startDate" in backwards.body["errors"]
    assert "project" in jira.post("/rest/api/3/version", {"name": "2.0"}).body["errors"]
    assert jira.post("/rest/api/3/version", {"name": "2.0", "projectId": 999999}).status_code == 404
    assert jira.post("/rest/api/3/version", {"projectId": project.pk}).status_code == 400
    assert jira.get("/rest/api/3/version/999999").status_code == 404
    assert list(JiraVersion.objects.filter(project=project).values_list("name", flat=True)) == ["1.0"]


def test_data_center_serves_them_under_api_2(jira_dc, dc_project):
    created = jira_dc.post("/rest/api/2/component", {"name": "Backend", "project": "DCP", "leadUserName": "admin"})
    assert created.status_code == 201 and created.body["lead"]["name"] == "admin"
    assert jira_dc.post("/rest/api/3/component", {"name": "Other", "project": "DCP"}).status_code == 404
    assert [c["name"] for c in jira_dc.get("/rest/api/2/project/DCP/components").body] == ["Backend"]
    version = jira_dc.post("/rest/api/2/version", {"name": "9.1", "project": "DCP"})
    assert version.status_code == 201 and version.body["projectId"] == dc_project.pk
    assert [v["name"] for v in jira_dc.get("/rest/api/2/project/DCP/versions").body] == ["9.1"]
    assert jira_dc.get(f"/rest/api/2/version/{version.body['id']}").body["name"] == "9.1"


def test_another_sites_components_and_versions_are_not_found(jira, dc_site, dc_project):
    component = JiraComponent.objects.create(project=dc_project, name="Theirs")
    version = JiraVersion.objects.create(project=dc_project, name="Theirs")
    assert jira.get(f"/rest/api/3/component/{component.pk}").status_code == 404
    assert jira.get(f"/rest/api/3/version/{version.pk}").status_code == 404
