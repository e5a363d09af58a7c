"""The verification report's comparison (pure, over neutral records) and its views: API, CSV, page and admin,
each scoped to the caller's organisation."""

import csv
import io

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apps.accounts.services import api_token_create
from apps.connections.connectors import records
from apps.runs import store as run_store
from apps.runs.engine.verify import Expected, ReadBack, compare
from apps.runs.models import Run, RunItem, VerificationDifference


def _write(**kw) -> records.ItemWrite:
    base = {"source_id": "7", "type_id": "Story", "summary": "A title", "labels": ("a", "b"), "priority": "High",
            "target_status": "Done", "description": {"type": "doc", "version": 1, "content": [
                {"type": "paragraph", "content": [{"type": "text", "text": "x"}]}]}}
    return records.ItemWrite(**{**base, **kw})


def _back(**kw) -> ReadBack:
    item = records.WorkItem(source_id="10001", key="MIG-1", project_id="1", type_id="10002", title="A title",
                            description={"type": "doc", "version": 1, "content": [
                                {"type": "paragraph", "content": [{"type": "text", "text": "x"}]}]},
                            labels=("b", "a"), parent_id=kw.pop("parent_id", ""))
    base = {"destination_id": "10001", "key": "MIG-1", "item": item, "type_refs": frozenset({"10002", "Story"}),
            "status_refs": frozenset({"10003", "Done"}), "priority_refs": frozenset({"2", "High"})}
    return ReadBack(**{**base, **kw})


def test_an_item_written_as_drafted_has_no_difference():
    assert compare(Expected("7", "MIG-1", _write()), _back()) == []


def test_each_kind_of_difference_is_named_by_its_check_without_content():
    expected = Expected("7", "MIG-1", _write(summary="Secret plan for Q3"), parent_id="10000", parent_key="MIG-0",
                        links=[("Blocks", "10005", "MIG-5")], comment_count=3,
                        attachments=[("spec.pdf", 10, "a" * 64), ("big.zip", 99, "")], over_limit=1)
    actual = _back(status_refs=frozenset({"1", "To Do"}), comment_count=1,
                   attachments=(records.Attachment("att1", "10001", "spec.pdf", 10),),
                   links=((frozenset({"10000", "Blocks"}), "10009"),))
    found = {d.check: d for d in compare(expected, actual, {"att1": "b" * 64})}
    assert set(found) == {"status", "parent", "links", "summary", "comment_count", "attachments"}
    assert found["status"].explanation == "Expected status “Done”, found “To Do”."
    assert found["parent"].kind == "missing" and "MIG-0" in found["parent"].explanation
    assert found["comment_count"].explanation == "Expected 3 comment(s), found 1."
    assert "sha256 aaaaaaaaaaaa expected, bbbbbbbbbbbb found" in found["attachments"].explanation
    assert "Missing: Blocks MIG-5" in found["links"].explanation and "Blocks 10009" in found["links"].explanation
    assert "Secret" not in " ".join(d.explanation for d in found.values())
    assert not any(d.announced for d in found.values())


def test_announced_differences_are_marked():
    expected = Expected("7", "MIG-1", _write(priority="Highest"), announced={"priority"},
                        attachments=[("big.zip", 99, "")], over_limit=1)
    found = {d.check: d for d in compare(expected, _back())}
    assert found["priority"].announced and found["attachments"].announced
    assert "1 over the size limit" in found["attachments"].explanation


def test_description_shape_and_a_missing_item():
    expected = Expected("7", "MIG-1", _write())
    table = {"type": "doc", "version": 1, "content": [{"type": "table", "content": []}]}
    back = _back()
    back = ReadBack(**{**back.__dict__, "item": records.WorkItem(**{**back.item.__dict__, "description": table})})
    [difference] = compare(expected, back)
    assert difference.check == "description" and "paragraph" in difference.explanation
    [gone] = compare(expected, None)
    assert (gone.check, gone.kind) == ("exists", "missing")


# --- the views ------------------------------------------------------------------------------------------------


@pytest.fixture
def report_run(organisation, member):
    run = Run.objects.create(organisation=organisation, kind=Run.Kind.LIVE, plan={}, source_project="FF",
                             destination_project="MIG", state=Run.State.FINISHED, phase="done",
                             finished_at=timezone.now())
    run.progress["verify"] = {"done": 3, "total": 3, "failed": 0, "skipped": 0}
    RunItem.unscoped.bulk_create([RunItem(organisation=organisation, run=run, source_id=s, state="created")
                                  for s in ("1", "2", "3")])
    rows = [("1", "MIG-1", "status", "differs", False, "Expected status “Done”, found “To Do”."),
            ("2", "MIG-2", "priority", "differs", True, "Expected priority “Highest”, found “none”."),
            ("3", "MIG-3", "exists", "missing", False, "=cmd|' /C calc'!A0")]
    VerificationDifference.unscoped.bulk_create([
        VerificationDifference(organisation=organisation, run=run, source_id=s, destination_key=k, check_name=c,
                               kind=kind, announced=a, explanation=e) for s, k, c, kind, a, e in rows])
    run.stats = {"verification": run_store.verification_summary(run)}
    run.save()
    return run


