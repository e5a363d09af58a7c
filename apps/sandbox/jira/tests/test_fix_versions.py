"""Fix versions and affected versions on issues (`fixVersions`, `versions`), as Jira Cloud v3 and Data Center v2
serve them: set on create, bulk create and edit by `{"id"}` or `{"name"}` (an unknown one refused in Jira's words),
`update` verbs, rendered as version objects in an issue, a search and a bulk fetch, listed in /field and the create
metadata, changed in the changelog one item per version ("Fix Version"), searched with JQL `fixVersion`. The Cloud
client checks every answer and accepted body against Atlassian's OpenAPI file."""

import pytest

from apps.sandbox.jira.models import JiraChangelog, JiraIssue, JiraVersion
from apps.sandbox.jira.services import jira_project_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def project(cloud_site):
    return jira_project_create(site=cloud_site, key="MIG", name="Migration")


@pytest.fixture
def versions(jira, project):
    made = {}
    for name, extra in (("1.0", {"released": True, "releaseDate": "2026-02-01"}), ("2.0 Beta", {}),
                        ("Old", {"archived": True})):
        response = jira.post("/rest/api/3/version", {"name": name, "projectId": project.pk, **extra})
        assert response.status_code == 201
        made[name] = response.body["id"]
    return made


def _create(client, fields, api="3", key="MIG"):
    return client.post(f"/rest/api/{api}/issue", {"fields": {"project": {"key": key}, "issuetype": {"name": "Task"},
                                                             "summary": "Fix it", **fields}})


def test_set_on_create_by_name_or_id_and_shown_as_versions(jira, project, versions):
    created = _create(jira, {"fixVersions": [{"name": "1.0"}, {"id": versions["2.0 Beta"]}],
                             "versions": [{"name": "1.0"}]})
    assert created.status_code == 201, created.body
    issue = jira.get(f"/rest/api/3/issue/{created.body['key']}", expand="names").body
    fixed = issue["fields"]["fixVersions"]
    assert [v["name"] for v in fixed] == ["1.0", "2.0 Beta"]
    assert fixed[0] == {"self": f"http://testserver/sandbox/jira/acme-cloud/rest/api/3/version/{versions['1.0']}",
                        "id": versions["1.0"], "description": "", "name": "1.0", "archived": False,
                        "released": True, "releaseDate": "2026-02-01"}
    assert "releaseDate" not in fixed[1] and fixed[1]["released"] is False
    assert [v["id"] for v in issue["fields"]["versions"]] == [versions["1.0"]]
    assert issue["names"]["fixVersions"] == "Fix versions" and issue["names"]["versions"] == "Affects versions"

    found = jira.get("/rest/api/3/search/jql", jql='project = MIG AND fixVersion = "2.0 Beta"',
                     fields="fixVersions").body["issues"]
    assert [(i["key"], [v["name"] for v in i["fields"]["fixVersions"]]) for i in found] == [
        (created.body["key"], ["1.0", "2.0 Beta"])]
    fetched = jira.post("/rest/api/3/issue/bulkfetch", {"issueIdsOrKeys": [created.body["key"]],
                                                        "fields": ["fixVersions", "versions"]}).body["issues"]
    assert [v["name"] for v in fetched[0]["fields"]["fixVersions"]] == ["1.0", "2.0 Beta"]
    # The names in any case, as Jira matches them; none is an empty list.
    plain = _create(jira, {"fixVersions": [{"name": "2.0 beta"}]})
    assert JiraIssue.objects.get(pk=plain.body["id"]).fix_version_ids == [int(versions["2.0 Beta"])]
    bare = _create(jira, {})
    assert jira.get(f"/rest/api/3/issue/{bare.body['id']}", fields="fixVersions").body["fields"]["fixVersions"] == []


def test_the_issue_page_shows_them(client, admin_user, jira, project, versions):
    key = _create(jira, {"fixVersions": [{"name": "2.0 Beta"}], "versions": [{"name": "1.0"}]}).body["key"]
    client.force_login(admin_user)
    page = client.get(f"/sandbox/jira/acme-cloud/browse/{key}/").content.decode()
    assert '<th scope="row">Fix versions</th><td>2.0 Beta</td>' in page
    assert '<th scope="row">Affects versions</th><td>1.0</td>' in page


