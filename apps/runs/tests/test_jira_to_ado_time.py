"""Time tracking and inline images from a seeded Jira sandbox project (Cloud, and Data Center with wiki markup
and a personal access token) into the Azure DevOps sandbox: estimates and the logged work's sum in the
scheduling fields, each worklog in a CSV file on the item (written once, keyed on its source id), images shown
in descriptions re-hosted as Azure DevOps attachments; checked issue by issue against the sandboxes' tables."""

import csv
import html
import io
from collections import Counter
from datetime import UTC

import pytest
from django.conf import settings

from apps.runs import services
from apps.runs.models import IdMapEntry, Run
from apps.runs.testing import ado_truth, drive, jira_sandbox_pair
from apps.runs.worklogs import plain_text
from apps.sandbox.ado.processes import type_def, type_field_refs

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not settings.SANDBOX_ENABLED, reason="the sandbox is off (MIGRAYT_SANDBOX_ENABLED)"),
]


ORIGINAL, REMAINING, COMPLETED = ("Microsoft.VSTS.Scheduling.OriginalEstimate", "Microsoft.VSTS.Scheduling.RemainingWork",
                                  "Microsoft.VSTS.Scheduling.CompletedWork")


def _hours(seconds):
    return None if seconds is None else round(seconds / 3600, 2)


def _migrate(live_server, organisation, member, kind):
    pair = jira_sandbox_pair(organisation=organisation, actor=member, base_url=live_server.url, items=12, seed=5,
                             slug=f"time-{kind}", kind=kind)
    run = services.run_create(organisation=organisation, actor=member, kind="live", plan=pair.plan, start=False,
                              source_connection=pair.source, destination_connection=pair.destination)
    drive(run)
    run.refresh_from_db()
    assert run.state == Run.State.FINISHED, run.error_message
    truth = ado_truth(pair.ado_site)
    return pair, run, {truth["source_of"][row.item_id]: row for row in truth["rows"]}


def _guids(item, name):
    return [str(r.get("attachment_guid") or r["url"].split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]).lower()
            for r in item.relations if r.get("rel") == "AttachedFile" and r["attributes"].get("name") == name]


def _check_images(pair, by_source) -> int:
    """Every image a Jira description shows is shown from its Azure DevOps attachment (same bytes)."""
    from apps.sandbox.ado.models import AdoAttachment
    from apps.sandbox.jira.models import JiraAttachment

    shown = 0
    for image in JiraAttachment.objects.filter(issue__site=pair.jira_site, mime_type__startswith="image/"):
        if image.filename not in str(image.issue.description):
            continue
        item = by_source[str(image.issue_id)]
        description = item.fields["System.Description"]
        (guid,) = _guids(item, image.filename)
        assert f'/_apis/wit/attachments/{guid}"' in description.lower(), description
        assert "[attachment:" not in description and "[image:" not in description, description
        assert bytes(AdoAttachment.objects.get(site=pair.ado_site, guid=guid).content) == bytes(image.content)
        shown += 1
    return shown


def _check_mentions(pair, by_source) -> int:
    """A person mentioned in a Jira comment is an Azure DevOps mention of the person they are mapped to."""
    from apps.sandbox.ado.models import AdoComment
    from apps.sandbox.jira.models import JiraComment, JiraUser

    checked, cloud = 0, pair.jira_site.kind == "jira_cloud"
    for comment in JiraComment.objects.filter(issue__site=pair.jira_site):
        body = str(comment.body)
        mentioned = [u for u in JiraUser.objects.filter(site=pair.jira_site)
                     if (f"'id': '{u.account_id}'" if cloud else f"[~{u.name}]") in body]
        if not mentioned:
            continue
        texts = [c.text for c in AdoComment.objects.filter(work_item=by_source[str(comment.issue_id)])]
        for user in mentioned:
            mention = f'data-vss-mention="version:2.0,{pair.plan.people[user.account_id if cloud else user.name]}"'
            # wiki markup names only the user: shown, as Jira shows it, under the person's display name
            assert any(f"{mention}>@{user.display_name}</a>" in html.unescape(t) for t in texts), (mention, texts)
            checked += 1
    return checked


