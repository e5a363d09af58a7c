"""Jira fix versions into Azure DevOps: a tag per version (or the names joined in a field the reviewer chose),
at creation as they were then and changed in the replayed history as the Jira changelog changed them (Jira writes
one "Fix Version" item per version added or removed). The units need no server; the runs go from a seeded Jira
sandbox project (Cloud, and Data Center) into an empty Azure DevOps sandbox project, checked against the two
sandboxes' own tables and the run's verification report."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings

from apps.connections.connectors import records
from apps.mappings.drafting.proposals import Transform
from apps.mappings.plan import FieldRule, MappingPlan, TypeRule
from apps.runs import services
from apps.runs.engine.draft import Drafter
from apps.runs.engine.replay import NOTE_TITLE, create_fields, history
from apps.runs.models import Run
from apps.runs.testing import drive, jira_sandbox_pair

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
BUILD = "Microsoft.VSTS.Build.IntegrationBuild"
ADA = records.Person("acc-ada", "Ada")


def _plan(target: str | None) -> MappingPlan:
    fields = {"summary": FieldRule("summary", "System.Title", Transform.COPY),
              "labels": FieldRule("labels", "System.Tags", Transform.TAGS_TO_LABELS)}
    if target:
        fields["fixVersions"] = FieldRule("fixVersions", target, Transform.VALUES_TO_TAGS)
    return MappingPlan(version_id=0, source_kind="jira_cloud", destination_kind="azure_devops", source_project="ACME",
                       destination_project="Target", types={"10": TypeRule("10", "Bug")}, fields=fields,
                       people={"acc-ada": "ada@example.com"})


def _item(**fields) -> records.WorkItem:
    return records.WorkItem(source_id="100", key="ACME-1", project_id="1", type_id="10", title="Crash", state="",
                            created_at=T0, labels=("ux",), fields={"fixVersions": [
                                {"id": "11", "name": "v1.1"}, {"id": "20", "name": "v2.0 Beta"}], **fields})


def _changelog() -> list[records.Revision]:
    """Today v1.1 and v2.0 Beta: v1.0 moved to v1.1 (one item each way, as Jira writes it), a label added,
    then v2.0 Beta added."""
    def change(old, new):
        return records.FieldChange("fixVersions", old, new, "Fix Version")

    return [records.Revision("1", "100", 1, ADA, T0 + timedelta(hours=1), (change(None, "v1.1"), change("v1.0", None))),
            records.Revision("2", "100", 2, ADA, T0 + timedelta(hours=2), (records.FieldChange("labels", "", "ux"),)),
            records.Revision("3", "100", 3, ADA, T0 + timedelta(hours=3), (change(None, "v2.0 Beta"),))]


def _tags(value) -> set[str]:
    return set(value if isinstance(value, list) else [t.strip() for t in str(value or "").split(";") if t.strip()])


def test_the_item_starts_with_the_versions_it_had_and_each_change_of_them_moves_its_tags():
    drafter, item = Drafter(_plan("System.Tags"), rich_text="html"), _item()
    assert _tags(create_fields(drafter, item, status="", revisions=_changelog())["System.Tags"]) == {"v1.0"}
    writes = history(drafter, item, _changelog(), [], {"System.Tags": ["ux", "v1.1", "v2.0 Beta"]})
    assert [_tags(w.fields["System.Tags"]) for w in writes] == [
        {"v1.1"}, {"ux", "v1.1"}, {"ux", "v1.1", "v2.0 Beta"}]
    assert not any(w.note for w in writes)  # carried, so no note; and nothing left unexplained at the end
    # The draft of today's item (no history) holds every version as a tag beside the labels.
    assert set(drafter.draft(item).write.labels) == {"ux", "v1.1", "v2.0 Beta"}


def test_versions_in_a_chosen_field_are_the_names_joined_as_they_were_at_each_change():
    drafter, item = Drafter(_plan(BUILD), rich_text="html"), _item()
    first = create_fields(drafter, item, status="", revisions=_changelog())
    assert first[BUILD] == "v1.0" and "System.Tags" in first and _tags(first["System.Tags"]) == set()
    writes = history(drafter, item, _changelog(), [])
    assert [w.fields for w in writes] == [{BUILD: "v1.1"}, {"System.Tags": ["ux"]}, {BUILD: "v1.1; v2.0 Beta"}]
    assert drafter.draft(item).write.fields[BUILD] == "v1.1; v2.0 Beta"


def test_unmapped_fix_versions_stay_in_the_note_under_jira_s_name():
    drafter, item = Drafter(_plan(None), rich_text="html"), _item()
    writes = history(drafter, item, _changelog(), [])
    assert NOTE_TITLE in writes[0].note and "Fix Version: — → v1.1" in writes[0].note
    assert "Fix Version: v1.0 → —" in writes[0].note
    assert "v1.1" not in _tags(writes[1].fields["System.Tags"])


def test_affected_versions_are_drafted_into_found_in_as_a_list_of_names():
    from apps.connections.connectors.base import Catalog
    from apps.mappings.drafting.drafter import mapping_draft

    field, options = records.FieldType.STRING, records.FieldType.OPTIONS
    new, done = records.StateCategory.PROPOSED, records.StateCategory.DONE
    jira = Catalog(records.Project("1", "ACME", "ACME"), work_item_types=[records.WorkItemType("10", "Bug", states=(
        records.State("To Do", new), records.State("Done", done)))], fields=[
        records.FieldDefinition("summary", "Summary", field),
        records.FieldDefinition("fixVersions", "Fix versions", options, allowed_values=("v1.0",)),
        records.FieldDefinition("versions", "Affects versions", options, allowed_values=("v1.0",))])
    ado = Catalog(records.Project("2", "T", "T", process="Agile"), work_item_types=[records.WorkItemType(
        "Bug", "Bug", states=(records.State("New", new), records.State("Closed", done)))], fields=[
        records.FieldDefinition("System.Title", "Title", field),
        records.FieldDefinition("System.Tags", "Tags", field, is_multi_value=True),
        records.FieldDefinition(BUILD, "Integration Build", field),
        records.FieldDefinition("Microsoft.VSTS.Build.FoundIn", "Found In", field)])
    rows = {p.source: p for p in mapping_draft(source=jira, destination=ado, source_kind="jira_cloud",
                                               destination_kind="azure_devops") if p.kind == "field"}
    assert (rows["fixVersions"].target, rows["fixVersions"].transform) == ("System.Tags", Transform.VALUES_TO_TAGS)
    assert (rows["versions"].target, rows["versions"].transform) == (
        "Microsoft.VSTS.Build.FoundIn", Transform.VALUES_TO_TAGS)
    assert "Found In" in rows["versions"].reason and "made in Jira" not in rows["versions"].reason


def test_a_server_history_naming_only_fix_version_replays_as_the_versions_field():
    """Apache's Jira (DRILL-1) writes its changelog items without fieldId: "Fix Version" is still fixVersions."""
    import json
    from pathlib import Path

    from apps.connections.connectors.jira import parse

    path = Path(settings.BASE_DIR).parent / "shared" / "realdata" / "jira" / "issueshark" / "drill_1_issue.json"
    if not path.exists():
        pytest.skip(f"no real export at {path}")
    body = json.loads(path.read_text(encoding="utf-8"))
    item, _, _, _ = parse.issue(body, text_format=records.TextFormat.WIKI, project_key="DRILL")
    revisions = [parse.revision(h, item.source_id, n) for n, h in enumerate(body["changelog"]["histories"])]
    changes = [c for r in revisions for c in r.changes if c.field_name == "Fix Version"]
    assert [(c.field_id, c.old_value, c.new_value) for c in changes] == [("fixVersions", None, "0.4.0")]
    plan = replace(_plan("System.Tags"), types={item.type_id: TypeRule(item.type_id, "Bug")})
    drafter = Drafter(plan, rich_text="html")
    assert "0.4.0" not in _tags(create_fields(drafter, item, status="", revisions=revisions).get("System.Tags"))
    writes = history(drafter, item, revisions, [])
    added = next(w for w in writes if "0.4.0" in _tags(w.fields.get("System.Tags")))
    assert added.source_id == "changelog:14145486" and "Fix Version" not in added.note


