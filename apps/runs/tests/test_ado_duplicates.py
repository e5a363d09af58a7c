"""The verification's duplicate scan on an Azure DevOps destination (readback.AdoReadBack.created_by_run over
AdoWriter.tagged_items): every work item carrying the run's tag, found by WIQL paged by id, with the source id
of its Hyperlink back. Unit: a fake HTTP edge that answers WIQL as Azure DevOps does (the tag, the id clause,
`$top`). End to end: a live Jira -> Azure DevOps run, a second work item written through the sandbox's `$batch`
with the same tag and source relation, and the report lists exactly that one as a duplicate."""

import re
from types import SimpleNamespace

import pytest
from django.conf import settings

from apps.connections.connectors import records
from apps.connections.connectors.azure_devops import writer as ado_writer
from apps.connections.connectors.azure_devops.writer import AdoWriter, run_tag_of
from apps.runs.adapters_to_ado import AdoDestination
from apps.runs.tests import test_jira_to_ado
from apps.runs.tests.test_jira_to_ado import ITEMS, _run

RUN_UID = "3f2a9c1e-7b7b-4000-8000-000000000001"
OTHER_RUN = "9d0e0000-1111-4000-8000-000000000002"


class FakeAdo:
    """Work items {id: (tags, hyperlink comment)}; answers WIQL by tag, `[System.Id] > n` and `$top`, and
    workitemsbatch with relations, refusing more than 200 ids as Azure DevOps does."""

    def __init__(self, items: dict[int, tuple[str, str]]):
        self.items = items
        self.queries: list[str] = []

    def request(self, method, path, *, json=None, params=None, **_):
        if path.endswith("/_apis/wit/wiql"):
            query = json["query"]
            self.queries.append(query)
            tag = re.search(r"\[System\.Tags\] CONTAINS '([^']*)'", query).group(1)
            after = int(re.search(r"\[System\.Id\] > (\d+)", query).group(1))
            ids = sorted(i for i, (tags, _) in self.items.items()
                         if tag in [t.strip() for t in tags.split(";")] and i > after)
            return SimpleNamespace(json=lambda: {"workItems": [{"id": i} for i in ids[:int(params["$top"])]]})
        assert path.endswith("/_apis/wit/workitemsbatch") and len(json["ids"]) <= 200
        bodies = []
        for i in json["ids"]:
            tags, comment = self.items[i]
            relations = [{"rel": "Hyperlink", "url": f"https://jira.example/browse/A-{i}",
                          "attributes": {"comment": comment}}] if comment else []
            bodies.append({"id": i, "fields": {"System.Tags": tags}, "relations": relations})
        return SimpleNamespace(json=lambda: {"value": bodies})


def _destination(fake: FakeAdo) -> AdoDestination:
    connector = SimpleNamespace(http=fake, config=SimpleNamespace(base_url="https://dev.azure.com/org/"))
    return AdoDestination(AdoWriter(connector, run_id=RUN_UID), project="Target's")


def test_the_run_tag_is_the_first_12_hex_digits_of_the_run_uid():
    assert run_tag_of(RUN_UID) == "migrayt-run-3f2a9c1e7b7b"
    assert run_tag_of("") == ""


def test_created_by_run_lists_every_item_with_the_run_tag_across_wiql_pages(monkeypatch):
    monkeypatch.setattr(ado_writer, "WIQL_TOP", 4)  # Azure DevOps: 20,000; small here to need several pages
    mine, other = run_tag_of(RUN_UID), run_tag_of(OTHER_RUN)
    items = {i: (f"ux; {mine}", f"migrayt source {1000 + i}") for i in range(1, 11)}
    items[11] = (f"{mine}; ux", "migrayt source 1001")  # written twice: the same source id as item 1
    items[12] = (f"{other}", "migrayt source 1002")  # another run's
    items[13] = ("ux", "migrayt source 1003")  # not tagged
    items[14] = (mine, "")  # the run's tag but no source relation (someone copied the tag by hand)
    items[15] = (f"{mine}x", "migrayt source 1004")  # a longer tag is not the run's
    fake = FakeAdo(items)
    found = list(_destination(fake).created_by_run(since=None, run_uid=RUN_UID))
    assert found == [*((str(i), str(i), str(1000 + i)) for i in range(1, 11)), ("11", "11", "1001"), ("14", "14", "")]
    # Three pages of ids after the last one seen, then one short page; the project name quoted the WIQL way.
    assert [re.search(r"> (\d+)", q).group(1) for q in fake.queries] == ["0", "4", "8", "14"]
    assert all("[System.TeamProject] = 'Target''s'" in q for q in fake.queries)


