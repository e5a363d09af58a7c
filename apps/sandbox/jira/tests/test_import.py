"""Import of real exports in Jira's own REST JSON, proved on ../shared/realdata/jira (read at test time,
never copied in); what was imported is then served through the API and checked against the spec."""

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
    # Links to issues of projects that are not in the export are counted, not invented.
    assert summary["links_dangling"] > 0
    assert JiraIssueLink.objects.filter(site=cloud_site).count() == summary["links"]
    assert summary["sprints"] >= 1 and JiraIssue.objects.filter(site=cloud_site, sprints__isnull=False).exists()
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
