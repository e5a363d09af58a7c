"""Import of real exports in Jira's own REST JSON, proved on ../shared/realdata/jira (read at test time,
never copied in); what was imported is then served through the API and checked against the spec."""

import json
from pathlib import Path

import pytest
from django.conf import settings

from apps.sandbox import services as sandbox_services
from apps.sandbox.jira.adf import adf_problem
from apps.sandbox.jira.models import JiraChangelog, JiraComment, JiraIssue, JiraIssueLink, JiraUser

pytestmark = pytest.mark.django_db
REALDATA = Path(settings.BASE_DIR).parent / "shared" / "realdata" / "jira"


def _realdata(name):
    path = REALDATA / name
    if not path.exists():
        pytest.skip(f"The real Jira exports are not at {path}")
    return path


def test_a_whole_small_cloud_project_devlake(jira, cloud_site):
    summary = sandbox_services.site_import(site=cloud_site, path=_realdata("devlake-raw"))
    assert summary["projects"] == ["DZFNK0168", "EE", "K5"] and summary["unreadable_files"] == []
    ee = JiraIssue.objects.filter(site=cloud_site, project__key="EE")
    assert ee.count() == 30
    # Chinese issue type names kept, with their hierarchy levels.
    assert {"故事", "任务", "缺陷", "子任务"} <= set(summary["issue_types"])
    subtasks = ee.filter(issue_type__name="子任务")
    assert subtasks.exists() and all(s.issue_type.hierarchy_level == -1 for s in subtasks)
    assert all(s.parent_id for s in subtasks)
    # Histories over the issue's life: 10-31 per issue in the export, joined with the separately fetched pages.
    assert min(i.changelogs.count() for i in ee) >= 10
    assert JiraChangelog.objects.filter(issue__site=cloud_site).count() == summary["changelogs"] >= 279
    # Deactivated people and hidden e-mail addresses are kept as the export has them.
    assert JiraUser.objects.filter(site=cloud_site, active=False).exists()
    assert JiraUser.objects.filter(site=cloud_site, email="").exists()
    # Wiki comments became valid ADF on a Cloud site.
    comments = JiraComment.objects.filter(issue__site=cloud_site)
    assert comments.count() == summary["comments"] > 0 and all(adf_problem(c.body) is None for c in comments)
    # Links to issues of projects the export does not hold (the Jira Server bugs' IP8CUD168-*, M2VRIQ168-*):
    # each such issue is made in its own project from the link's reference, listed, and not counted as imported.
    linked = JiraIssue.objects.filter(site=cloud_site, key__in=summary["issues_from_links"])
    assert linked.count() == len(summary["issues_from_links"]) > 0
    assert {i.project.key for i in linked} >= {"IP8CUD168", "M2VRIQ168"} and "IP8CUD168" not in summary["projects"]
    assert all(i.summary and i.changelogs.count() == 0 for i in linked)
    assert JiraIssueLink.objects.filter(site=cloud_site).count() == summary["links"]
    assert JiraIssueLink.objects.filter(site=cloud_site, outward_issue__in=linked).exists() or \
        JiraIssueLink.objects.filter(site=cloud_site, inward_issue__in=linked).exists()
    assert summary["sprints"] >= 1 and JiraIssue.objects.filter(site=cloud_site, sprints__isnull=False).exists()
    # Remote links (devlake's GitLab commits), each on the issue the row names, the same one kept once.
    from collections import defaultdict

    from apps.sandbox.jira.models import JiraRemoteLink

    rows = json.loads((_realdata("devlake-raw") / "_raw_jira_api_remotelinks.json").read_text())["rows"]
    by_key = defaultdict(set)
    for row in rows:
        key = row["data"]["self"].split("/issue/", 1)[1].split("/", 1)[0]
        by_key[key].add((row["data"]["object"]["url"], row["data"]["object"]["title"]))
    imported = defaultdict(set)
    for link in JiraRemoteLink.objects.filter(issue__site=cloud_site).select_related("issue"):
        imported[link.issue.key].add((link.object["url"], link.object["title"]))
    held = set(JiraIssue.objects.filter(site=cloud_site).values_list("key", flat=True))
    assert imported == {k: v for k, v in by_key.items() if k in held} and imported
    assert JiraRemoteLink.objects.filter(issue__site=cloud_site).count() == summary["remote_links"]
    # Most of the 151 name issues the export does not hold: counted, not attached to another.
    assert summary["remote_links_without_issue"] == sum(
        1 for row in rows if row["data"]["self"].split("/issue/", 1)[1].split("/", 1)[0] not in held) > 0
    # What was imported is served as Jira serves it.
    for issue in ee.order_by("id")[:10]:
        assert jira.get(f"/rest/api/3/issue/{issue.key}", expand="changelog").status_code == 200
    assert jira.post("/rest/api/3/search/approximate-count", {"jql": "project = EE"}).body == {"count": 30}


