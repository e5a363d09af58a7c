"""Jira -> Azure DevOps through the REST API alone, as a user runs it, with a real worker process: a Jira
Cloud sandbox project (seeded) as the source, an empty Azure DevOps sandbox project as the destination; both
connected and scanned, the mapping drafted, reviewed and approved, a preview (nothing written, its warnings),
a live run and its report. The Azure DevOps sandbox is checked afterwards from its own tables."""

from pathlib import Path

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from apps.accounts.services import api_token_create
from apps.runs.testing import ADO_PAT, ADO_TARGET, JIRA_EMAIL, JIRA_TOKEN, KillableWorker, ado_truth
from apps.runs.tests.test_api_flow import _wait

ITEMS = 12

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not settings.SANDBOX_ENABLED, reason="the sandbox is off (MIGRAYT_SANDBOX_ENABLED)"),
]


def _sites(*, kind: str = "jira_cloud", slug: str = "toado", seed: int = 7):
    """A seeded Jira site (Cloud, or Data Center: `jira_dc`); an Azure DevOps organisation with one empty
    Agile project and an identity for each Jira person (the same people work in both tools)."""
    from apps.sandbox import services as sandbox
    from apps.sandbox.ado.models import AdoIdentity
    from apps.sandbox.ado.projects import project_create
    from apps.sandbox.jira.adapter import FULL_SCOPES
    from apps.sandbox.jira.models import JiraUser
    from apps.sandbox.jira.services import jira_principal, jira_site_admin

    jira = sandbox.site_create(kind=kind, slug=f"{slug}-jira")
    summary = sandbox.site_seed(site=jira, items=ITEMS, seed=seed)
    admin = jira_site_admin(site=jira)
    sandbox.token_create(site=jira, name="flow", scopes=list(FULL_SCOPES), principal=jira_principal(user=admin),
                         secret=JIRA_TOKEN)
    ado = sandbox.site_create(kind="ado", slug=f"{slug}-ado")
    project_create(site=ado, name=ADO_TARGET, process="Agile")
    for user in JiraUser.objects.filter(site=jira).exclude(pk=admin.pk):
        AdoIdentity.objects.get_or_create(site=ado, unique_name=user.email, defaults={
            "display_name": user.display_name, "is_active": user.active})
    sandbox.token_create(site=ado, name="flow", scopes=["vso.work_full", "vso.project"], secret=ADO_PAT)
    return jira, summary["project"], ado


def integrator(organisation, member, *, log: str) -> tuple[APIClient, KillableWorker]:
    """An API client with an integrator's token, and a real worker (started; stop it)."""
    _, secret = api_token_create(organisation=organisation, user=member, name="integrator")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return api, KillableWorker(log_path=Path(settings.VAR_DIR) / "log" / log).start()


def connect_and_scan(api, *, source: dict, destination: dict, project: str) -> list[dict]:
    """Both connections made and both projects scanned (the source's `project`, the destination's empty Azure
    DevOps project), through the API: the two finished scans."""
    scans = []
    for body, name, role in ((source, project, "source"), (destination, ADO_TARGET, "destination")):
        connection = api.post("/api/v1/connections/", body, format="json")
        assert connection.status_code == 201, connection.content
        response = api.post("/api/v1/scans/", {"connection_id": connection.json()["id"], "project": name,
                                               "role": role}, format="json")
        assert response.status_code == 201, response.content
        scans.append(_wait(api, f"/api/v1/scans/{response.json()['id']}/",
                           lambda b: b["status"] in ("done", "failed"), what="scan"))
    assert [s["status"] for s in scans] == ["done", "done"], scans
    return scans


def mapping_drafted(api, *, name: str, scans: list[dict]) -> dict:
    mapping = api.post("/api/v1/mappings/", {"name": name, "source_scan_id": scans[0]["id"],
                                             "destination_scan_id": scans[1]["id"]}, format="json")
    assert mapping.status_code == 201, mapping.content
    mapping = _wait(api, f"/api/v1/mappings/{mapping.json()['id']}/",
                    lambda b: b["draft_status"] in ("done", "failed"), what="draft")
    assert mapping["draft_status"] == "done", mapping
    return mapping


