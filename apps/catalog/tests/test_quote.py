"""Prices and duration estimates from volumes (pure functions), and the one-active-price-list rule."""

from decimal import Decimal

import pytest
from django.db import IntegrityError

from apps.catalog import quote, services
from apps.catalog.models import PricingTable

PRICES = quote.Prices(currency="EUR", per_work_item=Decimal("0.05"), per_gb_attachments=Decimal("2.00"),
                      minimum=Decimal("49.00"))


def test_price_lines_and_total():
    lines, total = quote.price_lines({"items": 10_000, "attachment_bytes": 3_500_000_000}, PRICES)
    assert [(line["label"], line["amount"]) for line in lines] == [("Work items", "500.00"), ("Attachments", "7.00")]
    assert total == Decimal("507.00")


def test_the_minimum_is_a_line_of_its_own():
    lines, total = quote.price_lines({"items": 100, "attachment_bytes": 0}, PRICES)
    assert lines[-1]["label"] == "Minimum charge" and lines[-1]["amount"] == "44.00"
    assert total == Decimal("49.00")


def test_rounding_is_half_up_to_cents():
    prices = quote.Prices("EUR", Decimal("0.0125"), Decimal("0"), Decimal("0"))
    _, total = quote.price_lines({"items": 1, "attachment_bytes": 0}, prices)
    assert total == Decimal("0.01")
    _, total = quote.price_lines({"items": 3, "attachment_bytes": 0}, prices)
    assert total == Decimal("0.04")  # 0.0375 -> 0.04


def test_duration_estimate_follows_the_destination():
    volumes = {"items": 1000, "revisions": 6000, "comments": 2000, "links": 1000, "attachments": 100,
               "inline_images": 50}
    ado = quote.duration_estimate(volumes, destination_kind="azure_devops", source_kind="jira_cloud")
    jira = quote.duration_estimate(volumes, destination_kind="jira_cloud", source_kind="azure_devops")
    dc = quote.duration_estimate(volumes, destination_kind="jira_data_center", source_kind="azure_devops")
    # ADO replays 5,000 later revisions; Jira cannot take history.
    assert ado["writes"]["history"] == 5000 and jira["writes"]["history"] == 1000
    assert ado["write_requests"] == 1000 + 5000 + 2000 + 1000 + 200 + 50
    assert ado["seconds"] == round(ado["write_requests"] / 5.0 * 1.2)
    assert dc["seconds"] < jira["seconds"] < ado["seconds"]
    assert all(isinstance(a, str) and a for a in ado["assumptions"])
    assert quote.duration_words(45) == "about 45 seconds" and quote.duration_words(3600) == "about 60 minutes"
    assert quote.duration_words(7200) == "about 2.0 hours"


@pytest.mark.django_db
def test_only_one_price_list_is_active():
    PricingTable.objects.all().delete()
    first = services.pricing_table_activate(table=PricingTable.objects.create(name="A"))
    second = services.pricing_table_activate(table=PricingTable.objects.create(name="B"))
    first.refresh_from_db()
    assert not first.active and second.active
    with pytest.raises(IntegrityError):
        PricingTable.objects.filter(pk=first.pk).update(active=True)
