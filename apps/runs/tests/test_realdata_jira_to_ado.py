"""Real Jira exports (../shared/realdata/jira/, read at test time, never copied in) loaded into a Jira sandbox
site, then migrated to an empty Azure DevOps sandbox project the way a user does it: scan both, draft the
mapping with the product's drafter, review it, approve, preview, run live. Checked from the two sandboxes' own
tables and the run's verification report."""

import csv
import io
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path
from unittest import mock

import pytest
from django.conf import settings

from apps.runs import services
from apps.runs.models import Run, VerificationDifference
from apps.runs.testing import ADO_PAT, ADO_TARGET, JIRA_EMAIL, JIRA_TOKEN, ado_truth, drive

REALDATA = Path(settings.BASE_DIR).parent / "shared" / "realdata" / "jira"

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not settings.SANDBOX_ENABLED, reason="the sandbox is off (MIGRAYT_SANDBOX_ENABLED)"),
]


def _realdata(name: str) -> Path:
    path = REALDATA / name
    if not path.exists():
        pytest.skip(f"The real Jira exports are not at {path} (../shared/realdata is not on this machine)")
    return path


@dataclass
class Migration:
    jira_site: object
    ado_site: object
    project: str
    summary: dict
    mapping_set: object
    version: object
    preview: Run | None = None
    live: Run | None = None


def _sites(*, folders: list[str], kind: str = "jira_cloud", slug: str = "real"):
    from apps.sandbox import services as sandbox
    from apps.sandbox.ado.projects import project_create
    from apps.sandbox.jira.adapter import FULL_SCOPES
    from apps.sandbox.jira.services import jira_principal, jira_site_admin

    jira = sandbox.site_create(kind=kind, slug=f"{slug}-jira")
    summaries = [sandbox.site_import(site=jira, path=_realdata(folder)) for folder in folders]
    sandbox.token_create(site=jira, name="real", scopes=list(FULL_SCOPES),
                         principal=jira_principal(user=jira_site_admin(site=jira)), secret=JIRA_TOKEN)
    ado = sandbox.site_create(kind="ado", slug=f"{slug}-ado")
    project_create(site=ado, name=ADO_TARGET, process="Agile")
    sandbox.token_create(site=ado, name="real", scopes=["vso.work_full", "vso.project"], secret=ADO_PAT)
    return jira, ado, summaries


def _scan(*, organisation, actor, connection, project, role):
    from apps.catalog import services as catalog
    from apps.catalog.models import Scan

    with mock.patch.object(catalog, "_enqueue", lambda *args, **kwargs: None):
        scan = catalog.scan_create(organisation=organisation, actor=actor, connection=connection, project=project,
                                   role=role)
        for _ in range(500):
            if catalog.scan_step(scan_id=scan.pk) is None:
                break
    scan = Scan.unscoped.get(pk=scan.pk)
    assert scan.status == "done", (scan.status, getattr(scan, "error_message", ""))
    return scan


def _identities(*, jira, ado) -> dict[str, str]:
    """The company's Azure DevOps accounts: one for each active Jira person whose address the export shows (an
    identity's unique name is an address: Apache's masked "x at apache dot org" is none). Returns source id ->
    unique name."""
    import re

    from apps.sandbox.ado.models import AdoIdentity
    from apps.sandbox.jira.models import JiraUser

    out = {}
    for user in JiraUser.objects.filter(site=jira, active=True):
        if re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", user.email or ""):
            AdoIdentity.objects.get_or_create(site=ado, unique_name=user.email.lower(),
                                              defaults={"display_name": user.display_name, "is_active": True})
            out[user.account_id] = user.email.lower()
    return out


