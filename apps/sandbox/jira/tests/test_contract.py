"""Every answer of the Cloud sandbox, on every endpoint it serves, validates against Atlassian's OpenAPI
files; every request body it accepts is one they allow, and bodies they forbid are refused.

The `jira` client checks each call as it is made (see conftest.JiraClient), so these tests walk the
whole API with realistic seeded data, including the error answers."""

import json

import pytest

from apps.sandbox.jira.adf import adf_doc, adf_paragraph
from apps.sandbox.jira.models import JiraAttachment, JiraBoard, JiraIssue, JiraSprint
from apps.sandbox.jira.tests import contract

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded(jira, seeded_cloud):
    return jira


def _any_issue(site, **filters):
    return JiraIssue.objects.filter(site=site, **filters).order_by("id").first()


def test_metadata_answers_conform(seeded):
    site = seeded.site
    project = site.jira_projects.first()
    story = project.issues.filter(issue_type__name="Story").first()
    for path, query in [
        ("/rest/api/3/myself", {}), ("/rest/api/3/serverInfo", {}),
        ("/rest/api/3/project/search", {"expand": "description,lead,issueTypes"}),
        (f"/rest/api/3/project/{project.key}", {}), (f"/rest/api/3/project/{project.key}/components", {}),
        (f"/rest/api/3/project/{project.key}/statuses", {}),
        ("/rest/api/3/issuetype", {}), (f"/rest/api/3/issuetype/{story.issue_type_id}", {}),
        ("/rest/api/3/issuetype/project", {"projectId": str(project.pk)}),
        (f"/rest/api/3/issue/createmeta/{project.key}/issuetypes", {}),
        (f"/rest/api/3/issue/createmeta/{project.key}/issuetypes/{story.issue_type_id}", {}),
        ("/rest/api/3/field", {}), ("/rest/api/3/field/search", {"type": "custom"}),
        ("/rest/api/3/status", {}), ("/rest/api/3/workflow/search", {"expand": "transitions,statuses"}),
        ("/rest/api/3/priority/search", {}), ("/rest/api/3/resolution/search", {}),
        ("/rest/api/3/issueLinkType", {}), ("/rest/api/3/label", {}),
        ("/rest/api/3/user/search", {"query": "a"}), ("/rest/api/3/users/search", {}),
        ("/rest/api/3/user", {"accountId": story.reporter.account_id}),
        ("/rest/api/3/attachment/meta", {}),
    ]:
        response = seeded.get(path, **query)
        assert response.status_code == 200, (path, response.status_code, response.content[:300])


def test_issue_answers_conform(seeded):
    site = seeded.site
    for issue in JiraIssue.objects.filter(site=site).order_by("id")[:40]:
        response = seeded.get(f"/rest/api/3/issue/{issue.key}", expand="changelog,names", properties="*all")
        assert response.status_code == 200
        assert seeded.get(f"/rest/api/3/issue/{issue.pk}/changelog").status_code == 200
        assert seeded.get(f"/rest/api/3/issue/{issue.pk}/comment").status_code == 200
        assert seeded.get(f"/rest/api/3/issue/{issue.pk}/transitions").status_code == 200
        assert seeded.get(f"/rest/api/3/issue/{issue.pk}/remotelink").status_code == 200
        assert seeded.get(f"/rest/api/3/issue/{issue.pk}/properties").status_code == 200
    attachment = JiraAttachment.objects.filter(issue__site=site).first()
    assert seeded.get(f"/rest/api/3/attachment/{attachment.pk}").status_code == 200
    keys = list(JiraIssue.objects.filter(site=site).values_list("key", flat=True)[:20]) + ["NOPE-1"]
    response = seeded.post("/rest/api/3/issue/bulkfetch", {"issueIdsOrKeys": keys, "fields": ["*all"], "expand": ["changelog"]})
    assert response.status_code == 200 and len(response.body["issues"]) == 20 and response.body["issueErrors"][0]["id"] == "NOPE-1"
    response = seeded.post("/rest/api/3/changelog/bulkfetch", {"issueIdsOrKeys": keys[:10], "maxResults": 5})
    assert response.status_code == 200 and response.body["nextPageToken"]


def test_search_answers_conform(seeded):
    project = seeded.site.jira_projects.first()
    response = seeded.get("/rest/api/3/search/jql", jql=f"project = {project.key} ORDER BY key", fields="*all",
                          expand="changelog", maxResults="10")
    assert response.status_code == 200 and len(response.body["issues"]) == 10
    response = seeded.post("/rest/api/3/search/jql", {"jql": f"project = {project.key}", "maxResults": 5000})
    assert response.status_code == 200 and response.body["isLast"] is True
    response = seeded.post("/rest/api/3/search/approximate-count", {"jql": f"project = {project.key}"})
    assert response.body == {"count": 120}


def test_agile_answers_conform(seeded):
    board = JiraBoard.objects.get(site=seeded.site)
    for path in ("/rest/agile/1.0/board", f"/rest/agile/1.0/board/{board.pk}", f"/rest/agile/1.0/board/{board.pk}/configuration",
                 f"/rest/agile/1.0/board/{board.pk}/sprint", f"/rest/agile/1.0/board/{board.pk}/issue",
                 f"/rest/agile/1.0/board/{board.pk}/backlog", f"/rest/agile/1.0/board/{board.pk}/epic"):
        assert seeded.get(path).status_code == 200, path
    for sprint in JiraSprint.objects.filter(site=seeded.site)[:3]:
        assert seeded.get(f"/rest/agile/1.0/sprint/{sprint.pk}").status_code == 200
        assert seeded.get(f"/rest/agile/1.0/sprint/{sprint.pk}/issue").status_code == 200
    epic = _any_issue(seeded.site, issue_type__hierarchy_level=1)
    assert seeded.get(f"/rest/agile/1.0/epic/{epic.key}/issue").status_code == 200