def test_an_unknown_version_is_refused_as_jira_refuses_it(jira, project, versions, cloud_site):
    other = jira_project_create(site=cloud_site, key="OTH", name="Other")
    theirs = JiraVersion.objects.create(project=other, name="3.0")
    cases = [
        ({"fixVersions": [{"name": "9.9"}]}, {"fixVersions": "Version name '9.9' is not valid"}),
        ({"fixVersions": [{"id": "999999"}]}, {"fixVersions": "Version id '999999' is not valid"}),
        ({"fixVersions": [{"id": str(theirs.pk)}]}, {"fixVersions": f"Version id '{theirs.pk}' is not valid"}),
        ({"versions": [{"name": "3.0"}]}, {"versions": "Version name '3.0' is not valid"}),
        ({"fixVersions": {"name": "1.0"}}, {"fixVersions": "data was not an array"}),
    ]
    for fields, errors in cases:
        refused = jira.request("POST", "/rest/api/3/issue", {"fields": {
            "project": {"key": "MIG"}, "issuetype": {"name": "Task"}, "summary": "x", **fields}})
        assert refused.status_code == 400 and refused.body == {"errorMessages": [], "errors": errors}, fields
    assert not JiraIssue.objects.filter(project=project).exists()

    bulk = jira.post("/rest/api/3/issue/bulk", {"issueUpdates": [
        {"fields": {"project": {"key": "MIG"}, "issuetype": {"name": "Task"}, "summary": "good",
                    "fixVersions": [{"name": "1.0"}]}},
        {"fields": {"project": {"key": "MIG"}, "issuetype": {"name": "Task"}, "summary": "bad",
                    "fixVersions": [{"name": "Nope"}]}}]})
    assert bulk.status_code == 201 and len(bulk.body["issues"]) == 1
    assert bulk.body["errors"] == [{"status": 400, "failedElementNumber": 1, "elementErrors": {
        "errorMessages": [], "errors": {"fixVersions": "Version name 'Nope' is not valid"}}}]


def test_an_edit_writes_one_changelog_item_per_version_added_or_removed(jira, project, versions):
    key = _create(jira, {"fixVersions": [{"name": "1.0"}]}).body["key"]
    assert jira.put(f"/rest/api/3/issue/{key}", {"fields": {"fixVersions": [{"name": "2.0 Beta"}]}}).status_code == 204
    history = jira.get(f"/rest/api/3/issue/{key}/changelog").body["values"]
    assert [(i["field"], i["fieldId"], i["from"], i["fromString"], i["to"], i["toString"])
            for i in history[-1]["items"]] == [
        ("Fix Version", "fixVersions", None, None, versions["2.0 Beta"], "2.0 Beta"),
        ("Fix Version", "fixVersions", versions["1.0"], "1.0", None, None)]

    # The update verbs: add and remove one version, by name or id; set a list.
    verbs = {"update": {"fixVersions": [{"add": {"name": "1.0"}}, {"remove": {"id": versions["2.0 Beta"]}}],
                        "versions": [{"set": [{"name": "2.0 Beta"}]}]}}
    assert jira.put(f"/rest/api/3/issue/{key}", verbs).status_code == 204
    issue = JiraIssue.objects.get(key=key)
    assert (issue.fix_version_ids, issue.affects_version_ids) == ([int(versions["1.0"])], [int(versions["2.0 Beta"])])
    items = JiraChangelog.objects.filter(issue=issue).last().items
    assert {(i["field"], i["to"] or "", i["from"] or "") for i in items} == {
        ("Fix Version", versions["1.0"], ""), ("Fix Version", "", versions["2.0 Beta"]),
        ("Version", versions["2.0 Beta"], "")}

    # The same versions again: nothing changes, no entry.
    before = JiraChangelog.objects.filter(issue=issue).count()
    assert jira.put(f"/rest/api/3/issue/{key}", {"fields": {"fixVersions": [{"id": versions["1.0"]}]}}).status_code == 204
    assert JiraChangelog.objects.filter(issue=issue).count() == before
    refused = jira.put(f"/rest/api/3/issue/{key}", {"update": {"fixVersions": [{"add": {"name": "4.0"}}]}})
    assert refused.status_code == 400 and refused.body["errors"] == {"fixVersions": "Version name '4.0' is not valid"}
    assert jira.put(f"/rest/api/3/issue/{key}", {"update": {"fixVersions": [{"copy": {"name": "1.0"}}]}}).status_code == 400
    assert JiraIssue.objects.get(key=key).fix_version_ids == [int(versions["1.0"])]


def test_listed_in_the_fields_and_the_create_metadata(jira, project, versions):
    fields = {f["id"]: f for f in jira.get("/rest/api/3/field").body}
    assert fields["fixVersions"]["schema"] == {"type": "array", "items": "version", "system": "fixVersions"}
    assert fields["fixVersions"]["clauseNames"] == ["fixVersion"] and fields["fixVersions"]["orderable"] is True
    assert fields["versions"]["clauseNames"] == ["affectedVersion"]
    task = next(t for t in jira.get("/rest/api/3/issue/createmeta/MIG/issuetypes").body["issueTypes"]
                if t["name"] == "Task")
    meta = {f["fieldId"]: f for f in jira.get(f"/rest/api/3/issue/createmeta/MIG/issuetypes/{task['id']}",
                                              maxResults="200").body["fields"]}
    assert [v["name"] for v in meta["fixVersions"]["allowedValues"]] == ["1.0", "2.0 Beta"]  # not the archived one
    assert set(meta["fixVersions"]["operations"]) == {"set", "add", "remove"}
    assert meta["versions"]["name"] == "Affects versions"
    # The edit metadata of an issue lists them the same way, keyed by field.
    key = _create(jira, {}).body["key"]
    edit = jira.get(f"/rest/api/3/issue/{key}/editmeta").body["fields"]
    assert [v["id"] for v in edit["fixVersions"]["allowedValues"]] == [versions["1.0"], versions["2.0 Beta"]]
    assert "project" not in edit and edit["summary"]["required"] is True
    assert jira.get("/rest/api/3/issue/MIG-999/editmeta").status_code == 404


