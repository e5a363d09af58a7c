"""The content phases end to end: comments, attachments, inline images and history from the Azure DevOps
sandbox into the Jira sandbox (Cloud, and one Data Center case), checked item by item against the
destination's own tables; crash safety of each content phase; a canary that must reach Jira and nowhere
in our database or storage."""

import hashlib
import json
import uuid
from urllib.parse import quote

import httpx
import pytest
from django.conf import settings
from django.db import connection

from apps.runs import services
from apps.runs.models import IdMapEntry, Run
from apps.runs.store import RunStore
from apps.runs.testing import (
    ADO_PAT,
    ADO_PROJECT,
    TYPE_LEVELS,
    Crash,
    drive,
    drive_through_crashes,
    migration_check,
    sandbox_pair,
)

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not settings.SANDBOX_ENABLED, reason="the sandbox is off (MIGRAYT_SANDBOX_ENABLED)"),
]

PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d4944415478da63f8cfc0f01f0005000201a5e1d6a30000000049454e44ae426082")


class Ado:
    """The Azure DevOps sandbox through its REST API, to put content where a customer would."""

    def __init__(self, live_server, pair):
        self.base = f"{live_server.url}/sandbox/ado/{pair.ado_site.slug}/{quote(ADO_PROJECT)}/_apis/wit"
        self.client = httpx.Client(auth=("", ADO_PAT), timeout=30)

    def upload(self, name: str, content: bytes) -> str:
        response = self.client.post(f"{self.base}/attachments", params={"fileName": name, "api-version": "7.1"},
                                    content=content, headers={"Content-Type": "application/octet-stream"})
        assert response.status_code == 201, response.text
        return response.json()["url"]

    def patch(self, item_id: int, ops: list[dict]) -> None:
        response = self.client.patch(f"{self.base}/workitems/{item_id}", params={"api-version": "7.1"},
                                     content=json.dumps(ops), headers={"Content-Type": "application/json-patch+json"})
        assert response.status_code == 200, response.text

    def comment(self, item_id: int, text: str) -> None:
        response = self.client.post(f"{self.base}/workItems/{item_id}/comments",
                                    params={"api-version": "7.1-preview.4"}, json={"text": text})
        assert response.status_code in (200, 201), response.text


def _items(pair):
    from apps.sandbox.ado.models import AdoWorkItem

    return list(AdoWorkItem.objects.filter(site=pair.ado_site, is_deleted=False).order_by("item_id"))


def enrich(live_server, pair, canary: str) -> dict:
    """A file, an image shown in the description, comments (one with an image that is attached nowhere
    else, one naming the canary) on one item; a second file on another. Returns what was put where."""
    ado = Ado(live_server, pair)
    items = [w for w in _items(pair) if w.work_item_type in ("User Story", "Bug", "Epic", "Feature")]
    first, second = items[0].item_id, items[1].item_id
    notes = f"release notes\n{canary}\n".encode() + bytes(range(256)) * 40
    files = {"notes.txt": notes, "diagram.png": PNG, "inline-only.png": PNG + b"\0" * 7, "spec.md": b"# spec\n" * 300}
    urls = {name: ado.upload(name, content) for name, content in files.items()}

    def attach(name):
        return {"op": "add", "path": "/relations/-", "value": {"rel": "AttachedFile", "url": urls[name],
                                                               "attributes": {"comment": ""}}}

    ado.patch(first, [attach("notes.txt"), attach("diagram.png"),
                      {"op": "add", "path": "/fields/System.Description",
                       "value": f'<p>Overview {canary}</p><p><img src="{urls["diagram.png"]}" '
                                f'alt="diagram"></p>'}])
    ado.patch(second, [attach("spec.md")])
    ado.comment(first, f"<div>First word on it, {canary}</div>")
    ado.comment(first, f'<div>See the picture</div><div><img src="{urls["inline-only.png"]}">'
                       "</div>")
    ado.comment(first, "<div>Third, <b>bold</b> and done</div>")
    return {"first": str(first), "second": str(second), "files": files}


def live_run(pair, organisation, member):
    run = services.run_create(organisation=organisation, actor=member, kind="live", plan=pair.plan,
                              source_connection=pair.source, destination_connection=pair.destination,
                              type_levels=TYPE_LEVELS, start=False)
    return run


def destination_by_source(pair) -> dict:
    """source id -> the Jira issue, from the sandbox's tables."""
    from apps.sandbox.jira.models import JiraEntityProperty

    return {str(p.value.get("source_id")): p.issue
            for p in JiraEntityProperty.objects.filter(issue__site=pair.jira_site, key="migrayt.source")}


def comment_texts(issue, *, cloud: bool) -> list[str]:
    from apps.sandbox.jira.adf import adf_plain_text

    # Wiki markup escapes # - ( and the like with a backslash; the text is what a reader sees.
    return [adf_plain_text(c.body) if cloud else str(c.body).replace("\\", "")
            for c in issue.comments.order_by("created", "id")]


