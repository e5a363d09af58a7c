"""The round trip: a seeded Azure DevOps sandbox project migrated into an empty Jira sandbox project (run A),
then that Jira project into an empty Azure DevOps sandbox project (run B), in this process, one step after
another. Each original item is followed through both id maps to its round-tripped item and checked against
the sandboxes' own tables; the difference report (apps/runs/roundtrip.py) must list exactly what the round
trip cannot keep, and notice a round-tripped item tampered with afterwards."""

import csv
import hashlib
import io
import re

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from apps.accounts.services import api_token_create
from apps.connections.connectors import records
from apps.core.exceptions import ApplicationError
from apps.mappings.plan import MappingPlan
from apps.runs import roundtrip, services
from apps.runs.models import Run
from apps.runs.roundtrip import OWN_CHECKS, Chain, Side, compare_item, outline, round_trip_runs
from apps.runs.testing import (
    ADO_PROJECT,
    TYPE_LEVELS,
    ado_truth,
    drive,
    return_leg,
    sandbox_pair,
)

ITEMS = 12
SEED = 7

sandbox = pytest.mark.skipif(not settings.SANDBOX_ENABLED, reason="the sandbox is off (MIGRAYT_SANDBOX_ENABLED)")
RICH = ("<h2>Plan</h2><p>Overview with <b>bold</b> and <span style=\"color:#e60000\">red</span> words</p>"
        "<ul><li>first step</li><li>second step</li></ul><table><tr><th>Key</th><th>Value</th></tr>"
        "<tr><td>alpha</td><td>1</td></tr></table><pre><code>print(\"round trip\")</code></pre>")


def _finished(run):
    drive(run)
    run.refresh_from_db()
    assert run.state == Run.State.FINISHED, (run.pk, run.error_code, run.error_message)
    return run


def enrich(live_server, pair) -> dict:
    """What the seed may not hold for so few items, put where a customer would, through the REST API: links of
    the three mapped kinds, files, rich text with an image shown from the project, comments with formatting
    and an image attached nowhere else, and a custom field that no mapping carries (the deliberate loss)."""
    from apps.runs.tests.test_content import PNG, Ado

    ado = Ado(live_server, pair)
    files = {"notes.txt": b"release notes\n" + bytes(range(256)) * 40, "diagram.png": PNG,
             "inline-only.png": PNG + b"\0" * 7, "spec.md": b"# spec\n" * 300}
    urls = {name: ado.upload(name, content) for name, content in files.items()}

    def attach(name):
        return {"op": "add", "path": "/relations/-", "value": {"rel": "AttachedFile", "url": urls[name],
                                                               "attributes": {"comment": ""}}}

    def link(rel, other):
        return {"op": "add", "path": "/relations/-", "value": {"rel": rel, "url": f"{ado.base}/workItems/{other}"}}

    ado.patch(3, [attach("notes.txt"), attach("diagram.png"), link("System.LinkTypes.Related", 4),
                  {"op": "add", "path": "/fields/System.Description",
                   "value": RICH + f'<p><img src="{urls["diagram.png"]}" alt="diagram"></p>'}])
    ado.patch(6, [attach("spec.md"), link("System.LinkTypes.Dependency-Forward", 9)])
    ado.patch(11, [link("System.LinkTypes.Duplicate-Forward", 12)])
    ado.patch(4, [{"op": "add", "path": "/fields/Custom.Customer", "value": "Contoso"}])
    ado.comment(3, '<div>See the picture</div><div><img src="' + urls["inline-only.png"] + '"></div>')
    ado.comment(3, "<div>Third, <b>bold</b> and <i>done</i></div>")
    return files