def test_jql_finds_issues_by_fix_version_and_affected_version(jira, project, versions):
    one = _create(jira, {"fixVersions": [{"name": "1.0"}], "versions": [{"name": "2.0 Beta"}]}).body["key"]
    two = _create(jira, {}).body["key"]

    def keys(jql):
        response = jira.get("/rest/api/3/search/jql", jql=jql, fields="summary")
        assert response.status_code == 200, response.body
        return [i["key"] for i in response.body["issues"]]

    assert keys('project = MIG AND fixVersion = "1.0"') == [one]
    assert keys(f"project = MIG AND fixVersion = {versions['1.0']}") == [one]
    assert keys('project = MIG AND affectedVersion = "2.0 Beta"') == [one]
    assert keys("project = MIG AND fixVersion IS EMPTY ORDER BY key") == [two]
    assert keys('project = MIG AND fixVersion != "1.0" ORDER BY key') == [two]
    unknown = jira.get("/rest/api/3/search/jql", jql='project = MIG AND fixVersion = "7.7"')
    assert unknown.status_code == 400 and "'7.7'" in unknown.body["errorMessages"][0]


def test_data_center_names_them_as_data_center_does(jira_dc, dc_site):
    project = jira_project_create(site=dc_site, key="DCP", name="Data Center project")
    version = jira_dc.post("/rest/api/2/version", {"name": "9.1", "project": "DCP"}).body
    created = _create(jira_dc, {"fixVersions": [{"name": "9.1"}]}, api="2", key="DCP")
    assert created.status_code == 201, created.body
    issue = jira_dc.get(f"/rest/api/2/issue/{created.body['key']}", expand="names").body
    assert issue["fields"]["fixVersions"][0]["id"] == version["id"]
    assert issue["fields"]["fixVersions"][0]["self"].endswith(f"/rest/api/2/version/{version['id']}")
    assert issue["names"]["fixVersions"] == "Fix Version/s"
    fields = {f["id"]: f for f in jira_dc.get("/rest/api/2/field").body}
    assert fields["versions"]["name"] == "Affects Version/s"
    assert JiraIssue.objects.get(project=project).fix_version_ids == [int(version["id"])]


def test_the_seed_fixes_about_a_third_of_stories_and_bugs_some_through_the_changelog(seeded_cloud):
    issues = list(JiraIssue.objects.filter(site=seeded_cloud).select_related("issue_type"))
    versions = {v.pk: v.name for v in JiraVersion.objects.filter(project__site=seeded_cloud)}
    assert len(versions) >= 3
    candidates = [i for i in issues if i.issue_type.name in ("Story", "Bug")]
    fixed = [i for i in candidates if i.fix_version_ids]
    assert 0.2 <= len(fixed) / len(candidates) <= 0.5, (len(fixed), len(candidates))
    assert not [i for i in issues if i.fix_version_ids and i.issue_type.name not in ("Story", "Bug")]
    assert any(i.affects_version_ids for i in fixed)
    later = 0
    for issue in fixed:
        # The changelog explains the versions: undone newest first from today's, every change names a real one.
        names = {versions[pk] for pk in issue.fix_version_ids}
        entries = [e for e in issue.changelogs.order_by("-created") if any(
            i["fieldId"] == "fixVersions" for i in e.items)]
        for entry in entries:
            assert issue.created <= entry.created <= issue.updated
            for item in entry.items:
                assert item["field"] == "Fix Version" and (item["to"] or item["from"])
                if item["to"]:
                    assert versions[int(item["to"])] == item["toString"] and item["toString"] in names
                    names.discard(item["toString"])
                else:
                    assert versions[int(item["from"])] == item["fromString"] and item["fromString"] not in names
                    names.add(item["fromString"])
        later += bool(entries)
    assert 0 < later < len(fixed)


def test_an_import_keeps_the_export_s_fix_versions(jira, cloud_site):
    from pathlib import Path

    from django.conf import settings

    from apps.sandbox import services as sandbox_services

    path = Path(settings.BASE_DIR).parent / "shared" / "realdata" / "jira" / "issueshark" / "drill_1_issue.json"
    if not path.exists():
        pytest.skip(f"no real export at {path}")
    sandbox_services.site_import(site=cloud_site, path=path)
    issue = JiraIssue.objects.get(site=cloud_site, key="DRILL-1")
    shown = jira.get(f"/rest/api/3/issue/{issue.key}", fields="fixVersions").body["fields"]["fixVersions"]
    # As the export has it: 0.4.0, "Developer Preview", released on 2014-08-07.
    assert [(v["name"], v["description"], v["released"], v.get("releaseDate")) for v in shown] == [
        ("0.4.0", "Developer Preview", True, "2014-08-07")]
