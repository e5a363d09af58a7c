"""The scope of a migration: filters and a WIQL condition turned into one query, checked so it cannot
widen itself, counted against the Azure DevOps sandbox before saving (with the vendor's words when it is
wrong), a sample of the first N items, and a scoped live run (one area subtree, two types, comments off)
that takes exactly the items in scope, as its verification report shows."""

from collections import Counter

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from apps.accounts.services import api_token_create
from apps.connections.scope import Scope, scope_from_data, scope_wiql_condition, wiql_condition_check
from apps.core.exceptions import ApplicationError


def test_filters_become_one_wiql_condition_with_quotes_escaped():
    scope = scope_from_data({"area_path": "Fabrikam Fiber\\O'Brien", "types": ["Bug", "User Story"],
                             "states": "Active, New", "created_from": "2026-01-01", "created_to": "2026-01-31",
                             "query": "[System.Tags] CONTAINS 'x'"})
    assert scope_wiql_condition(scope) == (
        "[System.AreaPath] UNDER 'Fabrikam Fiber\\O''Brien' AND [System.WorkItemType] IN ('Bug', 'User Story') "
        "AND [System.State] IN ('Active', 'New') AND [System.CreatedDate] >= '2026-01-01' "
        "AND [System.CreatedDate] < '2026-02-01' AND ([System.Tags] CONTAINS 'x')")
    assert Scope().is_everything and scope_wiql_condition(Scope()) == ""


@pytest.mark.parametrize("query, words", [
    ("[System.Id] > 0) OR ([System.Id] > 0", "closes a parenthesis it never opened"),
    ("([System.State] = 'New'", "never closes"),
    ("[System.Title] = 'unclosed", "never closed"),
    ("1=1; DROP", "cannot hold ';'"),
    ("[System.Id] > 0 ORDER BY [System.Id]", "not SELECT, FROM or ORDER BY"),
])
def test_a_wiql_condition_cannot_widen_the_query(query, words):
    with pytest.raises(ApplicationError, match=words):
        wiql_condition_check(query)
    # Parentheses and keywords inside quotes are text, not structure.
    assert wiql_condition_check("[System.Title] CONTAINS 'select (from'") == "[System.Title] CONTAINS 'select (from'"


@pytest.mark.parametrize("data, field", [({"sample": 0}, "sample"), ({"sample": "ten"}, "sample"),
                                         ({"created_from": "31/01/2026"}, "created_from"),
                                         ({"created_from": "2026-02-01", "created_to": "2026-01-01"}, "created_to")])
def test_bad_scope_input_names_the_field(data, field):
    with pytest.raises(ApplicationError) as raised:
        scope_from_data(data)
    assert raised.value.extra["field"] == field


pytestmark_sandbox = pytest.mark.skipif(not settings.SANDBOX_ENABLED, reason="the sandbox is off")


@pytest.fixture
def pair(live_server, organisation, member):
    from apps.runs.testing import sandbox_pair

    return sandbox_pair(organisation=organisation, actor=member, base_url=live_server.url, items=40, seed=7,
                        slug="scope")


def _truth(pair, *, area_prefix: str, types: set[str]) -> set[str]:
    from apps.sandbox.ado.models import AdoWorkItem

    return {str(item.item_id) for item in AdoWorkItem.objects.filter(site=pair.ado_site, is_deleted=False)
            if item.work_item_type in types and (item.fields.get("System.AreaPath") == area_prefix
                                                 or str(item.fields.get("System.AreaPath", "")).startswith(area_prefix + "\\"))}


def _subtree_and_types(pair):
    """Two types Jira creates without a parent (a sub-task needs one, which a subtree may leave out), and the
    second-level area holding most of them."""
    from apps.sandbox.ado.models import AdoWorkItem

    types = ["User Story", "Bug"]
    items = AdoWorkItem.objects.filter(site=pair.ado_site, is_deleted=False, work_item_type__in=types)
    areas = Counter("\\".join(str(i.fields.get("System.AreaPath", "")).split("\\")[:2]) for i in items)
    area = next(a for a, _ in areas.most_common() if "\\" in a)
    return area, types


