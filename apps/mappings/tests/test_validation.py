"""What blocks approval and what only warns, on a drafted ADO Agile -> Jira Scrum mapping."""

import pytest

from apps.connections.connectors.records import FieldDefinition, FieldType
from apps.core.exceptions import ApplicationError
from apps.mappings import selectors, services
from apps.mappings.models import MappingRow
from apps.mappings.tests.factories import jira_scrum_catalog
from apps.mappings.tests.helpers import drafted_set, make_approvable, row
from apps.mappings.validation import workflow_path

pytestmark = pytest.mark.django_db

WORKFLOW = {"initial": "To Do", "transitions": [["To Do", "In Progress"], ["In Progress", "Done"],
                                                 ["In Progress", "To Do"]]}


def codes(mapping_set, level="error"):
    return {(i.code, i.source) for i in selectors.mapping_set_issues(mapping_set) if i.level == level}


def error_codes(mapping_set):
    return {code for code, _ in codes(mapping_set)}


@pytest.fixture
def ready(organisation, member):
    """Drafted, every row accepted and a default person set: nothing blocks approval."""
    return make_approvable(drafted_set(organisation=organisation, actor=member), member)


def force(r: MappingRow, **values):
    """Set a row the way an import or an API client could, bypassing the immediate checks."""
    for name, value in values.items():
        setattr(r, name, value)
    r.save()


def test_a_fully_decided_draft_has_no_error_and_names_what_is_lossy(ready):
    assert error_codes(ready) == set()
    warnings = codes(ready, "warning")
    assert ("missing_level", "Epic") in warnings  # Epic and Feature both become Jira epics
    assert ("attribution", "") in warnings  # Cy has left: kept as text, done by the default person


def test_undecided_rows_block(organisation, member):
    mapping_set = drafted_set(organisation=organisation, actor=member)
    issues = [i for i in selectors.mapping_set_issues(mapping_set) if i.code == "undecided"]
    assert issues and all("still need a decision" in i.message for i in issues)


def test_people_with_no_match_and_no_default_block(ready, member):
    services.mapping_set_update(mapping_set=ready, actor=member, default_person="")
    ready.refresh_from_db()
    assert ("person_unmatched", "ado-cy") in codes(ready)
    services.mapping_row_decide(row=row(ready, "person", "ado-cy"), actor=member, decision="edit", target="acc-admin")
    assert error_codes(ready) == set()


def test_required_destination_fields_with_no_source_block(organisation, member):
    destination = jira_scrum_catalog(
        required=("summary", "project", "issuetype", "customfield_10090"),
        extra_fields=[FieldDefinition("customfield_10090", "Cost centre", FieldType.STRING, is_custom=True)])
    mapping_set = make_approvable(drafted_set(organisation=organisation, actor=member, destination=destination), member)
    issues = [i for i in selectors.mapping_set_issues(mapping_set) if i.code == "required_unfilled"]
    assert len(issues) == 1 and "'Cost centre' is required" in issues[0].message
    # Summary is required too, and filled by Title; rejecting Title makes it block.
    services.mapping_row_decide(row=row(mapping_set, "field", "System.Title"), actor=member, decision="reject")
    messages = [i.message for i in selectors.mapping_set_issues(mapping_set) if i.code == "required_unfilled"]
    assert any("'Summary' is required" in m for m in messages)


def test_types_that_cannot_convert_block(ready):
    force(row(ready, "field", "Microsoft.VSTS.Scheduling.StoryPoints"), target="duedate", transform="number")
    force(row(ready, "type", "Bug"), target="99999")
    found = codes(ready)
    assert ("cannot_convert", "Microsoft.VSTS.Scheduling.StoryPoints") in found
    assert ("unknown_target", "Bug") in found


def test_two_fields_into_one_block(ready, member):
    force(row(ready, "field", "Microsoft.VSTS.Common.AcceptanceCriteria"), target="description")
    assert ("target_used_twice", "Microsoft.VSTS.Common.AcceptanceCriteria") in codes(ready)


