import json

import pytest
from django.apps import apps as django_apps
from django.db import connection as db

from apps.catalog import services
from apps.catalog.models import PricingTable, Scan
from apps.catalog.selectors import catalog_schema
from apps.catalog.tests.conftest import PROJECT, run_scan
from apps.connections.connectors import records
from apps.core.exceptions import ApplicationError
from apps.core.models import AuditEvent

pytestmark = pytest.mark.django_db(transaction=True)
CANARY = "CANARY-7f3a9-do-not-keep"


def _sandbox_truth(slug):
    from apps.sandbox.ado.models import AdoAttachment, AdoComment, AdoWorkItem

    items = list(AdoWorkItem.objects.filter(site__slug=slug, is_deleted=False))
    attachments = set()
    for item in items:
        for relation in item.relations:
            if relation["rel"] == "AttachedFile":
                attachments.add((item.item_id, relation["attachment_guid"]))
    sizes = {str(a.guid): a.size for a in AdoAttachment.objects.filter(site__slug=slug)}
    return {
        "items": len(items),
        "revisions": sum(i.rev for i in items),
        "comments": AdoComment.objects.filter(work_item__site__slug=slug, is_deleted=False).count(),
        "attachments": len(attachments),
        "attachment_bytes": sum(sizes[guid] for _, guid in attachments),
        "children": sum(1 for i in items for r in i.relations if r["rel"] == "System.LinkTypes.Hierarchy-Forward"),
        "related": sum(1 for i in items for r in i.relations if r["rel"] == "System.LinkTypes.Related") // 2,
    }


def test_a_scan_records_schema_and_volumes_that_match_the_source(ado_connection, organisation, member, enqueued):
    scan = services.scan_create(organisation=organisation, actor=member, connection=ado_connection,
                                project="fabrikam fiber")
    assert scan.project_key == PROJECT and scan.status == Scan.Status.QUEUED and enqueued == [scan.pk]
    scan = run_scan(scan.pk)
    assert scan.status == Scan.Status.DONE, scan.error_message
    truth = _sandbox_truth("catalog")
    v = scan.volumes
    assert v["items"] == truth["items"] == scan.items_expected == scan.items_done == sum(v["items_by_type"].values())
    assert v["revisions"] == truth["revisions"]
    assert v["comments"] == truth["comments"]
    assert v["attachments"] == truth["attachments"] and v["attachment_bytes"] == truth["attachment_bytes"]
    assert v["links_by_type"].get("System.LinkTypes.Hierarchy-Forward", 0) == truth["children"]
    assert v["links_by_type"].get("System.LinkTypes.Related", 0) == truth["related"]
    assert "System.LinkTypes.Hierarchy-Reverse" not in v["links_by_type"]  # each link once
    assert v["oldest_item_at"] <= v["newest_item_at"]
    assert sum(v["items_by_state_category"].values()) == v["items"] and "unknown" not in v["items_by_state_category"]
    catalog = catalog_schema(scan)
    assert catalog.project.name == PROJECT and catalog.people
    assert any(p.is_deleted for p in catalog.people) or all(p.display_name for p in catalog.people)
    customer = next(f for f in catalog.fields if f.source_id == "Custom.Customer")
    assert customer.allowed_values, "values of a list field the vendor gave no list for are taken from the items"
    priority = next(f for f in catalog.fields if f.source_id == "Microsoft.VSTS.Common.Priority")
    assert priority.type == records.FieldType.OPTION and set(priority.allowed_values) <= {"1", "2", "3", "4"}
    assert priority.allowed_values
    assert scan.requests_made > 0 and scan.finished_at
    actions = list(AuditEvent.objects.for_organisation(organisation).filter(target_id=str(scan.pk))
                   .values_list("action", flat=True))
    assert {"scan.created", "scan.finished"} <= set(actions)