def mapping_approved(api, *, mapping_id: int, default_person: str) -> int:
    """What a reviewer does: name the default person, accept the confident rows, decide the rest one by one
    (a row with no target rejected), leave out what cannot be converted, approve. The version id."""
    response = api.patch(f"/api/v1/mappings/{mapping_id}/", {"default_person": default_person}, format="json")
    assert response.status_code == 200, response.content
    api.post(f"/api/v1/mappings/{mapping_id}/accept/", {"confidence": 0.5}, format="json")
    for row in api.get(f"/api/v1/mappings/{mapping_id}/rows/").json():  # what the bulk accept left
        if row["decision"] == "pending":
            response = api.patch(f"/api/v1/mappings/{mapping_id}/rows/{row['id']}/",
                                 {"decision": "accept" if row["target"] else "reject"}, format="json")
            assert response.status_code == 200, response.content
    validation = api.get(f"/api/v1/mappings/{mapping_id}/validation/").json()
    rows = api.get(f"/api/v1/mappings/{mapping_id}/rows/").json()
    for error in validation["errors"]:
        if error["code"] == "cannot_convert":
            row_id = next(r["id"] for r in rows if r["kind"] == error["kind"] and r["source"] == error["source"])
            api.patch(f"/api/v1/mappings/{mapping_id}/rows/{row_id}/", {"decision": "reject"}, format="json")
    validation = api.get(f"/api/v1/mappings/{mapping_id}/validation/").json()
    assert validation["can_approve"], validation["errors"]
    version = api.post(f"/api/v1/mappings/{mapping_id}/approve/", format="json")
    assert version.status_code in (200, 201), version.content
    return version.json()["id"]


def live_run_finished(api, *, version_id: int) -> dict:
    """Start a live run of the approved version, wait for it, and check it finished with no failed item."""
    live = api.post("/api/v1/runs/", {"mapping_version": version_id, "kind": "live"}, format="json")
    assert live.status_code == 201, live.content
    live = _wait(api, f"/api/v1/runs/{live.json()['id']}/", lambda b: b["state"] not in ("queued", "running"),
                 what="live run", timeout=300)
    errors = api.get(f"/api/v1/runs/{live['id']}/errors/").json()
    assert live["state"] == "finished", live
    assert errors == [], [(e["code"], e["message"]) for e in errors[:3]]
    return live


@pytest.fixture
def price_list():
    from apps.catalog.models import PricingTable
    from apps.catalog.services import pricing_table_activate

    table = PricingTable.objects.create(name="Standard", currency="EUR", per_work_item="0.05",
                                        per_gb_attachments="2.00", minimum="49.00")
    return pricing_table_activate(table=table)