def round_trip(*, live_server, organisation, member, slug: str = "rt"):
    """Run A (Azure DevOps -> Jira) then run B (that Jira project -> an empty Azure DevOps project)."""
    pair = sandbox_pair(organisation=organisation, actor=member, base_url=live_server.url, items=ITEMS, seed=SEED,
                        slug=slug, sprints=True)
    files = enrich(live_server, pair)
    run_a = _finished(services.run_create(organisation=organisation, actor=member, kind="live", plan=pair.plan,
                                          source_connection=pair.source, destination_connection=pair.destination,
                                          type_levels=TYPE_LEVELS, start=False))
    way_back = return_leg(pair=pair, organisation=organisation, actor=member, base_url=live_server.url,
                          slug=f"{slug}-back")
    run_b = _finished(services.run_create(organisation=organisation, actor=member, kind="live", plan=way_back.plan,
                                          source_connection=way_back.source,
                                          destination_connection=way_back.destination, start=False))
    return pair, way_back.ado_site, run_a, run_b, files




def _text(html: str) -> str:
    return roundtrip.ATTRIBUTION.sub("", outline(html).text)


def _files(site, row) -> list[tuple[str, int, str]]:
    from apps.sandbox.ado.models import AdoAttachment

    guids = {str(r.get("attachment_guid") or str(r.get("url", "")).rstrip("/").rsplit("/", 1)[-1]).lower()
             for r in row.relations if r.get("rel") == "AttachedFile"}
    return sorted((a.file_name, a.size, hashlib.sha256(bytes(a.content)).hexdigest())
                  for a in AdoAttachment.objects.filter(site=site) if str(a.guid).lower() in guids)


def _links(row, far) -> set[tuple[str, str]]:
    return {(r["rel"], far(str(r["target_id"]))) for r in row.relations
            if r.get("target_id") and "Hierarchy" not in r.get("rel", "")}


def _api(organisation, member) -> APIClient:
    _, secret = api_token_create(organisation=organisation, user=member, name="round trip")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return api


