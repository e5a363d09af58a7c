"""The Jira -> Azure DevOps pieces that need no server: links planned once, history drafting, the create
document."""

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from apps.connections.connectors import records
from apps.connections.connectors.azure_devops.writer import AdoWriter, node_name
from apps.mappings.drafting.proposals import Transform
from apps.mappings.plan import FieldRule, MappingPlan, TypeRule
from apps.runs.engine.draft import Drafter
from apps.runs.engine.execute import canonical_link
from apps.runs.engine.replay import ReplayContext, create_fields, history, strictly_after

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def _plan() -> MappingPlan:
    return MappingPlan(
        version_id=0, source_kind="jira_cloud", destination_kind="azure_devops", source_project="ACME",
        destination_project="Target", types={"10": TypeRule("10", "User Story")},
        fields={"summary": FieldRule("summary", "System.Title", Transform.COPY),
                "assignee": FieldRule("assignee", "System.AssignedTo", Transform.PERSON),
                "priority": FieldRule("priority", "Microsoft.VSTS.Common.Priority", Transform.MAP_VALUES,
                                      {"High": "2", "Low": "4"})},
        states={("10", "To Do"): "New", ("10", "Done"): "Closed"},
        people={"acc-ada": "ada@example.com", "acc-bob": "bob@example.com"},
    )


def _drafter() -> Drafter:
    drafter = Drafter(_plan(), rich_text="html")
    drafter.replay_context = ReplayContext(people_by_name={"Bob": "acc-bob"})
    return drafter


def _item() -> records.WorkItem:
    return records.WorkItem(source_id="100", key="ACME-1", project_id="1", type_id="10", title="Now",
                            state="Done", created_at=T0, priority="High",
                            created_by=records.Person("acc-ada", "Ada"), assignee=records.Person("acc-bob", "Bob"))


def _revisions():
    ada = records.Person("acc-ada", "Ada")
    return [
        records.Revision("1", "100", 1, ada, T0 + timedelta(hours=1),
                         (records.FieldChange("status", "To Do", "Done"), records.FieldChange("resolution", None, "Fixed"))),
        records.Revision("2", "100", 2, ada, T0 + timedelta(hours=1),  # the same moment as the one before
                         (records.FieldChange("assignee", None, "Bob"), records.FieldChange("summary", "Then", "Now"))),
    ]


def test_jira_links_are_planned_once_from_their_outward_end_and_ado_reverse_links_still_fold():
    outward = records.Link("7", "10000", "1", "2")
    mirror = records.Link("7", "10000", "2", "1", is_mirror=True)
    assert canonical_link(outward).from_source_id == "1" and canonical_link(mirror) is None
    tested = records.Link("x", "Microsoft.VSTS.Common.TestedBy-Reverse", "5", "6")
    assert canonical_link(tested).link_type == "Microsoft.VSTS.Common.TestedBy-Forward"
    assert (canonical_link(tested).from_source_id, canonical_link(tested).to_source_id) == ("6", "5")


def test_the_item_is_created_as_it_was_and_its_changelog_replays_in_order_with_notes():
    drafter, item = _drafter(), _item()
    first = create_fields(drafter, item, status="Closed", revisions=_revisions())
    assert first["System.State"] == "New" and first["System.Title"] == "Then"
    assert first["System.AssignedTo"] is None and first["System.CreatedDate"] == T0
    comment = records.Comment("c1", "100", records.Person("acc-bob", "Bob"), T0 + timedelta(minutes=30),
                              body="Looks good", body_format=records.TextFormat.WIKI)
    writes = history(drafter, item, _revisions(), [comment])
    assert [w.source_id for w in writes] == ["comment:c1", "changelog:1", "changelog:2"]
    assert writes[0].is_comment and writes[0].author == "bob@example.com" and "Looks good" in writes[0].note
    assert writes[1].fields == {"System.State": "Closed"} and "resolution" in writes[1].note
    assert writes[2].fields == {"System.AssignedTo": "bob@example.com", "System.Title": "Now"}
    assert writes[2].changed_at == writes[1].changed_at + timedelta(milliseconds=1)  # strictly increasing
    assert all(w.author for w in writes)


