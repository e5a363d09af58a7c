"""The Jira destination (connectors/jira/writer.py) against the Jira sandbox, Cloud and Data Center sites,
served by a live server on 127.0.0.1. The connector's HTTP is real; what Jira holds afterwards is read from
the sandbox's own tables."""

import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from django.conf import settings

from apps.connections.connectors.base import ConnectionConfig, ConnectionKind
from apps.connections.connectors.jira import JiraCloudConnector, JiraDataCenterConnector
from apps.connections.connectors.jira.payloads import SOURCE_PROPERTY
from apps.connections.connectors.jira.writer import JiraWriter
from apps.connections.connectors.records import ErrorCategory, ItemWrite, LinkWrite
from apps.connections.connectors.ssrf import SsrfPolicy

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not settings.SANDBOX_ENABLED, reason="the sandbox is off (MIGRAYT_SANDBOX_ENABLED)"),
]

LOCAL = SsrfPolicy.permissive_local()
ADMIN_EMAIL = "sandbox.admin@migrayt.local"
CLOUD_SECRET = "writer-cloud-token"
DC_SECRET = "writer-dc-token"
ROOT = Path(__file__).resolve().parents[3]


def _site(kind, slug, secret):
    from apps.sandbox import services as sandbox
    from apps.sandbox.jira.adapter import FULL_SCOPES
    from apps.sandbox.jira.services import jira_principal, jira_project_create, jira_site_admin

    site = sandbox.site_create(kind=kind, slug=slug)
    sandbox.token_create(site=site, name="writer", scopes=list(FULL_SCOPES),
                         principal=jira_principal(user=jira_site_admin(site=site)), secret=secret)
    jira_project_create(site=site, key="MIG", name="Migration")
    return site


@pytest.fixture
def cloud_site():
    return _site("jira_cloud", "writer-cloud", CLOUD_SECRET)


@pytest.fixture
def dc_site():
    return _site("jira_dc", "writer-dc", DC_SECRET)


def _cloud_config(live_server, site):
    return ConnectionConfig(kind=ConnectionKind.JIRA_CLOUD, base_url=f"{live_server.url}/sandbox/jira/{site.slug}",
                            token=CLOUD_SECRET, email=ADMIN_EMAIL)


@pytest.fixture
def cloud(live_server, cloud_site):
    with JiraCloudConnector(_cloud_config(live_server, cloud_site), policy=LOCAL) as connector:
        yield JiraWriter(connector, run_id="run-1")


@pytest.fixture
def impatient_cloud(live_server, cloud_site):
    """A writer for fault tests: a dropped connection can leave a client waiting for the rest of the answer
    until its read timeout, so short timeouts and backoffs keep these tests quick."""
    from apps.connections.connectors.http import HttpClient, basic_auth

    config = _cloud_config(live_server, cloud_site)
    http = HttpClient(base_url=config.base_url, policy=LOCAL, auth=basic_auth(ADMIN_EMAIL, CLOUD_SECRET),
                      timeout=httpx.Timeout(2.0, connect=2.0), backoff_initial=0.05, backoff_max=0.3)
    with JiraCloudConnector(config, policy=LOCAL, http=http) as connector:
        yield JiraWriter(connector, run_id="run-1")


@pytest.fixture
def dc(live_server, dc_site):
    config = ConnectionConfig(kind=ConnectionKind.JIRA_DATA_CENTER, token=DC_SECRET,
                              base_url=f"{live_server.url}/sandbox/jira/{dc_site.slug}")
    with JiraDataCenterConnector(config, policy=LOCAL) as connector:
        yield JiraWriter(connector, run_id="run-1")


def _type_id(site, name):
    from apps.sandbox.jira.models import JiraIssueType

    return str(JiraIssueType.objects.get(site=site, project__isnull=True, name=name).pk)


def _items(site, count, prefix="ado", **extra):
    task = _type_id(site, "Task")
    return [ItemWrite(source_id=f"{prefix}-{n}", type_id=task, summary=f"Item {n}",
                      source_url=f"https://dev.azure.com/fabrikam/_workitems/edit/{n}", source_key=str(n), **extra)
            for n in range(1, count + 1)]


def _source_property(issue_key):
    from apps.sandbox.jira.models import JiraEntityProperty

    return JiraEntityProperty.objects.get(issue__key=issue_key, key=SOURCE_PROPERTY).value


def _bulk_requests(writer):
    api = "3" if writer.cloud else "2"
    return writer.http.stats.requests[f"POST /rest/api/{api}/issue/bulk"]


# --- creating items ---------------------------------------------------------------------------------


