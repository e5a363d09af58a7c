"""Mapping sets through the service layer: made from two scans, drafted, decided, approved and frozen."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.catalog.models import Scan
from apps.core.exceptions import ApplicationError
from apps.core.models import AuditEvent
from apps.mappings import selectors, services
from apps.mappings.drafting.proposals import AUTO_ACCEPT
from apps.mappings.models import MappingRow, MappingSet, MappingVersion
from apps.mappings.tests.factories import ado_agile_catalog, jira_scrum_catalog, scan_make, scans_make
from apps.mappings.tests.helpers import audit_actions, drafted_set, make_approvable, row

pytestmark = pytest.mark.django_db


def test_a_set_is_made_only_from_finished_scans_of_the_callers_organisation(organisation, member, other_organisation):
    source, destination = scans_make(organisation=organisation)
    foreign = scan_make(organisation=other_organisation, catalog=jira_scrum_catalog(), kind="jira_cloud")
    unfinished = scan_make(organisation=organisation, catalog=jira_scrum_catalog(), kind="jira_cloud",
                           status=Scan.Status.RUNNING)
    cases = [
        (dict(source_scan_id=source.pk, destination_scan_id=foreign.pk), "No such destination scan"),
        (dict(source_scan_id=source.pk, destination_scan_id=unfinished.pk), "has not finished"),
        (dict(source_scan_id=source.pk, destination_scan_id=source.pk), "the same scan"),
        (dict(source_scan_id=999999, destination_scan_id=destination.pk), "No such source scan"),
    ]
    for ids, message in cases:
        with pytest.raises(ApplicationError, match=message):
            services.mapping_set_create(organisation=organisation, actor=member, name="x", draft=False, **ids)
    mapping_set = services.mapping_set_create(organisation=organisation, actor=member, name="FF", draft=False,
                                              source_scan_id=source.pk, destination_scan_id=destination.pk)
    assert (mapping_set.source_kind, mapping_set.destination_kind) == ("azure_devops", "jira_cloud")
    assert mapping_set.source_schema == source.schema  # a snapshot: the version outlives the scan
    with pytest.raises(ApplicationError, match="already a mapping with this name"):
        services.mapping_set_create(organisation=organisation, actor=member, name="FF", draft=False,
                                    source_scan_id=source.pk, destination_scan_id=destination.pk)


def test_creating_queues_the_draft_task_on_commit(organisation, member, django_capture_on_commit_callbacks, monkeypatch):
    sent = []
    from apps.mappings import tasks

    monkeypatch.setattr(tasks.mapping_set_draft_task, "delay", lambda **kw: sent.append(kw))
    source, destination = scans_make(organisation=organisation)
    with django_capture_on_commit_callbacks(execute=True):
        mapping_set = services.mapping_set_create(organisation=organisation, actor=member, name="FF",
                                                  source_scan_id=source.pk, destination_scan_id=destination.pk)
    assert sent == [{"mapping_set_id": mapping_set.pk, "use_llm": False}]
    mapping_set.refresh_from_db()
    assert mapping_set.draft_status == MappingSet.DraftStatus.QUEUED
    with pytest.raises(ApplicationError, match="already being made"):
        services.mapping_set_draft_request(mapping_set=mapping_set, actor=member)
    # A draft lost with its worker does not block the mapping for ever.
    MappingSet.objects.for_organisation(organisation).filter(pk=mapping_set.pk).update(
        draft_requested_at=timezone.now() - timedelta(minutes=11))
    with django_capture_on_commit_callbacks(execute=True):
        services.mapping_set_draft_request(mapping_set=mapping_set, actor=member)
    assert len(sent) == 2


def test_the_draft_stores_every_proposal_with_confidence_reason_and_layer(organisation, member):
    mapping_set = drafted_set(organisation=organisation, actor=member)
    assert mapping_set.draft_status == MappingSet.DraftStatus.DONE
    rows = list(mapping_set.rows.all())
    source = ado_agile_catalog()
    expected = len(source.work_item_types) + len(source.fields) + sum(len(t.states) for t in source.work_item_types)
    assert len(rows) > expected  # plus values, links, iterations, areas, people
    assert all(r.reason and r.layer in ("standard", "semantic", "fallback") for r in rows)
    assert all(r.decision == MappingRow.Decision.PENDING for r in rows)
    assert row(mapping_set, "field", "System.Title").target == "summary"
    assert row(mapping_set, "value", "1", scope="Microsoft.VSTS.Common.Priority").target == "Highest"
    assert row(mapping_set, "state", "Removed", scope="User Story").target == "Won't Do"
    assert row(mapping_set, "person", "ado-cy").target is None
    # ADO's Epic and Feature both land on Jira's one epic level: the Epic row keeps its links as plain links.
    assert row(mapping_set, "type", "Epic").options == {"missing_level": "link"}
    event = AuditEvent.objects.for_organisation(organisation).get(action="mapping.drafted")
    assert event.actor_kind == "system" and event.data["created"] == len(rows)


def test_drafting_again_keeps_what_a_person_decided(organisation, member):
    mapping_set = drafted_set(organisation=organisation, actor=member)
    title = row(mapping_set, "field", "System.Title")
    services.mapping_row_decide(row=title, actor=member, decision="edit", target="description")
    impact = row(mapping_set, "field", "Custom.CustomerImpact")
    services.mapping_row_decide(row=impact, actor=member, decision="reject")
    services.mapping_set_draft_run(mapping_set_id=mapping_set.pk)
    title.refresh_from_db()
    impact.refresh_from_db()
    assert (title.target, title.decision, title.proposed_target) == ("description", "edited", "summary")
    assert impact.decision == "rejected" and impact.effective_target is None


def test_decisions_are_checked_at_once_and_audited(organisation, member):
    mapping_set = drafted_set(organisation=organisation, actor=member)
    title = row(mapping_set, "field", "System.Title")
    with pytest.raises(ApplicationError, match="not a field of the destination"):
        services.mapping_row_decide(row=title, actor=member, decision="edit", target="customfield_404")
    with pytest.raises(ApplicationError, match="cannot be written"):
        services.mapping_row_decide(row=title, actor=member, decision="edit", target="status")
    points = row(mapping_set, "field", "Microsoft.VSTS.Scheduling.StoryPoints")
    with pytest.raises(ApplicationError, match="cannot be converted"):
        services.mapping_row_decide(row=points, actor=member, decision="edit", target="duedate")
    value = row(mapping_set, "value", "1", scope="Microsoft.VSTS.Common.Priority")
    with pytest.raises(ApplicationError, match="not a value 'Priority' allows"):
        services.mapping_row_decide(row=value, actor=member, decision="edit", target="Blocker")
    epic = row(mapping_set, "type", "Epic")
    with pytest.raises(ApplicationError, match="missing level"):
        services.mapping_row_decide(row=epic, actor=member, decision="edit", options={"missing_level": "teleport"})
    with pytest.raises(ApplicationError, match="accept, reject or edit"):
        services.mapping_row_decide(row=epic, actor=member, decision="maybe")

    services.mapping_row_decide(row=value, actor=member, decision="edit", target="High")
    value.refresh_from_db()
    assert (value.target, value.layer, value.confidence, value.decided_by) == ("High", "person", 1.0, member)
    event = AuditEvent.objects.for_organisation(organisation).filter(action="mapping.row_edited").get()
    assert event.actor == member
    assert event.data["source"] == "1" and event.data["target"] == "High" and event.data["proposed_by"] == "standard"


def test_accept_all_above_a_confidence_leaves_the_uncertain_rows(organisation, member):
    mapping_set = drafted_set(organisation=organisation, actor=member)
    count = services.mapping_rows_accept_above(mapping_set=mapping_set, actor=member, confidence=AUTO_ACCEPT)
    pending = mapping_set.rows.filter(decision="pending")
    assert count == mapping_set.rows.filter(confidence__gte=AUTO_ACCEPT).count() > 0
    assert pending.exists() and all(r.confidence < AUTO_ACCEPT for r in pending)
    with pytest.raises(ApplicationError, match="0.5 up to 1"):
        services.mapping_rows_accept_above(mapping_set=mapping_set, actor=member, confidence=0.1)
    with pytest.raises(ApplicationError, match="number"):
        services.mapping_rows_accept_above(mapping_set=mapping_set, actor=member, confidence="lots")


def test_approval_is_blocked_until_fixed_then_freezes_a_version(organisation, member):
    mapping_set = drafted_set(organisation=organisation, actor=member)
    with pytest.raises(ApplicationError, match="block approval") as info:
        services.mapping_set_approve(mapping_set=mapping_set, actor=member)
    codes = {e["code"] for e in info.value.extra["errors"]}
    assert {"undecided", "person_unmatched"} <= codes

    make_approvable(mapping_set, member)
    version = services.mapping_set_approve(mapping_set=mapping_set, actor=member)
    assert version.number == 1 and len(version.content_sha256) == 64
    assert any(w["code"] == "attribution" for w in version.warnings)
    with pytest.raises(RuntimeError, match="frozen"):
        version.save()
    with pytest.raises(RuntimeError, match="frozen"):
        version.delete()
    # Nothing changed: no second identical version.
    with pytest.raises(ApplicationError, match="Nothing changed since version 1"):
        services.mapping_set_approve(mapping_set=mapping_set, actor=member)
    # An edit after approval changes the set, not version 1.
    services.mapping_row_decide(row=row(mapping_set, "value", "4", scope="Microsoft.VSTS.Common.Priority"),
                                actor=member, decision="edit", target="Lowest")
    version_2 = services.mapping_set_approve(mapping_set=mapping_set, actor=member)
    version = MappingVersion.objects.for_organisation(organisation).get(pk=version.pk)
    low = {r["source"]: r["target"] for r in version.content["rows"] if r["scope"] == "Microsoft.VSTS.Common.Priority"}
    assert low["4"] == "Low"
    assert selectors.mapping_version_plan(version_2).fields["Microsoft.VSTS.Common.Priority"].values["4"] == "Lowest"
    assert audit_actions(organisation).count("mapping.approved") == 2
    with pytest.raises(ApplicationError, match="approved versions"):
        services.mapping_set_delete(mapping_set=mapping_set, actor=member)


def test_a_set_without_versions_can_be_deleted(organisation, member):
    mapping_set = drafted_set(organisation=organisation, actor=member)
    services.mapping_set_delete(mapping_set=mapping_set, actor=member)
    assert not MappingSet.objects.for_organisation(organisation).exists()
    assert not MappingRow.unscoped.filter(mapping_set_id=mapping_set.pk).exists()


def test_the_default_person_must_be_a_destination_account(organisation, member):
    mapping_set = drafted_set(organisation=organisation, actor=member)
    with pytest.raises(ApplicationError, match="not an account"):
        services.mapping_set_update(mapping_set=mapping_set, actor=member, default_person="someone-else")
    services.mapping_set_update(mapping_set=mapping_set, actor=member, default_person="acc-admin", history=False)
    mapping_set.refresh_from_db()
    assert mapping_set.default_person == "acc-admin" and mapping_set.history is False


def test_without_the_local_model_the_draft_still_uses_knowledge(organisation, member, monkeypatch):
    from apps.mappings.drafting import embeddings

    def unavailable(*args, **kwargs):
        raise embeddings.EmbeddingModelUnavailable("not installed")

    monkeypatch.setattr(embeddings, "similarity_matrix", unavailable)
    mapping_set = drafted_set(organisation=organisation, actor=member)
    assert mapping_set.draft_status == MappingSet.DraftStatus.DONE
    assert "local model is not installed" in mapping_set.draft_message
    assert row(mapping_set, "field", "System.Title").target == "summary"
    # "Customer Impact" and "Customer impact" read the same: matched without the model.
    assert row(mapping_set, "field", "Custom.CustomerImpact").target == "customfield_10050"
