"""The REST API: the whole job with a token, clear 400s, and another organisation's mapping is a 404."""

import io
import json

import pytest
from rest_framework.test import APIClient

from apps.accounts.models import Membership
from apps.accounts.services import api_token_create
from apps.core.testing.factories import MembershipFactory
from apps.mappings.models import MappingSet
from apps.mappings.tests.factories import scans_make
from apps.mappings.tests.helpers import drafted_set, row

pytestmark = pytest.mark.django_db


def client_for(user, organisation) -> APIClient:
    _, raw = api_token_create(organisation=organisation, user=user, name="tests")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


@pytest.fixture
def api(member, organisation):
    return client_for(member, organisation)


@pytest.fixture
def mapping_set(organisation, member):
    return drafted_set(organisation=organisation, actor=member)


def test_create_with_clear_errors(api, organisation, monkeypatch):
    from apps.mappings import tasks

    queued = []
    monkeypatch.setattr(tasks.mapping_set_draft_task, "delay", lambda **kw: queued.append(kw))
    source, destination = scans_make(organisation=organisation)
    response = api.post("/api/v1/mappings/", {"name": "FF", "source_scan_id": source.pk}, format="json")
    assert response.status_code == 400 and response.json()["message"].startswith("destination_scan_id")
    response = api.post("/api/v1/mappings/", {"name": "FF", "source_scan_id": source.pk,
                                              "destination_scan_id": 424242}, format="json")
    assert response.status_code == 400
    assert response.json() == {"message": "No such destination scan in this organisation.",
                               "extra": {"field": "destination_scan_id"}}
    response = api.post("/api/v1/mappings/", {"name": "FF", "source_scan_id": source.pk,
                                              "destination_scan_id": destination.pk}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["draft_status"] == "queued" and body["source_kind"] == "azure_devops"
    assert "source_schema" not in body
    assert [s["id"] for s in api.get("/api/v1/mappings/").json()] == [body["id"]]


def test_review_decide_validate_approve_and_read_the_version(api, mapping_set):
    base = f"/api/v1/mappings/{mapping_set.pk}"
    rows = api.get(f"{base}/rows/?show=attention").json()
    assert rows and all(r["decision"] == "pending" for r in rows)
    assert {"confidence", "reason", "layer", "proposed_target"} <= set(rows[0])
    assert api.get(f"{base}/rows/?kind=planet").status_code == 400
    assert api.get(f"{base}/rows/?show=everything").status_code == 400

    blocked = api.post(f"{base}/approve/")
    assert blocked.status_code == 400 and blocked.json()["extra"]["errors"]
    validation = api.get(f"{base}/validation/").json()
    assert validation["can_approve"] is False and validation["errors"]

    title = row(mapping_set, "field", "System.Title")
    bad = api.patch(f"{base}/rows/{title.pk}/", {"decision": "edit", "target": "nope"}, format="json")
    assert bad.status_code == 400 and bad.json()["extra"] == {"field": "target"}
    good = api.patch(f"{base}/rows/{title.pk}/", {"decision": "accept"}, format="json")
    assert good.status_code == 200 and good.json()["decision"] == "accepted"
    assert api.post(f"{base}/accept/", {"confidence": 0.2}, format="json").status_code == 400
    accepted = api.post(f"{base}/accept/", {"confidence": 0.5}, format="json").json()["accepted"]
    assert accepted > 10
    patched = api.patch(f"{base}/", {"default_person": "acc-admin"}, format="json")
    assert patched.status_code == 200 and patched.json()["default_person"] == "acc-admin"
    assert api.patch(f"{base}/", {"default_person": "ghost"}, format="json").status_code == 400

    approved = api.post(f"{base}/approve/")
    assert approved.status_code == 201, approved.json()
    version = approved.json()
    assert version["number"] == 1
    detail = api.get(f"/api/v1/mapping-versions/{version['id']}/").json()
    assert detail["content"]["format"] == "migrayt.mapping"
    assert [v["number"] for v in api.get(f"{base}/versions/").json()] == [1]
    assert api.delete(f"{base}/").status_code == 409


def test_export_and_import_through_the_api(api, mapping_set, organisation, member):
    base = f"/api/v1/mappings/{mapping_set.pk}"
    exported = api.get(f"{base}/export/")
    assert exported.status_code == 200 and "attachment" in exported["Content-Disposition"]
    document = exported.json()
    other = drafted_set(organisation=organisation, actor=member, name="next")
    report = api.post(f"/api/v1/mappings/{other.pk}/import/", document, format="json")
    assert report.status_code == 200 and report.json()["applied"] == len(document["rows"])
    upload = io.BytesIO(json.dumps(document).encode())
    upload.name = "mapping.json"
    as_file = api.post(f"/api/v1/mappings/{other.pk}/import/", {"file": upload}, format="multipart")
    assert as_file.status_code == 200 and as_file.json()["skipped_count"] == 0
    broken = io.BytesIO(b"{not json")
    broken.name = "broken.json"
    refused = api.post(f"/api/v1/mappings/{other.pk}/import/", {"file": broken}, format="multipart")
    assert refused.status_code == 400 and "not JSON" in refused.json()["message"]
    wrong = api.post(f"/api/v1/mappings/{other.pk}/import/", {"format": "migrayt.mapping", "version": 1},
                     format="json")
    assert wrong.status_code == 400 and "not valid at the top level" in wrong.json()["message"]
    assert api.post(f"/api/v1/mappings/{other.pk}/import/", "[1, 2]", content_type="application/json").status_code == 400


def test_llm_payload_consent_and_gate(api, mapping_set, organisation, settings):
    base = f"/api/v1/mappings/{mapping_set.pk}"
    preview = api.get(f"{base}/llm-payload/").json()
    assert preview["configured"] is False and preview["consent"] is False
    assert len(preview["payload_sha256"]) == 64 and "questions" in preview["payload"]
    refused = api.post(f"{base}/draft/", {"use_llm": True, "payload_sha256": preview["payload_sha256"]}, format="json")
    assert refused.status_code == 400 and "No outside model is configured" in refused.json()["message"]
    settings.MAPPING_LLM_API_KEY, settings.MAPPING_LLM_MODEL = "sk-test-123456789012345678", "local"
    forbidden = api.post(f"{base}/draft/", {"use_llm": True, "payload_sha256": preview["payload_sha256"]},
                         format="json")
    assert forbidden.status_code == 403 and "must agree" in forbidden.json()["message"]
    plain = MembershipFactory(organisation=organisation, role=Membership.Role.MEMBER).user
    member_api = client_for(plain, organisation)
    assert member_api.post(f"{base}/consent/", {}, format="json").status_code == 403
    assert api.post(f"{base}/consent/", {"categories": ["secret"]}, format="json").status_code == 400
    given = api.post(f"{base}/consent/", {"categories": ["email"]}, format="json")
    assert given.status_code == 200 and given.json()["llm_consent"]["categories"] == ["email"]
    assert api.delete(f"{base}/consent/").json()["llm_consent"] is None


def test_another_organisations_mapping_is_a_404_everywhere(mapping_set, outsider, other_organisation, member,
                                                           organisation):
    stranger = client_for(outsider, other_organisation)
    version_owner = client_for(member, organisation)
    base = f"/api/v1/mappings/{mapping_set.pk}"
    title = row(mapping_set, "field", "System.Title")
    calls = [
        ("get", f"{base}/", None), ("patch", f"{base}/", {"name": "x"}), ("delete", f"{base}/", None),
        ("post", f"{base}/draft/", {}), ("get", f"{base}/llm-payload/", None), ("post", f"{base}/consent/", {}),
        ("get", f"{base}/rows/", None), ("patch", f"{base}/rows/{title.pk}/", {"decision": "accept"}),
        ("post", f"{base}/accept/", {"confidence": 0.9}), ("get", f"{base}/validation/", None),
        ("post", f"{base}/approve/", None), ("get", f"{base}/versions/", None), ("get", f"{base}/export/", None),
        ("post", f"{base}/import/", {}),
    ]
    for method, url, data in calls:
        response = getattr(stranger, method)(url, data, format="json") if data is not None else \
            getattr(stranger, method)(url)
        assert response.status_code == 404, (method, url, response.status_code)
        assert "message" in response.json()
    assert stranger.get("/api/v1/mappings/").json() == []
    # A row of one set is not reachable through another set of the caller's own organisation either.
    own = drafted_set(organisation=other_organisation, actor=outsider, name="theirs")
    assert stranger.patch(f"/api/v1/mappings/{own.pk}/rows/{title.pk}/", {"decision": "accept"},
                          format="json").status_code == 404
    from apps.mappings import services
    from apps.mappings.tests.helpers import make_approvable

    version = services.mapping_set_approve(mapping_set=make_approvable(mapping_set, member), actor=member)
    assert stranger.get(f"/api/v1/mapping-versions/{version.pk}/").status_code == 404
    assert version_owner.get(f"/api/v1/mapping-versions/{version.pk}/").status_code == 200
    mapping_set.refresh_from_db()
    assert MappingSet.objects.for_organisation(organisation).get().name == mapping_set.name


def test_without_a_token_the_api_refuses(mapping_set):
    assert APIClient().get(f"/api/v1/mappings/{mapping_set.pk}/").status_code in (401, 403)


def test_the_schema_documents_the_endpoints(api):
    response = api.get("/api/schema/")
    assert response.status_code == 200
    text = response.content.decode()
    for path in ("/api/v1/mappings/{mapping_set_id}/approve/", "/api/v1/mappings/{mapping_set_id}/llm-payload/",
                 "/api/v1/mapping-versions/{version_id}/"):
        assert path in text