def test_bulk_create_of_120_items_takes_three_requests_and_every_issue_carries_its_source(cloud, cloud_site):
    from apps.sandbox.jira.models import JiraIssue

    results = cloud.create_items(_items(cloud_site, 120), project="MIG")
    assert [r.ok for r in results] == [True] * 120
    assert _bulk_requests(cloud) == 3
    assert len({r.key for r in results}) == 120
    assert JiraIssue.objects.filter(site=cloud_site).count() == 120
    for number, result in enumerate(results, start=1):
        assert _source_property(result.key) == {
            "source_id": f"ado-{number}", "source_key": str(number), "run_id": "run-1",
            "source_url": f"https://dev.azure.com/fabrikam/_workitems/edit/{number}"}
        assert JiraIssue.objects.get(key=result.key).summary == f"Item {number}"


def test_a_partial_failure_is_mapped_to_the_element_that_failed(cloud, cloud_site):
    from apps.sandbox.jira.models import JiraIssue

    items = _items(cloud_site, 5)
    items[1] = ItemWrite(source_id="ado-2", type_id=items[1].type_id, summary="Bad severity",
                         fields={"customfield_10030": "Catastrophic"})
    items[3] = ItemWrite(source_id="ado-4", type_id=items[3].type_id, summary="Bad reporter", reporter="no-such-account")
    results = cloud.create_items(items, project="MIG")
    assert [r.ok for r in results] == [True, False, True, False, True]
    assert _bulk_requests(cloud) == 1
    assert results[1].error.category == ErrorCategory.PERMANENT
    assert "customfield_10030" in results[1].error.field_errors
    assert "Catastrophic" in results[1].error.field_errors["customfield_10030"]
    assert "reporter" in results[3].error.field_errors
    # The issues created after a failed element belong to the right source items.
    for result in (results[0], results[2], results[4]):
        assert _source_property(result.key)["source_id"] == result.source_id
    assert JiraIssue.objects.filter(site=cloud_site).count() == 3


def test_bad_input_is_refused_before_sending_with_a_clear_answer(cloud, cloud_site):
    task = _type_id(cloud_site, "Task")
    results = cloud.create_items([
        ItemWrite(source_id="a", type_id=task, summary="   "),
        ItemWrite(source_id="b", type_id="99999", summary="Unknown type"),
        ItemWrite(source_id="c", type_id=task, summary="Unknown field", fields={"customfield_99999": 1}),
        ItemWrite(source_id="d", type_id=task, summary="Not a number", fields={"customfield_10032": "lots"}),
        ItemWrite(source_id="d", type_id=task, summary="Twice"),
    ], project="MIG")
    assert [r.error.code for r in results] == ["field_invalid", "unknown_issue_type", "field_invalid", "field_invalid",
                                               "duplicate_source_id"]
    assert "summary" in results[0].error.message
    assert results[1].error.category == ErrorCategory.CONFIG
    assert "no such field" in results[2].error.message
    assert "'lots' is not a number" in results[3].error.message
    assert _bulk_requests(cloud) == 0


def test_field_values_are_shaped_by_the_destination_schema_on_cloud(cloud, cloud_site):
    from apps.sandbox.jira.models import JiraIssue, JiraUser
    from apps.sandbox.jira.services import component_create

    JiraUser.objects.create(site=cloud_site, account_id="acc-ana", name="ana", key="JIRAUSER1", display_name="Ana")
    project = JiraIssue._meta.get_field("project").related_model.objects.get(site=cloud_site, key="MIG")
    component = component_create(project=project, name="Backend")
    epic = cloud.create_items([ItemWrite(source_id="e1", type_id=_type_id(cloud_site, "Epic"), summary="Epic")],
                              project="MIG")[0]
    result = cloud.create_items([ItemWrite(
        source_id="s1", type_id=_type_id(cloud_site, "Story"), summary="Line one\nline two", parent_id=epic.destination_id,
        description="Plain text\n\nbecomes ADF", labels=("needs review", "ui"), component_ids=(str(component.pk),),
        priority="High", assignee="acc-ana", reporter="acc-ana",
        fields={"customfield_10030": "Major", "customfield_10031": ["Web", "iOS"], "customfield_10032": "2.5",
                "customfield_10033": datetime(2025, 3, 4, 15, 0, tzinfo=UTC), "customfield_10034": "acc-ana",
                "customfield_10016": 5, "customfield_10036": "Contoso"},
    )], project="MIG")[0]
    assert result.ok, result.error
    issue = JiraIssue.objects.get(key=result.key)
    assert issue.summary == "Line one line two"
    assert issue.parent.key == epic.key
    assert issue.labels == ["needs_review", "ui"]
    assert issue.component_ids == [component.pk]
    assert issue.priority_id == "2" and issue.assignee.account_id == "acc-ana" and issue.reporter.account_id == "acc-ana"
    assert issue.description["type"] == "doc" and len(issue.description["content"]) == 2
    assert issue.custom["customfield_10032"] == 2.5 and issue.custom["customfield_10033"] == "2025-03-04"
    assert issue.custom["customfield_10034"] == "acc-ana" and issue.custom["customfield_10016"] == 5
    assert len(issue.custom["customfield_10031"]) == 2 and issue.custom["customfield_10036"] == "Contoso"