def migrate(*, organisation, actor, base_url, jira, ado, project: str) -> Migration:
    """Connect, scan, draft, review and approve as a person does through the services; then a preview and a
    live run, each driven to its end in this process."""
    from apps.connections.services import connection_create
    from apps.mappings import selectors as mapping_selectors
    from apps.mappings import services as mappings
    from apps.sandbox.jira.models import JiraUser

    accounts = _identities(jira=jira, ado=ado)
    source = connection_create(organisation=organisation, actor=actor,
                               kind="jira_data_center" if jira.kind == "jira_dc" else "jira_cloud", name="Real Jira",
                               base_url=f"{base_url}/sandbox/jira/{jira.slug}", token=JIRA_TOKEN,
                               email=JIRA_EMAIL if jira.kind == "jira_cloud" else "")
    destination = connection_create(organisation=organisation, actor=actor, kind="azure_devops", name="ADO",
                                    base_url=f"{base_url}/sandbox/ado/{ado.slug}", token=ADO_PAT)
    source_scan = _scan(organisation=organisation, actor=actor, connection=source, project=project, role="source")
    destination_scan = _scan(organisation=organisation, actor=actor, connection=destination, project=ADO_TARGET,
                             role="destination")
    mapping_set = mappings.mapping_set_create(organisation=organisation, actor=actor, name=f"{project} to ADO",
                                              source_scan_id=source_scan.pk, destination_scan_id=destination_scan.pk,
                                              draft=False)
    mappings.mapping_set_draft_run(mapping_set_id=mapping_set.pk)
    mapping_set.refresh_from_db()
    # The review: the people the company has accounts for are drafted to them; everyone else goes to a default
    # account with their name kept; those who left are shown as themselves: an inactive account where Jira shows
    # their address, else their name as text.
    default_person = sorted(accounts.values())[0]
    mappings.mapping_set_update(mapping_set=mapping_set, actor=actor, default_person=default_person)
    departed = {u.account_id if jira.kind == "jira_cloud" else u.name: "inactive_account" if u.email else "attribution"
                for u in JiraUser.objects.filter(site=jira, active=False)}
    for row in mapping_set.rows.filter(kind="person", source__in=departed):
        mappings.mapping_row_decide(row=row, actor=actor, decision="edit", options={"departed": departed[row.source]})
    mappings.mapping_rows_accept_above(mapping_set=mapping_set, actor=actor, confidence=0.5)
    for row in mapping_set.rows.filter(decision="pending"):
        mappings.mapping_row_decide(row=row, actor=actor, decision="accept" if row.target else "reject")
    for issue in mapping_selectors.mapping_set_issues(mapping_set):
        if issue.level == "error" and issue.code == "cannot_convert":
            row = mapping_set.rows.get(kind=issue.kind, source=issue.source, scope=issue.scope or "")
            mappings.mapping_row_decide(row=row, actor=actor, decision="reject")
    version = mappings.mapping_set_approve(mapping_set=mapping_set, actor=actor)
    migration = Migration(jira, ado, project, {}, mapping_set, version)
    for kind in ("preview", "live"):
        with mock.patch.object(services, "run_enqueue", lambda **kwargs: None):
            run = services.run_create_from_version(organisation=organisation, actor=actor, kind=kind,
                                                   mapping_version_id=version.pk)
        drive(run)
        run.refresh_from_db()
        assert run.state == Run.State.FINISHED, (kind, run.error_code, run.error_message)
        setattr(migration, kind, run)
    return migration


# --- the checks, from the two sandboxes' own tables -----------------------------------------------------------


def _ms(moment) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}"


def _who(identity) -> str:
    """An identity as the ADO sandbox stored it: a reference (an account) or the text written with bypassRules."""
    return str(identity.get("uniqueName") or identity.get("displayName") or "") if isinstance(identity, dict) else str(
        identity or "")


def expected_person(plan, user) -> str:
    """Who Azure DevOps must show for a Jira person, by the approved mapping: their account; else what the
    reviewer chose for people with no account (README, People who have left)."""
    if user is None:
        return ""
    source_id = user.account_id if plan.source_kind == "jira_cloud" else user.name
    if plan.people.get(source_id):
        return plan.people[source_id]
    choice = plan.departed.get(source_id) or ("default_person" if plan.default_person else "attribution")
    if choice == "inactive_account":
        return f"{user.display_name} <{user.email}>" if user.email else user.display_name
    if choice == "default_person":
        return plan.default_person
    return user.display_name or source_id


def _by_source(ado_site) -> dict:
    truth = ado_truth(ado_site)
    rows = {row.item_id: row for row in truth["rows"]}
    return {sid: rows[item_id] for item_id, sid in truth["source_of"].items()}


