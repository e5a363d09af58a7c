"""People who have left, end to end on the sandboxes: every source person has no account in Jira; half go
to the default person and half keep their name as attribution text. The issues Jira holds show exactly that,
and the preview announces both."""

import dataclasses
import json

import pytest
from django.conf import settings

from apps.runs import services as runs
from apps.runs.models import Run
from apps.runs.selectors import run_warnings
from apps.runs.testing import TYPE_LEVELS, destination_truth, drive, sandbox_pair

pytestmark = [pytest.mark.skipif(not settings.SANDBOX_ENABLED, reason="the sandbox is off"),
              pytest.mark.django_db(transaction=True)]


def test_each_departed_person_goes_where_the_mapping_says(live_server, organisation, member):
    from apps.sandbox.ado.models import AdoIdentity, AdoWorkItem
    from apps.sandbox.jira.models import JiraIssue
    from apps.sandbox.jira.services import jira_site_admin

    pair = sandbox_pair(organisation=organisation, actor=member, base_url=live_server.url, items=12, seed=3,
                        slug="departed")
    admin = jira_site_admin(site=pair.jira_site)
    identities = list(AdoIdentity.objects.filter(site=pair.ado_site).order_by("pk"))
    choice = {str(i.guid): ("default_person" if n % 2 else "attribution") for n, i in enumerate(identities)}
    plan = dataclasses.replace(pair.plan, default_person=admin.account_id, people=dict.fromkeys(choice),
                               departed=choice)
    preview = runs.run_create(organisation=organisation, actor=member, kind="preview", plan=plan,
                              source_connection=pair.source, destination_connection=pair.destination,
                              type_levels=TYPE_LEVELS, start=False)
    drive(preview)
    codes = {w["code"] for w in run_warnings(Run.unscoped.get(pk=preview.pk))}
    assert {"person_default", "person_no_account"} <= codes

    run = runs.run_create(organisation=organisation, actor=member, kind="live", plan=plan,
                          source_connection=pair.source, destination_connection=pair.destination,
                          type_levels=TYPE_LEVELS, start=False)
    drive(run)
    run.refresh_from_db()
    assert run.state == Run.State.FINISHED, (run.error_code, run.error_message)
    source_of = destination_truth(pair.jira_site)["source_of"]
    names = {str(i.guid): i.display_name for i in identities}
    checked = {"default_person": 0, "attribution": 0}
    for issue in JiraIssue.objects.filter(site=pair.jira_site).select_related("assignee"):
        item = AdoWorkItem.objects.get(site=pair.ado_site, item_id=int(source_of[issue.pk]))
        assigned = (item.fields.get("System.AssignedTo") or {}).get("id")
        if not assigned:
            continue
        description = json.dumps(issue.description, ensure_ascii=False)
        if choice[assigned] == "default_person":
            assert issue.assignee_id == admin.pk
        else:
            assert issue.assignee_id is None
        assert f"Assigned to: {names[assigned]}" in description  # the name is kept as text either way
        checked[choice[assigned]] += 1
    assert checked["default_person"] and checked["attribution"], checked
