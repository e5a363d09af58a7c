"""Helpers shared by the mapping tests (plain functions, not fixtures)."""

from apps.core.models import AuditEvent
from apps.mappings import services
from apps.mappings.models import MappingSet
from apps.mappings.tests.factories import scans_make


def drafted_set(*, organisation, actor, name="FF to PROJ", source=None, destination=None,
                destination_kind="jira_cloud") -> MappingSet:
    """A mapping set drafted by the offline layers, synchronously (what the task does)."""
    source_scan, destination_scan = scans_make(organisation=organisation, source=source, destination=destination,
                                               destination_kind=destination_kind)
    mapping_set = services.mapping_set_create(organisation=organisation, actor=actor, name=name,
                                              source_scan_id=source_scan.pk, destination_scan_id=destination_scan.pk,
                                              draft=False)
    services.mapping_set_draft_run(mapping_set_id=mapping_set.pk)
    mapping_set.refresh_from_db()
    return mapping_set


def row(mapping_set, kind, source, scope=""):
    return mapping_set.rows.get(kind=kind, source=source, scope=scope)


def audit_actions(organisation) -> list[str]:
    return list(AuditEvent.objects.for_organisation(organisation).order_by("id").values_list("action", flat=True))


def make_approvable(mapping_set, actor, default_person="acc-admin"):
    services.mapping_set_update(mapping_set=mapping_set, actor=actor, default_person=default_person)
    services.mapping_rows_accept_above(mapping_set=mapping_set, actor=actor, confidence=0.5)
    mapping_set.refresh_from_db()
    return mapping_set
