"""The seed generator, the import of real exports, the commands and the read-only pages."""

import io
import json
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.urls import reverse

from apps.sandbox import services
from apps.sandbox.ado.models import AdoAttachment, AdoComment, AdoIdentity, AdoNode, AdoUpdate, AdoWorkItem
from apps.sandbox.ado.selectors import work_item_history
from apps.sandbox.models import SandboxSite

REALDATA = Path(settings.BASE_DIR).parent / "shared" / "realdata" / "azure-devops" / "demo-generator-templates"
needs_realdata = pytest.mark.skipif(not REALDATA.is_dir(), reason=f"the real exports are not at {REALDATA}")


def _depth(item, by_id):
    depth = 1
    while item.fields.get("System.Parent"):
        item = by_id[item.fields["System.Parent"]]
        depth += 1
    return depth


def test_seed_is_realistic(db):
    site = services.site_create(kind="ado", slug="seeded")
    summary = services.site_seed(site=site, items=400, seed=11)
    items = list(AdoWorkItem.objects.filter(site=site))
    by_id = {i.item_id: i for i in items}
    assert summary["items"] == len(items) == 400
    assert {i.work_item_type for i in items} == {"Epic", "Feature", "User Story", "Task", "Bug"}
    assert max(_depth(i, by_id) for i in items) == 4
    # Links on both ends, every kind.
    rels = {r["rel"] for i in items for r in i.relations}
    assert {"System.LinkTypes.Hierarchy-Forward", "System.LinkTypes.Hierarchy-Reverse", "System.LinkTypes.Related",
            "System.LinkTypes.Dependency-Forward", "System.LinkTypes.Dependency-Reverse", "AttachedFile", "Hyperlink",
            "ArtifactLink"} <= rels
    for item in items:
        for relation in item.relations:
            if "target_id" in relation:
                assert item.item_id in {r.get("target_id") for r in by_id[relation["target_id"]].relations}
        assert sum(r["rel"] == "System.LinkTypes.Hierarchy-Reverse" for r in item.relations) <= 1
    # History: revisions replay to the stored state, dates increase, some items have hundreds.
    assert max(i.rev for i in items) >= 100
    for item in items[:40]:
        history = work_item_history(item)
        assert [h["rev"] for h in history] == list(range(1, item.rev + 1))
        final = {k: v for k, v in history[-1]["fields"].items() if k != "System.History"}
        assert final == item.fields
        dates = [h["date"] for h in history]
        assert dates == sorted(dates) and len(set(dates)) == len(dates)
    changed_kinds = {ref for u in AdoUpdate.objects.filter(work_item__site=site, rev__gt=1) for ref in u.fields}
    assert {"System.State", "System.AssignedTo", "System.IterationPath", "Microsoft.VSTS.Common.Priority",
            "System.Description", "System.History"} <= changed_kinds
    # Comments by several people over months; images inline; non-Latin text and emoji; people who left.
    comments = AdoComment.objects.filter(work_item__site=site)
    assert comments.values("created_by__uniqueName").distinct().count() >= 5
    dates = sorted(comments.values_list("created_date", flat=True))
    assert (dates[-1] - dates[0]).days > 90
    descriptions = " ".join(i.fields.get("System.Description", "") for i in items)
    assert "<table>" in descriptions and "<pre><code>" in descriptions and "<ol>" in descriptions and "<img src=" in descriptions
    assert any(len(i.fields.get("System.Description", "")) > 5000 for i in items)
    titles = " ".join(i.fields["System.Title"] for i in items)
    assert any(ord(ch) > 0x3000 for ch in titles) and any(ord(ch) > 0x1F000 for ch in titles)
    assert AdoIdentity.objects.filter(site=site, is_active=False).count() >= 2
    assert AdoIdentity.objects.filter(site=site, is_deleted=True).exists()
    assert AdoAttachment.objects.filter(site=site, file_name__endswith=".png").exists()
    assert AdoNode.objects.filter(project__site=site, structure="iteration", start_date__isnull=False).count() >= 18
    assert any("Custom.Reviewer" in i.fields for i in items) and any("Custom.Customer" in i.fields for i in items)
    assert any(i.fields.get("System.Tags") for i in items)


