"""The whole flow through the REST API alone, as an integrator would do it, with a real worker process:
connections, scans of both projects, a drafted mapping reviewed and approved, a preview (nothing written),
a live run, its progress, id map and audit trail. The Jira sandbox is checked afterwards."""

import time
from pathlib import Path

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from apps.accounts.services import api_token_create
from apps.runs.testing import ADO_PAT, JIRA_EMAIL, JIRA_TOKEN, KillableWorker

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not settings.SANDBOX_ENABLED, reason="the sandbox is off (MIGRAYT_SANDBOX_ENABLED)"),
]


def _sites():
    from apps.sandbox import services as sandbox
    from apps.sandbox.jira.adapter import FULL_SCOPES
    from apps.sandbox.jira.services import jira_principal, jira_project_create, jira_site_admin

    ado = sandbox.site_create(kind="ado", slug="flow-ado")
    sandbox.site_seed(site=ado, items=40, seed=21)
    sandbox.token_create(site=ado, name="flow", scopes=["vso.work_full", "vso.project"], secret=ADO_PAT)
    jira = sandbox.site_create(kind="jira_cloud", slug="flow-jira")
    sandbox.token_create(site=jira, name="flow", scopes=list(FULL_SCOPES),
                         principal=jira_principal(user=jira_site_admin(site=jira)), secret=JIRA_TOKEN)
    jira_project_create(site=jira, key="MIG", name="Migration")
    return ado, jira


def _wait(api, url, done, *, timeout=180, what=""):
    deadline = time.monotonic() + timeout
    body = None
    while time.monotonic() < deadline:
        body = api.get(url).json()
        if done(body):
            return body
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what or url}: {body}")


