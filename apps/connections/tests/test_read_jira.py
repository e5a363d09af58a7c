"""The Jira read side (Cloud and Data Center) against the Jira sandbox on a live server: nothing here fakes
the connector's HTTP. The sandbox's own database is the truth each answer is checked against."""

import pytest
from django.conf import settings

from apps.connections.connectors import records
from apps.connections.connectors.base import ConnectionConfig, ConnectionKind
from apps.connections.connectors.registry import connector_for
from apps.connections.connectors.ssrf import SsrfPolicy

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not settings.SANDBOX_ENABLED, reason="the sandbox is off (MIGRAYT_SANDBOX_ENABLED)"),
]


def jira_connector(live_server, kind, slug, items=30, scopes=None):
    from apps.sandbox import services as sandbox
    from apps.sandbox.jira.adapter import FULL_SCOPES
    from apps.sandbox.jira.services import jira_principal, jira_site_admin

    site = sandbox.site_create(kind="jira_cloud" if kind == "jira_cloud" else "jira_dc", slug=slug)
    sandbox.site_seed(site=site, items=items, seed=2)
    principal = jira_principal(user=jira_site_admin(site=site))
    _, secret = sandbox.token_create(site=site, name="reader", scopes=list(scopes or FULL_SCOPES), principal=principal)
    config = ConnectionConfig(kind=ConnectionKind(kind), base_url=f"{live_server.url}/sandbox/jira/{slug}",
                              token=secret, email=principal["email"] if kind == "jira_cloud" else "")
    connector = connector_for(config, policy=SsrfPolicy.permissive_local())
    connector.site = site
    return connector


@pytest.fixture(params=["jira_cloud", "jira_data_center"])
def jira(request, live_server):
    connector = jira_connector(live_server, request.param, "acme" if request.param == "jira_cloud" else "corp")
    yield connector
    connector.close()


def _key(connector):
    from apps.sandbox.jira.models import JiraProject

    return JiraProject.objects.get(site=connector.site).key


def test_projects_and_discover(jira):
    key = _key(jira)
    assert [p.key for p in jira.projects()] == [key]
    catalog = jira.discover(project=key)
    assert catalog.project.key == key
    types = {t.name: t for t in catalog.work_item_types}
    assert {"Epic", "Story", "Bug"} <= set(types)
    assert types["Epic"].hierarchy_level == 1 or not jira.cloud  # DC does not send hierarchyLevel
    assert any(t.is_subtask for t in catalog.work_item_types)
    categories = {s.category for s in types["Story"].states}
    assert {records.StateCategory.PROPOSED, records.StateCategory.IN_PROGRESS, records.StateCategory.DONE} <= categories
    assert "summary" in types["Story"].required_field_ids
    fields = {f.source_id: f for f in catalog.fields}
    assert fields["description"].type == records.FieldType.TEXT
    assert fields["assignee"].type == records.FieldType.PERSON and fields["assignee"].vendor_type == "assignee"
    assert fields["priority"].allowed_values
    sprint = next(f for f in catalog.fields if f.vendor_type == "com.pyxis.greenhopper.jira:gh-sprint")
    assert sprint.type == records.FieldType.ITERATION and sprint.is_custom
    selects = [f for f in catalog.fields if f.vendor_type.endswith(":select")]
    assert selects and all(f.allowed_values for f in selects)
    assert {lt.name for lt in catalog.link_types} >= {"Blocks", "Relates"}
    assert catalog.iterations and {i.state for i in catalog.iterations} >= {"closed", "active", "future"}
    assert catalog.areas, "components"
    # Cloud lists the site's users; Data Center's user search needs a query, so its people come from the
    # issues a scan reads (see test_work_items_match_the_sandbox).
    assert catalog.people or not jira.cloud


def test_work_items_match_the_sandbox(jira):
    from apps.sandbox.jira.models import JiraAttachment, JiraChangelog, JiraComment, JiraIssue, JiraIssueLink

    key = _key(jira)
    out = list(jira.read("work_items", {}, project=key))
    items = [r for r in out if isinstance(r, records.WorkItem)]
    issues = JiraIssue.objects.filter(site=jira.site)
    assert sorted(int(i.source_id) for i in items) == sorted(issues.values_list("pk", flat=True))
    assert sum(i.comment_count for i in items) == JiraComment.objects.filter(issue__site=jira.site).count()
    assert sum(i.revision for i in items) == JiraChangelog.objects.filter(issue__site=jira.site).count()
    assert all(i.state_category is not None and i.created_at for i in items)
    assert items[0].description_format == (records.TextFormat.ADF if jira.cloud else records.TextFormat.WIKI)
    attachments = [r for r in out if isinstance(r, records.Attachment)]
    assert len(attachments) == JiraAttachment.objects.filter(issue__site=jira.site).count()
    links = [r for r in out if isinstance(r, records.Link)]
    assert len([link for link in links if not link.is_mirror]) == JiraIssueLink.objects.filter(
        outward_issue__site=jira.site).count()
    checkpoints = [r for r in out if isinstance(r, records.StateCheckpoint)]
    assert checkpoints[-1].state == {"last_id": max(int(i.source_id) for i in items)}
    assert any(isinstance(r, records.Person) for r in out)
    assert jira.count_items(key) == len(items)


def test_paging_and_resume(jira, monkeypatch):
    from apps.connections.connectors.jira import reader

    monkeypatch.setattr(reader, "PAGE", 7)
    key = _key(jira)
    out = list(jira.read("work_items", {}, project=key))
    ids = [int(r.source_id) for r in out if isinstance(r, records.WorkItem)]
    assert ids == sorted(ids) and len(ids) == len(set(ids))
    middle = [r for r in out if isinstance(r, records.StateCheckpoint)][2]
    rest = [int(r.source_id) for r in jira.read("work_items", middle.state, project=key)
            if isinstance(r, records.WorkItem)]
    assert rest == [i for i in ids if i > middle.state["last_id"]]


def test_comments_and_revisions_streams(jira):
    from apps.sandbox.jira.models import JiraChangelog, JiraComment

    key = _key(jira)
    comments = [r for r in jira.read("comments", {}, project=key) if isinstance(r, records.Comment)]
    assert len(comments) == JiraComment.objects.filter(issue__site=jira.site).count()
    revisions = [r for r in jira.read("revisions", {}, project=key) if isinstance(r, records.Revision)]
    assert len(revisions) == JiraChangelog.objects.filter(issue__site=jira.site).count()
    assert all(r.changes for r in revisions)


def test_bulk_fetch_and_attachment_download(jira):
    from apps.sandbox.jira.models import JiraAttachment, JiraIssue

    ids = list(JiraIssue.objects.filter(site=jira.site).values_list("pk", flat=True))
    assert sorted(int(i["id"]) for i in jira.issues_bulk(ids)) == sorted(ids)
    attachment = next(r for r in jira.read("work_items", {}, project=_key(jira)) if isinstance(r, records.Attachment))
    content = b"".join(jira.attachment_chunks(attachment, chunk_size=512))
    assert content == bytes(JiraAttachment.objects.get(pk=attachment.source_id).content)


def test_a_read_only_account_still_discovers(live_server):
    """Create metadata needs the permission to create; a source account without it still gets a catalog."""
    connector = jira_connector(live_server, "jira_cloud", "readonly", items=5, scopes=["read:jira-work",
                                                                                       "read:jira-user"])
    with connector:
        catalog = connector.discover(project=_key(connector))
    assert catalog.work_item_types and catalog.fields