def test_same_seed_same_project(db):
    a = services.site_create(kind="ado", slug="a")
    b = services.site_create(kind="ado", slug="b")
    services.site_seed(site=a, items=120, seed=5)
    services.site_seed(site=b, items=120, seed=5)

    def signature(site):
        return [(i.item_id, i.work_item_type, i.rev, i.fields["System.Title"], i.state)
                for i in AdoWorkItem.objects.filter(site=site).order_by("item_id")]

    assert signature(a) == signature(b)
    c = services.site_create(kind="ado", slug="c")
    services.site_seed(site=c, items=120, seed=6)
    assert signature(c) != signature(a)


@pytest.mark.parametrize("process, story", [("Scrum", "Product Backlog Item"), ("Basic", "Issue"), ("CMMI", "Requirement")])
def test_seed_follows_the_process(db, process, story):
    site = services.site_create(kind="ado", slug=f"p-{process.lower()}")
    services.site_seed(site=site, items=80, seed=1, process=process)
    types = set(AdoWorkItem.objects.filter(site=site).values_list("work_item_type", flat=True))
    assert story in types and "Task" in types and "User Story" not in types


def test_tiny_and_empty_seeds(db):
    site = services.site_create(kind="ado", slug="tiny")
    assert services.site_seed(site=site, items=3, seed=1)["items"] == 3
    other = services.site_create(kind="ado", slug="empty")
    assert services.site_seed(site=other, items=0, seed=1)["items"] == 0


@needs_realdata
def test_import_of_the_real_demo_generator_exports(db):
    site = services.site_create(kind="ado", slug="real")
    summary = services.site_import(site=site, path=REALDATA)
    assert summary["projects"] == 8
    assert summary["items"] == AdoWorkItem.objects.filter(site=site).count() == 781
    projects = summary["by_project"]
    assert projects["Gen-PartsUnlimited-YAML"]["process"] == "Scrum"
    assert projects["MSL-Create-Build-Pipeline"]["process"] == "Basic"
    assert projects["Gen-eShopOnWeb"]["items"] == 205
    caf = AdoWorkItem.objects.filter(site=site, project__name="CAF-ADO-Strategy-Plan-Ready-Governance")
    by_id = {i.item_id: i for i in AdoWorkItem.objects.filter(site=site)}
    assert max(_depth(i, by_id) for i in caf) >= 4
    # Identities were strings "Name <e-mail>"; they are people now, and fields carry IdentityRefs.
    item = next(i for i in by_id.values() if isinstance(i.fields.get("System.AssignedTo"), dict))
    assert AdoIdentity.objects.filter(site=site, unique_name=item.fields["System.AssignedTo"]["uniqueName"]).exists()
    assert all("$ProjectName$" not in json.dumps(i.fields) for i in by_id.values())
    # Links on both ends, and never two parents.
    for each in by_id.values():
        assert sum(r["rel"] == "System.LinkTypes.Hierarchy-Reverse" for r in each.relations) <= 1
        for relation in each.relations:
            if "target_id" in relation:
                assert each.item_id in {r.get("target_id") for r in by_id[relation["target_id"]].relations}
    assert AdoComment.objects.filter(work_item__site=site).count() == summary["comments"] > 0
    longest = max(len(i.fields.get("System.Description", "")) for i in by_id.values())
    assert longest > 14_000
    assert AdoWorkItem.objects.filter(site=site, fields__has_key="Microsoft.VSTS.TCM.Steps").exists()


