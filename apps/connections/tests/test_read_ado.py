"""The Azure DevOps read side against the ADO sandbox on a live server: nothing here fakes the connector's
HTTP. The sandbox's own database is the truth each answer is checked against."""

import math

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
PROJECT = "Fabrikam Fiber"


@pytest.fixture
def ado(live_server):
    from apps.sandbox import services as sandbox

    site = sandbox.site_create(kind="ado", slug="readers")
    sandbox.site_seed(site=site, items=60, seed=3)
    _, pat = sandbox.token_create(site=site, name="reader", scopes=["vso.work", "vso.project"])
    config = ConnectionConfig(kind=ConnectionKind.AZURE_DEVOPS, base_url=f"{live_server.url}/sandbox/ado/readers",
                              token=pat)
    with connector_for(config, policy=SsrfPolicy.permissive_local()) as connector:
        connector.site = site
        yield connector


def _stream(connector, stream, state=None):
    return list(connector.read(stream, state or {}, project=PROJECT))


def test_projects_and_discover(ado):
    assert [p.name for p in ado.projects()] == [PROJECT]
    catalog = ado.discover(project=PROJECT)
    assert catalog.project.process == "Agile"
    types = {t.name: t for t in catalog.work_item_types}
    assert {"Epic", "Feature", "User Story", "Task", "Bug"} <= set(types)
    assert types["Epic"].hierarchy_level == 2 and types["Feature"].hierarchy_level == 1
    assert types["User Story"].hierarchy_level == 0 and types["Task"].hierarchy_level == -1
    assert [(s.name, s.category) for s in types["Epic"].states] == [
        ("New", records.StateCategory.PROPOSED), ("Active", records.StateCategory.IN_PROGRESS),
        ("Resolved", records.StateCategory.IN_PROGRESS), ("Closed", records.StateCategory.DONE),
        ("Removed", records.StateCategory.REMOVED)]
    assert "System.Title" in types["Bug"].required_field_ids
    fields = {f.source_id: f for f in catalog.fields}
    assert fields["System.Description"].type == records.FieldType.TEXT
    assert fields["System.AssignedTo"].type == records.FieldType.PERSON
    assert fields["System.AssignedTo"].vendor_type == "identity"
    assert fields["System.IterationPath"].type == records.FieldType.ITERATION
    assert fields["System.AreaPath"].type == records.FieldType.AREA
    assert fields["System.Tags"].type == records.FieldType.OPTIONS and fields["System.Tags"].is_multi_value
    assert fields["Custom.Customer"].is_custom and fields["Custom.Customer"].type == records.FieldType.OPTION
    assert fields["Custom.Reviewer"].type == records.FieldType.PERSON
    assert fields["System.Id"].read_only
    links = {lt.source_id: lt for lt in catalog.link_types}
    assert links["System.LinkTypes.Hierarchy-Forward"].is_hierarchy
    assert links["System.LinkTypes.Hierarchy-Forward"].inward == "Parent"
    assert not links["System.LinkTypes.Related"].is_hierarchy
    assert any(i.start and i.finish for i in catalog.iterations), "iteration dates are read"
    assert {"Web", "Checkout"} <= {a.name for a in catalog.areas}
    assert any(a.path == f"{PROJECT}\\Web\\Checkout" for a in catalog.areas)


def test_work_items_match_the_sandbox_and_checkpoint_after_each_batch(ado):
    from apps.sandbox.ado.models import AdoWorkItem

    ado.discover(project=PROJECT)
    out = _stream(ado, "work_items")
    items = [r for r in out if isinstance(r, records.WorkItem)]
    truth = {i.item_id: i for i in AdoWorkItem.objects.filter(site=ado.site, is_deleted=False)}
    assert sorted(int(i.source_id) for i in items) == sorted(truth)
    one = items[0]
    row = truth[int(one.source_id)]
    assert one.title == row.fields["System.Title"] and one.revision == row.rev
    assert one.state_category is not None
    assert one.comment_count == row.fields.get("System.CommentCount", 0)
    checkpoints = [r for r in out if isinstance(r, records.StateCheckpoint)]
    assert len(checkpoints) == math.ceil(len(truth) / 200)
    assert checkpoints[-1].state == {"last_id": max(truth)}
    attachments = [r for r in out if isinstance(r, records.Attachment)]
    assert attachments and all(a.size_bytes and a.size_bytes > 0 for a in attachments)
    links = [r for r in out if isinstance(r, records.Link)]
    assert any(link.link_type_id == "System.LinkTypes.Hierarchy-Forward" for link in links)
    assert any(link.is_external and link.url for link in links)
    # Read from the last checkpoint: nothing more.
    assert [r for r in _stream(ado, "work_items", checkpoints[-1].state) if isinstance(r, records.WorkItem)] == []


