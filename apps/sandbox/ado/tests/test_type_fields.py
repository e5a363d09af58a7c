"""Fields only where the work item type has them: Azure DevOps refuses a create or update that sets a field
the item's type lacks (400, TF51535 "Cannot find field <name>."), alone or inside `$batch`, with or without
bypassRules; the System fields common to every type are accepted on all."""

import json

import pytest

from apps.sandbox.ado import processes
from apps.sandbox.ado.models import AdoField, AdoWorkItem
from apps.sandbox.ado.tests import contract

ORIGINAL = "Microsoft.VSTS.Scheduling.OriginalEstimate"
COMPLETED = "Microsoft.VSTS.Scheduling.CompletedWork"
REMAINING = "Microsoft.VSTS.Scheduling.RemainingWork"
STORY_POINTS = "Microsoft.VSTS.Scheduling.StoryPoints"
ERROR_KEYS = {"$id", "innerException", "message", "typeName", "typeKey", "errorCode", "eventId"}


def body(response):
    return json.loads(response.content)


def field(ref, value):
    return {"op": "add", "path": f"/fields/{ref}", "value": value}


def refused(response, name):
    assert response.status_code == 400, response.content
    data = body(response)
    assert set(data) >= ERROR_KEYS, data
    assert data["message"] == f"TF51535: Cannot find field {name}."
    assert data["typeKey"] == "WorkItemTrackingFieldDefinitionNotFoundException"
    return data


def test_a_field_the_type_lacks_is_refused_on_create_even_with_bypass_rules(ado_site, ado):
    before = AdoWorkItem.objects.filter(site=ado_site).count()
    refused(ado.create("User Story", "estimated", field(ORIGINAL, 8)), ORIGINAL)
    refused(ado.create("User Story", "estimated", field(COMPLETED, 3), query="?bypassRules=true"), COMPLETED)
    refused(ado.create("User Story", "validated", field(REMAINING, 1), query="?validateOnly=true"), REMAINING)
    assert AdoWorkItem.objects.filter(site=ado_site).count() == before  # nothing was created
    # The same fields on the types that have them, and the story's own estimate.
    task = ado.create("Task", "estimated", field(ORIGINAL, 8), field(COMPLETED, 3), field(REMAINING, 5))
    assert task.status_code == 200, task.content
    assert body(task)["fields"][ORIGINAL] == 8.0 and body(task)["fields"][COMPLETED] == 3.0
    story = ado.create("User Story", "pointed", field(STORY_POINTS, 5))
    assert body(story)["fields"][STORY_POINTS] == 5.0
    # Agile's Task has no Story Points (its Bug has both).
    refused(ado.create("Task", "pointed", field(STORY_POINTS, 5)), STORY_POINTS)
    assert ado.create("Bug", "both", field(STORY_POINTS, 2), field(ORIGINAL, 1)).status_code == 200


def test_system_fields_are_accepted_on_every_type(ado):
    for wit in processes.PROCESSES["Agile"]:
        response = ado.create(wit.name, f"A {wit.name}", field("System.Tags", "one; two"),
                              field("System.Description", "<p>text</p>"), field("System.History", "<p>why</p>"),
                              field("System.AssignedTo", "zoe.angstrom@fabrikam.example"),
                              field("System.CreatedDate", "2024-01-02T03:04:05Z"), query="?bypassRules=true")
        assert response.status_code == 200, (wit.name, response.content)


def test_an_update_setting_a_field_the_type_lacks_changes_nothing(ado):
    story = body(ado.create("User Story", "story"))
    answer = ado.patch(f"_apis/wit/workitems/{story['id']}?bypassRules=true",
                       [field("System.Title", "renamed"), field(ORIGINAL, 4)])
    refused(answer, ORIGINAL)
    after = body(ado.get(f"_apis/wit/workitems/{story['id']}"))
    assert after["rev"] == story["rev"] and after["fields"]["System.Title"] == "story"
    # Changing the type in the same patch: the fields are the new type's.
    moved = ado.patch(f"_apis/wit/workitems/{story['id']}",
                      [field("System.WorkItemType", "Task"), field(ORIGINAL, 4)])
    assert moved.status_code == 200, moved.content
    assert body(moved)["fields"]["System.WorkItemType"] == "Task" and body(moved)["fields"][ORIGINAL] == 4.0