@pytestmark_sandbox
@pytest.mark.django_db(transaction=True)
def test_the_count_comes_from_the_source_before_saving(pair, organisation, member):
    area, types = _subtree_and_types(pair)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {api_token_create(organisation=organisation, user=member, name='t')[1]}")
    url = f"/api/v1/connections/{pair.source.pk}/scope-count/"
    answer = api.post(url, {"project": pair.plan.source_project, "scope": {"area_path": area, "types": types}},
                      format="json")
    assert answer.status_code == 200, answer.json()
    assert answer.json()["count"] == len(_truth(pair, area_prefix=area, types=set(types))) > 0
    sample = api.post(url, {"project": pair.plan.source_project, "scope": {"sample": 5}}, format="json").json()
    assert sample["count"] == 5 and sample["total_in_scope"] == 40 and "[System.Id] <=" in sample["condition"]
    wrong = api.post(url, {"project": pair.plan.source_project, "scope": {"query": "[No.Such.Field] = 'x'"}}, format="json")
    assert wrong.status_code == 400 and wrong.json()["message"].startswith("Azure DevOps refused the query")
    widening = api.post(url, {"project": pair.plan.source_project, "scope": {"query": "1=1) OR (1=1"}}, format="json")
    assert widening.status_code == 400 and widening.json()["extra"]["field"] == "query"
    missing = api.post(url, {"project": "Nope", "scope": {"types": ["Bug"]}}, format="json")
    assert missing.status_code == 400


@pytestmark_sandbox
@pytest.mark.django_db(transaction=True)
def test_a_scoped_live_run_takes_exactly_the_items_in_scope(pair, organisation, member):
    from apps.runs import services as runs
    from apps.runs.models import Run, RunItem
    from apps.runs.testing import TYPE_LEVELS, destination_truth, drive

    area, types = _subtree_and_types(pair)
    expected = _truth(pair, area_prefix=area, types=set(types))
    run = runs.run_create(organisation=organisation, actor=member, kind="live", plan=pair.plan,
                          source_connection=pair.source, destination_connection=pair.destination,
                          type_levels=TYPE_LEVELS, start=False, scope={"area_path": area, "types": types},
                          options={"comments": False})
    assert run.plan["scope"]["count"] == len(expected) and run.plan["comments"] is False
    drive(run)
    run.refresh_from_db()
    assert run.state == Run.State.FINISHED, (run.error_code, run.error_message)
    assert set(RunItem.unscoped.filter(run=run).values_list("source_id", flat=True)) == expected
    assert set(RunItem.unscoped.filter(run=run, state="created").values_list("source_id", flat=True)) == expected
    truth = destination_truth(pair.jira_site)
    assert len(truth["issues"]) == len(expected)
    assert set(truth["source_of"].values()) == expected  # the destination holds exactly the items in scope
    # The verification report read the destination back: exactly the items in scope, each once, none missing;
    # comments were off, and nothing differs from what the mapping gives.
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {api_token_create(organisation=organisation, user=member, name='r')[1]}")
    report = api.get(f"/api/v1/runs/{run.pk}/report/").json()
    summary = report["summary"]
    assert report["ready"] is True and summary["items_checked"] == len(expected), summary
    assert summary["missing"] == 0 and summary["duplicates"] == 0, summary
    assert summary["matched"] == len(expected) - summary["differing"]
    assert {d["source_id"] for d in report["differences"]} <= expected
    assert summary["unexplained"] == 0, (summary, report["differences"][:5])
    # (A preview: the engine refuses a second live run of the same project, whatever its scope.)
    with pytest.raises(ApplicationError, match="No item of the source is in this scope"):
        runs.run_create(organisation=organisation, actor=member, kind="preview", plan=pair.plan,
                        source_connection=pair.source, destination_connection=pair.destination, start=False,
                        scope={"types": ["No Such Type"]})
    with pytest.raises(ApplicationError, match="Unknown option"):
        runs.run_create(organisation=organisation, actor=member, kind="preview", plan=pair.plan,
                        source_connection=pair.source, destination_connection=pair.destination, start=False,
                        options={"watchers": False})