def test_paging_past_the_batch_size_resumes_where_the_checkpoint_says(ado, monkeypatch):
    from apps.connections.connectors.azure_devops import reader

    monkeypatch.setattr(reader, "BATCH", 7)
    monkeypatch.setattr(reader, "WIQL_PAGE", 25)  # several WIQL pages, as past 20,000 items
    out = _stream(ado, "work_items")
    ids = [int(r.source_id) for r in out if isinstance(r, records.WorkItem)]
    assert ids == sorted(ids) and len(ids) == len(set(ids)) == 60
    middle = [r for r in out if isinstance(r, records.StateCheckpoint)][4]
    rest = [int(r.source_id) for r in _stream(ado, "work_items", middle.state) if isinstance(r, records.WorkItem)]
    assert rest == [i for i in ids if i > middle.state["last_id"]]
    wiql = sum(n for key, n in ado.http.stats.requests.items() if key.endswith("/_apis/wit/wiql"))
    assert wiql >= 3 + 1  # 60 ids in pages of 25: 3 queries, then 1 more from the checkpoint


def test_comments_and_revisions_streams(ado):
    from apps.sandbox.ado.models import AdoComment, AdoUpdate

    comments = [r for r in _stream(ado, "comments") if isinstance(r, records.Comment)]
    assert len(comments) == AdoComment.objects.filter(work_item__site=ado.site, is_deleted=False).count()
    assert all(c.author and c.created_at for c in comments)
    revisions = [r for r in _stream(ado, "revisions") if isinstance(r, records.Revision)]
    assert len(revisions) == AdoUpdate.objects.filter(work_item__site=ado.site).count()
    assert any(ch.field_id == "System.State" for r in revisions for ch in r.changes)


def test_comment_pages_resume_mid_item(ado, monkeypatch):
    from apps.connections.connectors.azure_devops import reader

    monkeypatch.setattr(reader, "COMMENTS_PAGE", 1)
    out = _stream(ado, "comments")
    mid = next(r for r in out if isinstance(r, records.StateCheckpoint) and "item" in r.state)
    before = [r.source_id for r in out[:out.index(mid)] if isinstance(r, records.Comment)]
    after = [r.source_id for r in _stream(ado, "comments", mid.state) if isinstance(r, records.Comment)]
    every = [r.source_id for r in out if isinstance(r, records.Comment)]
    assert before + after == every


def test_attachment_download_streams_in_chunks(ado):
    from apps.sandbox.ado.models import AdoAttachment

    attachment = next(r for r in _stream(ado, "work_items") if isinstance(r, records.Attachment))
    chunks = list(ado.attachment_chunks(attachment, chunk_size=1024))
    truth = AdoAttachment.objects.get(site=ado.site, guid=attachment.source_id)
    assert b"".join(chunks) == bytes(truth.content)
    assert max(len(c) for c in chunks) <= 1024 and sum(len(c) for c in chunks) == attachment.size_bytes


def test_unknown_stream_is_a_clear_error(ado):
    from apps.connections.connectors.errors import PermanentError

    with pytest.raises(PermanentError, match="no stream 'sprints'"):
        _stream(ado, "sprints")


def test_each_type_lists_the_fields_it_has_and_the_writer_reads_the_same(ado):
    """What the drafter and the run rely on to send a field only to a type that has it."""
    from apps.connections.connectors.azure_devops.writer import AdoWriter

    types = {t.name: set(t.field_ids) for t in ado.discover(project=PROJECT).work_item_types}
    story, task = types["User Story"], types["Task"]
    assert "Microsoft.VSTS.Scheduling.StoryPoints" in story and "Microsoft.VSTS.Scheduling.OriginalEstimate" not in story
    assert {"Microsoft.VSTS.Scheduling.OriginalEstimate", "Microsoft.VSTS.Scheduling.CompletedWork"} <= task
    assert "Microsoft.VSTS.Scheduling.StoryPoints" not in task
    assert all("System.Title" in fields and "System.Tags" in fields for fields in types.values())
    assert {name: set(fields) for name, fields in AdoWriter(ado).type_fields(project=PROJECT).items()} == types