def test_batch_answers_each_entry_on_its_own(ado):
    story = body(ado.create("User Story", "to update"))
    uri = "/Fabrikam%20Fiber/_apis/wit/workitems/${}?bypassRules=true"
    operations = [
        {"method": "PATCH", "uri": uri.format("User%20Story"), "body": [field("System.Title", "fine")]},
        {"method": "PATCH", "uri": uri.format("User%20Story"), "body": [field("System.Title", "no"), field(REMAINING, 2)]},
        {"method": "PATCH", "uri": uri.format("Task"), "body": [field("System.Title", "task"), field(REMAINING, 2)]},
        {"method": "PATCH", "uri": f"/_apis/wit/workitems/{story['id']}", "body": [field(COMPLETED, 1)]},
    ]
    response = ado.post("_apis/wit/$batch", operations)
    assert response.status_code == 200
    answers = body(response)["value"]
    assert [a["code"] for a in answers] == [200, 400, 200, 400]
    refused_body = json.loads(answers[1]["body"])
    assert set(refused_body) >= ERROR_KEYS and refused_body["message"] == f"TF51535: Cannot find field {REMAINING}."
    assert json.loads(answers[3]["body"])["message"] == f"TF51535: Cannot find field {COMPLETED}."
    assert json.loads(answers[2]["body"])["fields"][REMAINING] == 2.0
    assert body(ado.get(f"_apis/wit/workitems/{story['id']}"))["rev"] == story["rev"]


def test_a_custom_field_is_on_the_types_it_was_added_to(ado_site, ado):
    AdoField.objects.create(site=ado_site, reference_name="Custom.Triage", name="Triage note", type="string",
                            work_item_types=["Bug"])
    assert ado.create("Bug", "b", field("Custom.Triage", "later")).status_code == 200
    refused(ado.create("Task", "t", field("Custom.Triage", "later")), "Custom.Triage")
    bug_type = body(ado.get("Fabrikam Fiber/_apis/wit/workitemtypes/Bug"))
    task_type = body(ado.get("Fabrikam Fiber/_apis/wit/workitemtypes/Task"))
    assert "Custom.Triage" in {f["referenceName"] for f in bug_type["fields"]}
    assert "Custom.Triage" not in {f["referenceName"] for f in task_type["fields"]}


def test_a_type_lists_exactly_the_fields_it_accepts(ado):
    types = {t["name"]: {f["referenceName"] for f in t["fields"]}
             for t in body(ado.get("Fabrikam Fiber/_apis/wit/workitemtypes"))["value"]}
    assert STORY_POINTS in types["User Story"] and ORIGINAL not in types["User Story"]
    assert {ORIGINAL, COMPLETED, REMAINING} <= types["Task"] and STORY_POINTS not in types["Task"]
    every = set.intersection(*types.values())
    assert {"System.Title", "System.History", "System.Tags", "System.CreatedDate", "System.ChangedBy"} <= every
    # A listed field of the type's own is accepted: Activity on a Task, Acceptance Criteria on a story.
    assert ado.create("Task", "t", field("Microsoft.VSTS.Common.Activity", "Design")).status_code == 200
    assert ado.create("User Story", "s", field("Microsoft.VSTS.Common.AcceptanceCriteria", "<p>ok</p>")).status_code == 200
    refused(ado.create("Task", "t", field("Microsoft.VSTS.Common.AcceptanceCriteria", "<p>ok</p>")),
            "Microsoft.VSTS.Common.AcceptanceCriteria")


def test_the_service_stamps_closing_dates_only_on_types_that_have_them(ado):
    plan = body(ado.create("Test Plan", "plan"))
    closed_plan = body(ado.patch(f"_apis/wit/workitems/{plan['id']}", [field("System.State", "Inactive")]))
    assert "Microsoft.VSTS.Common.ClosedDate" not in closed_plan["fields"]
    task = body(ado.create("Task", "task"))
    closed_task = body(ado.patch(f"_apis/wit/workitems/{task['id']}", [field("System.State", "Closed")]))
    assert closed_task["fields"]["Microsoft.VSTS.Common.ClosedDate"]


