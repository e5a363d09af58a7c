"""Azure DevOps builds as Jira versions: a live run from the Azure DevOps sandbox into the Jira Cloud and Data Center
sandboxes (which refuse an issue naming a version its project lacks, as Jira does) makes each version an item
names once, finds one the project already has by name (in any case), and sets it: Integration Build as the fix
version, Found In as the affected version. Checked against the sandboxes' own tables."""

import dataclasses

import pytest
from django.conf import settings

from apps.mappings.drafting.proposals import Transform
from apps.mappings.plan import FieldRule
from apps.runs import services
from apps.runs.models import Run, RunError
from apps.runs.testing import JIRA_PROJECT, TYPE_LEVELS, drive, migration_check, sandbox_pair

BUILD, FOUND_IN = "Microsoft.VSTS.Build.IntegrationBuild", "Microsoft.VSTS.Build.FoundIn"
BUILDS = ("Sprint 12 build", "2026.11.3", "release 3.0")


def test_builds_are_drafted_onto_jira_s_versions_as_text_that_converts():
    from apps.connections.connectors.base import Catalog
    from apps.connections.connectors.records import (
        FieldDefinition,
        FieldType,
        Project,
        State,
        StateCategory,
        WorkItemType,
    )
    from apps.mappings.drafting import knowledge
    from apps.mappings.drafting.drafter import mapping_draft

    states = (State("New", StateCategory.PROPOSED), State("Closed", StateCategory.DONE))
    build, found_in = FieldDefinition(BUILD, "Integration Build", FieldType.STRING), FieldDefinition(
        FOUND_IN, "Found In", FieldType.STRING)
    fix, affects = FieldDefinition("fixVersions", "Fix versions", FieldType.OPTIONS), FieldDefinition(
        "versions", "Affects versions", FieldType.OPTIONS)
    severity = FieldDefinition("customfield_10030", "Severity", FieldType.OPTION, allowed_values=("Major",))
    ado = Catalog(Project("1", "P", "P", process="Agile"), work_item_types=[WorkItemType("Bug", "Bug", states=states)],
                  fields=[FieldDefinition("System.Title", "Title", FieldType.STRING), build, found_in])
    jira = Catalog(Project("2", "MIG", "MIG"), work_item_types=[WorkItemType("1", "Bug", states=(
        State("To Do", StateCategory.PROPOSED), State("Done", StateCategory.DONE)))],
        fields=[FieldDefinition("summary", "Summary", FieldType.STRING), fix, affects, severity])
    proposals = {p.source: p for p in mapping_draft(source=ado, destination=jira, source_kind="azure_devops",
                                                    destination_kind="jira_cloud") if p.kind == "field"}
    assert (proposals[BUILD].target, proposals[BUILD].transform) == ("fixVersions", Transform.COPY)
    assert (proposals[FOUND_IN].target, proposals[FOUND_IN].transform) == ("versions", Transform.COPY)
    assert "made in Jira" in proposals[BUILD].reason
    # What validation asks: text converts into a version list and back; not into any other list.
    assert knowledge.transform_between(build, fix) == knowledge.transform_between(fix, build) == Transform.COPY
    assert knowledge.transform_between(build, severity) is None


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(not settings.SANDBOX_ENABLED, reason="the sandbox is off (MIGRAYT_SANDBOX_ENABLED)")
@pytest.mark.parametrize("data_center", [False, True])
def test_each_build_an_item_names_becomes_a_jira_version_once_and_is_set(data_center, live_server, organisation,
                                                                         member):
    from apps.runs.testing import destination_truth
    from apps.sandbox.ado.models import AdoWorkItem
    from apps.sandbox.jira.models import JiraIssue, JiraProject, JiraVersion
    from apps.sandbox.models import SandboxRequest

    pair = sandbox_pair(organisation=organisation, actor=member, base_url=live_server.url, items=30, seed=4,
                        slug="builds", data_center=data_center)
    rows = list(AdoWorkItem.objects.filter(site=pair.ado_site, is_deleted=False).order_by("item_id"))
    expected_fix, expected_found = {}, {}
    for number, row in enumerate(rows):
        if number % 3 == 2:
            continue  # no build: no version
        row.fields[BUILD] = BUILDS[(number // 3) % len(BUILDS)]
        expected_fix[str(row.item_id)] = row.fields[BUILD]
        if row.work_item_type == "Bug":
            row.fields[FOUND_IN] = "2026.11.3"
            expected_found[str(row.item_id)] = "2026.11.3"
        row.save(update_fields=["fields"])
    assert len(set(expected_fix.values())) == len(BUILDS)
    project = JiraProject.objects.get(site=pair.jira_site, key=JIRA_PROJECT)
    existing = JiraVersion.objects.create(project=project, name="Release 3.0")  # found by name, any case
    plan = dataclasses.replace(pair.plan, fields={
        **pair.plan.fields, BUILD: FieldRule(BUILD, "fixVersions", Transform.COPY),
        FOUND_IN: FieldRule(FOUND_IN, "versions", Transform.COPY)})

    run = services.run_create(organisation=organisation, actor=member, kind="live", plan=plan,
                              source_connection=pair.source, destination_connection=pair.destination,
                              type_levels=TYPE_LEVELS, start=False)
    drive(run)
    run.refresh_from_db()
    assert run.state == Run.State.FINISHED, (run.error_code, run.error_message)
    errors = list(RunError.unscoped.filter(run=run).values_list("phase", "code", "message")[:5])
    assert not errors, errors
    verdict = migration_check(ado_site=pair.ado_site, jira_site=pair.jira_site)
    assert (verdict["duplicates"], verdict["missing"]) == (0, 0), verdict

    versions = {v.name: v.pk for v in JiraVersion.objects.filter(project=project)}
    assert sorted(versions) == sorted(["Sprint 12 build", "2026.11.3", "Release 3.0"])  # each once
    assert versions["Release 3.0"] == existing.pk
    made = SandboxRequest.objects.filter(site=pair.jira_site, method="POST", path__endswith="/version", status=201)
    assert made.count() == 2

    by_name = {name.casefold(): pk for name, pk in versions.items()}
    source_of = destination_truth(pair.jira_site)["source_of"]
    checked = 0
    for issue in JiraIssue.objects.filter(site=pair.jira_site):
        source = source_of[issue.pk]
        fix = expected_fix.get(source)
        assert issue.fix_version_ids == ([by_name[fix.casefold()]] if fix else []), (source, fix)
        found = expected_found.get(source)
        assert issue.affects_version_ids == ([by_name[found.casefold()]] if found else []), (source, found)
        checked += bool(fix)
    assert checked == len([s for s in expected_fix if s in source_of.values()]) > 5
