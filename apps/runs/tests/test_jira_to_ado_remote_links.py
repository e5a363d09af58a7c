"""Jira's remote links (web links: commits, Confluence pages, any URL) into Azure DevOps as Hyperlink relations,
titled as in Jira: the reader and writer pieces, the preview's count and warnings, a live run from a seeded Jira
sandbox project checked link by link against both sandboxes' tables, a crash after the links were written and
before the checkpoint (nothing written twice), and devlake's 151 real remote links read by the parser."""

import json
from pathlib import Path

import pytest
from django.conf import settings

from apps.connections.connectors.azure_devops.writer import (
    HYPERLINK_MAX,
    MARKER,
    hyperlink_refusal,
    web_link_comment,
    web_link_title,
)
from apps.connections.connectors.jira import parse
from apps.runs.engine.verify import Difference, _web_links

REALDATA = Path(settings.BASE_DIR).parent / "shared" / "realdata" / "jira" / "devlake-raw" / "_raw_jira_api_remotelinks.json"
FTP = "ftp://files.example.com/build.zip"
LONG = "https://example.com/" + "a" * HYPERLINK_MAX

sandbox = pytest.mark.skipif(not settings.SANDBOX_ENABLED, reason="the sandbox is off (MIGRAYT_SANDBOX_ENABLED)")


# -- units --------------------------------------------------------------------------------------------------

def test_ado_refuses_what_is_not_http_or_https_or_too_long_and_takes_the_rest():
    assert hyperlink_refusal("https://gitlab.example.com/acme/-/commit/8748a06") == ""
    assert hyperlink_refusal("http://wiki.example.com/x?y=1") == ""
    assert "not “ftp:”" in hyperlink_refusal(FTP)
    assert "no http or https" in hyperlink_refusal("wiki page 12")
    assert f"at most {HYPERLINK_MAX:,}" in hyperlink_refusal(LONG)
    assert hyperlink_refusal("https://example.com/" + "a" * (HYPERLINK_MAX - 20)) == ""


def test_a_title_that_reads_like_the_link_back_is_quoted_and_read_back_as_it_was():
    assert web_link_comment("Commit - fix") == "Commit - fix"
    quoted = web_link_comment(f"{MARKER}10063")
    assert not quoted.startswith(MARKER) and web_link_title(quoted) == f"{MARKER}10063"
    assert web_link_title("Commit - fix") == "Commit - fix"


def test_the_verification_counts_missing_and_retitled_links_out_of_the_tracker():
    def diff(check, kind, text):
        return Difference("1", "7", check, kind, text)

    want = [("https://a.example/1", "One"), ("https://a.example/2", "Two")]
    assert _web_links(want, (("https://a.example/2", "Two"), ("https://a.example/1", "One")), diff) == []
    (missing,) = _web_links(want, (("https://a.example/1", "One"),), diff)
    assert (missing.check, missing.kind) == ("web_links", "missing") and "1 missing, 0 with another" in missing.explanation
    (retitled,) = _web_links(want, (("https://a.example/1", "One"), ("https://a.example/2", "Zwei")), diff)
    assert retitled.kind == "differs" and "0 missing, 1 with another title" in retitled.explanation
    assert "a.example" not in missing.explanation + retitled.explanation  # counts only, never a URL


@pytest.mark.skipif(not REALDATA.exists(), reason=f"{REALDATA} is absent")
def test_devlakes_real_remote_links_parse_with_their_url_title_and_id():
    rows = json.loads(REALDATA.read_text())["rows"]
    assert len(rows) == 151
    for row in rows:
        link = parse.remote_link(row["data"], str(row["input"]["issue_id"]))
        assert link.is_external and not link.to_item_id
        assert link.source_id == str(row["data"]["id"]) and link.from_item_id == str(row["input"]["issue_id"])
        assert link.url == row["data"]["object"]["url"] and link.url.startswith("https://")
        assert link.comment == row["data"]["object"]["title"] and link.comment
        assert hyperlink_refusal(link.url) == ""


# -- against the sandboxes ---------------------------------------------------------------------------------

def _add_remote_links(jira_site) -> dict[str, list[tuple[str, str]]]:
    """Remote links on a few issues besides any the seed made: two on one issue, one Azure DevOps refuses
    (ftp), one too long. Returns {issue id: [(url, title)]} of those Azure DevOps takes."""
    from apps.sandbox.jira.models import JiraIssue, JiraRemoteLink

    issues = list(JiraIssue.objects.filter(site=jira_site).order_by("pk"))
    extra = [
        (issues[0], "https://gitlab.example.com/acme/-/commit/8748a066", "Commit - Feat(EE-1): add a chart"),
        (issues[0], "https://confluence.example.com/display/ACME/Design", "Design notes"),
        (issues[3], "https://ci.example.com/job/42?x=1&y=2", f"{MARKER}{issues[3].pk}"),  # reads like the link back
        (issues[5], FTP, "Build"),
        (issues[6], LONG, "Too long"),
    ]
    for issue, url, title in extra:
        JiraRemoteLink.objects.create(issue=issue, relationship="mentioned on", object={"url": url, "title": title})
    wanted: dict[str, list[tuple[str, str]]] = {}
    for link in JiraRemoteLink.objects.filter(issue__site=jira_site).order_by("pk"):
        if not hyperlink_refusal(link.object["url"]):
            wanted.setdefault(str(link.issue_id), []).append((link.object["url"], link.object.get("title", "")))
    return wanted


def _web_hyperlinks(item) -> list[tuple[str, str]]:
    return [(r["url"], web_link_title(str((r.get("attributes") or {}).get("comment") or ""))) for r in item.relations
            if r.get("rel") == "Hyperlink" and not str((r.get("attributes") or {}).get("comment") or "").startswith(MARKER)]