def check_item_by_item(pair, *, cloud: bool) -> dict:
    """Every migrated item against the destination: its comments in order under their headers, once each,
    its files (names, sizes, checksums), a changelog."""
    from apps.sandbox.ado.models import AdoAttachment, AdoComment

    issues = destination_by_source(pair)
    assert issues, "nothing was migrated"
    totals = {"comments": 0, "attachments": 0, "history": 0}
    for work_item in _items(pair):
        issue = issues.get(str(work_item.item_id))
        if issue is None:
            continue
        texts = comment_texts(issue, cloud=cloud)
        source_comments = list(AdoComment.objects.filter(work_item=work_item, is_deleted=False)
                               .order_by("created_date", "comment_id"))
        written = [t for t in texts if "Originally written by" in t.split("\n")[0][:200]]
        expected = [f"(comment {c.comment_id} of #{work_item.item_id})" for c in source_comments]
        assert [next((e for e in expected if e in t), None) for t in written] == expected, work_item.item_id
        history = [t for t in texts if t.lstrip("_").startswith("Change history of")]
        assert history, f"no changelog on {work_item.item_id}"
        assert len(set(history)) == len(history)
        guids = {str(r.get("url", "")).rstrip("/").rsplit("/", 1)[-1].lower()
                 for r in work_item.relations if r.get("rel") == "AttachedFile"}
        guids |= {str(r.get("attachment_guid", "")).lower() for r in work_item.relations
                  if r.get("rel") == "AttachedFile" and r.get("attachment_guid")}
        guids.discard("")
        sources = list(AdoAttachment.objects.filter(site=pair.ado_site, guid__in=guids))
        expected_files = sorted((a.file_name, a.size, hashlib.sha256(bytes(a.content)).hexdigest()) for a in sources)
        actual_files = sorted((a.filename, a.size, hashlib.sha256(bytes(a.content)).hexdigest())
                              for a in issue.attachments.all())
        for name, size, digest in expected_files:
            assert (name, size, digest) in actual_files, (work_item.item_id, name)
        assert len(actual_files) == len(set(actual_files)), f"a file written twice on {work_item.item_id}"
        totals["comments"] += len(written)
        totals["attachments"] += len(actual_files)
        totals["history"] += len(history)
    return totals


def text_in_database(needle: str) -> list[str]:
    """Every text column of every table of ours (the sandboxes, which stand for the vendors, aside)."""
    found = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            if table.startswith("sandbox"):
                continue
            description = connection.introspection.get_table_description(cursor, table)
            for column in description:
                cursor.execute(f'SELECT COUNT(*) FROM "{table}" WHERE CAST("{column.name}" AS TEXT) LIKE %s',  # noqa: S608
                               [f"%{needle}%"])
                if cursor.fetchone()[0]:
                    found.append(f"{table}.{column.name}")
    return found


def test_comments_attachments_images_and_history_reach_jira_cloud_once_and_nothing_stays(
        live_server, organisation, member, client):
    pair = sandbox_pair(organisation=organisation, actor=member, base_url=live_server.url, items=8, seed=31,
                        slug="content")
    canary = f"CANARY-{uuid.uuid4().hex}"
    put = enrich(live_server, pair, canary)
    run = live_run(pair, organisation, member)
    drive(run)
    run.refresh_from_db()
    assert run.state == Run.State.FINISHED, (run.error_code, run.error_message)
    verdict = migration_check(ado_site=pair.ado_site, jira_site=pair.jira_site)
    assert (verdict["duplicates"], verdict["missing"]) == (0, 0)
    totals = check_item_by_item(pair, cloud=True)
    assert totals["comments"] >= 3 and totals["attachments"] >= 3 and totals["history"] >= verdict["items"]

    issues = destination_by_source(pair)
    first = issues[put["first"]]
    files = {a.filename: a for a in first.attachments.all()}
    assert set(files) == {"notes.txt", "diagram.png", "inline-only.png"}
    assert bytes(files["notes.txt"].content) == put["files"]["notes.txt"]
    # The description shows the uploaded image from Jira, not from Azure DevOps.
    description = json.dumps(first.description)
    assert f"/attachment/content/{files['diagram.png'].pk}" in description
    assert "_apis/wit/attachments" not in description
    assert canary in description
    texts = comment_texts(first, cloud=True)
    mine = [t for t in texts if "First word on it" in t or "See the picture" in t or "Third," in t]
    assert [("First" in t, "picture" in t, "Third" in t) for t in mine] == [
        (True, False, False), (False, True, False), (False, False, True)]  # in their original order
    assert canary in mine[0]
    picture = next(c for c in first.comments.all() if "See the picture" in json.dumps(c.body))
    assert f"/attachment/content/{files['inline-only.png'].pk}" in json.dumps(picture.body)
    changelog = next(c for c in first.comments.all() if "Change history of" in json.dumps(c.body))
    assert changelog.body["content"][1]["type"] == "expand"
    assert "Description" in json.dumps(changelog.body)

    ids = IdMapEntry.unscoped.filter(run=run)
    assert ids.filter(phase="comments").count() == totals["comments"]
    assert ids.filter(phase="attachments", source_id__startswith=f"attachment:{put['first']}:").count() == 3
    assert ids.filter(phase="descriptions", source_id=put["first"]).count() == 1
    assert run.progress["comments"]["done"] == run.progress["comments"]["total"]

    # The history as CSV, read from the source on request; bad input answered in words.
    from rest_framework.test import APIClient

    from apps.accounts.services import api_token_create

    _, secret = api_token_create(organisation=organisation, user=member, name="content")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    response = api.get(f"/api/v1/runs/{run.pk}/history.csv", {"items": put["first"]})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert lines[0] == "item,revision,changed_at,changed_by,field,from,to"
    assert any(line.startswith(f"{put['first']},") and ",Description," in line for line in lines[1:])
    assert api.get(f"/api/v1/runs/{run.pk}/history.csv", {"items": "x;1"}).status_code == 400
    assert api.get(f"/api/v1/runs/{run.pk}/history.csv", {"items": "999999"}).status_code == 400
    client.force_login(member)
    page = client.get(f"/runs/{run.pk}/history.csv", {"items": put["first"]})
    assert page.status_code == 200 and b"".join(page.streaming_content).decode().splitlines() == lines
    assert client.get(f"/runs/{run.pk}/history.csv", {"items": "nope"}).status_code == 302
    assert f"/runs/{run.pk}/history.csv".encode() in client.get(f"/runs/{run.pk}/report/").content

    # Zero Data Retention: the canary is in Jira, and nowhere in our tables or the staged storage.
    assert text_in_database(canary) == []
    staged = settings.STORAGES["staged"]["OPTIONS"]["location"]
    leftovers = [p for p in staged.rglob("*") if p.is_file()] if staged.exists() else []
    assert [p for p in leftovers if f"org-{organisation.pk}/run-{run.pk}/" in str(p)] == []
    assert not any(canary.encode() in p.read_bytes() for p in leftovers)


