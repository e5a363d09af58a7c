"""Export, import and the engine's plan: a mapping reused on the next project gives the same plan."""

import json

import pytest

from apps.core.exceptions import ApplicationError
from apps.mappings import selectors, services
from apps.mappings.document import DOCUMENT_FORMAT, DocumentInvalid, document_loads
from apps.mappings.drafting.proposals import Transform
from apps.mappings.plan import FieldRule, TypeRule
from apps.mappings.tests.factories import ado_agile_catalog, jira_scrum_catalog
from apps.mappings.tests.helpers import drafted_set, make_approvable, row

pytestmark = pytest.mark.django_db


@pytest.fixture
def approved(organisation, member):
    mapping_set = make_approvable(drafted_set(organisation=organisation, actor=member), member)
    services.mapping_row_decide(row=row(mapping_set, "value", "4", scope="Microsoft.VSTS.Common.Priority"), actor=member,
                                decision="edit", target="Lowest")
    services.mapping_row_decide(row=row(mapping_set, "type", "Epic"), actor=member, decision="edit",
                                options={"missing_level": "flatten"})
    services.mapping_row_decide(row=row(mapping_set, "field", "Custom.CustomerImpact"), actor=member,
                                decision="reject")
    mapping_set.destination_workflows = {"10002": {"initial": "To Do", "transitions": [["To Do", "In Progress"],
                                                                                       ["In Progress", "Done"],
                                                                                       ["To Do", "Won't Do"]]}}
    mapping_set.save()
    return mapping_set, services.mapping_set_approve(mapping_set=mapping_set, actor=member)


def test_the_plan_is_plain_data_from_the_frozen_version(approved):
    mapping_set, version = approved
    plan = selectors.mapping_version_plan(version)
    assert plan.version_id == version.pk
    assert (plan.source_kind, plan.destination_kind) == ("azure_devops", "jira_cloud")
    assert plan.types["User Story"] == TypeRule("User Story", "10002", "flatten")
    assert plan.types["Epic"].missing_level == "flatten"
    assert plan.fields["System.Title"] == FieldRule("System.Title", "summary", Transform.COPY)
    assert plan.fields["Microsoft.VSTS.Common.Priority"].values == {"1": "Highest", "2": "High", "3": "Medium",
                                                                   "4": "Lowest"}
    assert plan.fields["Custom.CustomerImpact"].target_field is None  # rejected: not carried
    assert plan.fields["System.Rev"].transform == Transform.DROP
    assert plan.states[("User Story", "Active")] == "In Progress"
    assert plan.state_paths[("User Story", "Closed")] == ("To Do", "In Progress", "Done")
    assert plan.state_paths[("User Story", "Removed")] == ("To Do", "Won't Do")
    assert ("Bug", "Closed") not in plan.state_paths  # no known workflow: the engine finds the path
    assert plan.people == {"ado-ana": "acc-ana", "ado-bo": "acc-bo", "ado-cy": None}
    assert plan.default_person == "acc-admin"
    assert plan.iterations == {"it-1": "37", "it-2": "create:Sprint 2"}
    assert plan.areas == {"ar-1": "10100", "ar-2": "create:Billing"}
    assert plan.link_types["System.LinkTypes.Related"] == "10003"
    assert plan.link_types["System.LinkTypes.Hierarchy-Forward"] is None
    # Editing the set afterwards never changes what a run of this version does.
    services.mapping_row_decide(row=row(mapping_set, "field", "System.Title"), actor=None, decision="reject")
    assert selectors.mapping_version_plan(version) == plan
    # The runs app keeps the plan as JSON on a run; it must survive that round trip.
    from apps.runs.planjson import plan_from_dict, plan_to_dict

    assert plan_from_dict(json.loads(json.dumps(plan_to_dict(plan)))) == plan