# --- runs through both sandboxes -------------------------------------------------------------------------------
ITEMS = 24


def _run(pair, organisation, member, plan):
    run = services.run_create(organisation=organisation, actor=member, kind="live", plan=plan,
                              source_connection=pair.source, destination_connection=pair.destination, start=False)
    drive(run)
    run.refresh_from_db()
    assert run.state == Run.State.FINISHED, (run.error_code, run.error_message)
    return run


def _by_source(ado_site) -> dict:
    from apps.sandbox.ado.models import AdoWorkItem

    out = {}
    for item in AdoWorkItem.objects.filter(site=ado_site, is_deleted=False):
        link = next(r for r in item.relations if r.get("rel") == "Hyperlink")
        out[link["attributes"]["comment"].removeprefix("migrayt source ")] = item
    return out


def _ms(moment) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}"


def _version_entries(issue):
    return [e for e in issue.changelogs.all() if any(i["fieldId"] == "fixVersions" for i in e.items)]


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(not settings.SANDBOX_ENABLED, reason="the sandbox is off (MIGRAYT_SANDBOX_ENABLED)")
@pytest.mark.parametrize(("kind", "target"), [("jira_cloud", "System.Tags"), ("jira_cloud", BUILD),
                                              ("jira_dc", "System.Tags")])