def _api(organisation, user) -> APIClient:
    _, secret = api_token_create(organisation=organisation, user=user, name="report")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return api


@pytest.mark.django_db
def test_the_summary_counts_items_and_checks(report_run):
    summary = report_run.stats["verification"]
    assert (summary["items_checked"], summary["matched"], summary["differing"], summary["missing"]) == (3, 0, 2, 1)
    assert (summary["unexplained"], summary["announced"]) == (2, 1)
    assert summary["by_check"]["priority"] == {"unexplained": 0, "announced": 1}


@pytest.mark.django_db
def test_report_api_lists_unexplained_first_and_filters(report_run, member):
    api = _api(report_run.organisation, member)
    body = api.get(f"/api/v1/runs/{report_run.pk}/report/").json()
    assert body["ready"] and body["summary"]["items_checked"] == 3 and body["count"] == 3
    assert [d["check"] for d in body["differences"]] == ["status", "exists", "priority"]
    body = api.get(f"/api/v1/runs/{report_run.pk}/report/?announced=false&kind=missing").json()
    assert [d["source_id"] for d in body["differences"]] == ["3"]
    response = api.get(f"/api/v1/runs/{report_run.pk}/report/?kind=strange")
    assert response.status_code == 400
    response = api.get(f"/api/v1/runs/{report_run.pk}/report.csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == ["source_id", "destination_key", "check", "kind", "announced", "explanation"]
    assert len(rows) == 4 and rows[2][5].startswith("'=")  # a formula is never run by a spreadsheet
    assert APIClient().get(f"/api/v1/runs/{report_run.pk}/report/").status_code in (401, 403)


@pytest.mark.django_db
def test_another_organisation_gets_404_everywhere(report_run, outsider, client):
    api = _api(outsider.memberships.first().organisation, outsider)
    assert api.get(f"/api/v1/runs/{report_run.pk}/report/").status_code == 404
    assert api.get(f"/api/v1/runs/{report_run.pk}/report.csv").status_code == 404
    client.force_login(outsider)
    assert client.get(f"/runs/{report_run.pk}/report/").status_code == 404
    assert client.get(f"/runs/{report_run.pk}/report.csv").status_code == 404


@pytest.mark.django_db
def test_report_page_and_csv_download(report_run, member, client):
    client.force_login(member)
    page = client.get(f"/runs/{report_run.pk}/report/").content.decode()
    assert 'id="unexplained"' in page and 'id="announced"' in page and 'id="csv-link"' in page
    assert page.index("MIG-1") < page.index("MIG-2")  # unexplained before announced
    detail = client.get(f"/runs/{report_run.pk}/").content.decode()
    assert f"/runs/{report_run.pk}/report/" in detail
    listing = client.get("/runs/reports/").content.decode()
    assert f"/runs/{report_run.pk}/report/" in listing and "0 of 3 match, 2 unexplained" in listing
    response = client.get(f"/runs/{report_run.pk}/report.csv")
    assert response.status_code == 200 and "attachment" in response["Content-Disposition"]
    assert len(b"".join(response.streaming_content).decode().strip().splitlines()) == 4


@pytest.mark.django_db
def test_a_run_without_report_says_so(organisation, member, client):
    run = Run.objects.create(organisation=organisation, kind=Run.Kind.LIVE, plan={}, source_project="FF",
                             destination_project="MIG")
    client.force_login(member)
    assert 'id="no-report"' in client.get(f"/runs/{run.pk}/report/").content.decode()
    body = _api(organisation, member).get(f"/api/v1/runs/{run.pk}/report/").json()
    assert body == {"run_id": run.pk, "ready": False, "summary": None, "count": 0, "next": None, "previous": None,
                    "differences": []}


@pytest.mark.django_db
def test_admin_lists_differences_and_downloads_csv(report_run, client):
    from apps.core.testing.factories import UserFactory

    client.force_login(UserFactory(email="staff@example.test", is_staff=True, is_superuser=True))
    assert client.get("/admin/runs/verificationdifference/").status_code == 200
    ids = [str(pk) for pk in VerificationDifference.unscoped.filter(run=report_run).values_list("pk", flat=True)]
    response = client.post("/admin/runs/verificationdifference/", {"action": "download_csv", "_selected_action": ids})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert len(response.content.decode().strip().splitlines()) == 4
    response = client.post("/admin/runs/run/", {"action": "download_reports", "_selected_action": [report_run.pk]})
    assert response.status_code == 200 and response.content.decode().count("\n") == 4
    assert client.get(f"/admin/runs/verificationdifference/{ids[0]}/change/").status_code == 200