def test_a_value_the_changelog_does_not_explain_is_set_last_and_said():
    drafter, item = _drafter(), _item()
    writes = history(drafter, item, _revisions(), [], {"System.State": "Closed", "System.Title": "Renamed since"})
    assert writes[-1].source_id == "current" and writes[-1].fields == {"System.Title": "Renamed since"}
    assert "history does not record" in writes[-1].note


def test_strictly_after_moves_equal_or_earlier_moments_forward():
    moments = strictly_after([T0, T0, T0 - timedelta(seconds=1)], T0)
    assert moments == [T0 + timedelta(milliseconds=n) for n in (1, 2, 3)]


def test_the_create_document_carries_bypass_fields_the_run_tag_and_the_source_marker():
    connector = SimpleNamespace(http=None, config=SimpleNamespace(base_url="https://dev.azure.com/org/"))
    writer = AdoWriter(connector, run_id="3f2a9c1e-0000-4000-8000-000000000000")
    write = records.ItemWrite(source_id="100", type_id="User Story", summary="Now", source_url="https://x/browse/ACME-1",
                              parent_id="7", labels=("ux", "a;b"), reporter="ada@example.com",
                              fields={"System.CreatedDate": T0, "System.State": "New"})
    ops = {op["path"]: op["value"] for op in writer.create_ops(write) if op["path"].startswith("/fields/")}
    assert ops["/fields/System.CreatedBy"] == ops["/fields/System.ChangedBy"] == "ada@example.com"
    assert ops["/fields/System.CreatedDate"] == ops["/fields/System.ChangedDate"] == "2026-01-05T09:00:00.000Z"
    assert ops["/fields/System.Tags"] == "ux; a,b; migrayt-run-3f2a9c1e0000"
    relations = [op["value"] for op in writer.create_ops(write) if op["path"] == "/relations/-"]
    assert relations[0] == {"rel": "System.LinkTypes.Hierarchy-Reverse", "url": "https://dev.azure.com/org/_apis/wit/workItems/7"}
    assert relations[1]["attributes"]["comment"] == "migrayt source 100"
    assert writer.source_id_of({"relations": relations}) == "100"
    assert node_name('Sprint 3: "Q1" / #2.') == "Sprint 3- -Q1- - -2"


def test_fix_versions_become_tags_or_one_field_as_the_mapping_chooses():
    plan = _plan()
    plan.fields["labels"] = FieldRule("labels", "System.Tags", Transform.TAGS_TO_LABELS)
    plan.fields["fixVersions"] = FieldRule("fixVersions", "System.Tags", Transform.VALUES_TO_TAGS)
    item = _item()
    item.labels = ("backend",)
    item.fields = {"fixVersions": [{"id": "1", "name": "Release 1.0"}, {"id": "2", "name": "Release 1.1"}]}
    write = Drafter(plan, rich_text="html").draft(item).write
    assert list(write.labels) == ["backend", "Release 1.0", "Release 1.1"]
    assert "System.Tags" not in write.fields

    # The reviewer chose a field instead: the names in it, joined; no tag made of them.
    plan.fields["fixVersions"] = FieldRule("fixVersions", "Microsoft.VSTS.Build.IntegrationBuild",
                                           Transform.VALUES_TO_TAGS)
    write = Drafter(plan, rich_text="html").draft(item).write
    assert write.fields["Microsoft.VSTS.Build.IntegrationBuild"] == "Release 1.0; Release 1.1"
    assert list(write.labels) == ["backend"]

    # No fix version: nothing written, no empty field.
    item.fields = {"fixVersions": []}
    write = Drafter(plan, rich_text="html").draft(item).write
    assert "Microsoft.VSTS.Build.IntegrationBuild" not in write.fields