def test_jira_to_azure_devops_through_the_api(live_server, organisation, member, price_list):
    from apps.sandbox.ado.models import AdoWorkItem
    from apps.sandbox.jira.models import JiraIssue

    jira, project_key, ado = _sites()
    default_person = ado.ado_identities.order_by("pk").first().unique_name
    api, worker = integrator(organisation, member, log="runs-flow-to-ado-worker.log")
    try:
        scans = connect_and_scan(api, project=project_key, source={
            "kind": "jira_cloud", "name": "Jira", "token": JIRA_TOKEN, "email": JIRA_EMAIL,
            "base_url": f"{live_server.url}/sandbox/jira/{jira.slug}"}, destination={
            "kind": "azure_devops", "name": "ADO", "token": ADO_PAT,
            "base_url": f"{live_server.url}/sandbox/ado/{ado.slug}"})
        quote = api.get(f"/api/v1/scans/{scans[0]['id']}/quote/")  # a Jira source's default: Azure DevOps
        assert quote.status_code == 200 and quote.json()["destination_kind"] == "azure_devops", quote.content
        assert quote.json()["total"] == "49.00" and quote.json()["estimate_seconds"] > 0
        mapping = mapping_drafted(api, name="MIG to ADO", scans=scans)
        # Azure DevOps lists no people: those whose e-mail Jira shows are drafted to that address; the others
        # (hidden address, departed) go to a default account the reviewer names.
        people = {r["source"]: r for r in api.get(f"/api/v1/mappings/{mapping['id']}/rows/").json()
                  if r["kind"] == "person"}
        from apps.sandbox.jira.models import JiraUser

        for user in JiraUser.objects.filter(site=jira, account_id__in=people):
            visible = user.email and user.email_visible and user.active
            assert people[user.account_id]["target"] == (user.email.lower() if visible else None), user.display_name
        assert any(r["target"] for r in people.values()) and any(not r["target"] for r in people.values())
        version_id = mapping_approved(api, mapping_id=mapping["id"], default_person=default_person)

        preview = api.post("/api/v1/runs/", {"mapping_version": version_id, "kind": "preview"}, format="json")
        assert preview.status_code == 201, preview.content
        preview = _wait(api, f"/api/v1/runs/{preview.json()['id']}/",
                        lambda b: b["state"] not in ("queued", "running"), what="preview")
        assert preview["state"] == "finished", preview
        assert AdoWorkItem.objects.filter(site=ado).count() == 0  # a preview writes nothing
        items_phase = next(p for p in preview["phases"] if p["phase"] == "items")
        assert items_phase["done"] == ITEMS
        first = JiraIssue.objects.filter(site=jira, description__isnull=False).order_by("pk").first()
        one = api.get(f"/api/v1/runs/{preview['id']}/items/{first.pk}/")
        assert one.status_code == 200, one.content
        one = one.json()
        assert one["source"]["key"] == first.key and one["destination"]["description_html"], one
        assert one["source"]["title"] and one["destination"]["summary"] == one["source"]["title"], one
        # The preview says who goes to the default account (Jira hid their address or they have left), and that
        # no parent is dropped: Azure DevOps takes a Story straight under an Epic.
        warnings = {w["code"]: w for w in preview["warnings"]}
        assert warnings["person_default"]["count"] > 0, preview["warnings"]
        assert "parent_level" not in warnings, warnings["parent_level"]
        unmapped = [m["message"] for m in warnings.get("value_unmapped", {}).get("messages", [])]
        assert not [m for m in unmapped if "of priority" in m], unmapped  # Jira's priorities onto ADO's 1-4

        live = live_run_finished(api, version_id=version_id)
        assert live["verify"]["created"] == ITEMS and live["verify"]["duplicate_destination_ids"] == 0, live["verify"]

        # The destination's own tables: every issue once, under its parent, in a state of its type.
        truth = ado_truth(ado)
        sources = list(truth["source_of"].values())
        issues = {str(i.pk): i for i in JiraIssue.objects.filter(site=jira)}
        assert sorted(sources) == sorted(issues) and len(truth["rows"]) == ITEMS
        item_of = {sid: iid for iid, sid in truth["source_of"].items()}
        by_id = {row.item_id: row for row in truth["rows"]}
        for sid, issue in issues.items():
            fields = by_id[item_of[sid]].fields
            assert fields["System.Title"] == issue.summary
            parent = str(fields.get("System.Parent") or "")
            assert parent == (str(item_of[str(issue.parent_id)]) if issue.parent_id else ""), (sid, parent)
        from apps.sandbox.jira.catalog import STATUSES

        done = {sid for sid, i in issues.items() if STATUSES[i.status_id][0] == "Done"}
        assert done and all(by_id[item_of[sid]].fields["System.State"] == "Closed" for sid in done)
        todo = {sid for sid, i in issues.items() if STATUSES[i.status_id][0] == "To Do"}
        assert all(by_id[item_of[sid]].fields["System.State"] == "New" for sid in todo)

        id_map = api.get(f"/api/v1/runs/{live['id']}/id-map/?phase=items&limit=100").json()
        assert id_map["count"] == ITEMS
        audit = [e["action"] for e in api.get(f"/api/v1/runs/{live['id']}/audit/").json()]
        assert audit[0] == "run.created" and audit[-2:] == ["run.finished", "run.report_ready"], audit
        audit_text = str(api.get(f"/api/v1/runs/{live['id']}/audit/").json())
        assert not any(i.summary in audit_text for i in issues.values() if len(i.summary) > 8)

        # The web pages a user sees for this direction: the run form, the preview (and one item of it), the run
        # and its report.
        from django.test import Client

        web = Client()
        web.force_login(member)
        for url in (f"/runs/new/?mapping_version={version_id}", f"/runs/{preview['id']}/",
                    f"/runs/{preview['id']}/item/?source_id={first.pk}", f"/runs/{live['id']}/",
                    f"/runs/{live['id']}/report/"):
            page = web.get(url)
            assert page.status_code == 200, (url, page.status_code)
        assert "MIG to ADO" in web.get(f"/runs/new/?mapping_version={version_id}").content.decode()

        # A second live run of the same project is refused in words, nothing written twice.
        again = api.post("/api/v1/runs/", {"mapping_version": version_id, "kind": "live"}, format="json")
        assert AdoWorkItem.objects.filter(site=ado).count() == ITEMS, again.content
    finally:
        worker.stop()
