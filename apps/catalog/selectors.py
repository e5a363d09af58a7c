"""Reads of scans and quotes. Everything is scoped to an organisation."""

from django.db.models import QuerySet

from apps.catalog.models import PricingTable, Quote, Scan
from apps.connections.connectors.base import Catalog
from apps.connections.connectors.serialise import catalog_from_dict


def scan_list(*, organisation, connection_id: int | None = None, role: str | None = None,
              status: str | None = None) -> QuerySet[Scan]:
    qs = Scan.objects.for_organisation(organisation).select_related("connection", "created_by")
    if connection_id is not None:
        qs = qs.filter(connection_id=connection_id)
    if role:
        qs = qs.filter(role=role)
    if status:
        qs = qs.filter(status=status)
    return qs


def scan_get(*, organisation, scan_id) -> Scan:
    """Raises Scan.DoesNotExist for another organisation's scan, exactly as for a missing one."""
    return scan_list(organisation=organisation).get(pk=scan_id)


def catalog_schema(scan: Scan) -> Catalog | None:
    """The schema a scan recorded, read back into the connectors' `Catalog` (project, work item types with
    their states and hierarchy, fields with types and allowed values, link types, iterations/sprints,
    areas/components, people), or None while the scan has not got that far.

    This is what mappings draft from (`apps.mappings.drafting`): the source scan's catalog on one side, the
    destination scan's on the other. Raises connectors.serialise.SerialisationError for a stored schema
    this code cannot read (a newer format version)."""
    if not scan.schema:
        return None
    return catalog_from_dict(scan.schema)


def latest_done_scan(*, organisation, connection_id: int, project_key: str, role: str | None = None) -> Scan | None:
    """The most recent finished scan of a project: what a mapping should use."""
    qs = scan_list(organisation=organisation, connection_id=connection_id, status=Scan.Status.DONE)
    qs = qs.filter(project_key__iexact=project_key)
    if role:
        qs = qs.filter(role=role)
    return qs.order_by("-finished_at", "-id").first()


def pricing_table_active() -> PricingTable | None:
    return PricingTable.objects.filter(active=True).first()


def quote_latest(*, scan: Scan) -> Quote | None:
    return scan.quotes.order_by("-created_at", "-id").first()