@sandbox
@pytest.mark.django_db(transaction=True)
def test_a_project_migrated_to_jira_and_back_keeps_what_it_can_and_the_report_says_what_it_cannot(
        live_server, organisation, member, other_organisation, outsider):
    from apps.sandbox.ado.models import AdoAttachment, AdoComment, AdoWorkItem
    from apps.sandbox.jira.models import JiraEntityProperty

    pair, back, run_a, run_b, files = round_trip(live_server=live_server, organisation=organisation, member=member)
    # The round trip of each original item, from the sandboxes' own tables (not from our id maps): Jira's
    # migrayt.source property, then the Hyperlink run B left on each work item.
    jira_source = {str(p.issue_id): str(p.value["source_id"])
                   for p in JiraEntityProperty.objects.filter(issue__site=pair.jira_site, key="migrayt.source")}
    truth = ado_truth(back)
    rt = {jira_source[jira_id]: str(item_id) for item_id, jira_id in truth["source_of"].items()}
    originals = {str(w.item_id): w for w in AdoWorkItem.objects.filter(site=pair.ado_site)}
    backs = {str(w.item_id): w for w in truth["rows"]}
    assert sorted(rt) == sorted(originals) and len(backs) == ITEMS  # every item there and back, once

    report = roundtrip.round_trip_report(run_a=run_a, run_b=run_b)
    found: dict[tuple[str, str], list] = {}
    for d in report["differences"]:
        found.setdefault((d.source_id, d.check), []).append(d)
    unexpected = [d for d in report["differences"] if not d.expected]
    assert unexpected == [], "\n".join(map(str, unexpected))
    assert report["summary"]["items"] == ITEMS and report["summary"]["lost"] == 0

    # Hierarchy: each round-tripped item is under the round trip of its original's parent, except where Jira's
    # one-level-up parents moved it, and the report says so for exactly those.
    moved = set()
    for sid, row in originals.items():
        parent = str(row.fields.get("System.Parent") or "")
        if str(backs[rt[sid]].fields.get("System.Parent") or "") != (rt[parent] if parent else ""):
            moved.add(sid)
    assert moved and {s for s, c in found if c == "parent"} == moved
    assert all("exactly one level up" in d.reason for s in moved for d in found[(s, "parent")])
    # Types: Jira has no Feature here; the report names exactly the items whose type changed.
    changed = {sid for sid, row in originals.items() if row.work_item_type != backs[rt[sid]].work_item_type}
    assert {originals[s].work_item_type for s in changed} == {"Feature"}
    assert {s for s, c in found if c == "type"} == changed
    # States and tags: the report names exactly the items whose state or tags came back otherwise.
    def tags(row):
        return sorted(t.strip() for t in str(row.fields.get("System.Tags") or "").split(";")
                      if t.strip() and not t.strip().startswith("migrayt-run-"))

    for check, value in (("state", lambda row: row.fields.get("System.State")), ("tags", tags)):
        otherwise = {sid for sid, row in originals.items() if value(row) != value(backs[rt[sid]])}
        assert {s for s, c in found if c == check} == otherwise, check
    # Links between items: every one kept, same type and direction; the web link outside the tracker reported.
    for sid, row in originals.items():
        assert _links(row, lambda far: rt[far]) == _links(backs[rt[sid]], lambda far: far), sid
    assert sum(len(_links(row, str)) for row in originals.values()) >= 6  # three links, both ends each
    external = {sid for sid, row in originals.items() if any(r.get("rel") == "Hyperlink" for r in row.relations)}
    assert {s for s, c in found if c == "links"} == external
    home = pair.source.base_url  # an image kept anywhere else comes back as a link showing its name
    # Comments: each one back, with its text, under its attribution header (its author and date in words).
    with_comments, other_author = set(), set()
    for sid, row in originals.items():
        returned = list(AdoComment.objects.filter(work_item=backs[rt[sid]], is_deleted=False))
        for comment in AdoComment.objects.filter(work_item=row, is_deleted=False):
            header = f"(comment {comment.comment_id} of #{sid})"
            match = next(c for c in returned if header in outline(c.text).text)
            assert _text(match.text).split(header, 1)[1].strip() == outline(comment.text, home=home).text
            with_comments.add(sid)
            if match.created_by.get("uniqueName") != comment.created_by.get("uniqueName"):
                other_author.add(sid)  # Jira's author is the account that migrates
    assert len(with_comments) >= 3 and other_author
    assert {s for s, c in found if c == "comment_author"} == other_author
    assert {s for s, c in found if c == "comment_date"} == with_comments
    for d in (d for (_, c), ds in found.items() if c == "comments" for d in ds):
        assert d.kind == "extra" and "readable notes" in d.reason or "outside the original organisation" in d.reason
    # Attachments: the same bytes; the image shown only in a comment comes back attached too (reported).
    for sid, row in originals.items():
        want, have = _files(pair.ado_site, row), _files(back, backs[rt[sid]])
        assert all(f in have for f in want), sid
    assert len(_files(back, backs[rt["3"]])) == 3 and len(_files(back, backs[rt["6"]])) == 1
    assert [d.kind for d in found[("3", "attachments")]] == ["extra"]
    # Texts: equal once normalised; the rich text's headings, lists, table and code kept; the image shown from
    # the round trip's own attachment.
    for sid, row in originals.items():
        html = str(row.fields.get("System.Description") or "")
        assert _text(str(backs[rt[sid]].fields.get("System.Description") or "")) == outline(html, home=home).text, sid
    story = outline(backs[rt["3"]].fields["System.Description"])
    assert story.structure == outline(originals["3"].fields["System.Description"]).structure
    assert story.structure == ["heading", "list item", "list item", "cell", "cell", "cell", "cell", "code"]
    image = re.search(r'<img src="([^"]+)"', backs[rt["3"]].fields["System.Description"]).group(1)
    guid = image.rstrip("/").rsplit("/", 1)[-1].split("?")[0]
    assert bytes(AdoAttachment.objects.get(site=back, guid=guid).content) == files["diagram.png"]
    # The deliberate loss, a custom field no mapping carries, and every other field that did not come back.
    lost_fields = {(sid, f) for sid, row in originals.items() for f, v in row.fields.items()
                   if f not in OWN_CHECKS and v not in (None, "") and backs[rt[sid]].fields.get(f) != v}
    assert ("4", "Custom.Customer") in lost_fields
    assert {(d.source_id, d.was) for (s, c), ds in found.items() if c == "fields" for d in ds} == lost_fields
    assert "no rule for Custom.Customer" in found[("4", "fields")][0].reason
    # History: the revisions came back as comments, and the report says so for every item that had some.
    revised = {sid for sid, row in originals.items() if row.rev > 1}
    assert revised and {s for s, c in found if c == "history"} == revised
    assert all("come back as comments" in found[(s, "history")][0].reason for s in revised)
    # Nothing of the tickets in the report: ids, names of types and states, field ids, counts and hashes.
    words = " ".join(f"{d.was} {d.now} {d.reason}" for d in report["differences"])
    assert "Contoso" not in words and "round trip\"" not in words and "alpha" not in words

    # Through the API, org-scoped; bad chains answered in words.
    api = _api(organisation, member)
    body = api.get(f"/api/v1/runs/{run_b.pk}/round-trip/", {"from": run_a.pk}).json()
    assert body["summary"]["unexpected"] == 0 and body["summary"]["items"] == ITEMS
    assert len(body["differences"]) == len(report["differences"])
    response = api.get(f"/api/v1/runs/{run_b.pk}/round-trip.csv", {"from": run_a.pk})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == list(roundtrip.CSV_COLUMNS) and len(rows) == len(report["differences"]) + 1
    assert api.get(f"/api/v1/runs/{run_a.pk}/round-trip/", {"from": run_b.pk}).status_code == 400
    assert api.get(f"/api/v1/runs/{run_b.pk}/round-trip/", {"from": "x"}).status_code == 400
    assert _api(other_organisation, outsider).get(f"/api/v1/runs/{run_b.pk}/round-trip/",
                                                  {"from": run_a.pk}).status_code == 404

    # On the web: run B's page links to the report, which offers run A and shows the same summary and CSV.
    from django.test import Client

    web = Client()
    web.force_login(member)
    assert f"/runs/{run_b.pk}/round-trip/" in web.get(f"/runs/{run_b.pk}/").content.decode()
    page = web.get(f"/runs/{run_b.pk}/round-trip/")
    assert page.status_code == 200 and f'<option value="{run_a.pk}"' in page.content.decode()
    page = web.get(f"/runs/{run_b.pk}/round-trip/", {"from": run_a.pk})
    assert page.status_code == 200 and page.context["summary"] == body["summary"]
    assert len(page.context["expected"]) == min(500, len(report["differences"])) and not page.context["unexpected"]
    assert "Contoso" not in page.content.decode()
    web_csv = web.get(f"/runs/{run_b.pk}/round-trip.csv", {"from": run_a.pk})
    assert len(b"".join(web_csv.streaming_content).decode().splitlines()) == len(rows)

    # Tampered with after the run: the report notices each change and nothing else.
    title = backs[rt["3"]]
    title.fields["System.Title"] += " (edited)"
    title.save(update_fields=["fields"])
    gone = AdoComment.objects.filter(work_item=backs[rt["1"]], text__contains="Originally written by").first()
    AdoComment.objects.filter(pk=gone.pk).update(is_deleted=True)
    for sid, other in (("11", "12"), ("12", "11")):
        row = backs[rt[sid]]
        row.relations = [r for r in row.relations if str(r.get("target_id")) != rt[other]]
        row.save(update_fields=["relations"])
    spec = next(a for a in AdoAttachment.objects.filter(site=back) if a.file_name == "spec.md")
    spec.content = bytes(reversed(bytes(spec.content)))
    spec.save(update_fields=["content"])
    again = roundtrip.round_trip_report(run_a=run_a, run_b=run_b)
    noticed = sorted((d.source_id, d.check, d.kind) for d in again["differences"] if not d.expected)
    assert noticed == [("1", "comments", "missing"), ("11", "links", "missing"), ("12", "links", "missing"),
                       ("3", "title", "differs"), ("6", "attachments", "differs")], noticed
    expected_before = sorted((d.source_id, d.check, d.kind) for d in report["differences"])
    expected_after = sorted((d.source_id, d.check, d.kind) for d in again["differences"] if d.expected)
    assert expected_after == expected_before


