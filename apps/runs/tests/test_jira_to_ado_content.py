"""Rich text of the Jira -> Azure DevOps direction: images shown in Jira comments (ADF media nodes on Cloud,
`!name.png|thumbnail!` on Data Center) re-hosted as Azure DevOps attachments of the item, uploaded once (also
across a crash between the upload and the comment), attached by the revision of the first comment that shows
them and shown by every comment from there; Data Center mentions (`[~user]`) shown under the person's display
name, an Azure DevOps mention where the person is mapped. Unit tests of the pieces, then seeded sandbox runs
checked from the Azure DevOps sandbox's own tables."""

from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings

from apps.connections.connectors import records
from apps.mappings.plan import MappingPlan
from apps.mappings.transforms import ImageTarget, PersonTarget, adf_to_html, wiki_to_html
from apps.runs.engine.draft import Drafter
from apps.runs.engine.replay import history

T0 = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)


def _plan(**people) -> MappingPlan:
    return MappingPlan(version_id=0, source_kind="jira_data_center", destination_kind="azure_devops",
                       source_project="ACME", destination_project="Target", people=people)


# -- units: the pieces -----------------------------------------------------------------------------------

def _comment(cid: str, minutes: int, body) -> records.Comment:
    return records.Comment(source_id=cid, work_item_id="10", author=records.Person("u1", "Ann"),
                           created_at=T0 + timedelta(minutes=minutes), body=body)


def test_the_first_comment_that_shows_a_file_attaches_it_and_every_comment_shows_it():
    drafter = Drafter(_plan(), rich_text="html")
    item = records.WorkItem(source_id="10", key="P-1", project_id="1", type_id="1", title="t", created_at=T0)
    held = records.FileAttach("attachment:10:2", "guid-held", "old.png")
    new = records.FileAttach("attachment:10:1", "guid-new", "shot.png")
    files = {"shot.png": new, "old.png": held}
    asked = []

    def images(src, alt):
        asked.append(src)
        found = files.get(src)
        if found is None:
            return None
        return ImageTarget(url=f"https://ado/_apis/wit/attachments/{found.destination_id}"), \
            (None if found is held else found)

    comments = [_comment("c2", 20, "again !shot.png|thumbnail! and !old.png!"),
                _comment("c1", 10, "first !shot.png|thumbnail!"),
                _comment("c3", 30, "gone !missing.png!")]
    writes = history(drafter, item, [], comments, images=images)
    by_id = {w.source_id: w for w in writes}
    assert by_id["comment:c1"].files == (new,)  # the earliest comment attaches it, once
    assert by_id["comment:c2"].files == ()  # shown again, attached already; old.png the item holds
    assert '<img src="https://ado/_apis/wit/attachments/guid-new"' in by_id["comment:c1"].note
    assert '<img src="https://ado/_apis/wit/attachments/guid-new"' in by_id["comment:c2"].note
    assert '<img src="https://ado/_apis/wit/attachments/guid-held"' in by_id["comment:c2"].note
    assert "[image: missing.png]" in by_id["comment:c3"].note and by_id["comment:c3"].files == ()
    assert sorted(set(asked)) == ["missing.png", "old.png", "shot.png"]
    # Without a finder (the verification's count, a run without attachments) nothing is attached.
    assert all(w.files == () for w in history(drafter, item, [], comments))


def test_a_data_center_mention_shows_the_display_name_and_mentions_the_mapped_person():
    # Data Center maps people by their key; a mention names the user name.
    people = {"jdoe": records.Person("JIRAUSER10100", "Jane Doe"), "bob": records.Person("JIRAUSER10101", "Bob Stone")}
    drafter = Drafter(_plan(JIRAUSER10100="jane@example.com"), rich_text="html", mentioned=people.get)
    html = drafter.rich("Hi [~jdoe] and [~bob] and [~ghost].", "A comment", [])
    assert '<a href="#" data-vss-mention="version:2.0,jane@example.com">@Jane Doe</a>' in html
    assert "@Bob Stone" in html and "version:2.0,bob" not in html  # known, not mapped: the name as text
    assert "@ghost" in html  # unknown: the user name, as before
    assert "jdoe" not in html.replace("jane@example.com", "")
    # Cloud (ADF) mentions carry their display name already; an unmapped one stays that name.
    adf = {"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [
        {"type": "mention", "attrs": {"id": "acc-1", "text": "@Carla Ruiz"}}]}]}
    assert drafter.rich(adf, "A comment", []) == "<p>@Carla Ruiz</p>"


