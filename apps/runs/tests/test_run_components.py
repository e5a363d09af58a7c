"""Areas as components: a live run from the Azure DevOps sandbox into the Jira Cloud sandbox creates each
mapped component once (a component of the same name already in the project is found and used, not made
again) and sets it on every item of that area. Checked against the sandboxes' own tables."""

import dataclasses

import pytest
from django.conf import settings

from apps.runs import services
from apps.runs.models import IdMapEntry, Run
from apps.runs.testing import JIRA_PROJECT, TYPE_LEVELS, drive, migration_check, sandbox_pair

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not settings.SANDBOX_ENABLED, reason="the sandbox is off (MIGRAYT_SANDBOX_ENABLED)"),
]


def test_areas_become_components_created_once_and_set_on_items(live_server, organisation, member):
    from apps.sandbox.ado.models import AdoNode, AdoWorkItem
    from apps.sandbox.jira.models import JiraComponent, JiraIssue, JiraProject
    from apps.sandbox.jira.services import component_create
    from apps.sandbox.models import SandboxRequest

    pair = sandbox_pair(organisation=organisation, actor=member, base_url=live_server.url, items=40, seed=9)
    nodes = {str(n.node_id): n.name for n in AdoNode.objects.filter(project__site=pair.ado_site, structure="area",
                                                                      parent__isnull=False)}
    assert len(set(nodes.values())) == len(nodes) >= 3
    plan = dataclasses.replace(pair.plan, areas={node_id: f"create:{name}" for node_id, name in nodes.items()})
    project = JiraProject.objects.get(site=pair.jira_site, key=JIRA_PROJECT)
    existing = component_create(project=project, name="Web")  # already there: found by name, not made again

    run = services.run_create(organisation=organisation, actor=member, kind="live", plan=plan,
                              source_connection=pair.source, destination_connection=pair.destination,
                              type_levels=TYPE_LEVELS, start=False)
    drive(run)
    run.refresh_from_db()
    assert run.state == Run.State.FINISHED, (run.error_code, run.error_message)
    verdict = migration_check(ado_site=pair.ado_site, jira_site=pair.jira_site)
    assert (verdict["duplicates"], verdict["missing"], verdict["wrong_parent"], verdict["wrong_links"]) == (0, 0, 0, 0)

    components = {c.name: c.pk for c in JiraComponent.objects.filter(project=project)}
    assert sorted(components) == sorted(nodes.values())  # each once
    assert components["Web"] == existing.pk
    made = SandboxRequest.objects.filter(site=pair.jira_site, method="POST", path__endswith="/component", status=201)
    assert made.count() == len(nodes) - 1
    mapped = dict(IdMapEntry.unscoped.filter(run=run, phase="components").values_list("source_id", "destination_id"))
    assert mapped == {node_id: str(components[name]) for node_id, name in nodes.items()}

    # Every item carries its area's component.
    from apps.runs.testing import destination_truth

    source_of = destination_truth(pair.jira_site)["source_of"]
    area_of = {str(w.item_id): str(w.fields.get("System.AreaId") or "")
               for w in AdoWorkItem.objects.filter(site=pair.ado_site, is_deleted=False)}
    checked = 0
    for issue in JiraIssue.objects.filter(site=pair.jira_site):
        area = area_of[source_of[issue.pk]]
        expected = [components[nodes[area]]] if area in nodes else []
        assert issue.component_ids == expected, (issue.key, area)
        checked += bool(expected)
    assert checked > 0