# --- the comparison on its own (neutral records, no sandbox) --------------------------------------------------


def test_outline_compares_words_blocks_and_images_not_inline_formatting():
    a = outline('<div><h2>Plan</h2><div>Some <b>bold</b> <span style="color:red">text</span></div>'
                '<ul><li>one</li></ul><img src="https://dev.azure.com/o/_apis/wit/attachments/x?fileName=a.png"></div>')
    b = outline("<h2>Plan</h2><p>Some bold text</p><ul><li><p>one</p></li></ul>"
                '<p><img src="https://other.example/_apis/wit/attachments/y?fileName=a.png" alt="a.png"></p>')
    assert (a.text, a.structure, a.images) == ("Plan Some bold text one", ["heading", "list item"], ["a.png"])
    assert (a.text, a.structure, a.images) == (b.text, b.structure, b.images)
    assert outline("<p>Some text</p>").text != outline("<p>Some other text</p>").text
    foreign = outline('<p>See <img src="https://cdn.example/x.png" alt="the chart"></p>', home="https://dev.azure.com/o")
    assert (foreign.text, foreign.images, foreign.linked) == ("See the chart", [], 1)


def _item(sid, type_id="User Story", **kw) -> records.WorkItem:
    base = {"key": sid, "project_id": "p", "title": "A title", "description": "<p>Text</p>", "state": "New",
            "revision": 1}
    return records.WorkItem(source_id=sid, type_id=type_id, **{**base, **kw})


