"""The catalog pages: the list with its form, the scan page with its progress, tables, chart and quote, and
the same organisation scoping as the API."""

import pytest

from apps.catalog import services
from apps.catalog.models import PricingTable, Scan
from apps.catalog.tests.conftest import PROJECT, run_scan

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def browser_client(client, member, organisation):
    client.force_login(member)
    return client


def test_the_catalog_page_shows_schema_volumes_chart_and_quote(ado_connection, organisation, member, enqueued,
                                                              browser_client):
    services.pricing_table_activate(table=PricingTable.objects.create(name="P", currency="USD",
                                                                      per_work_item="1.00", minimum="0"))
    page = browser_client.post("/catalog/", {"connection": ado_connection.pk, "project": PROJECT, "role": "source"})
    assert page.status_code == 302
    scan = Scan.objects.for_organisation(organisation).get()
    assert page["Location"] == f"/catalog/{scan.pk}/"
    running = browser_client.get(f"/catalog/{scan.pk}/").content.decode()
    assert 'hx-trigger="every 2s"' in running and "Stop the scan" in running
    run_scan(scan.pk)
    fragment = browser_client.get(f"/catalog/{scan.pk}/progress/?was=running")
    assert fragment["HX-Refresh"] == "true"
    html = browser_client.get(f"/catalog/{scan.pk}/").content.decode()
    assert "every 2s" not in html
    assert '<svg role="img" aria-label="Work items by type"' in html
    assert 'id="schema-types"' in html and "User Story" in html and "Custom.Customer" in html
    assert 'id="quote-total">40.00 USD' in html
    assert "How this is estimated" in html


def test_bad_project_is_a_form_error(ado_connection, enqueued, browser_client):
    page = browser_client.post("/catalog/", {"connection": ado_connection.pk, "project": "Nope", "role": "source"})
    assert page.status_code == 200
    assert "no project “Nope”" in page.content.decode()


def test_projects_fragment_lists_what_the_connection_sees(ado_connection, browser_client):
    html = browser_client.get("/catalog/projects/", {"connection": ado_connection.pk}).content.decode()
    assert f'<option value="{PROJECT}">' in html
    assert "Choose a connection" in browser_client.get("/catalog/projects/", {"connection": "x"}).content.decode()


def test_another_organisations_scan_is_not_found(other_organisation, browser_client):
    theirs = Scan.objects.create(organisation=other_organisation, project_key="THEIRS")
    for path in ("", "progress/"):
        assert browser_client.get(f"/catalog/{theirs.pk}/{path}").status_code == 404
    assert browser_client.post(f"/catalog/{theirs.pk}/cancel/").status_code == 404
    assert "THEIRS" not in browser_client.get("/catalog/").content.decode()


def test_forms_need_csrf(member, organisation):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(member)
    assert client.post("/catalog/", {"project": "x"}).status_code == 403
