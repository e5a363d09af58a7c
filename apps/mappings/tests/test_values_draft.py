"""Values follow their field: a field a person re-targets gets value rows drafted for its new target, and the
model can be asked about them."""

import pytest

from apps.connections.connectors.records import FieldDefinition, FieldType
from apps.mappings import services
from apps.mappings.drafting.drafter import values_draft
from apps.mappings.tests.factories import ado_agile_catalog, jira_scrum_catalog
from apps.mappings.tests.helpers import drafted_set, row

SOURCE_EXTRA = (FieldDefinition("Custom.Sev", "Sev", FieldType.STRING, is_custom=True,
                                allowed_values=("1 - Minor", "2 - Major", "3 - Showstopper")),)
DESTINATION_EXTRA = (FieldDefinition("customfield_10070", "Bug weight", FieldType.OPTION, is_custom=True,
                                     allowed_values=("Minor", "Major")),)


def catalogs():
    return ado_agile_catalog(extra_fields=SOURCE_EXTRA), jira_scrum_catalog(extra_fields=DESTINATION_EXTRA)


def test_values_draft_for_one_pair_of_fields():
    source, destination = catalogs()
    proposals = values_draft(source=source, destination=destination, source_kind="azure_devops",
                             destination_kind="jira_cloud", source_field="Custom.Sev", target_field="customfield_10070")
    by_value = {p.source: p for p in proposals}
    assert set(by_value) == {"1 - Minor", "2 - Major", "3 - Showstopper"}
    assert by_value["1 - Minor"].target == "Minor" and by_value["1 - Minor"].layer == "standard"
    assert all(p.scope == "Custom.Sev" and p.reason for p in proposals)
    # No fixed list on one side: nothing to map value by value.
    assert values_draft(source=source, destination=destination, source_kind="azure_devops",
                        destination_kind="jira_cloud", source_field="Custom.Sev", target_field="summary") == []


@pytest.mark.django_db
def test_retargeting_a_field_drafts_its_values_and_the_model_may_be_asked(organisation, member, settings):
    source, destination = catalogs()
    mapping_set = drafted_set(organisation=organisation, actor=member, source=source, destination=destination)
    sev = row(mapping_set, "field", "Custom.Sev")
    if sev.target == "customfield_10070":  # the draft may have found it already: start from nothing
        services.mapping_row_decide(row=sev, actor=member, decision="edit", target="")
        assert not mapping_set.rows.filter(kind="value", scope="Custom.Sev", decision="pending").exists()
    services.mapping_row_decide(row=sev, actor=member, decision="edit", target="customfield_10070")
    sev.refresh_from_db()
    assert sev.transform == "map_values"
    values = {r.source: r for r in mapping_set.rows.filter(kind="value", scope="Custom.Sev")}
    assert values["2 - Major"].target == "Major" and values["2 - Major"].decision == "pending"
    showstopper = values["3 - Showstopper"]
    assert showstopper.confidence < 0.85
    # The undecided value is a question for the model, with the new target's values as candidates; the
    # field itself, decided by a person, is not.
    services.mapping_set_consent_give(mapping_set=mapping_set, actor=member)
    payload = services.mapping_set_llm_preview(mapping_set=mapping_set).payload
    asked = {(q["kind"], q["subject"]["id"]): q for q in payload["questions"]}
    assert ("field", "Custom.Sev") not in asked
    question = asked[("value", "3 - Showstopper")]
    assert {c["id"] for c in question["candidates"]} == {"Minor", "Major"}