def test_apache_issues_with_their_history_issueshark(jira, cloud_site):
    summary = sandbox_services.site_import(site=cloud_site, path=_realdata("issueshark"))
    assert summary["issues"] == 3 and summary["projects"] == ["DRILL"]
    drill38 = JiraIssue.objects.get(site=cloud_site, key="DRILL-38")
    assert drill38.changelogs.count() == 7
    assert drill38.status_id == "10002"  # Resolved/Closed map to Done
    assert summary["status_mapping"]["Resolved"] == "Done"
    assert jira.get("/rest/api/3/issue/DRILL-38").body["fields"]["description"] is None  # none in the export
    description = jira.get("/rest/api/3/issue/DRILL-1").body["fields"]["description"]
    assert description["type"] == "doc" and "Thrift-based" in str(description)  # wiki markup converted to ADF


def test_jrjc_responses_import_into_a_data_center_site(dc_site, jira_dc):
    summary = sandbox_services.site_import(site=dc_site, path=_realdata("jira-rest-java-client"))
    # The deliberately malformed file is reported, not a crash.
    assert any(name.startswith("issues-invalid-total.json") for name in summary["unreadable_files"])
    assert "TIMETRACKING" in summary["projects"] and summary["attachments"] > 0 and summary["comments"] > 0
    issue = JiraIssue.objects.filter(site=dc_site, key="TST-1").first() or JiraIssue.objects.filter(site=dc_site).first()
    got = jira_dc.get(f"/rest/api/2/issue/{issue.key}").body
    assert got["key"] == issue.key
    assert got["fields"]["description"] is None or isinstance(got["fields"]["description"], str)  # wiki stays wiki on DC


def test_import_is_idempotent_and_accepts_a_single_file(cloud_site):
    path = _realdata("issueshark") / "drill_38_issue.json"
    first = sandbox_services.site_import(site=cloud_site, path=path)
    again = sandbox_services.site_import(site=cloud_site, path=path)
    assert first["issues"] == again["issues"] == 1
    assert JiraIssue.objects.filter(site=cloud_site).count() == 1
    assert JiraChangelog.objects.filter(issue__site=cloud_site).count() == 7


@pytest.mark.parametrize("folder", ["jira-ruby", "jira-cli", "go-jira", "mattermost-jira-webhooks"])
def test_other_real_exports_import_and_serve(jira, cloud_site, folder):
    summary = sandbox_services.site_import(site=cloud_site, path=_realdata(folder))
    assert summary["issues"] > 0
    for issue in JiraIssue.objects.filter(site=cloud_site).order_by("id")[:8]:
        assert jira.get(f"/rest/api/3/issue/{issue.key}").status_code == 200


# --- what real exports do that the import must survive (shapes as devlake's raw tables hold them) ------------


def _issue(key, issue_id, status, **fields):
    return {"id": issue_id, "key": key, "fields": {
        "summary": f"Issue {key}", "issuetype": {"id": "10001", "name": "故事", "subtask": False, "hierarchyLevel": 0},
        "project": {"key": key.split("-")[0], "name": "Project"}, "status": status, "created": "2021-01-20T10:00:00.000+0800",
        "updated": "2021-01-25T10:00:00.000+0800", "labels": [], "priority": {"name": "Medium"}, **fields}}


def _rows(*data, inputs=None):
    return {"rows": [{"id": n, "data": d, "input": (inputs or {}).get(n)} for n, d in enumerate(data)]}


def test_a_status_the_export_names_two_ways_gets_one_mapping_and_the_changelog_names_the_sites_statuses(
        cloud_site, tmp_path):
    import json

    done = {"id": "10068", "name": "已完成", "statusCategory": {"key": "done"}}
    odd = {"id": "10068", "name": "已完成", "statusCategory": {"key": "new"}}  # one copy says "new"
    history = {"id": "1", "author": {"accountId": "a1", "displayName": "Ann"}, "created": "2021-01-21T10:00:00.000+0800",
               "items": [{"field": "status", "fieldId": "status", "from": "1", "fromString": "Open", "to": "10068",
                          "toString": "已完成"}]}
    issues = [_issue("EE-1", "101", done), _issue("EE-2", "102", done), _issue("EE-3", "103", odd)]
    issues[2]["changelog"] = {"histories": [history]}
    (tmp_path / "issues.json").write_text(json.dumps(_rows(*issues)), encoding="utf-8")
    summary = sandbox_services.site_import(site=cloud_site, path=tmp_path)
    assert summary["status_mapping"]["已完成"] == "Done"
    assert {i.status_id for i in JiraIssue.objects.filter(site=cloud_site)} == {"10002"}  # all three Done
    items = JiraChangelog.objects.get(issue__key="EE-3").items
    assert (items[0]["fromString"], items[0]["toString"]) == ("To Do", "Done")


