"""Jira Data Center -> Azure DevOps through the REST API alone, as a user runs it, with a real worker process:
a seeded Jira Data Center sandbox project (wiki markup, a personal access token) as the source, an empty Azure
DevOps sandbox project as the destination; connected, scanned, drafted, reviewed, approved, run live. Checked
from the Azure DevOps sandbox's own tables: headings, tables, code blocks, images (in the description and in
comments) and mentions arrive as Azure DevOps HTML, and the verification report is clean."""

import html
import re
from datetime import timedelta

import pytest
from django.conf import settings

from apps.runs.testing import ADO_PAT, JIRA_TOKEN, ado_truth
from apps.runs.tests.test_api_flow_to_ado import (
    _sites,
    connect_and_scan,
    integrator,
    live_run_finished,
    mapping_approved,
    mapping_drafted,
)
from apps.runs.tests.test_jira_to_ado_content import _attached, add_comment_images, check_comment_images

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not settings.SANDBOX_ENABLED, reason="the sandbox is off (MIGRAYT_SANDBOX_ENABLED)"),
]


def _rich_description(jira):
    """One issue's description in the wiki markup people write: a heading, a table, a code block, an image
    attached to the issue and a mention of someone whose address Azure DevOps knows (so mapped)."""
    from apps.sandbox.jira.models import JiraAttachment, JiraIssue, JiraUser
    from apps.sandbox.jira.seeding import _png
    from apps.sandbox.jira.services import jira_site_admin

    issue = JiraIssue.objects.filter(site=jira).order_by("pk").first()
    person = JiraUser.objects.filter(site=jira, active=True, email_visible=True).exclude(
        pk=jira_site_admin(site=jira).pk).order_by("pk").first()
    data = _png(20, 10, (10, 200, 30))
    image = JiraAttachment.objects.create(issue=issue, author=issue.reporter, filename="flow-diagram.png",
                                          mime_type="image/png", size=len(data), content=data,
                                          created=issue.created + timedelta(minutes=1))
    issue.description = ("h3. Steps to reproduce\n\n||Step||Result||\n|Open the export|It fails|\n"
                         "|Retry|It fails again|\n\n{code:python}\ndef retry(n):\n    return min(2 ** n, 60)\n{code}\n\n"
                         f"!{image.filename}|thumbnail!\n\n[~{person.name}] please have a look.")
    issue.save(update_fields=["description"])
    return issue, person, data


def test_jira_data_center_to_azure_devops_through_the_api(live_server, organisation, member):
    from apps.sandbox.ado.models import AdoAttachment, AdoComment
    from apps.sandbox.jira.models import JiraComment, JiraIssue, JiraUser

    jira, project_key, ado = _sites(kind="jira_dc", slug="toado-dc", seed=11)
    described, person, image_bytes = _rich_description(jira)
    shown = add_comment_images(jira)
    default_person = ado.ado_identities.order_by("pk").first().unique_name
    api, worker = integrator(organisation, member, log="runs-flow-to-ado-dc-worker.log")
    try:
        scans = connect_and_scan(api, project=project_key, source={
            "kind": "jira_data_center", "name": "Jira DC", "token": JIRA_TOKEN,  # a personal access token
            "base_url": f"{live_server.url}/sandbox/jira/{jira.slug}"}, destination={
            "kind": "azure_devops", "name": "ADO", "token": ADO_PAT,
            "base_url": f"{live_server.url}/sandbox/ado/{ado.slug}"})
        mapping = mapping_drafted(api, name="DC to ADO", scans=scans)
        people = {r["source"]: r["target"] for r in api.get(f"/api/v1/mappings/{mapping['id']}/rows/").json()
                  if r["kind"] == "person"}
        assert people.get(person.key) == person.email.lower(), people  # Data Center people by their key
        version_id = mapping_approved(api, mapping_id=mapping["id"], default_person=default_person)

        live = live_run_finished(api, version_id=version_id)
        report = api.get(f"/api/v1/runs/{live['id']}/report/?announced=false").json()
        assert report["ready"] and report["summary"]["missing"] == 0, report["summary"]
        assert report["count"] == 0, [(d["check"] if "check" in d else d) for d in report["differences"][:5]]
        # The item page shows what the run wrote: the mention under the display name, of the mapped person.
        one = api.get(f"/api/v1/runs/{live['id']}/items/{described.pk}/")
        assert one.status_code == 200, one.content
        shown_html = html.unescape(one.json()["destination"]["description_html"])
        assert f'version:2.0,{person.email.lower()}">@{person.display_name}</a>' in shown_html, shown_html
    finally:
        worker.stop()

    truth = ado_truth(ado)
    by_source = {truth["source_of"][row.item_id]: row for row in truth["rows"]}
    assert sorted(by_source) == sorted(str(i.pk) for i in JiraIssue.objects.filter(site=jira))  # every issue once
    item = by_source[str(described.pk)]
    description = html.unescape(item.fields["System.Description"])
    assert "<h3>Steps to reproduce</h3>" in description and "h3." not in description, description
    assert re.search(r"<table>.*<th>Step</th>.*<td>Open the export</td>.*</table>", description, re.S), description
    assert "<pre" in description and "return min(2 ** n, 60)" in description and "{code" not in description, description
    (guid,) = _attached(item, "flow-diagram.png")
    assert f'/_apis/wit/attachments/{guid}"' in description.lower() and "[image:" not in description, description
    assert bytes(AdoAttachment.objects.get(site=ado, guid=guid).content) == image_bytes
    mention = f'data-vss-mention="version:2.0,{person.email.lower()}">@{person.display_name}</a>'
    assert mention in description, description  # the display name, as Jira shows it; the mapped Azure DevOps person

    from apps.runs.models import Run

    assert check_comment_images(ado, Run.unscoped.get(pk=live["id"]), shown) >= 3
    # Mentions in comments: the person's display name, never the user name; mapped ones as Azure DevOps mentions.
    users = {u.name: u for u in JiraUser.objects.filter(site=jira)}
    checked = 0
    for comment in JiraComment.objects.filter(issue__site=jira):
        for name in re.findall(r"\[~([^\]]+)\]", str(comment.body)):
            texts = [html.unescape(c.text) for c in AdoComment.objects.filter(
                work_item=by_source[str(comment.issue_id)])]
            target = people.get(users[name].key)  # "[~name]" names the user name; people are mapped by key
            expected = (f'data-vss-mention="version:2.0,{target}">@{users[name].display_name}</a>' if target
                        else f"@{users[name].display_name}")
            assert any(expected in t for t in texts), (expected, texts)
            assert not any(f"@{name}<" in t or f"@{name} " in t for t in texts if name != users[name].display_name)
            checked += 1
    assert checked > 0