def test_values_as_jira_labels_hold_no_spaces():
    plan = MappingPlan(version_id=0, source_kind="azure_devops", destination_kind="jira_cloud", source_project="P",
                       destination_project="D", types={"Bug": TypeRule("Bug", "10004")},
                       fields={"Custom.Release": FieldRule("Custom.Release", "labels", Transform.VALUES_TO_TAGS)})
    item = records.WorkItem(source_id="7", key="7", project_id="1", type_id="Bug", title="t", state="",
                            created_at=T0, fields={"Custom.Release": "Spring 2026"})
    assert Drafter(plan).draft(item).write.labels == ("Spring_2026",)


def test_a_field_the_destination_type_lacks_is_left_out_said_per_type_and_field_and_kept_in_the_note():
    import dataclasses

    from apps.runs.engine.execute import add_warning

    plan = dataclasses.replace(_plan(), fields={
        **_plan().fields,
        "timeoriginalestimate": FieldRule("timeoriginalestimate", "Microsoft.VSTS.Scheduling.OriginalEstimate",
                                          Transform.HOURS_TO_SECONDS),
        "customfield_10016": FieldRule("customfield_10016", "Microsoft.VSTS.Scheduling.StoryPoints", Transform.NUMBER)})
    drafter = Drafter(plan, rich_text="html")
    drafter.replay_context = ReplayContext(people_by_name={"Bob": "acc-bob"})
    drafter.type_fields = {"User Story": frozenset({"System.Title", "System.State", "System.AssignedTo",
                                                    "System.CreatedDate", "Microsoft.VSTS.Scheduling.StoryPoints"})}
    item = dataclasses.replace(_item(), fields={"timeoriginalestimate": 7200, "customfield_10016": 3})
    bucket: dict = {}
    for source_id in ("100", "101"):
        draft = drafter.draft(dataclasses.replace(item, source_id=source_id))
        assert draft.write.fields["Microsoft.VSTS.Scheduling.StoryPoints"] == 3.0
        assert "Microsoft.VSTS.Scheduling.OriginalEstimate" not in draft.write.fields
        assert draft.write.priority == ""  # this User Story has no Priority field either
        for warning in draft.warnings:
            add_warning(bucket, warning, source_id)
    said = bucket["field_not_on_type"]
    assert said["count"] == 4 and said["examples"] == ["100", "101"]
    assert said["messages"] == {
        "User Story has no field Microsoft.VSTS.Scheduling.OriginalEstimate (from timeoriginalestimate) in the "
        "destination: the value is left out. The logged work stays in the item's worklog CSV attachment.": 2,
        "User Story has no field Microsoft.VSTS.Common.Priority (from priority) in the destination: the value is "
        "left out.": 2}
    # Replayed: a change of a field the type lacks is a line of the revision's note, not a field.
    revisions = [records.Revision("3", "100", 1, records.Person("acc-ada", "Ada"), T0 + timedelta(hours=2),
                                  (records.FieldChange("priority", "Low", "High"),))]
    (write,) = history(drafter, item, revisions, [], {"Microsoft.VSTS.Common.Priority": 2})
    assert write.fields == {} and "priority" in write.note and "Low" in write.note
    # Without the destination's list, nothing is left out.
    drafter.type_fields = {}
    assert "Microsoft.VSTS.Scheduling.OriginalEstimate" in drafter.draft(item).write.fields