def test_data_center_bulk_create_uses_names_wiki_and_the_epic_link(dc, dc_site):
    from apps.sandbox.jira.models import JiraIssue, JiraUser

    JiraUser.objects.create(site=dc_site, account_id="dc-bo", name="bo", key="JIRAUSER2", display_name="Bo")
    epic = dc.create_items([ItemWrite(source_id="e1", type_id=_type_id(dc_site, "Epic"), summary="Epic")], project="MIG")[0]
    items = _items(dc_site, 60, parent_id=epic.destination_id, parent_key=epic.key, assignee="bo",
                   description="h2. Wiki *markup*")
    results = dc.create_items(items, project="MIG")
    assert all(r.ok for r in results), [r.error for r in results if not r.ok][:1]
    assert _bulk_requests(dc) == 3  # the epic, then 60 items in two requests
    issue = JiraIssue.objects.get(key=results[59].key)
    assert issue.parent.key == epic.key and issue.assignee.name == "bo" and issue.description == "h2. Wiki *markup*"
    assert _source_property(results[59].key)["source_id"] == "ado-60"
    subtask = dc.create_items([ItemWrite(source_id="st", type_id=_type_id(dc_site, "Sub-task"), summary="Sub",
                                         parent_id=results[0].destination_id)], project="MIG")[0]
    assert subtask.ok and JiraIssue.objects.get(key=subtask.key).parent.key == results[0].key


def test_a_dropped_create_is_not_repeated_and_reconciliation_finds_what_it_made(impatient_cloud, cloud_site):
    """The sandbox's `drop` fault runs the write, then cuts the connection: the writer must not send it again,
    must say the outcome is unknown, and reconciliation must find the issues afterwards."""
    from apps.sandbox import services as sandbox
    from apps.sandbox.jira.models import JiraIssue

    cloud = impatient_cloud
    since = datetime.now(UTC)
    cloud.fields_schema(), cloud.project("MIG")
    sandbox.site_controls_update(site=cloud_site, controls={"fault_rate": 1.0, "fault_kinds": ["drop"], "seed": 3})
    results = cloud.create_items(_items(cloud_site, 7), project="MIG")
    assert all(r.error and r.error.ambiguous and r.error.category == ErrorCategory.TRANSIENT for r in results)
    assert "reconcile" in results[0].error.message
    assert _bulk_requests(cloud) == 1
    assert JiraIssue.objects.filter(site=cloud_site).count() == 7
    sandbox.site_controls_update(site=cloud_site, controls={"fault_rate": 0.0, "fault_kinds": []})
    found = cloud.reconcile_created(project="MIG", since=since, source_ids=[r.source_id for r in results])
    assert sorted(found) == sorted(r.source_id for r in results)
    for source_id, (issue_id, key) in found.items():
        assert JiraIssue.objects.get(pk=issue_id).key == key
        assert _source_property(key)["source_id"] == source_id


# --- reconciliation -----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["cloud", "dc"])
def test_reconciliation_finds_exactly_the_unrecorded_items_of_this_run(kind, request):
    writer = request.getfixturevalue(kind)
    site = request.getfixturevalue(f"{kind}_site")
    from apps.sandbox.jira.models import JiraIssue
    from apps.sandbox.jira.services import issue_create, jira_site_admin

    before = datetime.now(UTC) - timedelta(seconds=1)
    # Made before the window: not a candidate however it is tagged.
    old = writer.create_items(_items(site, 2, prefix="old"), project="MIG")
    JiraIssue.objects.filter(key__in=[r.key for r in old]).update(created=before - timedelta(hours=3))
    mine = writer.create_items(_items(site, 130), project="MIG")
    other_run = JiraWriter(writer.connector, run_id="run-0").create_items(_items(site, 3), project="MIG")
    for n in range(3):  # made by people, no property
        issue_create(site=site, actor=jira_site_admin(site=site), payload={"fields": {
            "project": {"key": "MIG"}, "issuetype": {"name": "Task"}, "summary": f"Manual {n}"}})
    unrecorded = {f"ado-{n}" for n in (1, 2, 3, 64, 99, 130)} | {"ado-999", "old-1"}
    found = writer.reconcile_created(project="MIG", since=before, source_ids=unrecorded)
    by_source = {r.source_id: (r.destination_id, r.key) for r in mine}
    assert found == {s: by_source[s] for s in unrecorded if s in by_source}
    assert other_run[0].key not in {key for _, key in found.values()}
    assert writer.reconcile_created(project="MIG", since=before, source_ids=["ado-1"], run_id="run-0") == {
        "ado-1": (other_run[0].destination_id, other_run[0].key)}
    assert writer.reconcile_created(project="MIG", since=before, source_ids=[]) == {}