def test_changelog_pages_name_their_author_in_self_and_pages_of_issues_not_exported_are_counted(cloud_site, tmp_path):
    import json

    issue = _issue("EE-1", "101", {"id": "3", "name": "In Progress", "statusCategory": {"key": "indeterminate"}})
    (tmp_path / "issues.json").write_text(json.dumps(_rows(issue)), encoding="utf-8")
    author = {"self": "https://merico.atlassian.net/rest/api/3/user?accountId=5fb48fe20d2f61006f0d0106",
              "accountId": "", "emailAddress": "", "displayName": "Runjuu", "active": False}
    page = {"id": "57278", "author": author, "created": "2021-01-25T11:09:27.985+0800",
            "items": [{"field": "RemoteIssueLink", "fieldtype": "jira", "from": None, "to": "10042",
                       "toString": "This issue links to \"Commit\""}]}
    elsewhere = dict(page, id="57279", created="2021-01-26T11:09:27.985+0800")
    (tmp_path / "changelogs.json").write_text(json.dumps(_rows(page, elsewhere, inputs={
        0: {"issue_id": 101}, 1: {"issue_id": 13383}})), encoding="utf-8")
    summary = sandbox_services.site_import(site=cloud_site, path=tmp_path)
    entry = JiraChangelog.objects.get(issue__key="EE-1")
    assert entry.author is not None and entry.author.account_id == "5fb48fe20d2f61006f0d0106"
    assert entry.author.active is False
    assert summary["changelogs_without_issue"] == 1 and summary["changelog_issue_ids_missing"] == ["13383"]


def test_a_data_center_site_keeps_only_the_parents_data_center_holds(dc_site, tmp_path):
    import json

    todo = {"id": "10000", "name": "To Do", "statusCategory": {"key": "new"}}
    story = _issue("EE-3", "103", todo)
    subtask = _issue("EE-36", "136", todo, parent={"key": "EE-3"},
                     issuetype={"id": "10003", "name": "子任务", "subtask": True, "hierarchyLevel": -1})
    execution = _issue("EE-37", "137", todo, parent={"key": "EE-3"},  # an Xray Test Execution under a story
                       issuetype={"id": "10011", "name": "Test Execution", "subtask": False, "hierarchyLevel": 0})
    (tmp_path / "issues.json").write_text(json.dumps(_rows(story, subtask, execution)), encoding="utf-8")
    summary = sandbox_services.site_import(site=dc_site, path=tmp_path)
    assert summary["parents_not_held"] == ["EE-37"]
    assert JiraIssue.objects.get(site=dc_site, key="EE-36").parent.key == "EE-3"
    assert JiraIssue.objects.get(site=dc_site, key="EE-37").parent is None


def test_worklogs_and_estimates_are_imported_from_the_issue_and_from_separate_worklog_pages(cloud_site, tmp_path):
    import json

    from apps.sandbox.jira.models import JiraWorklog

    ann = {"accountId": "a1", "displayName": "Ann", "active": False}
    logged = {"id": "10010", "author": ann, "started": "2021-01-22T09:00:00.000+0800", "timeSpentSeconds": 3600,
              "comment": "fixed the chart", "created": "2021-01-22T18:00:00.000+0800"}
    issue = _issue("EE-1", "101", {"id": "3", "name": "In Progress", "statusCategory": {"key": "indeterminate"}},
                   timeoriginalestimate=14400, timeestimate=7200, worklog={"worklogs": [logged]})
    (tmp_path / "issues.json").write_text(json.dumps(_rows(issue)), encoding="utf-8")
    more = dict(logged, id="10011", started="2021-01-23T09:00:00.000+0800", timeSpentSeconds=1800)
    (tmp_path / "worklogs.json").write_text(json.dumps(_rows(logged, more, dict(more, id="9"), inputs={
        0: {"issue_id": 101}, 1: {"issue_id": 101}, 2: {"issue_id": 10085}})), encoding="utf-8")
    summary = sandbox_services.site_import(site=cloud_site, path=tmp_path)
    issue = JiraIssue.objects.get(site=cloud_site, key="EE-1")
    assert (issue.original_estimate_seconds, issue.remaining_estimate_seconds) == (14400, 7200)
    logs = list(JiraWorklog.objects.filter(issue=issue))
    assert [w.time_spent_seconds for w in logs] == [3600, 1800] and all(w.author.display_name == "Ann" for w in logs)
    assert adf_problem(logs[0].comment) is None  # wiki text became ADF on a Cloud site
    assert summary["worklogs"] == 2 and summary["worklogs_without_issue"] == 1
