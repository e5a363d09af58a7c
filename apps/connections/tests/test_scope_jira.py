"""Scope for a Jira source: components, types, statuses and a created-date range turned into one JQL
condition (checked so it cannot widen itself), counted by the Jira sandbox (Cloud and Data Center) before
anything is saved, a bad clause answered in Jira's words, and a sample of the first N issues by id."""

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from apps.accounts.services import api_token_create
from apps.connections.scope import jql_condition_check, scope_count, scope_from_data, scope_jql_condition
from apps.core.exceptions import ApplicationError


def test_filters_become_one_jql_condition_with_quotes_escaped():
    scope = scope_from_data({"components": 'Web, Say "hi"', "types": ["Bug", "Story"], "states": "To Do",
                             "created_from": "2026-01-01", "created_to": "2026-01-31",
                             "query": 'labels = "a(b"'}, source_kind="jira_cloud")
    assert scope_jql_condition(scope) == (
        'component in ("Web", "Say \\"hi\\"") AND issuetype in ("Bug", "Story") AND status in ("To Do") '
        'AND created >= "2026-01-01" AND created < "2026-02-01" AND (labels = "a(b")')
    with pytest.raises(ApplicationError) as raised:
        scope_from_data({"area_path": "Web"}, source_kind="jira_data_center")
    assert raised.value.extra["field"] == "area_path"
    with pytest.raises(ApplicationError) as raised:
        scope_from_data({"components": "Web"})  # Azure DevOps: areas, not components
    assert raised.value.extra["field"] == "components"


@pytest.mark.parametrize("query, words", [
    ("status = Done) OR (project = OTHER", "closes a parenthesis it never opened"),
    ("(status = Done", "never closes"),
    ('summary ~ "unclosed', "never closed"),
    ("status = Done ORDER BY created", "no ORDER BY"),
])
def test_a_jql_condition_cannot_widen_the_query(query, words):
    with pytest.raises(ApplicationError, match=words):
        jql_condition_check(query)
    assert jql_condition_check('summary ~ "order by (x"') == 'summary ~ "order by (x"'


@pytest.mark.skipif(not settings.SANDBOX_ENABLED, reason="the sandbox is off")
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("kind", ["jira_cloud", "jira_dc"])
def test_the_jira_count_comes_from_jira_before_saving(live_server, organisation, member, kind):
    from apps.connections.services import connection_create
    from apps.connections.tests.test_checks_sandbox import jira_site, jira_token
    from apps.sandbox.jira.models import JiraComponent, JiraIssue, JiraProject

    site = jira_site(kind, f"scope-{kind.replace('_', '-')}", seeded=False)
    from apps.sandbox import services as sandbox

    sandbox.site_seed(site=site, items=40, seed=3)
    secret, email = jira_token(site)
    connection = connection_create(
        organisation=organisation, actor=member, kind="jira_cloud" if kind == "jira_cloud" else "jira_data_center",
        name="Jira", base_url=f"{live_server.url}/sandbox/jira/{site.slug}", token=secret,
        email=email if kind == "jira_cloud" else "")
    project = JiraProject.objects.filter(site=site, issues__isnull=False).distinct().first()
    issues = list(JiraIssue.objects.filter(site=site, project=project).select_related("issue_type"))
    component = next(c for c in JiraComponent.objects.filter(project=project)
                     if any(c.pk in (i.component_ids or []) for i in issues))
    types = sorted({i.issue_type.name for i in issues})[:2]
    expected = [i for i in issues if component.pk in (i.component_ids or []) and i.issue_type.name in types]
    counted = scope_count(connection=connection, project=project.key,
                          scope=scope_from_data({"components": [component.name], "types": types},
                                                source_kind=connection.kind))
    assert counted.count == len(expected) > 0
    assert counted.condition.startswith("component in (")

    sample = scope_count(connection=connection, project=project.key,
                         scope=scope_from_data({"sample": 5}, source_kind=connection.kind))
    first_five = sorted(i.pk for i in issues)[:5]
    assert sample.count == 5 and sample.total_in_scope == len(issues)
    assert sample.scope.sample_max_id == first_five[-1] and f"id <= {first_five[-1]}" in sample.condition

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {api_token_create(organisation=organisation, user=member, name='t')[1]}")
    url = f"/api/v1/connections/{connection.pk}/scope-count/"
    wrong = api.post(url, {"project": project.key, "scope": {"query": "nosuchfield = 1"}}, format="json")
    assert wrong.status_code == 400 and wrong.json()["message"].startswith("Jira refused the query")
    assert "nosuchfield" in wrong.json()["message"]
    ok = api.post(url, {"project": project.key, "scope": {"states": ["To Do"]}}, format="json")
    assert ok.status_code == 200, ok.json()
    from apps.sandbox.jira import catalog

    to_do = {sid for sid, (name, _, _) in catalog.STATUSES.items() if name.lower() == "to do"}
    assert ok.json()["count"] == sum(1 for i in issues if i.status_id in to_do)