# --- state ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["cloud", "dc"])
def test_transitions_reach_a_status_two_steps_away(kind, request):
    writer = request.getfixturevalue(kind)
    site = request.getfixturevalue(f"{kind}_site")
    from apps.sandbox.jira.models import JiraIssue

    made = writer.create_items(_items(site, 3), project="MIG")
    outcome = writer.transition_to(made[0].key, "In Review")
    assert outcome.ok, outcome.error
    assert outcome.steps == ("21", "31") and outcome.status_name == "In Review"
    assert JiraIssue.objects.get(key=made[0].key).status_id == "10001"
    done = writer.transition_to(made[1].destination_id, "done")
    assert done.ok and done.steps == ("21", "41")
    issue = JiraIssue.objects.get(key=made[1].key)
    assert issue.status_id == "10002" and issue.resolution_id
    again = writer.transition_to(made[1].key, "Done")
    assert again.ok and again.steps == ()
    api = "3" if writer.cloud else "2"
    posts_before = writer.http.stats.requests[f"POST /rest/api/{api}/issue/{{id}}/transitions"]
    back = writer.transition_to(made[0].key, "To Do")
    assert back.ok and back.steps == ("11",)
    assert writer.http.stats.requests[f"POST /rest/api/{api}/issue/{{id}}/transitions"] == posts_before + 1
    if writer.cloud:  # the workflow was read once and served every issue
        assert writer.http.stats.requests["GET /rest/api/3/workflow/search"] == 1
        assert writer.http.stats.requests["GET /rest/api/3/issue/{id}/transitions"] == 0
    else:  # Data Center: learned, each status's transitions read once for all issues of the type
        assert writer.http.stats.requests["GET /rest/api/2/issue/{id}/transitions"] == 3
        assert writer.http.stats.requests["GET /rest/api/2/workflow/search"] == 0


def test_an_unknown_status_is_a_configuration_error(cloud, cloud_site):
    made = cloud.create_items(_items(cloud_site, 1), project="MIG")[0]
    outcome = cloud.transition_to(made.key, "Waiting for Godot")
    assert not outcome.ok and outcome.error.code == "unknown_status"
    assert outcome.error.category == ErrorCategory.CONFIG and "Waiting for Godot" in outcome.error.message


# --- links, the link back, properties, comments -------------------------------------------------------


def test_links_are_written_once_even_when_asked_twice(cloud, cloud_site):
    from apps.sandbox.jira.models import JiraIssueLink

    a, b, c = cloud.create_items(_items(cloud_site, 3), project="MIG")
    links = [LinkWrite("l1", "Blocks", a.key, b.key), LinkWrite("l2", "10003", a.destination_id, c.destination_id),
             LinkWrite("l3", "relates", c.key, a.key), LinkWrite("l4", "Blocks", b.key, a.key),
             LinkWrite("l5", "Blocks", a.key, b.key)]
    first = cloud.create_issue_links(links)
    assert [r.ok for r in first] == [True] * 5
    # "c relates to a" is "a relates to c" already; "a blocks b" twice in one call is written once.
    assert [r.existed for r in first] == [False, False, True, False, True]
    assert JiraIssueLink.objects.filter(site=cloud_site).count() == 3
    link = JiraIssueLink.objects.get(site=cloud_site, link_type_id="10000", inward_issue__key=a.key)
    assert link.outward_issue.key == b.key  # a blocks b
    reads = cloud.http.stats.requests["GET /rest/api/3/issue/{id}"]
    second = cloud.create_issue_links(links)
    assert all(r.ok and r.existed for r in second)
    assert cloud.http.stats.requests["GET /rest/api/3/issue/{id}"] == reads  # this writer knows what it wrote
    # One link at a time, as the engine may ask, and by a new writer (after a crash) that must read them.
    fresh = JiraWriter(cloud.connector, run_id="run-1")
    assert all(fresh.create_issue_links([link])[0].existed for link in links)
    assert cloud.http.stats.requests["GET /rest/api/3/issue/{id}"] == reads + 4  # a (by key, by id), c, b: once each
    assert cloud.http.stats.requests["POST /rest/api/3/issueLink"] == 3
    assert JiraIssueLink.objects.filter(site=cloud_site).count() == 3
    bad = cloud.create_issue_links([LinkWrite("x", "Blocks", a.key, a.key), LinkWrite("y", "Teleports", a.key, b.key)])
    assert [r.error.code for r in bad] == ["self_link", "unknown_link_type"]