def test_export_then_import_on_the_next_project_gives_the_same_plan(approved, organisation, member):
    mapping_set, version = approved
    document = services.mapping_set_export(mapping_set=mapping_set, actor=member)
    assert document["format"] == DOCUMENT_FORMAT and len(document["rows"]) == mapping_set.rows.count()
    text = json.dumps(document)
    next_project = drafted_set(organisation=organisation, actor=member, name="next project")
    report = services.mapping_set_import(mapping_set=next_project, actor=member, document=json.loads(text))
    assert report.applied == len(document["rows"]) and report.skipped == [] and report.not_in_document == 0
    assert next_project.rows.filter(decision="pending").count() == 0
    next_version = services.mapping_set_approve(mapping_set=next_project, actor=member)
    first, second = selectors.mapping_version_plan(version), selectors.mapping_version_plan(next_version)
    assert {**vars(first), "version_id": 0} == {**vars(second), "version_id": 0}
    assert row(next_project, "field", "System.Title").layer == "import"


def test_import_reports_what_does_not_fit_this_project(approved, organisation, member):
    mapping_set, _ = approved
    document = services.mapping_set_export(mapping_set=mapping_set, actor=member)
    document["rows"].append({"kind": "field", "scope": "", "source": "Custom.NotHere", "target": "summary"})
    document["rows"].append({"kind": "tag", "scope": "", "source": "ux", "target": "user-experience"})
    smaller = jira_scrum_catalog()
    smaller.fields = [f for f in smaller.fields if f.source_id != "customfield_10040"]
    other = drafted_set(organisation=organisation, actor=member, name="smaller", destination=smaller)
    report = services.mapping_set_import(mapping_set=other, actor=member, document=document)
    skipped = {(s["source"], s["reason"].split(" ")[0]) for s in report.skipped}
    assert ("Custom.NotHere", "This") in skipped
    assert any(s["source"] == "Microsoft.VSTS.Common.AcceptanceCriteria" and "not a field" in s["reason"]
               for s in report.skipped)
    assert row(other, "tag", "ux").target == "user-experience"  # tags are renamed by hand, not drafted
    other.refresh_from_db()
    assert other.default_person == "acc-admin"


@pytest.mark.parametrize(("document", "message"), [
    ([], "is a JSON object"),
    ({"format": "something.else"}, "not a Migrayt mapping"),
    ({"format": DOCUMENT_FORMAT, "version": 9, "source": {}, "destination": {}, "rows": []}, "newer Migrayt"),
    ({"format": DOCUMENT_FORMAT, "version": 1, "source": {"kind": "azure_devops"},
      "destination": {"kind": "jira_cloud"}, "rows": [{"kind": "field"}]}, "rows/0"),
    ({"format": DOCUMENT_FORMAT, "version": 1, "source": {"kind": "azure_devops"},
      "destination": {"kind": "jira_cloud"}, "rows": [{"kind": "planet", "source": "x"}]}, "rows/0/kind"),
    ({"format": DOCUMENT_FORMAT, "version": 1, "source": {"kind": "jira_cloud"},
      "destination": {"kind": "azure_devops"}, "rows": []}, "goes from jira_cloud to azure_devops"),
])
def test_bad_documents_are_refused_with_the_place(organisation, member, document, message):
    mapping_set = drafted_set(organisation=organisation, actor=member)
    with pytest.raises(ApplicationError, match=message):
        services.mapping_set_import(mapping_set=mapping_set, actor=member, document=document)


def test_document_text_is_checked_before_parsing():
    with pytest.raises(DocumentInvalid, match="not JSON"):
        document_loads(b"{nope")
    with pytest.raises(DocumentInvalid, match="larger than"):
        document_loads(b" " * (6 * 1024 * 1024))


def test_jira_to_azure_devops_drafts_and_plans(organisation, member):
    """The other direction through the same machinery: Jira Cloud as the source, ADO as the destination."""
    from apps.mappings.tests.factories import scan_make

    source = scan_make(organisation=organisation, catalog=jira_scrum_catalog(), kind="jira_cloud")
    destination = scan_make(organisation=organisation, catalog=ado_agile_catalog(), kind="azure_devops",
                            role="destination")
    mapping_set = services.mapping_set_create(organisation=organisation, actor=member, name="back", draft=False,
                                              source_scan_id=source.pk, destination_scan_id=destination.pk)
    services.mapping_set_draft_run(mapping_set_id=mapping_set.pk)
    assert row(mapping_set, "field", "summary").target == "System.Title"
    assert row(mapping_set, "type", "10002").target == "User Story"
