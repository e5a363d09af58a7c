from datetime import UTC, datetime

import pytest

from apps.catalog.models import Scan
from apps.catalog.selectors import catalog_schema
from apps.connections.connectors import records
from apps.connections.connectors.base import Catalog
from apps.connections.connectors.serialise import (
    SerialisationError,
    catalog_dumps,
    catalog_from_dict,
    catalog_loads,
    catalog_to_dict,
    record_from_dict,
    record_to_dict,
)


def a_catalog() -> Catalog:
    lead = records.Person("u-1", "Ana Lima", "ana@example.test")
    return Catalog(
        project=records.Project("p-1", "FF", "Fabrikam Fiber", process="Agile"),
        work_item_types=[
            records.WorkItemType(
                "Microsoft.VSTS.WorkItemTypes.Epic", "Epic", hierarchy_level=1,
                states=(records.State("New", records.StateCategory.PROPOSED, color="b2b2b2"),
                        records.State("Closed", records.StateCategory.DONE)),
                field_ids=("System.Title", "System.State"), required_field_ids=("System.Title",)),
        ],
        fields=[
            records.FieldDefinition("Custom.Risk", "Risk", records.FieldType.OPTION, is_custom=True,
                                    allowed_values=("1 - High", "2 - Medium"), vendor_type="string"),
            records.FieldDefinition("customfield_10020", "Sprint", records.FieldType.ITERATION, is_custom=True,
                                    vendor_type="com.pyxis.greenhopper.jira:gh-sprint", is_multi_value=True),
        ],
        link_types=[records.LinkType("System.LinkTypes.Hierarchy-Forward", "Child", is_hierarchy=True)],
        iterations=[records.Iteration("i-1", "Sprint 1", path="FF\\Sprint 1",
                                      start=datetime(2026, 1, 5, tzinfo=UTC), finish=datetime(2026, 1, 19, tzinfo=UTC))],
        areas=[records.Area("a-1", "Web", path="FF\\Web", lead=lead)],
        people=[lead, records.Person("u-2", "Gone", is_deleted=True, active=False)],
    )


def test_catalog_round_trip_is_exact():
    catalog = a_catalog()
    data = catalog_to_dict(catalog)
    assert data["format"] == "migrayt.catalog" and data["version"] == 1
    assert data["iterations"][0]["start"] == "2026-01-05T00:00:00+00:00"
    assert data["work_item_types"][0]["states"][0]["category"] == "proposed"
    assert catalog_from_dict(data) == catalog
    assert catalog_loads(catalog_dumps(catalog)) == catalog


def test_dump_is_stable_text():
    assert catalog_dumps(a_catalog()) == catalog_dumps(a_catalog())


def test_unknown_keys_are_ignored_and_missing_ones_take_defaults():
    data = catalog_to_dict(a_catalog())
    data["fields"][0]["added_in_a_later_version"] = 1
    del data["fields"][0]["vendor_type"]
    field = catalog_from_dict(data).fields[0]
    assert field.source_id == "Custom.Risk" and field.vendor_type == ""


@pytest.mark.parametrize("change", [
    lambda d: d.update(version=2),
    lambda d: d.update(format="something"),
    lambda d: d["work_item_types"][0]["states"][0].update(category="maybe"),
    lambda d: d["iterations"][0].update(start="yesterday"),
    lambda d: d.update(fields="not a list"),
    lambda d: d["project"].pop("source_id"),
])
def test_unreadable_catalogs_raise(change):
    data = catalog_to_dict(a_catalog())
    change(data)
    with pytest.raises(SerialisationError):
        catalog_from_dict(data)


def test_records_round_trip():
    person = records.Person("u-1", "Ana")
    for record in [
        records.WorkItem("7", "7", "p", "Bug", title="t", created_at=datetime(2026, 2, 1, tzinfo=UTC), assignee=person,
                         labels=("a", "b"), story_points=3.0, fields={"Custom.X": [1, {"y": 2}]}),
        records.Comment("c", "7", person, datetime(2026, 2, 1, tzinfo=UTC), body="b",
                        body_format=records.TextFormat.MARKDOWN),
        records.Revision("7:2", "7", 2, person, None, changes=(records.FieldChange("System.State", "New", "Active"),)),
        records.Attachment("a", "7", "x.png", size_bytes=10, is_inline=True),
        records.StateCheckpoint("work_items", {"last_id": 9}),
    ]:
        data = record_to_dict(record)
        assert data["record"] == type(record).__name__
        assert record_from_dict(data) == record


def test_unknown_record_type_raises():
    with pytest.raises(SerialisationError):
        record_from_dict({"record": "Nope"})


@pytest.mark.django_db
def test_catalog_schema_reads_what_a_scan_stored(organisation):
    scan = Scan.objects.create(organisation=organisation, project_key="FF")
    assert catalog_schema(scan) is None
    scan.schema = catalog_to_dict(a_catalog())
    scan.save()
    scan.refresh_from_db()
    assert catalog_schema(scan) == a_catalog()