def test_the_link_back_to_the_source_is_an_upsert_by_global_id(cloud, cloud_site):
    from apps.sandbox.jira.models import JiraRemoteLink

    item = cloud.create_items(_items(cloud_site, 1), project="MIG")[0]
    url = "https://dev.azure.com/fabrikam/_workitems/edit/1"
    first = cloud.remote_link_upsert(item.key, source_id="ado-1", url=url, title="ADO #1", application="Azure DevOps")
    second = cloud.remote_link_upsert(item.key, source_id="ado-1", url=url, title="ADO #1: renamed", summary="Bug")
    assert first.ok and not first.existed and second.ok and second.existed
    assert first.destination_id == second.destination_id
    link = JiraRemoteLink.objects.get(issue__key=item.key)
    assert link.global_id == url and link.object["title"] == "ADO #1: renamed"
    assert [r["globalId"] for r in cloud.remote_links(item.key)] == [url]


def test_entity_properties_set_and_get(dc, dc_site):
    item = dc.create_items(_items(dc_site, 1), project="MIG")[0]
    assert dc.property_get(item.key, SOURCE_PROPERTY)["source_id"] == "ado-1"
    assert dc.property_get(item.key, "migrayt.hash") is None
    dc.property_set(item.key, "migrayt.hash", {"sha256": "abc"})
    dc.property_set(item.key, "migrayt.hash", {"sha256": "def"})
    assert dc.property_get(item.key, "migrayt.hash") == {"sha256": "def"}