def test_the_transforms_show_a_named_person_without_an_account_as_text():
    def named(source_id, display):
        return PersonTarget(id="", display_name="Jane Doe")

    html = wiki_to_html("[~jdoe] look", person_resolver=named)
    assert html.value.startswith("<p>@Jane Doe look") and "data-vss-mention" not in html.value
    assert [w.code for w in html.warnings] == ["mention_unmapped"]
    doc = {"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [
        {"type": "mention", "attrs": {"id": "acc-1", "text": "@J"}}]}]}
    assert adf_to_html(doc, person_resolver=named).value == "<p>@Jane Doe</p>"


# -- the sandboxes ------------------------------------------------------------------------------------------

sandboxed = [pytest.mark.django_db(transaction=True),
             pytest.mark.skipif(not settings.SANDBOX_ENABLED, reason="the sandbox is off (MIGRAYT_SANDBOX_ENABLED)")]


def _png(seed: int) -> bytes:
    from apps.sandbox.jira.seeding import _png

    return _png(8 + seed, 6, (seed * 40 % 256, 90, 200))


def add_comment_images(jira_site, *, issues: int = 3) -> dict:
    """Gives a few issues an image attached and shown in two comments (ADF media node on Cloud, wiki markup
    on Data Center), and one issue whose description image a comment shows too. Returns {issue id: [(file
    name, bytes, [comment ids showing it])]}."""
    from apps.sandbox.jira.adf import adf_doc, adf_paragraph, adf_text
    from apps.sandbox.jira.models import JiraAttachment, JiraComment, JiraIssue

    cloud = jira_site.kind == "jira_cloud"

    def body(text, attachment):
        if not cloud:
            return f"{text}\n\n!{attachment.filename}|thumbnail!"
        return adf_doc(adf_paragraph(adf_text(text)), {"type": "mediaSingle", "attrs": {"layout": "center"}, "content": [
            {"type": "media", "attrs": {"type": "file", "id": str(attachment.media_id), "collection": "",
                                        "alt": attachment.filename, "width": 8, "height": 6}}]})

    shown: dict[str, list] = {}
    chosen = list(JiraIssue.objects.filter(site=jira_site).order_by("pk")[:issues])
    described = JiraAttachment.objects.filter(issue__site=jira_site, mime_type="image/png").exclude(
        issue__in=chosen).order_by("pk").first()
    for index, issue in enumerate(chosen):
        data = _png(index)
        attachment = JiraAttachment.objects.create(issue=issue, author=issue.reporter, filename=f"comment-{issue.pk}.png",
                                                   mime_type="image/png", size=len(data), content=data,
                                                   created=issue.created + timedelta(minutes=5))
        ids = []
        for n, text in enumerate(("Here is what I see:", "Still the same as above:")):
            comment = JiraComment.objects.create(issue=issue, author=issue.reporter, update_author=issue.reporter,
                                                 body=body(text, attachment),
                                                 created=issue.created + timedelta(minutes=10 + n),
                                                 updated=issue.created + timedelta(minutes=10 + n))
            ids.append(comment.pk)
        shown[str(issue.pk)] = [(attachment.filename, data, ids)]
    if described is not None:  # the attachments phase shows it in the description: the same file, once
        issue = described.issue
        comment = JiraComment.objects.create(issue=issue, author=issue.reporter, update_author=issue.reporter,
                                             body=body("The screenshot again:", described),
                                             created=issue.created + timedelta(minutes=3),
                                             updated=issue.created + timedelta(minutes=3))
        shown.setdefault(str(issue.pk), []).append((described.filename, bytes(described.content), [comment.pk]))
    return shown


def _attached(item, name) -> list[str]:
    return [str(r.get("attachment_guid") or r["url"].split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]).lower()
            for r in item.relations if r.get("rel") == "AttachedFile" and r["attributes"].get("name") == name]


def check_comment_images(ado_site, run, shown: dict) -> int:
    """Each image a comment shows is one attachment of the item (same bytes, one upload), attached by the
    revision of the first comment that shows it, and every such comment shows it from Azure DevOps."""
    from apps.runs.models import IdMapEntry
    from apps.runs.testing import ado_truth
    from apps.sandbox.ado.models import AdoAttachment, AdoComment
    from apps.sandbox.jira.models import JiraAttachment

    truth = ado_truth(ado_site)
    by_source = {truth["source_of"][row.item_id]: row for row in truth["rows"]}
    checked = 0
    for issue_id, files in shown.items():
        item = by_source[issue_id]
        texts = {c.comment_id: c.text for c in AdoComment.objects.filter(work_item=item)}
        for name, data, comment_ids in files:
            (guid,) = _attached(item, name)  # attached once
            uploads = AdoAttachment.objects.filter(site=ado_site, file_name=name)
            assert uploads.count() == 1, (name, uploads.count())  # uploaded once
            assert bytes(uploads.get().content) == data and str(uploads.get().guid).lower() == guid
            showing = [t for t in texts.values() if f"/_apis/wit/attachments/{guid}" in t.lower()]
            assert len(showing) == len(comment_ids), (name, texts)
            assert all("<img" in t and "[attachment:" not in t and "[image:" not in t for t in showing), showing
            attaching = [u for u in item.updates.all()
                         if any(r.get("rel") == "AttachedFile" and r["attributes"].get("name") == name
                                for r in (u.relations or {}).get("added", []))]
            assert len(attaching) == 1, attaching
            history = str((attaching[0].fields.get("System.History") or {}).get("newValue") or "")
            assert guid in history.lower(), "the comment that shows it attaches it, in its own revision"
            jira = JiraAttachment.objects.get(issue_id=int(issue_id), filename=name)
            assert IdMapEntry.unscoped.filter(run=run, phase="attachments",
                                              source_id=f"attachment:{issue_id}:{jira.pk}").count() == 1
            checked += 1
    return checked


