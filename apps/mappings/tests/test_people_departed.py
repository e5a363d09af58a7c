"""People who have left: a person with no account in the destination goes, one by one, to the default
person (name kept as text), to nobody (name kept as attribution text) or, where the destination takes one,
to an inactive account of their own. Chosen on the review page and through the API, validated, exported and
imported, frozen into the plan and honoured by the engine's drafter."""

import dataclasses
import json

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from apps.accounts.services import api_token_create
from apps.connections.connectors import records
from apps.mappings import selectors, services
from apps.mappings.tests.helpers import drafted_set, make_approvable, row
from apps.runs.engine.draft import Drafter
from apps.runs.testing import agile_to_jira_plan

pytestmark = pytest.mark.django_db


@pytest.fixture
def mapping_set(organisation, member):
    return drafted_set(organisation=organisation, actor=member)


@pytest.fixture
def api(member, organisation):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_token_create(organisation=organisation, user=member, name='t')[1]}")
    return client


def test_the_review_page_offers_the_choice_per_person(client, member, mapping_set):
    client.force_login(member)
    gone = row(mapping_set, "person", "ado-cy")
    assert gone.target is None
    page = client.get(reverse("mappings:detail", args=[mapping_set.pk]) + "?kind=person").content.decode()
    assert "no account: the default person if set, else name kept as text" in page
    edit_url = reverse("mappings:row_edit", args=[mapping_set.pk, gone.pk])
    form = client.get(edit_url, HTTP_HX_REQUEST="true").content.decode()
    assert 'name="departed"' in form and 'value="attribution"' in form
    assert 'value="inactive_account"' not in form  # Jira takes only active accounts as assignee or reporter
    saved = client.post(edit_url, {"target": "", "departed": "attribution"}, HTTP_HX_REQUEST="true").content.decode()
    assert 'data-departed="attribution"' in saved and "name kept as attribution text" in saved
    gone.refresh_from_db()
    assert gone.options == {"departed": "attribution"} and gone.decision == "edited"
    refused = client.post(edit_url, {"target": "", "departed": "inactive_account"},
                          HTTP_HX_REQUEST="true").content.decode()
    assert 'class="editing"' in refused and "Select a valid choice" in refused
    # Giving them an account makes the choice moot: it is cleared.
    client.post(edit_url, {"target": "acc-admin", "departed": "attribution"}, HTTP_HX_REQUEST="true")
    gone.refresh_from_db()
    assert gone.target == "acc-admin" and "departed" not in gone.options


def test_the_api_validates_the_choice_and_the_plan_carries_it(api, organisation, member, mapping_set):
    gone = row(mapping_set, "person", "ado-cy")
    url = f"/api/v1/mappings/{mapping_set.pk}/rows/{gone.pk}/"
    inactive = api.patch(url, {"decision": "edit", "options": {"departed": "inactive_account"}}, format="json")
    assert inactive.status_code == 400 and "refuses an inactive account" in inactive.json()["message"]
    unknown = api.patch(url, {"decision": "edit", "options": {"departed": "somebody"}}, format="json")
    assert unknown.status_code == 400 and unknown.json()["extra"]["field"] == "options.departed"
    chosen = api.patch(url, {"decision": "edit", "options": {"departed": "default_person"}}, format="json")
    assert chosen.status_code == 200 and chosen.json()["options"] == {"departed": "default_person"}
    # "The default person" with none set blocks approval, naming the person.
    services.mapping_rows_accept_above(mapping_set=mapping_set, actor=member, confidence=0.5)
    issues = api.get(f"/api/v1/mappings/{mapping_set.pk}/validation/").json()
    assert issues["can_approve"] is False
    assert any(i["code"] == "person_unmatched" and "Cy Gone" in i["message"] and "default person" in i["message"]
               for i in issues["errors"])
    make_approvable(mapping_set, member)
    version = services.mapping_set_approve(mapping_set=mapping_set, actor=member)
    plan = selectors.mapping_version_plan(version)
    assert plan.departed == {"ado-cy": "default_person"} and plan.people["ado-cy"] is None
    # The exported mapping carries the choice, and importing it into the next project's set applies it.
    document = api.get(f"/api/v1/mappings/{mapping_set.pk}/export/").json()
    [entry] = [r for r in document["rows"] if r["kind"] == "person" and r["source"] == "ado-cy"]
    assert entry["options"] == {"departed": "default_person"}
    entry["options"] = {"departed": "attribution"}
    other = drafted_set(organisation=organisation, actor=member, name="FF to PROJ, next")
    services.mapping_set_import(mapping_set=other, actor=member, document=document)
    assert row(other, "person", "ado-cy").options == {"departed": "attribution"}


def test_an_azure_devops_destination_may_keep_an_inactive_account(organisation, member):
    mapping_set = drafted_set(organisation=organisation, actor=member, destination_kind="azure_devops")
    gone = row(mapping_set, "person", "ado-cy")
    gone = services.mapping_row_decide(row=gone, actor=member, decision="edit", options={"departed": "inactive_account"})
    assert gone.options == {"departed": "inactive_account"}


def _item(**people) -> records.WorkItem:
    return records.WorkItem(source_id="7", key="7", project_id="p-ado", type_id="User Story", title="A story", state="Active",
                            description="<p>Body</p>", **people)


def test_the_drafter_honours_each_choice():
    plan = agile_to_jira_plan()
    plan.people.update({"ado-cy": None, "ado-dee": None, "ado-eve": None, "ado-ana": "acc-ana"})
    plan.departed.update({"ado-cy": "attribution", "ado-dee": "default_person", "ado-eve": "inactive_account"})
    gone, left = records.Person("ado-cy", "Cy Gone", "cy@fabrikam.test"), records.Person("ado-dee", "Dee Left")
    eve = records.Person("ado-eve", "Eve Old", "eve@fabrikam.test")
    ana = records.Person("ado-ana", "Ana Lima")

    with_default = Drafter(dataclasses.replace(plan, default_person="acc-admin"))
    draft = with_default.draft(_item(assignee=gone, created_by=left))
    assert draft.write.assignee == "" and draft.write.reporter == "acc-admin"
    header = draft.write.description["content"][0]
    assert "Assigned to: Cy Gone · Created by: Dee Left" in json.dumps(header, ensure_ascii=False)
    assert {"person_no_account", "person_default"} <= {w.code for w in draft.warnings}

    draft = with_default.draft(_item(assignee=eve, created_by=ana))
    assert draft.write.assignee == "Eve Old <eve@fabrikam.test>" and draft.write.reporter == "acc-ana"
    assert "person_inactive" in {w.code for w in draft.warnings}
    # The preview says what the run needs and cannot check beforehand (issue 11).
    assert any("Bypass rules on work item updates" in w.message for w in draft.warnings if w.code == "person_inactive")
    assert "no account in the destination" not in json.dumps(draft.write.description)

    # No default person: "default_person" falls back to keeping the name, and nobody is assigned.
    draft = Drafter(plan).draft(_item(assignee=left))
    assert draft.write.assignee == "" and "Assigned to: Dee Left" in json.dumps(draft.write.description)