@pytest.mark.parametrize("kind", ["cloud", "dc"])
def test_comments_carry_the_attribution_header_and_can_be_found_and_updated(kind, request):
    writer = request.getfixturevalue(kind)
    site = request.getfixturevalue(f"{kind}_site")
    from apps.sandbox.jira.models import JiraComment

    item = writer.create_items(_items(site, 1), project="MIG")[0]
    header = "Originally written by Ana [ana@example.com] on 2024-01-02 (Azure DevOps)"
    body = ({"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [{"type": "text", "text": "LGTM"}]}]}
            if writer.cloud else "LGTM *now*")
    added = writer.comment_add(item.key, source_id="c1", body=body, header=header)
    assert added.ok and added.destination_id
    stored = JiraComment.objects.get(pk=added.destination_id).body
    if writer.cloud:
        assert stored["content"][0]["content"][0] == {"type": "text", "text": header, "marks": [{"type": "em"}]}
        assert stored["content"][1]["content"][0]["text"] == "LGTM"
    else:
        assert stored == "_Originally written by Ana \\[ana@example.com\\] on 2024\\-01\\-02 (Azure DevOps)_\n\nLGTM *now*"
    assert writer.comment_find(item.key, header=header) == added.destination_id
    assert writer.comment_find(item.key, header="Someone else") is None
    updated = writer.comment_add(item.key, source_id="c1", body=body if writer.cloud else "edited", header=header,
                                 existing_id=added.destination_id)
    assert updated.ok and updated.destination_id == added.destination_id
    assert JiraComment.objects.filter(issue__key=item.key).count() == 1
    wrong = writer.comment_add(item.key, source_id="c2", body={"type": "doc", "content": []} if not writer.cloud else {"x": 1})
    assert not wrong.ok and wrong.error.code == "field_invalid"


def test_a_429_is_waited_out_and_the_write_succeeds(cloud, cloud_site):
    """Jira Cloud's per-issue write limit answers 429 with Retry-After; the writer waits and succeeds."""
    from apps.sandbox.jira.models import JiraComment
    from apps.sandbox.models import SandboxRequest

    item = cloud.create_items(_items(cloud_site, 1), project="MIG")[0]
    cloud_site.options.update(per_issue_write_limit=2, per_issue_write_window_seconds=2)
    cloud_site.save(update_fields=["options"])
    results = [cloud.comment_add(item.key, source_id=f"c{n}", body=f"Comment {n}") for n in range(5)]
    assert all(r.ok for r in results)
    assert JiraComment.objects.filter(issue__key=item.key).count() == 5
    assert cloud.http.stats.retries >= 1
    assert SandboxRequest.objects.filter(site=cloud_site, status=429, endpoint="issue.comments").exists()


# --- attachments --------------------------------------------------------------------------------------

STREAM_CHILD = r"""
import json, sys, tracemalloc
from apps.connections.connectors.base import ConnectionConfig, ConnectionKind
from apps.connections.connectors.jira import JiraCloudConnector
from apps.connections.connectors.jira.writer import JiraWriter
from apps.connections.connectors.ssrf import SsrfPolicy

url, token, email, issue, size = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
block = bytes(range(256)) * 256

def generated():
    left = size
    while left:
        chunk = block[:min(left, len(block))]
        left -= len(chunk)
        yield chunk

config = ConnectionConfig(kind=ConnectionKind.JIRA_CLOUD, base_url=url, token=token, email=email)
with JiraCloudConnector(config, policy=SsrfPolicy.permissive_local()) as connector:
    writer = JiraWriter(connector)
    writer.attachment_limit()
    tracemalloc.start()
    result = writer.attachment_upload(issue, source_id="att-1", filename="capture – 1.bin", content=generated(),
                                      size=size, mime_type="application/octet-stream")
    peak = tracemalloc.get_traced_memory()[1]
print(json.dumps({"ok": result.ok, "id": result.destination_id, "error": str(result.error), "peak": peak,
                  "django": "django" in sys.modules}))
"""


def test_an_attachment_is_streamed_without_holding_it_in_memory(live_server, cloud_site):
    """A 20 MB generated stream uploaded by a separate process (the connector needs no Django): its peak
    Python memory during the upload stays far below the file's size."""
    from apps.sandbox.jira.models import JiraAttachment

    size = 20 * 1024 * 1024
    cloud_site.options.update(attachment_max_bytes=32 * 1024 * 1024)
    cloud_site.save(update_fields=["options"])
    config = _cloud_config(live_server, cloud_site)
    with JiraCloudConnector(config, policy=LOCAL) as connector:
        issue = JiraWriter(connector).create_items(_items(cloud_site, 1), project="MIG")[0]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    child = subprocess.run([sys.executable, "-c", STREAM_CHILD, config.base_url, CLOUD_SECRET, ADMIN_EMAIL, issue.key,
                            str(size)], capture_output=True, text=True, timeout=300, cwd=ROOT, env=env)
    assert child.returncode == 0, child.stderr[-2000:]
    report = json.loads(child.stdout.strip().splitlines()[-1])
    print(f"20 MB upload: peak traced memory {report['peak']} bytes")  # shown with pytest -s
    assert report["ok"], report["error"]
    assert report["django"] is False
    assert report["peak"] < 2 * 1024 * 1024, f"peak {report['peak']} bytes while uploading {size}"
    stored = JiraAttachment.objects.get(pk=report["id"])
    assert stored.size == size and stored.filename == "capture – 1.bin"
    assert bytes(stored.content[:512]) == bytes(range(256)) * 2


def test_an_attachment_over_the_limit_is_a_permanent_error_with_its_size(cloud, cloud_site, tmp_path):
    from apps.sandbox.jira.models import JiraAttachment
    from apps.sandbox.models import SandboxRequest

    cloud_site.options.update(attachment_max_bytes=1024 * 1024)
    cloud_site.save(update_fields=["options"])
    item = cloud.create_items(_items(cloud_site, 1), project="MIG")[0]
    big = tmp_path / "big.bin"
    big.write_bytes(b"x" * (2 * 1024 * 1024))
    # Jira's own answer (413), when sent.
    with big.open("rb") as handle:
        refused = cloud.attachment_upload(item.key, source_id="a1", filename="big.bin", content=handle, precheck=False)
    assert refused.error.code == "too_large" and refused.error.category == ErrorCategory.PERMANENT
    assert refused.error.details == {"size_bytes": 2 * 1024 * 1024, "limit_bytes": 1024 * 1024}
    assert "2097152 bytes" in refused.error.message
    assert SandboxRequest.objects.filter(site=cloud_site, endpoint="issue.attachments", status=413).count() == 1
    # Known to be too big: not sent at all.
    with big.open("rb") as handle:
        skipped = cloud.attachment_upload(item.key, source_id="a1", filename="big.bin", content=handle)
    assert skipped.error.code == "too_large"
    assert SandboxRequest.objects.filter(site=cloud_site, endpoint="issue.attachments").count() == 1
    # An iterator of unknown size is spooled, then sent with its length; a small one fits.
    small = cloud.attachment_upload(item.key, source_id="a2", filename="notes.txt", content=iter([b"hello ", b"world"]),
                                    mime_type="text/plain")
    assert small.ok, small.error
    assert bytes(JiraAttachment.objects.get(pk=small.destination_id).content) == b"hello world"
    assert [a["filename"] for a in cloud.attachments(item.key)] == ["notes.txt"]


def test_an_attachment_without_the_xsrf_header_would_be_refused(cloud, cloud_site):
    """The header matters: the same upload without it is refused by Jira; the writer always sends it."""
    import httpx

    item = cloud.create_items(_items(cloud_site, 1), project="MIG")[0]
    response = cloud.http.request("POST", cloud.api(f"issue/{item.key}/attachments"), accept=tuple(range(200, 600)),
                                  files={"file": ("a.txt", b"a")})
    assert response.status_code == 403
    assert isinstance(response, httpx.Response)
    assert cloud.attachment_upload(item.key, source_id="a", filename="a.txt", content=iter([b"a"]), size=1).ok


# --- sprints, components ----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["cloud", "dc"])
def test_sprint_lifecycle_create_fill_start_close(kind, request):
    writer = request.getfixturevalue(kind)
    site = request.getfixturevalue(f"{kind}_site")
    from apps.sandbox.jira.models import JiraIssue, JiraSprint

    issues = writer.create_items(_items(site, 120), project="MIG")
    board = writer.board_for_project("MIG")
    start = datetime(2024, 1, 1, 9, tzinfo=UTC)
    closed = writer.sprint_ensure(board_id=board, source_id="it-1", name="Sprint 1", start=start,
                                  end=start + timedelta(days=14))
    current = writer.sprint_ensure(board_id=board, source_id="it-2", name="Sprint 2 — a very long iteration name")
    assert closed.ok and current.ok and not closed.existed
    assert current.key == "Sprint 2 — a very long iterat…" and len(current.key) == 30
    again = writer.sprint_ensure(board_id=board, source_id="it-1", name="Sprint 1")
    assert again.existed and again.destination_id == closed.destination_id
    moved = writer.sprint_move_issues(closed.destination_id, [r.key for r in issues[:100]])
    assert all(r.ok for r in moved) and len(moved) == 100
    assert writer.http.stats.requests["POST /rest/agile/1.0/sprint/{id}/issue"] == 2
    writer.sprint_move_issues(current.destination_id, [r.destination_id for r in issues[100:]])
    done = writer.sprint_bring_to(closed.destination_id, "closed")
    assert done.ok, done.error
    assert writer.sprint_bring_to(closed.destination_id, "closed").ok  # again: nothing to do
    undated = writer.sprint_bring_to(current.destination_id, "active")
    assert undated.error.code == "sprint_dates"
    active = writer.sprint_bring_to(current.destination_id, "active", start=start + timedelta(days=14),
                                    end=start + timedelta(days=28))
    assert active.ok, active.error
    backwards = writer.sprint_bring_to(closed.destination_id, "future")
    assert backwards.error.code == "sprint_state"
    first = JiraSprint.objects.get(pk=closed.destination_id)
    assert first.state == "closed" and first.complete_date and first.start_date == start
    assert JiraSprint.objects.get(pk=current.destination_id).state == "active"
    assert JiraIssue.objects.filter(sprints=first).count() == 100
    assert JiraIssue.objects.filter(sprints__pk=current.destination_id).count() == 20


def test_components_are_found_by_name(cloud, cloud_site):
    from apps.sandbox.jira.models import JiraProject
    from apps.sandbox.jira.services import component_create

    component = component_create(project=JiraProject.objects.get(site=cloud_site, key="MIG"), name="Backend")
    found = cloud.component_ensure(project="MIG", name="  backend ", source_id="area-1")
    assert found.ok and found.existed and found.destination_id == str(component.pk)
    assert cloud.component_ensure(project="MIG", name=" ", source_id="area-2").error.code == "field_invalid"


def test_a_rate_limited_site_is_paced_and_nothing_fails(cloud, cloud_site):
    """A token budget small enough to run out during the test: every write still succeeds."""
    from apps.sandbox import services as sandbox

    cloud.fields_schema(), cloud.project("MIG")
    sandbox.site_controls_update(site=cloud_site, controls={"rate_limit_token": 6, "rate_window_seconds": 2,
                                                            "delay_after_percent": 100})
    started = time.monotonic()
    results = cloud.create_items(_items(cloud_site, 60), project="MIG")
    links = cloud.create_issue_links([LinkWrite(f"l{n}", "Relates", results[n].key, results[n + 1].key)
                                      for n in range(6)])
    assert all(r.ok for r in results) and all(r.ok for r in links)
    assert time.monotonic() - started > 1.5  # 14 requests at 6 per 2 s cannot go faster


def test_with_a_third_of_the_requests_failing_every_write_lands_exactly_once(impatient_cloud, cloud_site):
    """Dropped connections after the write, injected 500s and 503s on 30 % of requests: what the writer
    cannot settle itself it reports as retryable, and asking again (as the engine does for failed items)
    finishes the job with nothing written twice."""
    from apps.sandbox import services as sandbox
    from apps.sandbox.jira.models import JiraComment, JiraIssue, JiraIssueLink, JiraRemoteLink, JiraSprint

    cloud = impatient_cloud
    issues = cloud.create_items(_items(cloud_site, 8), project="MIG")
    board = cloud.board_for_project("MIG")
    sandbox.site_controls_update(site=cloud_site, controls={"fault_rate": 0.3, "fault_kinds": ["drop", "http_500",
                                                                                                 "http_503"], "seed": 11})
    pending = {
        "links": [LinkWrite(f"l{n}", "Blocks", issues[n].key, issues[n + 1].key) for n in range(7)],
        "comments": [(i.key, f"c{i.key}-{n}", f"Comment {n} by Ana, 2024-01-0{n + 1} 10:00") for i in issues for n in range(2)],
        "remote": [i.key for i in issues],
        "transitions": [i.key for i in issues],
    }
    sprint_id = None
    for _round in range(4):
        links = pending["links"]
        pending["links"] = [link for link, r in zip(links, cloud.create_issue_links(links), strict=True) if not r.ok]
        comments, pending["comments"] = pending["comments"], []
        for key, source_id, header in comments:
            if not cloud.comment_add(key, source_id=source_id, body="Body", header=header).ok:
                pending["comments"].append((key, source_id, header))
        pending["remote"] = [key for key in pending["remote"] if not cloud.remote_link_upsert(
            key, source_id=key, url=f"https://dev.azure.com/fabrikam/_workitems/edit/{key}", title=key).ok]
        pending["transitions"] = [key for key in pending["transitions"] if not cloud.transition_to(key, "Done").ok]
        if sprint_id is None:
            made = cloud.sprint_ensure(board_id=board, source_id="it-1", name="Sprint 1",
                                       start=datetime(2024, 1, 1, tzinfo=UTC), end=datetime(2024, 1, 15, tzinfo=UTC))
            sprint_id = made.destination_id if made.ok else None
        if not any(pending.values()) and sprint_id:
            break
    sandbox.site_controls_update(site=cloud_site, controls={"fault_rate": 0.0, "fault_kinds": []})
    assert not any(pending.values()), pending
    assert JiraIssueLink.objects.filter(site=cloud_site).count() == 7
    assert JiraComment.objects.filter(issue__site=cloud_site).count() == 16
    assert JiraRemoteLink.objects.filter(issue__site=cloud_site).count() == 8
    assert set(JiraIssue.objects.filter(site=cloud_site).values_list("status_id", flat=True)) == {"10002"}
    assert JiraSprint.objects.filter(site=cloud_site, name="Sprint 1").count() == 1
    from apps.sandbox.models import SandboxRequest

    faults = SandboxRequest.objects.filter(site=cloud_site).exclude(fault="")
    assert faults.filter(fault="drop").count() > 5 and faults.filter(fault="http_500").count() > 5


def test_an_attachment_throttled_by_jira_is_sent_again_from_the_start_when_it_can_be(cloud, cloud_site, tmp_path):
    """Jira's per-issue write limit answers the second upload with 429: a file is sent again from its first
    byte after the wait; a one-shot stream cannot be, and says so instead of sending a short body."""
    from apps.sandbox.jira.models import JiraAttachment

    item = cloud.create_items(_items(cloud_site, 1), project="MIG")[0]
    cloud_site.options.update(per_issue_write_limit=1, per_issue_write_window_seconds=3)
    cloud_site.save(update_fields=["options"])
    data = tmp_path / "report.csv"
    data.write_bytes(b"a,b\n" * 50_000)
    assert cloud.attachment_upload(item.key, source_id="a1", filename="first.txt", content=iter([b"1"]), size=1).ok
    with data.open("rb") as handle:
        handle.seek(4)  # from where the caller's file position is
        second = cloud.attachment_upload(item.key, source_id="a2", filename="report.csv", content=handle)
    assert second.ok, second.error
    assert bytes(JiraAttachment.objects.get(pk=second.destination_id).content) == b"a,b\n" * 49_999
    third = cloud.attachment_upload(item.key, source_id="a3", filename="once.bin", content=iter([b"x" * 10]), size=10)
    assert not third.ok and third.error.code == "stream_not_replayable"
    assert third.error.category == ErrorCategory.TRANSIENT
    assert JiraAttachment.objects.filter(issue__key=item.key).count() == 2