def history_check(migration: Migration) -> dict:
    """Every migrated issue's Azure DevOps revisions against its Jira changelog and comments, entry by entry:
    the same author (through the mapping) and date (to the millisecond), each changed field either set in the
    mapped Azure DevOps field or kept, old and new, in the revision's note; each comment under its author at its
    date. Returns counts, and the mismatches as readable lines."""
    import html

    from apps.mappings.selectors import mapping_version_plan
    from apps.sandbox.ado.models import AdoComment, AdoUpdate
    from apps.sandbox.jira.catalog import SPRINT_FIELD
    from apps.sandbox.jira.models import JiraChangelog, JiraComment, JiraIssue, JiraSprint

    plan = mapping_version_plan(migration.version)
    by_source = _by_source(migration.ado_site)
    sprints = {s.name for s in JiraSprint.objects.filter(board__project__site=migration.jira_site)}
    counts = {"items": 0, "entries": 0, "fields": 0, "notes": 0, "comments": 0}
    wrong: list[str] = []
    issues = JiraIssue.objects.filter(site=migration.jira_site, project__key=migration.project).select_related(
        "issue_type")
    for issue in issues:
        if not (plan.types.get(str(issue.issue_type_id)) and plan.types[str(issue.issue_type_id)].target_type):
            continue
        item = by_source[str(issue.pk)]
        counts["items"] += 1
        updates = {_ms(u.revised_date): u for u in AdoUpdate.objects.filter(work_item=item, rev__gt=1)}
        first = AdoUpdate.objects.get(work_item=item, rev=1)
        if _ms(first.revised_date) != _ms(issue.created):
            wrong.append(f"{issue.key}: created {_ms(first.revised_date)}, not {_ms(issue.created)}")
        last = issue.created
        for entry in JiraChangelog.objects.filter(issue=issue).select_related("author").order_by("created"):
            last = max(last, entry.created)
            update = updates.pop(_ms(entry.created), None)
            if update is None:
                wrong.append(f"{issue.key}: no revision at {_ms(entry.created)} for {entry.items}")
                continue
            counts["entries"] += 1
            if _who(update.revised_by) != expected_person(plan, entry.author):
                wrong.append(f"{issue.key} {_ms(entry.created)}: by {_who(update.revised_by)!r}, not "
                             f"{expected_person(plan, entry.author)!r}")
            fields = update.fields
            note = html.unescape(str((fields.get("System.History") or {}).get("newValue") or ""))
            for change in entry.items:
                field_id = change.get("fieldId") or change.get("field")
                old, new = change.get("fromString", change.get("from")), change.get("toString", change.get("to"))
                said = f"{old if old not in (None, '') else '—'} → {new if new not in (None, '') else '—'}"
                # the note names the field as Jira's history does ("Fix Version"), or by its id
                line = next((f"{name}: {said}" for name in (change.get("field"), field_id)
                             if name and f"{name}: {said}" in note), f"{field_id}: {said}")
                if field_id == "status" and (str(issue.issue_type_id), new) in plan.states:
                    before, after = plan.states.get((str(issue.issue_type_id), old)), plan.states[
                        (str(issue.issue_type_id), new)]
                    if before != after and (fields.get("System.State") or {}).get("newValue") != after:
                        wrong.append(f"{issue.key} {_ms(entry.created)}: State {fields.get('System.State')}, "
                                     f"not {before} -> {after}")
                    counts["fields"] += 1
                elif field_id == SPRINT_FIELD and new and new.split(",")[-1].strip() in sprints:
                    path = (fields.get("System.IterationPath") or {}).get("newValue")
                    if path != f"{ADO_TARGET}\\{new.split(',')[-1].strip()}":
                        wrong.append(f"{issue.key} {_ms(entry.created)}: iteration {path!r} for sprint {new!r}")
                    counts["fields"] += 1
                elif field_id == "assignee":
                    from apps.sandbox.jira.models import JiraUser

                    user = JiraUser.objects.filter(site=migration.jira_site, account_id=change.get("to")).first() \
                        if change.get("to") else None
                    got = _who((fields.get("System.AssignedTo") or {}).get("newValue"))
                    if user is not None and expected_person(plan, user) != got and line not in note:
                        wrong.append(f"{issue.key} {_ms(entry.created)}: assigned to {got!r}, not "
                                     f"{expected_person(plan, user)!r}")
                    counts["fields"] += 1
                elif line in note:
                    counts["notes"] += 1
                elif not any(ref != "System.History" for ref in fields):
                    wrong.append(f"{issue.key} {_ms(entry.created)}: {line!r} neither in a field nor the note {note!r}")
                else:
                    counts["fields"] += 1
        for comment in JiraComment.objects.filter(issue=issue).select_related("author"):
            last = max(last, comment.created)
            found = [c for c in AdoComment.objects.filter(work_item=item) if _ms(c.created_date) == _ms(comment.created)]
            if len(found) != 1 or _who(found[0].created_by) != expected_person(plan, comment.author):
                wrong.append(f"{issue.key}: comment of {_ms(comment.created)} by {comment.author} is "
                             f"{[(_who(c.created_by), _ms(c.created_date)) for c in found]}")
            if updates.pop(_ms(comment.created), None) is None:
                wrong.append(f"{issue.key}: no revision for the comment of {_ms(comment.created)}")
            counts["comments"] += 1
        # Nothing else in the history between the creation and the last entry: what is left is later (the values
        # the changelog does not explain, links and files written by the run).
        early = sorted(when for when in updates if when <= _ms(last))
        if early:
            wrong.append(f"{issue.key}: revisions no changelog entry or comment explains: {early}")
    counts["wrong"] = wrong
    return counts