@needs_realdata
def test_imported_items_are_served_by_the_api(db):
    from apps.sandbox.ado.tests.conftest import AdoClient

    site = services.site_create(kind="ado", slug="real-api")
    services.site_import(site=site, path=REALDATA / "Gen-eShopOnWeb")
    _, secret = services.token_create(site=site, name="t", scopes=["full"])
    ado = AdoClient(site, secret)
    found = json.loads(ado.post("Gen-eShopOnWeb/_apis/wit/wiql", {
        "query": "SELECT [System.Id] FROM WorkItems WHERE [System.TeamProject] = @project AND [System.WorkItemType] = 'Epic'"}).content)
    epics = sum(1 for f in (REALDATA / "Gen-eShopOnWeb" / "WorkItems").glob("*.json")
                for w in json.loads(f.read_text(encoding="utf-8-sig"))["value"] if w["fields"]["System.WorkItemType"] == "Epic")
    assert len(found["workItems"]) == epics > 0
    epic = json.loads(ado.get(f"_apis/wit/workitems/{found['workItems'][0]['id']}?$expand=relations").content)
    assert epic["fields"]["System.WorkItemType"] == "Epic"


def test_import_refuses_a_folder_without_exports(db, tmp_path):
    from apps.core.exceptions import ApplicationError

    site = services.site_create(kind="ado", slug="bad-import")
    with pytest.raises(ApplicationError, match="no WorkItems"):
        services.site_import(site=site, path=tmp_path)
    (tmp_path / "P" / "WorkItems").mkdir(parents=True)
    (tmp_path / "P" / "WorkItems" / "Bug.json").write_text("{not json")
    with pytest.raises(ApplicationError, match="not readable JSON"):
        services.site_import(site=site, path=tmp_path)


def test_seed_and_reset_commands(db):
    out = io.StringIO()
    call_command("sandbox_seed", kind="ado", site="cmd", items=30, seed=2, token="demo-secret-token-123", stdout=out)
    site = SandboxSite.objects.get(slug="cmd")
    assert AdoWorkItem.objects.filter(site=site).count() == 30
    assert site.tokens.count() == 1 and "demo-secret-token-123" not in out.getvalue()
    call_command("sandbox_seed", kind="ado", site="cmd", items=30, if_empty=True, token="demo-secret-token-123", stdout=out)
    assert AdoWorkItem.objects.filter(site=site).count() == 30 and site.tokens.count() == 1
    with pytest.raises(CommandError, match="already"):
        call_command("sandbox_seed", kind="ado", site="cmd", items=5, stdout=out)
    call_command("sandbox_reset", site="cmd", stdout=out)
    site.refresh_from_db()
    assert not AdoWorkItem.objects.filter(site=site).exists() and site.seeded_at is None
    assert site.tokens.count() == 1  # credentials survive a reset
    call_command("sandbox_seed", kind="ado", site="cmd", items=5, stdout=out)
    assert AdoWorkItem.objects.filter(site=site).count() == 5
    call_command("sandbox_reset", site="cmd", delete=True, stdout=out)
    assert not SandboxSite.objects.filter(slug="cmd").exists()
    with pytest.raises(CommandError):
        call_command("sandbox_reset", site="nowhere", stdout=out)
    with pytest.raises(CommandError):
        call_command("sandbox_seed", kind="ado", site="imp", import_path="/nonexistent/folder", stdout=out)


def test_read_only_pages(client, member, db):
    site = services.site_create(kind="ado", slug="page")
    services.site_seed(site=site, items=40, seed=3)
    page = reverse("sandbox:ado:site_page", kwargs={"site": "page"})
    assert client.get(page).status_code == 302  # log in first
    client.force_login(member)
    listing = client.get(page)
    assert listing.status_code == 200 and "Fabrikam Fiber" in listing.content.decode()
    item = AdoWorkItem.objects.filter(site=site).order_by("-rev").first()
    detail = client.get(reverse("sandbox:ado:item_page", kwargs={"site": "page", "item_id": item.item_id}))
    text = detail.content.decode()
    assert detail.status_code == 200 and item.fields["System.Title"] in text and f"Rev {item.rev}" in text
    assert client.get(reverse("sandbox:ado:item_page", kwargs={"site": "page", "item_id": 99999})).status_code == 404
    assert client.get(reverse("sandbox:ado:site_page", kwargs={"site": "nope"})).status_code == 404
    found = client.get(page + "?q=" + item.fields["System.Title"].split()[0])
    assert str(item.item_id) in found.content.decode()
    index = client.get(reverse("sandbox:index"))
    assert page in index.content.decode()