def test_data_center_gets_wiki_comments_images_by_name_and_a_changelog_table(live_server, organisation, member):
    pair = sandbox_pair(organisation=organisation, actor=member, base_url=live_server.url, items=4, seed=32,
                        slug="content-dc", data_center=True)
    put = enrich(live_server, pair, "dc-canary")
    # The preview counts what each content phase will write and says which phase the mapping turned off.
    from dataclasses import replace

    preview = services.run_create(organisation=organisation, actor=member, kind="preview",
                                  plan=replace(pair.plan, comments=False), source_connection=pair.source,
                                  destination_connection=pair.destination, type_levels=TYPE_LEVELS, start=False)
    drive(preview)
    preview.refresh_from_db()
    assert preview.state == Run.State.FINISHED, (preview.error_code, preview.error_message)
    assert preview.progress["attachments"]["done"] >= 3  # the three files put there, at least
    assert preview.progress["comments"].get("off") is True and preview.progress["comments"]["done"] == 0
    assert preview.progress["history"]["done"] >= 4
    assert "inline_images" in preview.warnings
    assert IdMapEntry.unscoped.filter(run=preview).exclude(phase="preview").count() == 0
    run = live_run(pair, organisation, member)
    drive(run)
    run.refresh_from_db()
    assert run.state == Run.State.FINISHED, (run.error_code, run.error_message)
    check_item_by_item(pair, cloud=False)
    first = destination_by_source(pair)[put["first"]]
    assert "!diagram.png" in first.description
    texts = comment_texts(first, cloud=False)
    assert texts[0].startswith("_Originally written by")
    assert any("!inline-only.png" in t for t in texts)
    assert any(t.startswith("_Change history of") and "||Rev||When||Who||Field||From||To||" in t for t in texts)


def test_a_crash_after_the_writes_and_before_the_checkpoint_writes_nothing_twice(
        live_server, organisation, member, settings, monkeypatch):
    """In each content phase, the worker dies after its writes reached Jira and before they were recorded;
    the next worker reconciles (files by name and size, comments by header) and writes nothing twice."""
    settings.RUNS_LEASE_SECONDS = 1
    pair = sandbox_pair(organisation=organisation, actor=member, base_url=live_server.url, items=5, seed=33,
                        slug="content-crash")
    enrich(live_server, pair, "crash")
    run = live_run(pair, organisation, member)
    real_record = RunStore.record
    crashed: dict[str, int] = {}

    def record(self, **kwargs):
        phase = kwargs["phase"]
        if phase in ("attachments", "comments", "history") and kwargs["written"] and phase not in crashed:
            crashed[phase] = sum(1 for w in kwargs["written"] if w.phase == phase)
            raise Crash()
        return real_record(self, **kwargs)

    monkeypatch.setattr(RunStore, "record", record)
    drive_through_crashes(run)
    run.refresh_from_db()
    assert run.state == Run.State.FINISHED, (run.error_code, run.error_message)
    assert set(crashed) == {"attachments", "comments", "history"} and all(crashed.values())
    check_item_by_item(pair, cloud=True)
    for phase, count in crashed.items():
        assert IdMapEntry.unscoped.filter(run=run, phase=phase, adopted=True).count() == count, phase
