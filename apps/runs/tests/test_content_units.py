"""The content phases' pure parts: staging without holding a file, the changelog's rows, batches and bodies."""

from datetime import UTC, datetime

import pytest

from apps.connections.connectors import records
from apps.runs import changelog
from apps.runs.staging import RunStager, run_staged_purge


@pytest.mark.django_db
def test_a_staged_attachment_streams_through_and_is_gone_after_upload(settings, tmp_path):
    settings.STORAGES = {**settings.STORAGES, "staged": {"BACKEND": "django.core.files.storage.FileSystemStorage",
                                                          "OPTIONS": {"location": tmp_path}}}
    from django.core.files.storage import storages

    storages._storages.pop("staged", None)
    pulled = []

    def chunks():
        for n in range(48):  # 3 MB in 64 KB chunks, produced one at a time
            pulled.append(n)
            yield bytes([n]) * 65536

    stager = RunStager(organisation_id=3, run_id=9)
    with stager.staged("../../etc/report final.bin", chunks()) as handle:
        assert handle.read(65536) == bytes([0]) * 65536
        handle.seek(0, 2)
        assert handle.tell() == 48 * 65536
        files = [p for p in tmp_path.rglob("*") if p.is_file()]
        assert len(files) == 1 and "org-3/run-9/" in str(files[0]) and ".." not in str(files[0])
    assert pulled == list(range(48))
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []
    # What a killed worker leaves is purged by run.
    leftover = tmp_path / "org-3" / "run-9" / "abc"
    leftover.mkdir(parents=True)
    (leftover / "x.bin").write_bytes(b"left")
    assert run_staged_purge(organisation_id=3, run_id=9) == 1
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def _revision(number, changes, who="Ada Lovelace"):
    return records.Revision(source_id=f"7:{number}", work_item_id="7", number=number,
                            author=records.Person(source_id="u1", display_name=who),
                            changed_at=datetime(2025, 3, number, 9, 30, tzinfo=UTC), changes=tuple(changes))


def test_a_revision_becomes_readable_rows_without_bookkeeping():
    raw = _revision(2, [
        records.FieldChange("System.State", "New", "Active"),
        records.FieldChange("System.Rev", 1, 2),
        records.FieldChange("System.AssignedTo", None, {"displayName": "Grace Hopper", "uniqueName": "g@x"}),
        records.FieldChange("System.Description", "<p>Old &amp; short</p>", "<div><b>New</b> text</div>"),
        records.FieldChange("System.History", None, "<p>a comment</p>"),
        records.FieldChange("relations.added", None, {"rel": "System.LinkTypes.Related",
                                                      "url": "https://x/_apis/wit/workItems/12"}),
    ])
    readable = changelog.readable_revision(raw, {"System.State": "State", "System.AssignedTo": "Assigned To",
                                                 "System.Description": "Description"})
    rows = changelog.change_rows([readable])
    assert [(r.field, r.old, r.new) for r in rows] == [
        ("State", "New", "Active"), ("Assigned To", "", "Grace Hopper"), ("Description", "Old & short", "New text"),
        ("Discussion", "", "comment added (carried as a comment)"),
        ("Link added", "", "System.LinkTypes.Related #12")]
    assert rows[0].changed_by == "Ada Lovelace" and rows[0].changed_at == "2025-03-02 09:30 UTC"


def test_batches_keep_revisions_whole_and_bodies_are_valid_adf_and_wiki():
    revisions = [_revision(n % 28 + 1, [records.FieldChange("State", "A", "B|C"), records.FieldChange("Tags", "", "x")])
                 for n in range(60)]
    rows = changelog.change_rows(revisions)
    batches = changelog.changelog_batches(rows)
    assert sum(len(b) for b in batches) == len(rows)
    for batch in batches:
        assert len({r.revision for r in batch}) <= changelog.BATCH_REVISIONS
    seen = [r.revision for b in batches for r in {r.revision: r for r in b}.values()]
    assert len(seen) == len(set(seen)), "a revision split over two comments"
    from apps.sandbox.jira.adf import adf_errors

    body = changelog.changelog_body(batches[0], rich_text="adf")
    assert adf_errors(body) == []
    assert body["content"][0]["type"] == "expand"
    wiki = changelog.changelog_body(batches[0], rich_text="wiki")
    assert wiki.splitlines()[1] == "||Rev||When||Who||Field||From||To||"
    assert "B\\|C" in wiki  # a pipe in a value does not open a new cell
    header = changelog.changelog_header(item_key="7", batch=batches[1], index=1)
    assert header.startswith("Change history of #7 in the source, revisions") and header.endswith("(part 2)")