def test_the_devlake_cloud_project_ee_into_azure_devops(live_server, organisation, member):
    """merico.atlassian.net's project EE, as devlake exported it: Chinese type and status names, a Test
    Execution, stories with sub-tasks, 10-31 changelog entries an issue, sprints, wiki comments, worklogs,
    people who left and people whose address Jira hides."""
    from apps.mappings.selectors import mapping_version_plan
    from apps.runs.selectors import run_warnings
    from apps.sandbox.jira.models import JiraIssue

    jira, ado, (summary, _) = _sites(folders=["devlake-raw", "issueshark"])
    # What the export held that the site cannot: said in the summary, not dropped in silence.
    assert summary["changelogs_without_issue"] == 279 and summary["unreadable_files"] == []
    assert summary["status_mapping"]["已完成"] == "Done"
    migration = migrate(organisation=organisation, actor=member, base_url=live_server.url, jira=jira, ado=ado,
                        project="EE")
    plan = mapping_version_plan(migration.version)
    ee = JiraIssue.objects.filter(site=jira, project__key="EE").select_related("issue_type")
    # The drafter found an Azure DevOps type for every Jira type, the Chinese ones too.
    names = {str(i.issue_type_id): i.issue_type.name for i in ee}
    assert {names[t]: plan.types[t].target_type for t in names} == {
        "故事": "User Story", "任务": "User Story", "缺陷": "Bug", "子任务": "Task", "Test Execution": "Test Case"}, plan.types

    warnings = {w["code"]: w for w in run_warnings(migration.preview)}
    assert "type_unmapped" not in warnings and "state_unmapped" not in warnings, warnings
    assert warnings["person_default"]["count"] > 0  # Jira hides most addresses: the reviewer's default account

    verdict = migrated_once_and_verified(migration)
    assert verdict["items"] == ee.count() == 30 and verdict["destination_items"] == 30, verdict
    # Sub-tasks under their stories.
    by_source = _by_source(ado)
    subtasks = [i for i in ee if i.issue_type.name == "子任务"]
    assert len(subtasks) >= 10
    for issue in subtasks:
        assert str(by_source[str(issue.pk)].fields["System.Parent"]) == str(by_source[str(issue.parent_id)].item_id)
    checked = history_check(migration)
    assert checked["wrong"] == [], "\n".join(checked["wrong"][:30])
    assert checked["items"] == 30 and checked["entries"] >= 300 and checked["comments"] > 0, checked
    assert checked["notes"] > 0 and checked["fields"] > 0, checked
    from apps.sandbox.ado.models import AdoAttachment, AdoUpdate
    from apps.sandbox.jira.models import JiraWorklog

    # The export's worklogs (14 on EE issues, 8 of them on EE-1): each one a row of the item's CSV file.
    logged = JiraIssue.objects.filter(site=jira, project__key="EE", worklogs__isnull=False).distinct()
    assert JiraWorklog.objects.filter(issue__in=logged).count() == 14
    for issue in logged:
        files = [r for r in by_source[str(issue.pk)].relations
                 if r.get("rel") == "AttachedFile" and r["attributes"].get("name") == f"{issue.key}-worklogs.csv"]
        assert len(files) == 1, (issue.key, by_source[str(issue.pk)].relations)
        guid = files[0].get("attachment_guid") or files[0]["url"].split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
        rows = list(csv.DictReader(io.StringIO(bytes(AdoAttachment.objects.get(site=ado, guid=guid).content).decode())))
        assert sorted(int(r["time spent (seconds)"]) for r in rows) == sorted(
            issue.worklogs.values_list("time_spent_seconds", flat=True)), issue.key
    # devlake's remote links on EE issues (GitLab commits): each one Hyperlink on its item, titled as in Jira.
    from apps.sandbox.jira.models import JiraRemoteLink

    remote = JiraRemoteLink.objects.filter(issue__in=ee)
    assert remote.count() > 0 and summary["remote_links_without_issue"] > 0
    for link in remote:
        found = [r for r in by_source[str(link.issue_id)].relations
                 if r.get("rel") == "Hyperlink" and r["url"] == link.object["url"]]
        assert [r["attributes"]["comment"] for r in found] == [link.object["title"]], link.issue.key
    # yuxiang left merico (inactive, no address): by the review's choice, his name as the author of the 16
    # revisions he wrote; Rankin Zheng (active, address hidden) is the default account.
    authors = [_who(u.revised_by) for u in AdoUpdate.objects.filter(work_item__site=ado)]
    assert authors.count("yuxiang") >= 16 and authors.count(plan.default_person) >= 400, sorted(set(authors))