def test_an_assignee_change_between_people_with_no_account_of_their_own_is_kept_in_the_note():
    """devlake's EE: Dingding Zhang hands an issue to yuxiang; neither has an Azure DevOps account, both go to
    the default person, so the field does not change: the note says who it was."""
    from dataclasses import replace

    drafter = Drafter(replace(_plan(), default_person="lead@example.com"), rich_text="html")
    drafter.replay_context = ReplayContext(people_by_name={"Bob": "acc-bob", "Dingding Zhang": "acc-dz",
                                                          "yuxiang": "acc-yx"})
    ada = records.Person("acc-ada", "Ada")
    revisions = [records.Revision("1", "100", 1, ada, T0 + timedelta(hours=1),
                                  (records.FieldChange("assignee", "Dingding Zhang", "yuxiang"),)),
                 records.Revision("2", "100", 2, ada, T0 + timedelta(hours=2),
                                  (records.FieldChange("assignee", "yuxiang", "Bob"),)),
                 records.Revision("3", "100", 3, ada, T0 + timedelta(hours=3),
                                  (records.FieldChange("assignee", "Bob", None),))]
    handed, to_bob, unassigned = history(drafter, _item(), revisions, [])
    assert handed.fields == {"System.AssignedTo": "lead@example.com"}
    assert "Dingding Zhang" in handed.note and "yuxiang" in handed.note
    assert to_bob.fields == {"System.AssignedTo": "bob@example.com"} and "yuxiang" in to_bob.note
    assert unassigned.fields == {"System.AssignedTo": None} and unassigned.note == ""  # Bob has his account


def test_a_jira_option_is_mapped_by_its_name_as_the_value_rows_name_it():
    # Jira answers a select list with an option object; the mapping's value rows name the option's value.
    plan = _plan()
    plan.fields["customfield_10030"] = FieldRule("customfield_10030", "Microsoft.VSTS.Common.Severity",
                                                 Transform.MAP_VALUES, {"Critical": "1 - Critical", "Minor": "3 - Medium"})
    item = _item()
    item.fields = {"customfield_10030": {"self": "https://x/customFieldOption/10400", "value": "Critical",
                                         "id": "10400"}}
    draft = Drafter(plan, rich_text="html").draft(item)
    assert draft.write.fields["Microsoft.VSTS.Common.Severity"] == "1 - Critical"
    assert not [w for w in draft.warnings if w.code == "value_unmapped"]
    item.fields = {"customfield_10030": [{"value": "Critical", "id": "1"}, {"value": "Minor", "id": "2"}]}
    assert Drafter(plan, rich_text="html").draft(item).write.fields["Microsoft.VSTS.Common.Severity"] == \
        "1 - Critical; 3 - Medium"
    item.fields = {"customfield_10030": {"value": "Blocker", "id": "3"}}
    draft = Drafter(plan, rich_text="html").draft(item)
    assert "Microsoft.VSTS.Common.Severity" not in draft.write.fields
    assert [w.message for w in draft.warnings if w.code == "value_unmapped"] == [
        "Value “Blocker” of customfield_10030 has no mapping; it is left out."]


def test_a_description_image_is_announced_once_as_uploaded_not_also_as_lost():
    doc = {"type": "doc", "version": 1, "content": [{"type": "mediaSingle", "content": [
        {"type": "media", "attrs": {"type": "file", "id": "abc-1", "alt": "shot.png", "collection": ""}}]}]}
    item = _item()
    item.description = doc
    carried = Drafter(_plan(), rich_text="html").draft(item)
    assert not [w for w in carried.warnings if "could not be shown" in w.message]
    from dataclasses import replace

    without_files = Drafter(replace(_plan(), attachments=False), rich_text="html").draft(item)
    assert [w for w in without_files.warnings if "could not be shown" in w.message]


def test_the_attribution_line_of_a_description_is_the_one_the_create_wrote():
    # A description rewritten for its images keeps the line naming the people with no account.
    plan = _plan()
    plan.fields["description"] = FieldRule("description", "System.Description", Transform.RICH_TEXT)
    item = _item()
    item.assignee = records.Person("acc-gone", "Gus Gone")
    item.description = {"type": "doc", "version": 1, "content": [
        {"type": "paragraph", "content": [{"type": "text", "text": "Body"}]}]}
    drafter = Drafter(plan, rich_text="html")
    header = drafter.description_header(item)
    assert "Gus Gone" in header and "no account in the destination" in header
    assert drafter.draft(item).write.description.startswith(header)
    item.assignee = records.Person("acc-bob", "Bob")  # mapped: no line
    assert drafter.description_header(item) == ""