def _chain() -> Chain:
    from apps.runs.testing import agile_to_jira_plan

    plan_b = MappingPlan(version_id=0, source_kind="jira_cloud", destination_kind="azure_devops",
                         source_project="MIG", destination_project="Back",
                         types={"10001": _rule("10001", "User Story"), "10000": _rule("10000", "Epic")},
                         states={("10001", "To Do"): "New", ("10000", "To Do"): "New"},
                         link_types={"10003": "System.LinkTypes.Related"})
    return Chain(plan_a=agile_to_jira_plan(), plan_b=plan_b, levels_a=dict(TYPE_LEVELS),
                 to_jira={"1": "101", "2": "102", "3": "103"}, to_back={"101": "51", "102": "52", "103": "53"},
                 root_a="Fabrikam Fiber", root_b="Back")


def _rule(source, target):
    from apps.mappings.plan import TypeRule

    return TypeRule(source, target)


def _middle(jira_id, type_refs, parent=""):
    from apps.runs.engine.verify import ReadBack

    item = records.WorkItem(source_id=jira_id, key=f"MIG-{jira_id}", project_id="MIG", type_id=min(type_refs),
                            parent_id=parent)
    return ReadBack(destination_id=jira_id, key=item.key, item=item, type_refs=frozenset(type_refs),
                    status_refs=frozenset({"1", "To Do"}))


def test_an_item_that_came_back_whole_has_no_difference():
    related = records.Link("2:r#1", "System.LinkTypes.Related", "2", "3")
    source = Side(_item("2", parent_id="1"), links=[related])
    back = Side(_item("52", parent_id="51"), links=[records.Link("52:r#1", "System.LinkTypes.Related", "52", "53")])
    assert compare_item(source, _middle("102", {"10001", "Story"}, parent="101"), back, _chain()) == []


