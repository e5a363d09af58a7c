"""The seeder: realistic projects of any size, the same for the same seed, and an empty destination."""

from datetime import timedelta

import pytest
from django.core.management import call_command

from apps.sandbox import services as sandbox_services
from apps.sandbox.jira.adf import adf_problem
from apps.sandbox.jira.models import (
    JiraAttachment,
    JiraChangelog,
    JiraComment,
    JiraIssue,
    JiraIssueLink,
    JiraProject,
    JiraSprint,
    JiraUser,
)

pytestmark = pytest.mark.django_db


def _fingerprint(site):
    return list(JiraIssue.objects.filter(site=site).order_by("number").values_list(
        "key", "summary", "status_id", "issue_type__name", "parent__key", "labels"))


def test_the_same_seed_gives_the_same_project(cloud_site):
    other = sandbox_services.site_create(kind="jira_cloud", slug="twin")
    sandbox_services.site_seed(site=cloud_site, items=150, seed=11)
    sandbox_services.site_seed(site=other, items=150, seed=11)
    assert _fingerprint(cloud_site) == _fingerprint(other)
    third = sandbox_services.site_create(kind="jira_cloud", slug="different")
    sandbox_services.site_seed(site=third, items=150, seed=12)
    assert _fingerprint(third) != _fingerprint(cloud_site)


def test_a_seeded_project_looks_like_a_real_one(cloud_site):
    summary = sandbox_services.site_seed(site=cloud_site, items=400, seed=5)
    issues = JiraIssue.objects.filter(site=cloud_site).select_related("issue_type", "parent__issue_type")
    assert issues.count() == 400 and summary["issues"] == 400
    by_type = {name: issues.filter(issue_type__name=name).count() for name in ("Epic", "Story", "Task", "Bug", "Sub-task")}
    assert all(by_type.values()), by_type
    for issue in issues:
        if issue.issue_type.hierarchy_level == -1:
            assert issue.parent.issue_type.hierarchy_level == 0
        elif issue.parent_id:
            assert issue.issue_type.hierarchy_level == 0 and issue.parent.issue_type.hierarchy_level == 1
    # Ids follow the keys, as Jira's do.
    numbers = list(issues.order_by("id").values_list("number", flat=True))
    assert numbers == sorted(numbers)
    # Months of history, walking the workflow.
    created = JiraChangelog.objects.filter(issue__site=cloud_site).values_list("created", flat=True)
    assert max(created) - min(created) > timedelta(days=90)
    done = issues.filter(status_id="10002").first()
    statuses = [i["toString"] for h in done.changelogs.all() for i in h.items if i["field"] == "status"]
    assert statuses[-1] == "Done" and done.resolution_id and done.resolutiondate
    # Rich text is valid ADF, comments mention people, some are restricted.
    assert all(adf_problem(i.description) is None for i in issues if i.description)
    comments = JiraComment.objects.filter(issue__site=cloud_site)
    assert all(adf_problem(c.body) is None for c in comments)
    assert any("mention" in str(c.body) for c in comments) and comments.filter(visibility__isnull=False).exists()
    # Inline images point at an attachment of the same issue.
    inline = [i for i in issues if i.description and "mediaSingle" in str(i.description)]
    assert inline
    for issue in inline:
        media = next(n for n in issue.description["content"] if n["type"] == "mediaSingle")["content"][0]["attrs"]["id"]
        attachment = JiraAttachment.objects.get(issue=issue, media_id=media)
        assert bytes(attachment.content).startswith(b"\x89PNG")
    # Sprints in every state, closed ones with their completion date.
    states = set(JiraSprint.objects.filter(site=cloud_site).values_list("state", flat=True))
    assert states == {"closed", "active", "future"}
    assert not JiraSprint.objects.filter(site=cloud_site, state="closed", complete_date__isnull=True).exists()
    assert issues.filter(sprints__state="closed").exists() and issues.filter(sprints__state="active").exists()
    # Components, labels, links and every custom field kind.
    assert issues.exclude(component_ids=[]).exists() and issues.exclude(labels_index="").exists()
    assert JiraIssueLink.objects.filter(site=cloud_site).count() == summary["links"] > 0
    custom_ids = {fid for i in issues for fid in i.custom}
    assert {"customfield_10016", "customfield_10030", "customfield_10031", "customfield_10032", "customfield_10033",
            "customfield_10034", "customfield_10035", "customfield_10036", "customfield_10037", "customfield_10038"} <= custom_ids
    # People: non-Latin names, deactivated accounts, hidden e-mail addresses.
    people = JiraUser.objects.filter(site=cloud_site)
    assert people.filter(display_name="李娜").exists() and people.filter(display_name="محمد علي").exists()
    assert people.filter(active=False).count() == 3 and people.filter(email_visible=False).exists()
    assert issues.filter(reporter__active=False).exists()


def test_data_center_seeding_writes_wiki_markup_and_epic_links(dc_site, jira_dc):
    sandbox_services.site_seed(site=dc_site, items=120, seed=2)
    issues = JiraIssue.objects.filter(site=dc_site)
    assert all(isinstance(i.description, str) for i in issues if i.description)
    assert all(isinstance(c.body, str) for c in JiraComment.objects.filter(issue__site=dc_site))
    story = issues.filter(issue_type__hierarchy_level=0, parent__isnull=False).first()
    fields = jira_dc.get(f"/rest/api/2/issue/{story.key}").body["fields"]
    assert fields["customfield_10014"] == story.parent.key and "parent" not in fields


def test_the_empty_destination(cloud_site, jira):
    summary = sandbox_services.site_seed(site=cloud_site, items=0)
    assert summary["layout"] == "destination" and summary["issues"] == 0
    projects = {p.key: p for p in JiraProject.objects.filter(site=cloud_site)}
    assert (projects["DEST"].style, projects["DEST"].template) == ("classic", "scrum")
    assert projects["TEAM"].style == "next-gen" and projects["TEAM"].own_issue_types.count() == 5
    assert not JiraIssue.objects.filter(site=cloud_site).exists()
    assert {p["key"]: p["style"] for p in jira.get("/rest/api/3/project/search").body["values"]} == {"DEST": "classic", "TEAM": "next-gen"}
    created = jira.post("/rest/api/3/issue", {"fields": {"project": {"key": "DEST"}, "issuetype": {"name": "Story"}, "summary": "First"}})
    assert created.status_code == 201 and created.body["key"] == "DEST-1"


def test_demo_seeding_is_idempotent(db, capsys):
    for _ in range(2):
        call_command("sandbox_seed", kind="jira_cloud", site="jira-destination", items=0, if_empty=True, token="demo-jira-token")
    out = capsys.readouterr().out
    assert "seeded already" in out
    assert JiraProject.objects.filter(site__slug="jira-destination").count() == 2