def test_several_fields_may_add_labels(ready):
    # Tags already become labels; a second field's values as labels too (fix versions as tags, the other way).
    force(row(ready, "field", "Custom.CustomerImpact"), target="labels", transform="values_to_tags")
    assert not {c for c in codes(ready) if c[0] in ("target_used_twice", "cannot_convert")}
    force(row(ready, "field", "Custom.CustomerImpact"), target="description", transform="values_to_tags")
    assert ("target_used_twice", "Custom.CustomerImpact") in codes(ready)


def test_values_the_destination_does_not_allow_block(ready):
    force(row(ready, "value", "1", scope="Microsoft.VSTS.Common.Priority"), target="Blocker")
    assert ("value_not_allowed", "1") in codes(ready)


def test_a_dropped_value_warns_unless_the_field_is_required(organisation, member):
    mapping_set = make_approvable(drafted_set(organisation=organisation, actor=member), member)
    services.mapping_row_decide(row=row(mapping_set, "value", "Low", scope="Custom.CustomerImpact"), actor=member,
                                decision="reject")
    assert ("value_dropped", "Low") in codes(mapping_set, "warning")
    required = jira_scrum_catalog(required=("summary", "project", "issuetype", "customfield_10050"))
    strict = make_approvable(drafted_set(organisation=organisation, actor=member, name="strict", destination=required),
                             member)
    services.mapping_row_decide(row=row(strict, "value", "Low", scope="Custom.CustomerImpact"), actor=member,
                                decision="reject")
    assert ("value_unmapped", "Low") in codes(strict)


def test_states_no_status_or_transition_reaches_block(ready, member):
    services.mapping_row_decide(row=row(ready, "state", "Resolved", scope="Bug"), actor=member, decision="reject")
    assert ("state_unmapped", "Resolved") in codes(ready)
    services.mapping_row_decide(row=row(ready, "state", "Resolved", scope="Bug"), actor=member, decision="accept")
    # With the destination's workflow known, a status no chain of transitions reaches blocks.
    ready.destination_workflows = {"10004": WORKFLOW}
    ready.save()
    assert ("state_unreachable", "Removed") in codes(ready)  # "Won't Do" has no transition into it
    services.mapping_row_decide(row=row(ready, "state", "Removed", scope="Bug"), actor=member, decision="edit",
                                target="Done")
    assert not {c for c in codes(ready) if c[0] == "state_unreachable"}
    # A transition path given by hand must be a real chain.
    services.mapping_row_decide(row=row(ready, "state", "Closed", scope="Bug"), actor=member, decision="edit",
                                options={"transition_path": ["To Do", "Done"]})
    assert ("state_unreachable", "Closed") in codes(ready)
    services.mapping_row_decide(row=row(ready, "state", "Closed", scope="Bug"), actor=member, decision="edit",
                                options={"transition_path": ["To Do", "In Progress", "Done"]})
    assert ("state_unreachable", "Closed") not in codes(ready)


def test_unknown_structure_targets_block(ready):
    force(row(ready, "iteration", "it-1"), target="404")
    force(row(ready, "link_type", "System.LinkTypes.Related"), target="404")
    found = codes(ready)
    assert ("unknown_target", "it-1") in found and ("unknown_target", "System.LinkTypes.Related") in found


def test_approval_names_the_blocking_rows(ready, member):
    force(row(ready, "value", "1", scope="Microsoft.VSTS.Common.Priority"), target="Blocker")
    with pytest.raises(ApplicationError, match="1 problem blocks approval: 'Blocker' is not a value") as info:
        services.mapping_set_approve(mapping_set=ready, actor=member)
    assert info.value.extra["errors"][0]["source"] == "1"


def test_workflow_paths():
    assert workflow_path(WORKFLOW, "done") == ["To Do", "In Progress", "Done"]
    assert workflow_path(WORKFLOW, "To Do") == ["To Do"]
    assert workflow_path(WORKFLOW, "Won't Do") is None
    assert workflow_path({"transitions": []}, "Done") is None