def test_the_whole_flow_through_the_api(live_server, organisation, member):
    ado, jira = _sites()
    _, secret = api_token_create(organisation=organisation, user=member, name="integrator")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    worker = KillableWorker(log_path=Path(settings.VAR_DIR) / "log" / "runs-flow-worker.log").start()
    try:
        source = api.post("/api/v1/connections/", {"kind": "azure_devops", "name": "ADO", "token": ADO_PAT,
                                                   "base_url": f"{live_server.url}/sandbox/ado/{ado.slug}"},
                          format="json").json()
        destination = api.post("/api/v1/connections/", {"kind": "jira_cloud", "name": "Jira", "token": JIRA_TOKEN,
                                                        "email": JIRA_EMAIL,
                                                        "base_url": f"{live_server.url}/sandbox/jira/{jira.slug}"},
                               format="json").json()
        scans = []
        for connection, project, role in ((source, "Fabrikam Fiber", "source"), (destination, "MIG", "destination")):
            response = api.post("/api/v1/scans/", {"connection_id": connection["id"], "project": project,
                                                   "role": role}, format="json")
            assert response.status_code == 201, response.content
            scans.append(_wait(api, f"/api/v1/scans/{response.json()['id']}/", lambda b: b["status"] in ("done", "failed"),
                               what="scan"))
        assert [s["status"] for s in scans] == ["done", "done"], scans
        mapping = api.post("/api/v1/mappings/", {"name": "FF to MIG", "source_scan_id": scans[0]["id"],
                                                 "destination_scan_id": scans[1]["id"]}, format="json").json()
        mapping = _wait(api, f"/api/v1/mappings/{mapping['id']}/", lambda b: b["draft_status"] in ("done", "failed"),
                        what="draft")
        assert mapping["draft_status"] == "done", mapping
        # The reviewer: everyone without an account becomes the destination's admin, rows the destination
        # cannot take are left out, the rest accepted as drafted.
        schema = api.get(f"/api/v1/scans/{scans[1]['id']}/catalog/").json()["schema"]
        admin_account = schema["people"][0]["source_id"]
        response = api.patch(f"/api/v1/mappings/{mapping['id']}/", {"default_person": admin_account,
                                                                          "areas_as_labels": True}, format="json")
        assert response.status_code == 200, response.content
        api.post(f"/api/v1/mappings/{mapping['id']}/accept/", {"confidence": 0.5}, format="json")
        rows = api.get(f"/api/v1/mappings/{mapping['id']}/rows/").json()
        for row in rows:  # what the bulk accept left: decided one by one
            if row["decision"] == "pending":
                decision = "accept" if row["target"] else "reject"
                response = api.patch(f"/api/v1/mappings/{mapping['id']}/rows/{row['id']}/", {"decision": decision},
                                     format="json")
                assert response.status_code == 200, response.content
        rows = api.get(f"/api/v1/mappings/{mapping['id']}/rows/").json()
        validation = api.get(f"/api/v1/mappings/{mapping['id']}/validation/").json()
        for error in validation["errors"]:
            if error["code"] == "cannot_convert":
                row_id = next(r["id"] for r in rows if r["kind"] == error["kind"] and r["source"] == error["source"])
                response = api.patch(f"/api/v1/mappings/{mapping['id']}/rows/{row_id}/", {"decision": "reject"},
                                    format="json")
                assert response.status_code == 200, response.content
        validation = api.get(f"/api/v1/mappings/{mapping['id']}/validation/").json()
        import json

        (Path(settings.VAR_DIR) / "log" / "flow-validation.json").write_text(json.dumps(validation, indent=1))
        assert validation["can_approve"], validation["errors"]
        version = api.post(f"/api/v1/mappings/{mapping['id']}/approve/", format="json")
        assert version.status_code in (200, 201), version.content
        version_id = version.json()["id"]

        # Bad input gets a clear answer.
        bad = api.post("/api/v1/runs/", {"mapping_version": 999999, "kind": "live"}, format="json")
        assert bad.status_code == 400 and "mapping version" in bad.json()["message"]

        preview = api.post("/api/v1/runs/", {"mapping_version": version_id, "kind": "preview"}, format="json")
        assert preview.status_code == 201, preview.content
        preview = _wait(api, f"/api/v1/runs/{preview.json()['id']}/", lambda b: b["state"] not in ("queued", "running"),
                        what="preview")
        assert preview["state"] == "finished", preview
        from apps.sandbox.jira.models import JiraIssue

        assert JiraIssue.objects.filter(site=jira).count() == 0  # a preview writes nothing
        assert preview["estimate"]["seconds"] > 0
        items_phase = next(p for p in preview["phases"] if p["phase"] == "items")
        assert items_phase["done"] == 40
        one = api.get(f"/api/v1/runs/{preview['id']}/items/1/").json()
        assert one["source"]["title"] and one["destination"]["summary"] == one["source"]["title"][:255]

        live = api.post("/api/v1/runs/", {"mapping_version": version_id, "kind": "live"}, format="json").json()
        live = _wait(api, f"/api/v1/runs/{live['id']}/", lambda b: b["state"] not in ("queued", "running"),
                     what="live run", timeout=300)
        errors = api.get(f"/api/v1/runs/{live['id']}/errors/").json()
        assert live["state"] == "finished", live
        assert errors == [], [(e["code"], e["message"]) for e in errors[:3]]
        assert live["verify"]["created"] == 40 and live["verify"]["duplicate_destination_ids"] == 0
        assert JiraIssue.objects.filter(site=jira).count() == 40
        id_map = api.get(f"/api/v1/runs/{live['id']}/id-map/?phase=items&limit=100").json()
        assert id_map["count"] == 40 and all(row["destination_key"].startswith("MIG-") for row in id_map["results"])
        audit = [e["action"] for e in api.get(f"/api/v1/runs/{live['id']}/audit/").json()]
        assert audit[0] == "run.created" and "run.started" in audit
        assert audit[-2:] == ["run.finished", "run.report_ready"], audit  # the report is ready once the run is done
        # Nothing of the tickets in the audit trail.
        titles = set(JiraIssue.objects.filter(site=jira).values_list("summary", flat=True))
        audit_text = str(api.get(f"/api/v1/runs/{live['id']}/audit/").json())
        assert not any(title in audit_text for title in titles if len(title) > 8)
    finally:
        worker.stop()