def test_scrum_and_basic_have_no_original_estimate_or_completed_work_anywhere():
    for name in ("Scrum", "Basic"):
        for wit in processes.PROCESSES[name]:
            assert not {ORIGINAL, COMPLETED} & set(wit.extra_fields), (name, wit.name)
        assert REMAINING in processes.type_def(name, "Task").extra_fields
    assert REMAINING not in processes.type_def("Scrum", "Product Backlog Item").extra_fields
    assert {ORIGINAL, COMPLETED, REMAINING} <= set(processes.type_def("CMMI", "Task").extra_fields)


EXAMPLE = contract.SPECS / "wit" / "7.1" / "httpExamples" / "workItemTypes" / "GET__wit_workItemTypes.json"


@pytest.mark.skipif(not EXAMPLE.exists(), reason=f"Microsoft's work item types example is not at {EXAMPLE}")
def test_agile_types_have_the_fields_of_microsofts_example():
    """Microsoft's recorded answer of GET workItemTypes (an Agile project): each type's own fields, the ones
    the sandbox defines, are exactly the sandbox's for that type."""
    example = contract.load_json(EXAMPLE)["responses"]["200"]["body"]["value"]
    compared = 0
    for recorded in example:
        wit = processes.type_def("Agile", recorded["name"])
        if wit is None:
            continue  # code review and feedback types: not in the sandbox
        theirs = {f["referenceName"] for f in recorded["fields"]}
        own = {ref for ref in theirs if not ref.startswith("System.") and ref in processes.SYSTEM_FIELDS}
        assert own == set(wit.extra_fields), (wit.name, own ^ set(wit.extra_fields))
        assert set(processes.COMMON_FIELDS) - {"System.CommentCount", "System.Parent"} <= theirs, wit.name
        compared += 1
    assert compared >= 8


def _outside_their_types(site) -> list:
    custom = {f.reference_name: {"workItemTypes": f.work_item_types} for f in AdoField.objects.filter(site=site)}
    wrong = []
    for item in AdoWorkItem.objects.filter(site=site).select_related("project"):
        own = set(processes.type_field_refs(processes.type_def(item.project.process, item.work_item_type), custom))
        wrong += [(item.work_item_type, ref) for ref in item.fields if ref not in own]
    return wrong


@pytest.mark.parametrize("process", ["Agile", "Scrum", "Basic", "CMMI"])
def test_the_seed_sets_only_fields_its_types_have(db, process):
    from apps.sandbox import services

    site = services.site_create(kind="ado", slug=f"seed-{process.lower()}")
    services.site_seed(site=site, items=40, seed=2, process=process)
    assert _outside_their_types(site) == []
    # and the types still carry their own (a story's points, a task's remaining work)
    assert AdoWorkItem.objects.filter(site=site, work_item_type="Task",
                                      fields__has_key="Microsoft.VSTS.Scheduling.RemainingWork").exists()


REALDATA = contract.SPECS.parent.parent / "realdata" / "azure-devops" / "demo-generator-templates"


@pytest.mark.skipif(not REALDATA.is_dir(), reason=f"the real exports are not at {REALDATA}")
def test_the_import_leaves_out_values_of_fields_an_items_type_lacks(db):
    from apps.sandbox import services

    site = services.site_create(kind="ado", slug="imported")
    summary = services.site_import(site=site, path=REALDATA / "Gen-eShopOnWeb")
    assert summary["items"] == 205
    assert _outside_their_types(site) == []
    # Every type of the template is given Effort and Remaining Work; an Agile User Story keeps neither,
    # a Task keeps its Remaining Work.
    left_out = summary["by_project"]["Gen-eShopOnWeb"]["fields_left_out"]
    assert left_out["Microsoft.VSTS.Scheduling.Effort"] > 0 and left_out["Microsoft.VSTS.Scheduling.RemainingWork"] > 0
    assert not AdoWorkItem.objects.filter(site=site, work_item_type="User Story", fields__has_key=REMAINING).exists()
    assert AdoWorkItem.objects.filter(site=site, work_item_type="Task", fields__has_key=REMAINING).exists()