def test_reconciliation_adopts_the_lowest_id_of_an_item_written_twice(monkeypatch):
    monkeypatch.setattr(ado_writer, "WIQL_TOP", 2)
    tag = run_tag_of(RUN_UID)
    fake = FakeAdo({3: (tag, "migrayt source 7"), 5: (tag, "migrayt source 8"), 9: (tag, "migrayt source 7")})
    found = _destination(fake).find_created(since=None, source_ids=["7", "8", "99"], run_uid=RUN_UID)
    assert found == {"7": ("3", "3"), "8": ("5", "5")}


# --- end to end: a live run into the Azure DevOps sandbox ----------------------------------------------------

sandbox = pytest.mark.skipif(not settings.SANDBOX_ENABLED, reason="the sandbox is off (MIGRAYT_SANDBOX_ENABLED)")


pair = test_jira_to_ado.pair  # the same seeded Jira project (12 issues) and empty Azure DevOps project


def _destination_of(run) -> AdoDestination:
    from apps.connections.services import connection_connector

    return AdoDestination(AdoWriter(connection_connector(run.destination_connection), run_id=str(run.uid)),
                          project=run.destination_project)


@sandbox
@pytest.mark.django_db(transaction=True)
def test_a_clean_run_reports_no_duplicate_though_the_scan_sees_every_item(pair, organisation, member):
    from apps.runs.models import IdMapEntry, Run, VerificationDifference
    from apps.runs.testing import drive

    run = _run(pair, organisation, member)
    drive(run)
    run.refresh_from_db()
    assert run.state == Run.State.FINISHED, (run.error_code, run.error_message)
    recorded = {(d, s) for s, d in IdMapEntry.unscoped.filter(run=run, phase="items").values_list(
        "source_id", "destination_id")}
    scanned = {(d, s) for d, _, s in _destination_of(run).created_by_run(since=run.started_at, run_uid=str(run.uid))}
    assert len(recorded) == ITEMS and scanned == recorded  # the scan found the run's items: "none" means none
    assert run.stats["verification"]["duplicates"] == 0
    assert not VerificationDifference.unscoped.filter(run=run, check_name="duplicate").exists()


@sandbox
@pytest.mark.django_db(transaction=True)
def test_a_work_item_written_twice_is_reported_as_a_duplicate(pair, organisation, member):
    from apps.runs.models import IdMapEntry, Run, VerificationDifference
    from apps.runs.testing import drive
    from apps.runs.tests.test_verification import drive_to
    from apps.sandbox.ado.models import AdoWorkItem

    run = _run(pair, organisation, member)
    drive_to(run, "verify")
    assert run.phase == "verify" and run.is_active
    source_id, recorded_id = IdMapEntry.unscoped.filter(run=run, phase="items").order_by("pk").values_list(
        "source_id", "destination_id").first()
    original = AdoWorkItem.objects.get(site=pair.ado_site, item_id=int(recorded_id))
    # A second create of the same issue, as a lost answer re-sent without reconciling would make: through the
    # sandbox's $batch with the writer's own tag and Hyperlink back.
    destination = _destination_of(run)
    link = next(r for r in original.relations if r.get("rel") == "Hyperlink")
    [result] = destination.create_items([records.ItemWrite(
        source_id=source_id, type_id=original.fields["System.WorkItemType"], summary=original.fields["System.Title"],
        source_url=link["url"])])
    assert result.ok, result.error
    twin = AdoWorkItem.objects.get(site=pair.ado_site, item_id=int(result.destination_id))
    assert run_tag_of(str(run.uid)) in twin.fields["System.Tags"]
    drive(run)
    run.refresh_from_db()
    assert run.state == Run.State.FINISHED, (run.error_code, run.error_message)
    duplicates = list(VerificationDifference.unscoped.filter(run=run, check_name="duplicate").values_list(
        "source_id", "destination_key", "kind", "explanation"))
    assert [d[:3] for d in duplicates] == [(source_id, result.destination_id, "extra")], duplicates
    assert recorded_id in duplicates[0][3]  # names the work item the run recorded
    summary = run.stats["verification"]
    assert summary["duplicates"] == 1 and summary["missing"] == 0, summary