def test_each_loss_has_a_reason_and_a_fault_is_not_expected():
    comment = records.Comment("9", "2", records.Person("a", "Ann", "ann@x.example"), None, "<div>Secret words</div>")
    source = Side(_item("2", "Feature", parent_id="1", title="Secret title"), comments=[comment],
                  links=[records.Link("2:r#1", "System.LinkTypes.Related", "2", "3")],
                  attachments=[records.Attachment("g1", "2", "a.txt", 3)], digests={"g1": "a" * 64})
    back = Side(_item("52", parent_id="51", title="Secret title, edited"),
                attachments=[records.Attachment("g2", "52", "a.txt", 3)], digests={"g2": "b" * 64})
    found = {d.check: d for d in compare_item(source, _middle("102", {"10001", "Story"}, parent="101"), back,
                                              _chain())}
    assert set(found) == {"type", "title", "links", "comments", "attachments"}
    assert found["type"].expected and "Jira has no Feature" in found["type"].reason
    assert [found[c].expected for c in ("title", "links", "comments", "attachments")] == [False] * 4
    assert (found["title"].was, found["links"].was) == ("12 characters, sha256 " + roundtrip._digest("Secret title"),
                                                       "1× System.LinkTypes.Related to #53")
    assert "Secret" not in " ".join(f"{d.was} {d.now} {d.reason}" for d in found.values())


@pytest.mark.django_db
def test_runs_that_do_not_chain_are_refused_in_words(organisation, other_organisation, member):
    from apps.connections.models import Connection

    def connection(kind, url, org=organisation):
        return Connection.objects.create(organisation=org, kind=kind, name=url, base_url=url)

    ado, jira, back = (connection("azure_devops", "https://dev.azure.com/a"),
                       connection("jira_cloud", "https://a.atlassian.net"), connection("azure_devops", "https://b"))

    def run(source, destination, src_project, dst_project, org=organisation, **kw):
        return Run.objects.create(organisation=org, plan={}, source_connection=source, destination_connection=destination,
                                  source_project=src_project, destination_project=dst_project,
                                  **{"kind": Run.Kind.LIVE, "state": Run.State.FINISHED, **kw})

    run_a, run_b = run(ado, jira, ADO_PROJECT, "MIG"), run(jira, back, "MIG", "Back")
    assert round_trip_runs(organisation=organisation, run_b=run_b, from_id=str(run_a.pk)) == run_a
    cases = [
        (run_b, "", "Say which run went there"),
        (run_a, run_a.pk, "does not go from Jira to Azure DevOps"),
        (run_b, run_b.pk, "does not go from Azure DevOps to Jira"),
        (run(jira, back, "OTHER", "Back2"), run_a.pk, "does not start where"),
        (run_b, run(ado, jira, ADO_PROJECT, "MIG", kind=Run.Kind.PREVIEW).pk, "is a preview"),
        (run_b, run(ado, jira, ADO_PROJECT, "MIG", state=Run.State.RUNNING).pk, "is running"),
    ]
    for b, from_id, message in cases:
        with pytest.raises(ApplicationError, match=message):
            round_trip_runs(organisation=organisation, run_b=b, from_id=from_id)
    # The page: run A offered, a chain that does not hold answered in words (400), another's run a 404.
    from django.test import Client

    web = Client()
    web.force_login(member)
    page = web.get(f"/runs/{run_b.pk}/round-trip/")
    assert page.status_code == 200 and [c.pk for c in page.context["candidates"]] == [run_a.pk]
    page = web.get(f"/runs/{run_b.pk}/round-trip/", {"from": run_b.pk})
    assert page.status_code == 400 and "does not go from Azure DevOps to Jira" in page.context["error"]
    assert web.get(f"/runs/{run_b.pk}/round-trip.csv", {"from": "x"}).status_code == 302
    theirs = run(connection("azure_devops", "https://x", other_organisation),
                 connection("jira_cloud", "https://y", other_organisation), "P", "Q", org=other_organisation)
    with pytest.raises(Run.DoesNotExist):
        round_trip_runs(organisation=organisation, run_b=run_b, from_id=theirs.pk)
    assert web.get(f"/runs/{run_b.pk}/round-trip/", {"from": theirs.pk}).status_code == 404


# --- what chaining the two directions found in the Jira -> Azure DevOps leg --------------------------------------


