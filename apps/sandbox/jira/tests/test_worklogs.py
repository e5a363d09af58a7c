"""Time tracking in the Jira sandbox: estimates and the worklog endpoint, answers checked against the spec."""

import pytest

from apps.sandbox import services as sandbox_services
from apps.sandbox.jira.models import JiraIssue, JiraWorklog

pytestmark = pytest.mark.django_db


def test_the_seed_logs_work_and_the_issue_and_worklog_endpoint_agree(jira):
    summary = sandbox_services.site_seed(site=jira.site, items=40, seed=3)
    assert summary["worklogs"] > 0
    logged = JiraWorklog.objects.filter(issue__site=jira.site).select_related("issue").first()
    issue = logged.issue
    own = list(issue.worklogs.order_by("started", "id"))

    answer = jira.get(f"/rest/api/3/issue/{issue.key}/worklog")
    assert answer.status_code == 200
    assert answer.body["total"] == len(own)
    assert [w["timeSpentSeconds"] for w in answer.body["worklogs"]] == [w.time_spent_seconds for w in own]
    assert answer.body["worklogs"][0]["author"]["accountId"] == own[0].author.account_id

    page = jira.get(f"/rest/api/3/issue/{issue.pk}/worklog", startAt=1, maxResults=1)
    assert page.body["startAt"] == 1 and len(page.body["worklogs"]) == min(1, len(own) - 1)

    fields = jira.get(f"/rest/api/3/issue/{issue.key}",
                      fields="timeoriginalestimate,timeestimate,timespent,timetracking,worklog").body["fields"]
    assert fields["timespent"] == sum(w.time_spent_seconds for w in own)
    assert fields["timeoriginalestimate"] == issue.original_estimate_seconds
    assert fields["timeestimate"] == issue.remaining_estimate_seconds
    assert fields["timetracking"]["timeSpentSeconds"] == fields["timespent"]
    assert fields["worklog"]["total"] == len(own)


def test_an_issue_without_time_tracking_has_none(jira):
    sandbox_services.site_seed(site=jira.site, items=40, seed=3)
    bare = JiraIssue.objects.filter(site=jira.site, original_estimate_seconds__isnull=True).first()
    fields = jira.get(f"/rest/api/3/issue/{bare.key}", fields="timeoriginalestimate,timespent,worklog").body["fields"]
    assert fields["timeoriginalestimate"] is None and fields["timespent"] is None
    assert fields["worklog"]["worklogs"] == []
    assert jira.get("/rest/api/3/issue/NOPE-1/worklog").status_code == 404
