"""Staff edit price lists in the admin (one active at a time) and look at scans and quotes, read-only."""

import pytest

from apps.catalog.models import PricingTable, Quote, Scan
from apps.core.testing.factories import OrganisationFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    staff = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(staff)
    return client


def test_staff_add_a_price_list_and_make_it_the_active_one(staff_client):
    PricingTable.objects.all().delete()
    answer = staff_client.post("/admin/catalog/pricingtable/add/", {
        "name": "2027", "currency": "usd", "per_work_item": "0.07", "per_gb_attachments": "3.00", "minimum": "99.00",
        "notes": ""})
    assert answer.status_code == 302
    first = PricingTable.objects.get(name="2027")
    assert first.active and first.currency == "USD"  # the first list is the active one
    second = PricingTable.objects.create(name="2028", currency="EUR")
    answer = staff_client.post("/admin/catalog/pricingtable/", {"action": "make_active", "_selected_action": [second.pk]})
    assert answer.status_code == 302
    assert list(PricingTable.objects.filter(active=True).values_list("name", flat=True)) == ["2028"]
    refused = staff_client.post("/admin/catalog/pricingtable/add/", {
        "name": "bad", "currency": "EUR", "per_work_item": "-1", "per_gb_attachments": "0", "minimum": "0"})
    assert refused.status_code == 200 and "Ensure this value is greater than or equal to 0" in refused.content.decode()


def test_staff_see_scans_and_quotes_of_every_organisation_read_only(staff_client):
    scan = Scan.objects.create(organisation=OrganisationFactory(), project_key="OPS", status=Scan.Status.DONE)
    Quote.objects.create(organisation=scan.organisation, scan=scan, currency="EUR", total="10.00")
    assert "OPS" in staff_client.get("/admin/catalog/scan/").content.decode()
    assert staff_client.get(f"/admin/catalog/scan/{scan.pk}/change/").status_code == 200
    assert staff_client.get("/admin/catalog/quote/").status_code == 200
    assert staff_client.get("/admin/catalog/scan/add/").status_code == 403
