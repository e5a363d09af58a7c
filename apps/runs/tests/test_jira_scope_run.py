"""A scoped run from Jira into Azure DevOps (issue 11): one component and two issue types. The JQL condition
goes into the Jira reader's search, so the Azure DevOps sandbox ends up holding exactly the issues in scope
(read from its own tables), and the run's read checkpoint keeps the condition for a resumed step."""

from collections import Counter

import pytest
from django.conf import settings

from apps.runs import services
from apps.runs.models import IdMapEntry, Run
from apps.runs.testing import ado_truth, drive, jira_sandbox_pair

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not settings.SANDBOX_ENABLED, reason="the sandbox is off (MIGRAYT_SANDBOX_ENABLED)"),
]


def test_a_scoped_jira_run_writes_exactly_the_issues_of_one_component_and_two_types(live_server, organisation,
                                                                                     member):
    from apps.sandbox.jira.models import JiraComponent, JiraIssue

    pair = jira_sandbox_pair(organisation=organisation, actor=member, base_url=live_server.url, items=24, seed=7,
                             slug="scoped")
    issues = list(JiraIssue.objects.filter(site=pair.jira_site).select_related("issue_type"))
    mapped = [i for i in issues if (pair.plan.types.get(str(i.issue_type_id)) or None) is not None
              and pair.plan.types[str(i.issue_type_id)].target_type and not i.issue_type.subtask]
    component = max(JiraComponent.objects.filter(project__site=pair.jira_site),
                    key=lambda c: sum(c.pk in (i.component_ids or []) for i in mapped))
    in_component = [i for i in mapped if component.pk in (i.component_ids or [])]
    types = [name for name, _ in Counter(i.issue_type.name for i in in_component).most_common(2)]
    expected = {str(i.pk) for i in in_component if i.issue_type.name in types}
    assert len(types) == 2 and 0 < len(expected) < len(issues), (types, len(expected), len(issues))

    run = services.run_create(organisation=organisation, actor=member, kind="live", plan=pair.plan,
                              source_connection=pair.source, destination_connection=pair.destination, start=False,
                              scope={"components": [component.name], "types": types})
    assert run.plan["scope"]["count"] == len(expected)
    assert run.plan["scope"]["condition"].startswith("component in (")
    drive(run)
    run.refresh_from_db()
    assert run.state == Run.State.FINISHED, (run.error_code, run.error_message)

    truth = ado_truth(pair.ado_site)
    written = list(truth["source_of"].values())
    assert sorted(written) == sorted(expected)  # each in-scope issue once, nothing outside the scope
    assert set(IdMapEntry.unscoped.filter(run=run, phase="items").values_list("source_id", flat=True)) == expected
    # The read checkpoint keeps the condition: a resumed plan step reads the same issues.
    assert run.cursor["plan"]["read"]["condition"] == run.plan["scope"]["condition"]


def test_a_jira_scope_that_matches_nothing_or_is_wrong_is_refused_in_words(live_server, organisation, member):
    from apps.core.exceptions import ApplicationError

    pair = jira_sandbox_pair(organisation=organisation, actor=member, base_url=live_server.url, items=6, seed=2,
                             slug="scoped-bad")
    for scope, words in (({"created_from": "2099-01-01"}, "No item of the source is in this scope"),
                         ({"components": ["No such component"]}, "does not exist for the field 'component'"),
                         ({"query": "nosuchfield = 1"}, "Jira refused the query"),
                         ({"area_path": "Web"}, "Jira has no area paths")):
        with pytest.raises(ApplicationError, match=words):
            services.run_create(organisation=organisation, actor=member, kind="preview", plan=pair.plan,
                                source_connection=pair.source, destination_connection=pair.destination,
                                start=False, scope=scope)
    assert not Run.objects.for_organisation(organisation).exists()


def _version(organisation, name: str, source_kind: str):
    from apps.mappings.models import MappingSet, MappingVersion

    mapping_set = MappingSet.objects.create(
        organisation=organisation, name=name, source_kind=source_kind, source_project="P",
        destination_kind="jira_cloud" if source_kind == "azure_devops" else "azure_devops",
        destination_project="D", source_schema={}, destination_schema={})
    return MappingVersion.objects.create(organisation=organisation, mapping_set=mapping_set, number=1, content={},
                                         content_sha256="0" * 64)


@pytest.mark.django_db
def test_the_run_page_offers_the_jira_scope_fields_when_the_source_is_jira(organisation, member, client):
    ado = _version(organisation, "From ADO", "azure_devops")
    jira = _version(organisation, "From Jira", "jira_cloud")
    client.force_login(member)

    page = client.get("/runs/new/", {"mapping_version": jira.pk}).content.decode()
    assert 'name="components"' in page and "JQL condition" in page
    assert 'name="area_path"' not in page and "WIQL condition" not in page
    assert 'hx-select="#scope-fields"' in page  # mappings from both kinds: choosing one swaps the fields

    page = client.get("/runs/new/", {"mapping_version": ado.pk}).content.decode()
    assert 'name="area_path"' in page and "WIQL condition" in page and 'name="components"' not in page

    # The swap (htmx sends the chosen mapping with the dates and sample size on the form) keeps those values.
    page = client.get("/runs/new/", {"mapping_version": jira.pk, "sample": "25", "created_from": "2024-01-02",
                                     "area_path": "Web"}, HTTP_HX_REQUEST="true").content.decode()
    assert 'name="sample" value="25"' in page and 'value="2024-01-02"' in page
    assert 'name="area_path"' not in page and 'hx-include="#mapping_version, #id_created_from' in page

    # The components typed on the page are part of the scope the run is created with (here the mapping has
    # no scans, so the run is refused in words, not with a 500).
    response = client.post("/runs/new/", {"mapping_version": jira.pk, "kind": "preview", "components": "Web, API"})
    assert response.status_code == 400 and "no longer exists" in response.context["error"]
    assert response.context["form"].scope() == {"components": "Web, API"}