@sandbox
@pytest.mark.django_db(transaction=True)
def test_every_remote_link_is_one_hyperlink_with_its_title_and_a_crash_after_writing_them_writes_none_twice(
        live_server, organisation, member, settings, monkeypatch):
    from apps.connections.connectors.azure_devops.writer import AdoWriter
    from apps.connections.connectors.jira.reader import JiraReader
    from apps.runs import services
    from apps.runs.models import IdMapEntry, Run, RunError, VerificationDifference
    from apps.runs.selectors import run_warnings
    from apps.runs.store import RunStore
    from apps.runs.testing import Crash, ado_truth, drive, drive_through_crashes, jira_sandbox_pair

    settings.RUNS_LEASE_SECONDS = 1
    pair = jira_sandbox_pair(organisation=organisation, actor=member, base_url=live_server.url, items=12, seed=5,
                             slug="weblinks")
    wanted = _add_remote_links(pair.jira_site)
    total = sum(len(v) for v in wanted.values())
    assert total >= 6 and any(len(v) > 1 for v in wanted.values())

    # The reader returns each issue's remote links as Jira lists them.
    from apps.sandbox.jira.models import JiraRemoteLink

    reads: list[str] = []
    real_reads = JiraReader.remote_links_of
    monkeypatch.setattr(JiraReader, "remote_links_of", lambda self, i: reads.append(str(i)) or real_reads(self, i))

    # The preview counts the links Azure DevOps takes and warns of each it refuses.
    preview = services.run_create(organisation=organisation, actor=member, kind="preview", plan=pair.plan,
                                  source_connection=pair.source, destination_connection=pair.destination, start=False)
    drive(preview)
    preview.refresh_from_db()
    assert preview.state == Run.State.FINISHED, preview.error_message
    assert preview.progress["remote_links"]["web_links"] == total
    (refused,) = [w for w in run_warnings(preview) if w["code"] == "web_link_refused"]
    assert refused["count"] == 2 and refused["label"] == "Remote links the destination refuses"
    assert any("not “ftp:”" in m for m, _ in refused["messages"])
    assert any(f"at most {HYPERLINK_MAX:,}" in m for m, _ in refused["messages"])
    assert len(reads) == 12

    # The live run: the worker dies once after the remote_links phase wrote the links, before its checkpoint.
    crashed, patches = [], []
    real_record, real_update = RunStore.record, AdoWriter.item_update

    def record(self, **kwargs):
        if kwargs["phase"] == "remote_links" and not crashed and any(w.phase == "web_links" for w in kwargs["written"]):
            crashed.append(sum(1 for w in kwargs["written"] if w.phase == "web_links"))
            raise Crash()
        return real_record(self, **kwargs)

    def item_update(self, item_id, ops, *, what):
        if what == "add the source's web links":
            patches.append((item_id, len(ops)))
        return real_update(self, item_id, ops, what=what)

    monkeypatch.setattr(RunStore, "record", record)
    monkeypatch.setattr(AdoWriter, "item_update", item_update)
    run = services.run_create(organisation=organisation, actor=member, kind="live", plan=pair.plan,
                              source_connection=pair.source, destination_connection=pair.destination, start=False)
    drive_through_crashes(run)
    run.refresh_from_db()
    assert run.state == Run.State.FINISHED, (run.error_code, run.error_message)
    assert crashed == [total]
    # Written once: one PATCH per issue with links, none on the pass after the crash.
    assert sum(n for _, n in patches) == total and len(patches) == len(wanted)

    truth = ado_truth(pair.ado_site)
    item_of = {source: row for row in truth["rows"] for item_id, source in truth["source_of"].items()
               if item_id == row.item_id}
    for issue_id, links in wanted.items():
        assert sorted(_web_hyperlinks(item_of[issue_id])) == sorted(links), issue_id
    for issue_id, item in item_of.items():
        if issue_id not in wanted:
            assert _web_hyperlinks(item) == [], issue_id
        # The link back stays apart: exactly one Hyperlink carries the source marker.
        assert sum(1 for r in item.relations if r.get("rel") == "Hyperlink" and
                   str(r["attributes"].get("comment", "")).startswith(MARKER)) == 1
    keys = set(IdMapEntry.unscoped.filter(run=run, phase="web_links").values_list("source_id", flat=True))
    assert keys == {f"remotelink:{link.pk}" for link in JiraRemoteLink.objects.filter(issue__site=pair.jira_site)
                    if not hyperlink_refusal(link.object["url"])}
    assert run.progress["remote_links"]["web_links"] == total
    assert run.progress["remote_links"]["web_links_refused"] == 2
    refusals = list(RunError.unscoped.filter(run=run, code="web_link_refused").values_list("message", flat=True))
    assert len(refusals) == 2 and all(m.startswith("Remote link ") for m in refusals)
    assert not VerificationDifference.unscoped.filter(run=run, check_name="web_links").exists()

    # The verification finds a Hyperlink removed in Azure DevOps afterwards.
    first = next(iter(wanted))
    item = item_of[first]
    item.relations = [r for r in item.relations if r.get("url") != wanted[first][0][0]]
    item.save(update_fields=["relations"])
    from apps.runs.engine.verify import Verifier
    from apps.runs.services import _engine_for

    engine, closers = _engine_for(run, RunStore(run, owner="test"))
    try:
        ref = next(r for r in RunStore(run, owner="test").items_created(after_ordinal=-1, limit=100) if r.source_id == first)
        found = [d for d in Verifier(engine).check([ref]) if d.check == "web_links"]
    finally:
        for closer in closers:
            closer.close()
    assert [(d.kind, d.source_id) for d in found] == [("missing", first)]
