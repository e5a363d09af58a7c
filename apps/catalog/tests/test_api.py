"""The whole flow through the API alone, as an integrator would: create a connection, test it, list its
projects, scan, poll, read the catalog and the quote. Steps run in this process (see conftest.enqueued)."""

import pytest
from rest_framework.test import APIClient

from apps.accounts.services import api_token_create
from apps.catalog import services
from apps.catalog.models import PricingTable, Scan
from apps.catalog.tests.conftest import PAT, PROJECT, run_scan, seed_ado

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def api(organisation, member):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_token_create(organisation=organisation, user=member, name='i')[1]}")
    return client


@pytest.fixture
def price_list():
    table = PricingTable.objects.create(name="Standard", currency="EUR", per_work_item="0.05",
                                        per_gb_attachments="2.00", minimum="49.00")
    return services.pricing_table_activate(table=table)


def test_the_whole_flow_through_the_api(sandbox_required, live_server, api, enqueued, price_list):
    seed_ado("flow", items=30)
    created = api.post("/api/v1/connections/", {"kind": "azure_devops", "name": "Fabrikam",
                                                "base_url": f"{live_server.url}/sandbox/ado/flow",
                                                "token": f"{PAT}-flow"}, format="json")
    assert created.status_code == 201, created.json()
    connection_id = created.json()["id"]
    assert api.post(f"/api/v1/connections/{connection_id}/test/").json()["status"] == "ok"
    projects = api.get(f"/api/v1/connections/{connection_id}/projects/").json()
    assert [p["name"] for p in projects] == [PROJECT]

    started = api.post("/api/v1/scans/", {"connection_id": connection_id, "project": PROJECT}, format="json")
    assert started.status_code == 201, started.json()
    scan = started.json()
    assert scan["status"] == "queued" and scan["project_key"] == PROJECT and scan["role"] == "source"
    assert api.get(f"/api/v1/scans/{scan['id']}/catalog/").status_code == 409  # no schema yet: say so
    run_scan(scan["id"])

    shown = api.get(f"/api/v1/scans/{scan['id']}/").json()
    assert shown["status"] == "done" and shown["progress"]["percent"] == 100
    assert shown["volumes"]["items"] == 30 and shown["requests_made"] > 0
    catalog = api.get(f"/api/v1/scans/{scan['id']}/catalog/").json()
    assert catalog["schema"]["format"] == "migrayt.catalog"
    assert {t["name"] for t in catalog["schema"]["work_item_types"]} >= {"Epic", "User Story", "Bug"}
    assert catalog["volumes"]["items"] == 30

    quote = api.get(f"/api/v1/scans/{scan['id']}/quote/").json()
    assert quote["currency"] == "EUR" and quote["destination_kind"] == "jira_cloud"
    assert [line["label"] for line in quote["lines"]] == ["Work items", "Attachments", "Minimum charge"]
    assert quote["total"] == "49.00" and quote["estimate_seconds"] > 0 and quote["estimate_words"]
    other = api.post(f"/api/v1/scans/{scan['id']}/quote/", {"destination_kind": "jira_data_center"}, format="json")
    assert other.status_code == 201 and other.json()["destination_kind"] == "jira_data_center"
    listed = api.get("/api/v1/scans/", {"connection": connection_id}).json()
    assert [s["id"] for s in listed] == [scan["id"]]


def test_bad_input_is_a_clear_400(sandbox_required, live_server, api, enqueued):
    seed_ado("bad", items=3)
    connection_id = api.post("/api/v1/connections/", {"kind": "azure_devops", "name": "B",
                                                      "base_url": f"{live_server.url}/sandbox/ado/bad",
                                                      "token": f"{PAT}-bad"}, format="json").json()["id"]
    missing = api.post("/api/v1/scans/", {"connection_id": connection_id}, format="json")
    assert missing.status_code == 400 and "project" in str(missing.json())
    unknown = api.post("/api/v1/scans/", {"connection_id": connection_id, "project": "Nope"}, format="json")
    assert unknown.status_code == 400 and "no project" in unknown.json()["message"]
    role = api.post("/api/v1/scans/", {"connection_id": connection_id, "project": PROJECT, "role": "x"}, format="json")
    assert role.status_code == 400
    assert api.post("/api/v1/scans/", {"connection_id": 999999, "project": PROJECT}, format="json").status_code == 404
    assert api.get("/api/v1/scans/", {"connection": "abc"}).status_code == 400
    scan_id = api.post("/api/v1/scans/", {"connection_id": connection_id, "project": PROJECT},
                       format="json").json()["id"]
    again = api.post("/api/v1/scans/", {"connection_id": connection_id, "project": PROJECT}, format="json")
    assert again.status_code == 409 and again.json()["extra"]["scan_id"] == scan_id
    assert api.get(f"/api/v1/scans/{scan_id}/quote/").status_code == 409  # not finished
    cancelled = api.post(f"/api/v1/scans/{scan_id}/cancel/").json()
    assert cancelled["status"] == "cancelled"
    assert api.post(f"/api/v1/scans/{scan_id}/cancel/").status_code == 400


def test_scans_are_scoped_to_the_organisation(organisation, other_organisation, outsider, api):
    theirs = Scan.objects.create(organisation=other_organisation, project_key="SECRET", project_name="Theirs")
    other_api = APIClient()
    other_api.credentials(HTTP_AUTHORIZATION="Bearer " + api_token_create(organisation=other_organisation,
                                                                          user=outsider, name="o")[1])
    assert [s["id"] for s in other_api.get("/api/v1/scans/").json()] == [theirs.pk]
    assert api.get("/api/v1/scans/").json() == []
    for path in ("", "catalog/", "quote/"):
        assert api.get(f"/api/v1/scans/{theirs.pk}/{path}").status_code == 404
    assert api.post(f"/api/v1/scans/{theirs.pk}/cancel/").status_code == 404
    assert APIClient().get("/api/v1/scans/").status_code in (401, 403)


def test_quote_without_a_price_list_says_so(organisation, api):
    PricingTable.objects.all().delete()  # the installation's default list, where the database still has it
    scan = Scan.objects.create(organisation=organisation, project_key="P", status=Scan.Status.DONE,
                               connection_kind="azure_devops")
    answer = api.get(f"/api/v1/scans/{scan.pk}/quote/")
    assert answer.status_code == 409 and "No price list" in answer.json()["message"]