def test_a_scan_keeps_no_ticket_content(ado_connection, organisation, member, enqueued, caplog, live_server):
    """A canary in a title, a description and a comment is read by the scan and found nowhere after it."""
    import httpx

    from apps.sandbox.ado.models import AdoWorkItem

    item = AdoWorkItem.objects.filter(site__slug="catalog").order_by("item_id").first()
    base = f"{live_server.url}/sandbox/ado/catalog"
    auth = ("", "catalog-test-pat-0001-catalog")
    patched = httpx.patch(f"{base}/_apis/wit/workitems/{item.item_id}?api-version=7.1", auth=auth,
                          headers={"Content-Type": "application/json-patch+json"},
                          json=[{"op": "add", "path": "/fields/System.Title", "value": f"Title {CANARY}"},
                                {"op": "add", "path": "/fields/System.Description", "value": f"<p>{CANARY}</p>"}])
    assert patched.status_code == 200, patched.text
    commented = httpx.post(f"{base}/{PROJECT}/_apis/wit/workItems/{item.item_id}/comments?api-version=7.1-preview.4",
                           auth=auth, json={"text": f"comment {CANARY}"})
    assert commented.status_code == 200, commented.text

    scan = services.scan_create(organisation=organisation, actor=member, connection=ado_connection, project=PROJECT)
    caplog.set_level("DEBUG")
    scan = run_scan(scan.pk)
    assert scan.status == Scan.Status.DONE
    assert scan.volumes["comments"] >= 1

    found, vendor_side = [], []
    for model in django_apps.get_models():
        table = model._meta.db_table
        with db.cursor() as cursor:
            cursor.execute(f'SELECT * FROM "{table}"')  # noqa: S608 - table names from the model registry
            hit = any(CANARY in json.dumps(row, default=str) for row in cursor.fetchall())
        if hit:
            # The emulated vendor's own tables hold it, as the vendor would: proof the search can find it.
            (vendor_side if model.__module__.startswith("apps.sandbox") else found).append(table)
    assert found == []
    assert vendor_side, "the search must be able to see the canary where it does live"
    assert CANARY not in caplog.text


def test_scan_bad_input_answers_in_words(ado_connection, organisation, member, enqueued):
    with pytest.raises(ApplicationError, match="no project “Nope”"):
        services.scan_create(organisation=organisation, actor=member, connection=ado_connection, project="Nope")
    with pytest.raises(ApplicationError, match="Name the project"):
        services.scan_create(organisation=organisation, actor=member, connection=ado_connection, project="  ")
    with pytest.raises(ApplicationError, match="role"):
        services.scan_create(organisation=organisation, actor=member, connection=ado_connection, project=PROJECT,
                             role="both")
    services.scan_create(organisation=organisation, actor=member, connection=ado_connection, project=PROJECT)
    with pytest.raises(ApplicationError, match="being scanned already") as exc:
        services.scan_create(organisation=organisation, actor=member, connection=ado_connection, project=PROJECT)
    assert exc.value.status_code == 409


def test_a_destination_scan_records_schema_and_count(ado_connection, organisation, member, enqueued):
    scan = services.scan_create(organisation=organisation, actor=member, connection=ado_connection, project=PROJECT,
                                role="destination")
    scan = run_scan(scan.pk)
    assert scan.status == Scan.Status.DONE
    assert scan.volumes["items"] == 40 and scan.volumes["attachments"] == 0
    assert catalog_schema(scan).work_item_types
    assert not scan.quotes.exists()


def test_wrong_token_fails_the_scan_in_plain_words(ado_connection, organisation, member, enqueued):
    from apps.connections.services import connection_update

    scan = services.scan_create(organisation=organisation, actor=member, connection=ado_connection, project=PROJECT)
    connection_update(connection=ado_connection, actor=member, token="revoked-token-000")
    scan = run_scan(scan.pk)
    assert scan.status == Scan.Status.FAILED
    assert scan.error_code == "wrong_credentials" and "refused the credentials" in scan.error_message


def test_quote_is_made_when_a_price_list_is_active(ado_connection, organisation, member, enqueued):
    table = PricingTable.objects.create(name="2026", currency="EUR", per_work_item="0.10",
                                        per_gb_attachments="5", minimum="1.00")
    services.pricing_table_activate(table=table)
    scan = run_scan(services.scan_create(organisation=organisation, actor=member, connection=ado_connection,
                                         project=PROJECT).pk)
    quote = scan.quotes.get()
    assert quote.destination_kind == "jira_cloud" and quote.currency == "EUR"
    assert quote.lines[0]["amount"] == "4.00"  # 40 items x 0.10
    assert quote.estimate_seconds > 0 and quote.estimate["assumptions"]


