"""What the Jira writer sends, built by connectors/jira/payloads.py: values shaped by the destination
field's schema, summaries and labels Jira accepts, attribution headers, the source id property."""

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from apps.connections.connectors.jira import payloads
from apps.connections.connectors.jira.payloads import FieldValueError, field_value, issue_create_payload
from apps.connections.connectors.records import ItemWrite

OPTION = {"type": "option", "custom": "com.atlassian.jira.plugin.system.customfieldtypes:select"}
MULTI = {"type": "array", "items": "option"}
USER = {"type": "user"}
USERS = {"type": "array", "items": "user"}
NUMBER = {"type": "number"}
DATE = {"type": "date"}
DATETIME = {"type": "datetime"}
LABELS = {"type": "array", "items": "string", "custom": payloads.LABELS_CUSTOM_TYPE}
SPRINT = {"type": "array", "items": "json", "custom": payloads.SPRINT_CUSTOM_TYPE}
TEXTAREA = {"type": "string", "custom": payloads.TEXTAREA_CUSTOM_TYPE}
CASCADE = {"type": "option-with-child"}


@pytest.mark.parametrize(("schema", "value", "cloud", "expected"), [
    (OPTION, "Major", True, {"value": "Major"}),
    (OPTION, {"id": "10101"}, True, {"id": "10101"}),
    (MULTI, ["Web", "iOS"], True, [{"value": "Web"}, {"value": "iOS"}]),
    (MULTI, "Web", True, [{"value": "Web"}]),
    (USER, "acc-1", True, {"accountId": "acc-1"}),
    (USER, "jsmith", False, {"name": "jsmith"}),
    (USERS, ["a", "b"], False, [{"name": "a"}, {"name": "b"}]),
    (NUMBER, "2.5", True, 2.5),
    (NUMBER, "3", True, 3),
    (NUMBER, 7, True, 7),
    (DATE, datetime(2025, 3, 4, 23, 0, tzinfo=UTC), True, "2025-03-04"),
    (DATE, date(2025, 3, 4), True, "2025-03-04"),
    (DATE, "2025-03-04T10:00:00Z", True, "2025-03-04"),
    (DATETIME, datetime(2025, 3, 4, 10, 30, 5, 123456, tzinfo=timezone(timedelta(hours=2))), True,
     "2025-03-04T08:30:05.123+0000"),
    (DATETIME, "2025-03-04T10:30:00.000+0100", True, "2025-03-04T09:30:00.000+0000"),
    (LABELS, ["needs review", "ui", "ui"], True, ["needs_review", "ui"]),
    (SPRINT, "42", True, 42),
    (SPRINT, [42], True, 42),
    (TEXTAREA, "plain", True, {"type": "doc", "version": 1, "content": [
        {"type": "paragraph", "content": [{"type": "text", "text": "plain"}]}]}),
    (TEXTAREA, "h1. wiki", False, "h1. wiki"),
    ({"type": "string", "system": "environment"}, {"type": "doc", "version": 1, "content": []}, True,
     {"type": "doc", "version": 1, "content": []}),
    (CASCADE, ["Europe", "Paris"], True, {"value": "Europe", "child": {"value": "Paris"}}),
    ({"type": "priority"}, "2", True, {"id": "2"}),
    ({"type": "array", "items": "component"}, ["10000", "Backend"], True, [{"id": "10000"}, {"name": "Backend"}]),
    ({"type": "string"}, 12, True, "12"),
    (OPTION, None, True, None),
])
def test_values_are_shaped_by_the_field_schema(schema, value, cloud, expected):
    assert field_value(schema, value, cloud=cloud, field_id="customfield_1") == expected


@pytest.mark.parametrize(("schema", "value", "cloud", "reason"), [
    (NUMBER, "lots", True, "'lots' is not a number"),
    (NUMBER, True, True, "yes/no"),
    (DATE, "2025-02-30", True, "is not a date"),
    (DATE, "next tuesday", True, "is not a date and time"),
    (SPRINT, [1, 2], True, "exactly one"),
    (SPRINT, "1.5", True, "numeric id"),
    (USER, "", True, "empty person"),
    (USER, {"name": "x"}, True, "accountId"),
    (TEXTAREA, {"type": "doc", "content": []}, False, "wiki markup"),
    (TEXTAREA, {"type": "paragraph"}, True, "Atlassian Document Format"),
    ({"type": "string"}, {"a": 1}, True, "takes text"),
])
def test_values_that_cannot_be_shaped_are_refused_naming_the_field(schema, value, cloud, reason):
    with pytest.raises(FieldValueError) as raised:
        field_value(schema, value, cloud=cloud, field_id="customfield_9")
    assert raised.value.field_id == "customfield_9"
    assert reason in raised.value.message


def test_summaries_become_one_line_of_at_most_255_characters():
    assert payloads.summary_fit("  Fix it  ") == ("Fix it", False)
    assert payloads.summary_fit("Line one\r\n  line two") == ("Line one line two", True)
    long, changed = payloads.summary_fit("é" * 300)
    assert changed and len(long) == 255 and long.endswith("…")
    assert payloads.sprint_name_fit("Iteration 12 of the long winter release") == "Iteration 12 of the long wint…"