def test_estimates_completed_work_each_worklog_and_inline_images_reach_the_work_item(live_server, organisation,
                                                                                        member):
    from apps.sandbox.ado.models import AdoAttachment
    from apps.sandbox.jira.models import JiraIssue, JiraWorklog

    pair, run, by_source = _migrate(live_server, organisation, member, "jira_cloud")
    assert _check_images(pair, by_source) > 0
    assert _check_mentions(pair, by_source) > 0

    logged = estimated = 0
    left_out: Counter = Counter()  # (ADO type, field) -> issues whose value that type has no field for
    for issue in JiraIssue.objects.filter(site=pair.jira_site).prefetch_related("worklogs__author"):
        item = by_source[str(issue.pk)]
        fields = item.fields
        worklogs = list(issue.worklogs.order_by("started", "id"))
        spent = sum(w.time_spent_seconds for w in worklogs) or None
        # Only onto types that have the field (Agile's User Story has none of the three; Task and Bug have all).
        has = set(type_field_refs(type_def("Agile", item.work_item_type)))
        for ref, value in ((ORIGINAL, _hours(issue.original_estimate_seconds)),
                           (REMAINING, _hours(issue.remaining_estimate_seconds)), (COMPLETED, _hours(spent))):
            assert fields.get(ref) == (value if ref in has else None), (item.work_item_type, ref)
            if ref not in has and value is not None:
                left_out[(item.work_item_type, ref)] += 1
        estimated += issue.original_estimate_seconds is not None and ORIGINAL in has
        files = [r for r in by_source[str(issue.pk)].relations
                 if r.get("rel") == "AttachedFile" and r["attributes"].get("name", "").endswith("-worklogs.csv")]
        if not worklogs:
            assert files == []
            continue
        logged += 1
        assert len(files) == 1, files  # once
        guid = files[0].get("attachment_guid") or files[0]["url"].split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
        content = bytes(AdoAttachment.objects.get(site=pair.ado_site, guid=guid).content).decode()
        rows = list(csv.DictReader(io.StringIO(content)))
        assert [(r["worklog id"], r["author"], r["started (UTC)"], int(r["time spent (seconds)"]), r["comment"])
                for r in rows] == [
            (str(w.pk), w.author.display_name, w.started.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"),
             w.time_spent_seconds, plain_text(w.comment)) for w in worklogs]
        assert all("<" not in r["comment"] and "{" not in r["comment"] for r in rows)
        assert IdMapEntry.unscoped.filter(run=run, phase="attachments",
                                          source_id=f"attachment:{issue.pk}:worklogs-{issue.pk}").count() == 1
    assert logged and estimated, "the seed should log work on some of these issues"
    # The run says what it left out, once per type and field, counting the items.
    assert left_out, "some stories should carry an estimate their Azure DevOps type has no field for"
    said = run.warnings["field_not_on_type"]["messages"]
    for (type_name, ref), count in left_out.items():
        (message,) = [m for m in said if m.startswith(f"{type_name} has no field {ref} ")]
        assert said[message] == count, (message, said)
        if ref == COMPLETED:
            assert "worklog CSV" in message
    # The one-item preview drafts against the destination's types too: the value shows as left out, and why.
    type_name, ref = next(iter(left_out))
    source_id = next(s for s, row in by_source.items() if row.work_item_type == type_name
                     and (ref != COMPLETED or JiraIssue.objects.get(pk=s).worklogs.exists())
                     and (ref != ORIGINAL or JiraIssue.objects.get(pk=s).original_estimate_seconds)
                     and (ref != REMAINING or JiraIssue.objects.get(pk=s).remaining_estimate_seconds))
    one = services.run_item_preview(run=run, source_id=source_id)
    assert ref not in one["destination"]["fields"]
    assert any(w["code"] == "field_not_on_type" and f"has no field {ref} " in w["message"] for w in one["warnings"])
    assert JiraWorklog.objects.filter(issue__site=pair.jira_site, comment__isnull=False).exists()


def test_a_data_center_project_in_wiki_markup_with_a_personal_access_token(live_server, organisation, member):
    from apps.sandbox.jira.models import JiraIssue

    pair, run, by_source = _migrate(live_server, organisation, member, "jira_dc")
    assert pair.source.kind == "jira_data_center"  # a personal access token, sent as a Bearer token
    issues = list(JiraIssue.objects.filter(site=pair.jira_site))
    assert sorted(by_source) == sorted(str(i.pk) for i in issues)  # every issue once
    assert _check_images(pair, by_source) > 0
    assert _check_mentions(pair, by_source) > 0
    converted = 0
    for issue in issues:
        description = by_source[str(issue.pk)].fields.get("System.Description") or ""
        wiki = str(issue.description or "")
        if "{code" in wiki:
            assert "<pre" in description and "{code" not in description, description
            converted += 1
        if "h3. " in wiki:
            assert "<h3>" in description and "h3. " not in description, description
        worklogs = list(issue.worklogs.all())
        item = by_source[str(issue.pk)]
        expected = _hours(sum(w.time_spent_seconds for w in worklogs) or None)
        has = COMPLETED in type_field_refs(type_def("Agile", item.work_item_type))
        assert item.fields.get(COMPLETED) == (expected if has else None), item.work_item_type
    assert converted > 0