@pytest.mark.parametrize("kind", ["jira_cloud", "jira_data_center"])
def test_a_jira_scan_matches_the_sandbox(sandbox_required, live_server, organisation, member, enqueued, kind):
    from apps.connections.services import connection_create
    from apps.sandbox import services as sandbox
    from apps.sandbox.jira.adapter import FULL_SCOPES
    from apps.sandbox.jira.models import (
        JiraAttachment,
        JiraChangelog,
        JiraComment,
        JiraIssue,
        JiraIssueLink,
        JiraProject,
    )
    from apps.sandbox.jira.services import jira_principal, jira_site_admin

    site = sandbox.site_create(kind="jira_cloud" if kind == "jira_cloud" else "jira_dc", slug="jscan")
    sandbox.site_seed(site=site, items=40, seed=6)
    principal = jira_principal(user=jira_site_admin(site=site))
    _, secret = sandbox.token_create(site=site, name="scan", scopes=list(FULL_SCOPES), principal=principal)
    connection = connection_create(organisation=organisation, actor=member, kind=kind, name="Jira",
                                   base_url=f"{live_server.url}/sandbox/jira/jscan", token=secret,
                                   email=principal["email"] if kind == "jira_cloud" else "")
    key = JiraProject.objects.get(site=site).key
    scan = run_scan(services.scan_create(organisation=organisation, actor=member, connection=connection,
                                         project=key.lower()).pk)
    assert scan.status == Scan.Status.DONE, scan.error_message
    v = scan.volumes
    assert scan.project_key == key
    assert v["items"] == JiraIssue.objects.filter(site=site).count() == scan.items_expected
    assert v["comments"] == JiraComment.objects.filter(issue__site=site).count()
    assert v["revisions"] == JiraChangelog.objects.filter(issue__site=site).count()
    assert v["attachments"] == JiraAttachment.objects.filter(issue__site=site).count()
    assert v["links"] == JiraIssueLink.objects.filter(outward_issue__site=site).count()
    assert "unknown" not in v["items_by_state_category"]
    catalog = catalog_schema(scan)
    assert catalog.people and catalog.iterations and catalog.work_item_types


def test_a_scan_rides_out_vendor_faults_and_counts_the_same(ado_connection, organisation, member, enqueued):
    """503s, 500s and connections cut mid-answer are retried; the catalog is the one a clean read gives."""
    from apps.sandbox import services as sandbox
    from apps.sandbox.models import SandboxSite

    clean = run_scan(services.scan_create(organisation=organisation, actor=member, connection=ado_connection,
                                          project=PROJECT).pk)
    site = SandboxSite.objects.get(slug="catalog")
    sandbox.site_controls_update(site=site, controls={"fault_rate": 0.25, "fault_kinds": ["http_503", "http_500", "drop"],
                                                      "seed": 7})
    faulty = run_scan(services.scan_create(organisation=organisation, actor=member, connection=ado_connection,
                                           project=PROJECT).pk)
    assert faulty.status == Scan.Status.DONE, faulty.error_message
    assert faulty.volumes == clean.volumes and faulty.schema == clean.schema
    assert faulty.requests_made > clean.requests_made  # the retries


def test_a_vendor_that_stays_down_is_retried_later_then_fails_in_words(ado_connection, organisation, member,
                                                                        enqueued, monkeypatch):
    from apps.sandbox import services as sandbox
    from apps.sandbox.models import SandboxSite

    scan = services.scan_create(organisation=organisation, actor=member, connection=ado_connection, project=PROJECT)
    sandbox.site_controls_update(site=SandboxSite.objects.get(slug="catalog"),
                                 controls={"fault_rate": 1.0, "fault_kinds": ["http_503"]})
    real_connector = services.connection_connector

    def no_backoff(connection, **kwargs):  # the same client, without waiting out its backoff here
        connector = real_connector(connection, **kwargs)
        connector.http._sleep = lambda seconds: None
        return connector

    monkeypatch.setattr(services, "connection_connector", no_backoff)
    after = services.scan_step(scan_id=scan.pk)
    scan.refresh_from_db()
    assert after and after > 0 and scan.status == Scan.Status.RUNNING
    assert "Trying again in" in scan.error_message
    for _ in range(services.MAX_TRANSIENT_FAILURES):
        services.scan_step(scan_id=scan.pk)
    scan.refresh_from_db()
    assert scan.status == Scan.Status.FAILED and scan.error_code in ("server_busy", "server_error")
    assert "server error" in scan.error_message
    resumed = services.scan_resume(scan=scan, actor=member)
    assert resumed.status == Scan.Status.QUEUED and resumed.error_message == ""