def test_attribution_headers_in_both_formats():
    doc = {"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [{"type": "text", "text": "x"}]}]}
    cloud = payloads.rich_text_with_header(doc, "By Ana on 2024-01-02", cloud=True)
    assert cloud["content"][0] == {"type": "paragraph", "content": [
        {"type": "text", "text": "By Ana on 2024-01-02", "marks": [{"type": "em"}]}]}
    assert cloud["content"][1:] == doc["content"] and doc["content"][0]["content"][0]["text"] == "x"
    assert payloads.rich_text_with_header("*bold*", "By [Ana] | 50% _now_", cloud=False) == \
        "_By \\[Ana\\] \\| 50% \\_now\\__\n\n*bold*"
    assert payloads.rich_text_with_header("", "By Ana", cloud=False) == "_By Ana_"
    assert payloads.rich_text_with_header("a\nb\n\nc", "", cloud=True)["content"] == [
        {"type": "paragraph", "content": [{"type": "text", "text": "a"}, {"type": "hardBreak"},
                                          {"type": "text", "text": "b"}]},
        {"type": "paragraph", "content": [{"type": "text", "text": "c"}]}]


SCHEMA = {"customfield_10014": {"type": "any", "custom": payloads.EPIC_LINK_CUSTOM_TYPE},
          "customfield_10030": OPTION, "labels": {"type": "array", "items": "string", "system": "labels"}}


def test_the_create_body_carries_the_source_in_an_entity_property():
    item = ItemWrite(source_id="42", type_id="10001", summary="Title", source_url="https://dev.azure.com/f/_workitems/edit/42",
                     source_key="42", parent_id="10100", priority="High", labels=("a b",),
                     fields={"customfield_10030": "Major", "labels": ["c"]})
    body = issue_create_payload(item, project="MIG", cloud=True, fields_schema=SCHEMA,
                                issue_type={"id": "10001", "subtask": False}, run_id="r1")
    assert body["properties"] == [{"key": "migrayt.source", "value": {
        "source_id": "42", "source_url": "https://dev.azure.com/f/_workitems/edit/42", "source_key": "42", "run_id": "r1"}}]
    assert body["fields"] == {"project": {"key": "MIG"}, "issuetype": {"id": "10001"}, "summary": "Title",
                              "labels": ["a_b", "c"], "priority": {"name": "High"}, "parent": {"id": "10100"},
                              "customfield_10030": {"value": "Major"}}


def test_data_center_sets_the_epic_through_the_epic_link_and_a_sub_task_through_parent():
    story = ItemWrite(source_id="1", type_id="3", summary="S", parent_id="10100", parent_key="MIG-1", assignee="bo")
    body = issue_create_payload(story, project="10000", cloud=False, fields_schema=SCHEMA,
                                issue_type={"id": "3", "subtask": False}, epic_link_field="customfield_10014")
    assert body["fields"]["customfield_10014"] == "MIG-1" and "parent" not in body["fields"]
    assert body["fields"]["project"] == {"id": "10000"} and body["fields"]["assignee"] == {"name": "bo"}
    sub = issue_create_payload(story, project="MIG", cloud=False, fields_schema=SCHEMA,
                               issue_type={"id": "5", "subtask": True}, epic_link_field="customfield_10014")
    assert sub["fields"]["parent"] == {"id": "10100"}
    with pytest.raises(FieldValueError, match="no Epic Link field"):
        issue_create_payload(story, project="MIG", cloud=False, fields_schema=SCHEMA,
                             issue_type={"id": "3", "subtask": False})


def test_a_description_in_the_wrong_format_is_refused():
    item = ItemWrite(source_id="1", type_id="3", summary="S", description={"type": "doc", "version": 1, "content": []})
    with pytest.raises(FieldValueError, match="wiki markup"):
        issue_create_payload(item, project="MIG", cloud=False, fields_schema={}, issue_type={"id": "3"})
    with pytest.raises(FieldValueError, match="source id"):
        issue_create_payload(ItemWrite(source_id=" ", type_id="3", summary="S"), project="MIG", cloud=True,
                             fields_schema={}, issue_type={"id": "3"})


def test_jql_strings_are_quoted():
    assert payloads.jql_string('My "quoted" \\ project') == '"My \\"quoted\\" \\\\ project"'


def test_the_workflow_graph_gives_the_fewest_transitions_or_none():
    from apps.connections.connectors.jira.writer import _Edge, _Workflow

    flow = _Workflow(complete=True)
    flow.edges["todo"] += [_Edge("1", "doing")]
    flow.edges["doing"] += [_Edge("2", "review"), _Edge("3", "done")]
    flow.edges["review"] += [_Edge("4", "done")]
    flow.edges["*"] += [_Edge("9", "todo")]  # a global transition, from anywhere
    flow.edges["archived"] += []
    assert [e.transition_id for e in flow.path("todo", {"done"})] == ["1", "3"]
    assert [e.transition_id for e in flow.path("review", {"todo"})] == ["9"]
    assert flow.path("done", {"done"}) == []
    assert flow.path("todo", {"archived"}) is None
    assert flow.known_statuses() == {"doing", "review", "done", "todo"}