def test_write_answers_conform_and_bodies_are_the_specifications(seeded):
    site = seeded.site
    project = site.jira_projects.first()
    story = _any_issue(site, issue_type__name="Story")
    created = seeded.post("/rest/api/3/issue", {"fields": {
        "project": {"key": project.key}, "issuetype": {"name": "Task"}, "summary": "Contract check",
        "description": adf_doc(adf_paragraph("Body")), "labels": ["contract"], "priority": {"name": "High"}}})
    assert created.status_code == 201
    key = created.body["key"]
    assert seeded.put(f"/rest/api/3/issue/{key}", {"fields": {"summary": "Contract check, edited"}}).status_code == 204
    assert seeded.post(f"/rest/api/3/issue/{key}/transitions", {"transition": {"id": "21"}}).status_code == 204
    comment = seeded.post(f"/rest/api/3/issue/{key}/comment", {"body": adf_doc(adf_paragraph("A comment")),
                                                              "visibility": {"type": "role", "value": "Developers"}})
    assert comment.status_code == 201
    assert seeded.put(f"/rest/api/3/issue/{key}/comment/{comment.body['id']}", {"body": adf_doc(adf_paragraph("Edited"))}).status_code == 200
    assert seeded.post("/rest/api/3/issueLink", {"type": {"name": "Blocks"}, "inwardIssue": {"key": key},
                                                 "outwardIssue": {"key": story.key}}).status_code == 201
    remote = {"globalId": "system=https://ci.example.com&id=1", "object": {"url": "https://ci.example.com/1", "title": "Build 1"}}
    assert seeded.post(f"/rest/api/3/issue/{key}/remotelink", remote).status_code == 201
    assert seeded.put(f"/rest/api/3/issue/{key}/properties/migrayt.source", {"id": 42}).status_code == 201
    sprint = seeded.post("/rest/agile/1.0/sprint", {"name": "Contract sprint", "originBoardId": project.boards.first().pk})
    assert sprint.status_code == 201
    assert seeded.post(f"/rest/agile/1.0/sprint/{sprint.body['id']}/issue", {"issues": [key]}).status_code == 204
    bulk = seeded.post("/rest/api/3/issue/bulk", {"issueUpdates": [
        {"fields": {"project": {"key": project.key}, "issuetype": {"name": "Bug"}, "summary": "One"}},
        {"fields": {"project": {"key": project.key}, "issuetype": {"name": "Bug"}}},
    ]})
    assert bulk.status_code == 201


def test_error_answers_conform(seeded):
    project = seeded.site.jira_projects.first()
    assert seeded.get("/rest/api/3/issue/NOPE-404").status_code == 404
    assert seeded.post("/rest/api/3/issue", {"fields": {"project": {"key": project.key}}}).status_code == 400
    assert seeded.post("/rest/api/3/issue/bulk", {"issueUpdates": [{"fields": {}}]}).status_code == 400
    assert seeded.get("/rest/api/3/search/jql", jql="ORDER BY created").status_code == 400
    assert seeded.get("/rest/api/3/search", jql=f"project = {project.key}").status_code == 410


@pytest.mark.parametrize("path,body", [
    # The comment's author and dates are readOnly in the specification: refused, not silently kept.
    ("/rest/api/3/issue/{key}/comment", {"body": adf_doc(adf_paragraph("x")), "author": {"accountId": "x"}}),
    ("/rest/api/3/issue/{key}/comment", {"body": adf_doc(adf_paragraph("x")), "created": "2020-01-01T00:00:00.000+0000"}),
    # Beans with additionalProperties false refuse a property they do not know.
    ("/rest/api/3/search/jql", {"jql": "project = ACME", "startAt": 0}),
    ("/rest/api/3/issue/bulkfetch", {"issueIdsOrKeys": ["{key}"], "validateQuery": True}),
    ("/rest/api/3/issueLink", {"type": {"name": "Blocks"}, "inwardIssue": {"key": "{key}"}, "outwardIssue": {"key": "{key}"}, "why": 1}),
    ("/rest/agile/1.0/sprint", {"name": "x", "originBoardId": 1, "state": "active"}),
])
def test_bodies_the_specification_forbids_are_refused(seeded, path, body):
    key = _any_issue(seeded.site).key
    body = json.loads(json.dumps(body).replace("{key}", key))
    path = path.replace("{key}", key)
    assert contract.request_problems("POST", path, body), "the case must be one the specification forbids"
    response = seeded.post(path, body)
    assert response.status_code == 400, response.content


def test_the_checker_catches_a_wrong_answer():
    """The contract helper is not a rubber stamp: a field of the wrong type and an unknown one are caught."""
    if not contract.specs_available():
        pytest.skip(f"Atlassian's OpenAPI files are not at {contract.SPECS}")
    assert contract.response_problems("GET", "/rest/api/3/myself", 200, {"accountId": 5})
    assert contract.response_problems("GET", "/rest/api/3/myself", 200, {"accountId": "a", "shoeSize": 44})
    assert not contract.response_problems("GET", "/rest/api/3/myself", 200, {"accountId": "a", "active": True})
    assert contract.response_problems("POST", "/rest/agile/1.0/sprint", 201, {"id": "not-a-number"})