def test_a_seeded_project_s_fix_versions_arrive_with_their_history(kind, target, live_server, organisation, member):
    from apps.sandbox.ado.models import AdoUpdate
    from apps.sandbox.jira.models import JiraIssue, JiraVersion

    pair = jira_sandbox_pair(organisation=organisation, actor=member, base_url=live_server.url, items=ITEMS, seed=3,
                             slug="versions", kind=kind)
    plan = replace(pair.plan, fields={**pair.plan.fields,
                                      "fixVersions": FieldRule("fixVersions", target, Transform.VALUES_TO_TAGS)})
    run = _run(pair, organisation, member, plan)
    from apps.runs.models import VerificationDifference

    # The verification report reads the tags (and fields) back: the versions are where the mapping says.
    found = list(VerificationDifference.unscoped.filter(run=run, announced=False).values_list(
        "source_id", "check_name", "kind", "explanation"))
    assert found == [], found
    names = {v.pk: v.name for v in JiraVersion.objects.filter(project__site=pair.jira_site)}
    items = _by_source(pair.ado_site)
    issues = list(JiraIssue.objects.filter(site=pair.jira_site).prefetch_related("changelogs"))
    fixed = [i for i in issues if i.fix_version_ids]
    moved = [i for i in fixed if _version_entries(i)]
    assert fixed and moved, "the seed gives some issues fix versions, some of them through the changelog"
    for issue in issues:
        fields = items[str(issue.pk)].fields
        versions = [names[pk] for pk in issue.fix_version_ids]
        tags = _tags(fields.get("System.Tags"))
        assert tags >= set(issue.labels)
        if target == "System.Tags":
            assert tags >= set(versions) and not (tags - set(issue.labels)) - set(versions) - {
                t for t in tags if t.startswith("migrayt-run-")}, (issue.key, tags, versions)
        else:
            assert set(str(fields.get(BUILD) or "").split("; ")) - {""} == set(versions), (issue.key, fields.get(BUILD))
            assert not tags & set(names.values())
    checked = 0
    for issue in moved:
        item = items[str(issue.pk)]
        updates = {_ms(u.revised_date): u for u in AdoUpdate.objects.filter(work_item=item)}
        created = updates[_ms(issue.created)].fields
        for entry in _version_entries(issue):
            update = updates[_ms(entry.created)].fields
            added = {i["toString"] for i in entry.items if i["fieldId"] == "fixVersions" and i["to"]}
            removed = {i["fromString"] for i in entry.items if i["fieldId"] == "fixVersions" and i["from"]}
            if target == "System.Tags":
                now = _tags(update["System.Tags"]["newValue"])
                assert added <= now and not removed & now, (issue.key, entry.items, now)
            else:
                now = set(str(update[BUILD]["newValue"] or "").split("; "))
                assert added <= now and not removed & now, (issue.key, entry.items, now)
            assert "Fix Version" not in str((update.get("System.History") or {}).get("newValue") or "")
            checked += 1
        # At creation, the item had none of the versions the first entry added.
        first = _version_entries(issue)[0]
        then = created.get("System.Tags" if target == "System.Tags" else BUILD) or {}
        assert not {i["toString"] for i in first.items if i["to"]} & _tags(
            str(then.get("newValue") or "").replace("; ", ";")), (issue.key, then)
    assert checked >= len(moved)