def _run(pair, organisation, member):
    from apps.runs import services

    return services.run_create(organisation=organisation, actor=member, kind="live", plan=pair.plan, start=False,
                               source_connection=pair.source, destination_connection=pair.destination)


@pytest.mark.parametrize("kind", ["jira_cloud", "jira_dc"])
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(not settings.SANDBOX_ENABLED, reason="the sandbox is off (MIGRAYT_SANDBOX_ENABLED)")
def test_images_in_comments_are_shown_from_azure_devops_attachments(live_server, organisation, member, kind):
    from apps.runs.models import IdMapEntry, Run
    from apps.runs.testing import drive, jira_sandbox_pair

    pair = jira_sandbox_pair(organisation=organisation, actor=member, base_url=live_server.url, items=12, seed=5,
                             slug=f"cimg-{kind}", kind=kind)
    shown = add_comment_images(pair.jira_site)
    run = _run(pair, organisation, member)
    drive(run)
    run.refresh_from_db()
    assert run.state == Run.State.FINISHED, run.error_message
    assert check_comment_images(pair.ado_site, run, shown) >= 3
    # Uploaded by the history replay: the comment-only images (the description's one was too: a comment
    # shows it before the attachments phase rewrites the description with the same file).
    assert IdMapEntry.unscoped.filter(run=run, phase="uploads").count() == sum(len(f) for f in shown.values())
    from apps.runs.models import RunError, VerificationDifference

    assert not RunError.unscoped.filter(run=run).exists(), list(RunError.unscoped.filter(run=run).values_list(
        "code", "message")[:3])
    # The verification report reads the files back: each image once, with its bytes.
    summary = run.stats["verification"]
    assert summary["unexplained"] == 0 and summary["missing"] == 0, (summary, list(
        VerificationDifference.unscoped.filter(run=run).values_list("check_name", "explanation")[:5]))


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(not settings.SANDBOX_ENABLED, reason="the sandbox is off (MIGRAYT_SANDBOX_ENABLED)")
def test_a_crash_between_the_upload_and_the_comment_uploads_nothing_twice(live_server, organisation, member,
                                                                          settings, monkeypatch):
    """The worker dies once after the images were uploaded and recorded but before the comment was written,
    and once after the comment was written but before the item's history was recorded: every image is
    uploaded once, attached once, and shown."""
    from apps.connections.connectors.azure_devops.writer import AdoWriter
    from apps.runs.models import Run
    from apps.runs.store import RunStore
    from apps.runs.testing import Crash, drive_through_crashes, jira_sandbox_pair

    settings.RUNS_LEASE_SECONDS = 1
    pair = jira_sandbox_pair(organisation=organisation, actor=member, base_url=live_server.url, items=6, seed=9,
                             slug="cimg-crash", kind="jira_dc")
    shown = add_comment_images(pair.jira_site, issues=2)
    crashed: list[str] = []
    real_replay, real_record = AdoWriter.history_replay, RunStore.record

    def replay(self, item_id, revisions):
        if "before the comment" not in crashed and any(r.files for r in revisions):
            crashed.append("before the comment")
            raise Crash()
        return real_replay(self, item_id, revisions)

    def record(self, **kwargs):
        if (kwargs["phase"] == "states" and "before the checkpoint" not in crashed
                and any(w.phase == "attachments" for w in kwargs["written"])):
            crashed.append("before the checkpoint")
            raise Crash()
        return real_record(self, **kwargs)

    monkeypatch.setattr(AdoWriter, "history_replay", replay)
    monkeypatch.setattr(RunStore, "record", record)
    run = _run(pair, organisation, member)
    drive_through_crashes(run)
    run.refresh_from_db()
    assert run.state == Run.State.FINISHED, (run.error_code, run.error_message)
    assert crashed == ["before the comment", "before the checkpoint"]
    assert check_comment_images(pair.ado_site, run, shown) >= 2