def test_the_history_of_a_jira_description_ends_on_its_rich_text_not_the_changelogs_plain_text():
    """Jira's changelog holds a description as plain text: replayed, its last entry flattened headings, lists,
    tables and images into lines; the current rich description is now the last revision."""
    from datetime import UTC, datetime, timedelta

    from apps.mappings.drafting.proposals import Transform
    from apps.mappings.plan import FieldRule, TypeRule
    from apps.runs.engine.draft import Drafter
    from apps.runs.engine.replay import ReplayContext, current_fields, history

    plan = MappingPlan(version_id=0, source_kind="jira_cloud", destination_kind="azure_devops", source_project="MIG",
                       destination_project="Back", types={"10": TypeRule("10", "User Story")},
                       fields={"description": FieldRule("description", "System.Description", Transform.RICH_TEXT)},
                       states={("10", "To Do"): "New"})
    drafter = Drafter(plan, rich_text="html")
    drafter.replay_context = ReplayContext()
    t0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    adf = {"type": "doc", "version": 1, "content": [
        {"type": "heading", "attrs": {"level": 2}, "content": [{"type": "text", "text": "Plan"}]},
        {"type": "bulletList", "content": [{"type": "listItem", "content": [
            {"type": "paragraph", "content": [{"type": "text", "text": "first step"}]}]}]}]}
    item = records.WorkItem(source_id="100", key="MIG-1", project_id="1", type_id="10", title="A", state="To Do",
                            created_at=t0, description=adf, description_format=records.TextFormat.ADF)
    edited = [records.Revision("1", "100", 1, None, t0 + timedelta(hours=1),
                               (records.FieldChange("description", "Plan", "Plan\nfirst step"),))]
    write = drafter.draft(item).write
    writes = history(drafter, item, edited, [], current_fields(write))
    assert writes[0].fields["System.Description"].count("<li>") == 0  # the changelog's text, as it says
    assert writes[-1].source_id == "current"
    assert outline(writes[-1].fields["System.Description"]).structure == ["heading", "list item"]


def test_an_image_a_migration_into_jira_shows_by_its_content_url_is_one_of_the_issues_files():
    """A run into Jira Cloud shows an uploaded image as an external media node with the attachment's content
    URL; read back from Jira it was not found, so the round trip lost the image (and its description)."""
    from types import SimpleNamespace

    from apps.runs.adapters_to_ado import JiraSource

    source = JiraSource(SimpleNamespace(config=SimpleNamespace(base_url="https://acme.atlassian.net")), project="MIG")
    source._attached["100"] = [records.Attachment("3", "100", "notes.txt"), records.Attachment("4", "100", "d.png")]
    found = source.image_attachment("https://acme.atlassian.net/rest/api/3/attachment/content/4", item_id="100")
    assert found is not None and found.filename == "d.png"
    assert source.image_attachment("https://elsewhere.example/rest/api/3/attachment/content/4", item_id="100") is None
    assert source.image_attachment("https://acme.atlassian.net/rest/api/3/attachment/content/9", item_id="100") is None


def test_items_lost_on_either_leg_are_listed_with_the_reason():
    class Ado:
        def __init__(self, items):
            self.items = items

        def items_with_relations(self, ids):
            return [(self.items[i], [], []) for i in ids if i in self.items]

        def comments_of(self, source_id):
            return []

        def attachment_chunks(self, attachment):
            return iter([b""])

    class Jira:
        def read_back(self, ids):
            return {i: _middle(i, {"10001", "Story"}) for i in ids}

    chain = _chain()
    chain.to_jira, chain.to_back = {"1": "101", "2": "102"}, {"101": "51"}
    planned = [("1", "Epic", ""), ("2", "User Story", ""), ("3", "Widget", "")]
    out = roundtrip._slice(planned, chain, Ado({s: _item(s, t) for s, t, _ in planned}), Jira(),
                           Ado({"51": _item("51", "Epic")}))
    lost = {d.source_id: d for d in out if d.check == "lost"}
    assert set(lost) == {"2", "3"} and not any(d.check == "lost" for d in out if d.source_id == "1")
    assert lost["3"].expected and lost["3"].reason == "Run A's mapping migrates no Widget."
    assert not lost["2"].expected and "Run B did not write it" in lost["2"].reason
    assert lost["2"].now == "Jira issue 102, not back in Azure DevOps"