def test_jira_server_bugs_with_links_to_projects_not_migrated(live_server, organisation, member):
    """devlake's 22 Jira Server bugs (DZFNK0168): Blocks, Cloners, Duplicate and Relates links recorded on both
    ends, some to issues of projects the export does not hold (IP8CUD168-*, M2VRIQ168-*)."""
    from apps.runs.selectors import run_warnings
    from apps.sandbox.jira.models import JiraIssue

    jira, ado, (summary,) = _sites(folders=["devlake-raw"])
    assert summary["issues_from_links"]
    migration = migrate(organisation=organisation, actor=member, base_url=live_server.url, jira=jira, ado=ado,
                        project="DZFNK0168")
    warnings = {w["code"]: w for w in run_warnings(migration.preview)}
    outside = warnings["link_outside"]  # said in the preview, with the bugs that have them
    bugs = {str(i.pk): i.key for i in JiraIssue.objects.filter(site=jira, project__key="DZFNK0168")}
    assert outside["count"] > 0 and set(outside["examples"]) <= set(bugs), outside
    verdict = migrated_once_and_verified(migration)
    assert verdict["items"] == len(bugs) == 22 and verdict["links"] > 0, verdict
    assert history_check(migration)["wrong"] == []


@pytest.mark.parametrize(("folder", "project", "items"), [("devlake-raw", "K5", 3), ("issueshark", "DRILL", 3)])
def test_other_real_projects(live_server, organisation, member, folder, project, items):
    """K5: an Epic and Stories linked through `parent` and the Epic Link (devlake's external epics); DRILL:
    Apache's Jira, people by user name with masked addresses ("x at apache dot org")."""
    jira, ado, _ = _sites(folders=[folder])
    migration = migrate(organisation=organisation, actor=member, base_url=live_server.url, jira=jira, ado=ado,
                        project=project)
    verdict = migrated_once_and_verified(migration)
    assert verdict["items"] == items, verdict
    checked = history_check(migration)
    assert checked["wrong"] == [], "\n".join(checked["wrong"][:30])
    assert checked["entries"] > 0, checked


def migrated_once_and_verified(migration: Migration) -> dict:
    """Every issue of the project once in Azure DevOps, under its parent, in its mapped state, its links once;
    the run's own verification report finds no unexplained difference."""
    from apps.mappings.selectors import mapping_version_plan
    from apps.runs.testing import jira_to_ado_check

    plan = mapping_version_plan(migration.version)
    verdict = jira_to_ado_check(jira_site=migration.jira_site, ado_site=migration.ado_site, plan=plan,
                                project_key=migration.project)
    assert (verdict["duplicates"], verdict["missing"], verdict["wrong_parent"], verdict["wrong_state"],
            verdict["wrong_links"]) == (0, 0, 0, 0, 0), verdict
    found = sorted(VerificationDifference.unscoped.filter(run=migration.live, announced=False).values_list(
        "source_id", "check_name", "kind", "explanation"))
    assert found == [], found[:10]
    assert migration.live.stats["verification"]["items_checked"] == verdict["items"], migration.live.stats
    return verdict


def test_the_devlake_project_from_a_data_center_site(live_server, organisation, member):
    """The same export in a Data Center site: comments in wiki markup (Jira's own `[text|url]`, `{quote}`),
    people by user name and key instead of account ids, REST v2 and a personal access token."""
    from apps.sandbox.jira.models import JiraComment

    jira, ado, (summary,) = _sites(folders=["devlake-raw"], kind="jira_dc", slug="real-dc")
    assert all(isinstance(c.body, str) for c in JiraComment.objects.filter(issue__site=jira))  # wiki stays wiki
    assert summary["parents_not_held"] == ["EE-37"]  # a Test Execution under a story: Data Center has no such parent
    migration = migrate(organisation=organisation, actor=member, base_url=live_server.url, jira=jira, ado=ado,
                        project="EE")
    verdict = migrated_once_and_verified(migration)
    assert verdict["items"] == 30, verdict
    checked = history_check(migration)
    assert checked["wrong"] == [], "\n".join(checked["wrong"][:30])
    assert checked["entries"] >= 300 and checked["comments"] > 0, checked
