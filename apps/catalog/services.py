"""Scans and quotes.

A scan runs as a chain of short Celery steps (`tasks.scan_step_task` -> `scan_step`). Each step takes the
scan's lease, reads for at most CATALOG_SCAN_STEP_SECONDS, saving after every page the connector's
checkpoint together with the volumes counted up to it (one UPDATE, conditional on still holding the
lease), then hands over to the next step. A worker killed at any moment leaves the last checkpoint and its
counts; once the lease runs out (CATALOG_SCAN_STALE_SECONDS), the next step enqueued (by `scans_recover`
at worker start, `scan_nudge` when someone looks at the scan, or `scan_resume`) carries on from there.

Phases, in `checkpoint["phase"]`: schema (discover) -> count (how many items, for the progress bar) ->
work_items (sources only; destinations stop at the count) -> done.

No ticket content is kept: records are counted (volumes.VolumeCounter) and dropped. Errors are stored as
the connector's own plain-words message, which never holds content or secrets.
"""

import logging
import time
import uuid
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from apps.catalog import quote as pricing
from apps.catalog.models import PricingTable, Quote, Scan, empty_volumes
from apps.catalog.volumes import VolumeCounter
from apps.connections.connectors import records
from apps.connections.connectors.errors import ConnectorError
from apps.connections.connectors.serialise import catalog_from_dict, catalog_to_dict
from apps.connections.crypto import SecretUnreadable
from apps.connections.models import Connection
from apps.connections.services import connection_connector
from apps.core.exceptions import ApplicationError
from apps.core.services import actor_kind_of as _actor_kind
from apps.core.services import audit_record

logger = logging.getLogger(__name__)

ACTIVE = (Scan.Status.QUEUED, Scan.Status.RUNNING)
MAX_TRANSIENT_FAILURES = 8


# --- starting, cancelling, resuming -------------------------------------------------------------------


def _enqueue(scan_id: int, *, countdown: int | None = None) -> None:
    from apps.catalog.tasks import scan_step_task

    if countdown:
        transaction.on_commit(lambda: scan_step_task.apply_async(kwargs={"scan_id": scan_id}, countdown=countdown))
    else:
        scan_step_task.delay_on_commit(scan_id=scan_id)


def _project_lookup(connection: Connection, project: str) -> records.Project:
    """The project as the vendor names it, or an ApplicationError in plain words."""
    try:
        with connection_connector(connection, quick=True) as connector:
            return connector.project(project)
    except SecretUnreadable as exc:
        raise ApplicationError(str(exc), extra={"field": "connection"}) from None
    except ConnectorError as exc:
        if exc.code == "not_found":
            raise ApplicationError(f"There is no project “{project}” that this connection can see.",
                                   extra={"field": "project"}) from None
        raise ApplicationError(f"Could not reach {connection.name}: {exc.message}",
                               extra={"field": "connection", "code": exc.code}) from None


def scan_create(*, organisation, actor, connection: Connection, project: str, role: str = Scan.Role.SOURCE,
                actor_kind: str | None = None) -> Scan:
    """Start scanning one project of a connection (which the caller loaded within `organisation`)."""
    if connection.organisation_id != organisation.pk:
        raise ApplicationError("No such connection in this organisation.", extra={"field": "connection"},
                               status_code=404)
    if role not in Scan.Role.values:
        raise ApplicationError(f"The role must be one of {', '.join(Scan.Role.values)}.", extra={"field": "role"})
    project = (project or "").strip()
    if not project:
        raise ApplicationError("Name the project to scan (its key or name).", extra={"field": "project"})
    if len(project) > 200:
        raise ApplicationError("That project name is too long.", extra={"field": "project"})
    found = _project_lookup(connection, project)  # a network call: never inside a transaction
    with transaction.atomic():
        return _scan_insert(organisation, actor, actor_kind, connection, found, role)


def _scan_insert(organisation, actor, actor_kind, connection, found: records.Project, role: str) -> Scan:
    running = Scan.objects.for_organisation(organisation).select_for_update().filter(
        connection=connection, project_key__iexact=found.key, role=role, status__in=ACTIVE).first()
    if running is not None:
        raise ApplicationError(f"This project is being scanned already (scan {running.pk}).",
                               extra={"field": "project", "scan_id": running.pk}, status_code=409)
    scan = Scan.objects.create(
        organisation=organisation, connection=connection, connection_name=connection.name,
        connection_kind=connection.kind, project_id=found.source_id, project_key=found.key,
        project_name=found.name, role=role, created_by=actor if getattr(actor, "is_authenticated", False) else None,
        checkpoint={"phase": "schema"},
    )
    audit_record(organisation=organisation, actor=actor, actor_kind=_actor_kind(actor, actor_kind),
                 action="scan.created", target=scan,
                 data={"connection_id": connection.pk, "project": found.key, "role": role})
    _enqueue(scan.pk)
    return scan


@transaction.atomic
def scan_cancel(*, scan: Scan, actor, actor_kind: str | None = None) -> Scan:
    if scan.is_finished:
        raise ApplicationError(f"This scan has finished already ({scan.status}).", extra={"status": scan.status})
    Scan.unscoped.filter(pk=scan.pk).update(status=Scan.Status.CANCELLED, finished_at=timezone.now(),
                                            lease_token="", lease_until=None, updated_at=timezone.now())
    audit_record(organisation=scan.organisation, actor=actor, actor_kind=_actor_kind(actor, actor_kind),
                 action="scan.cancelled", target=scan, data={"items_done": scan.items_done})
    scan.refresh_from_db()
    return scan


def _stale_before():
    return timezone.now() - timedelta(seconds=settings.CATALOG_SCAN_STALE_SECONDS)


def scan_is_stale(scan: Scan) -> bool:
    if scan.status not in ACTIVE:
        return False
    if scan.lease_until is not None:
        return scan.lease_until < timezone.now()
    # Queued or between steps, with no step holding it: stale once nothing has happened for a while.
    return scan.updated_at < _stale_before()


def scan_nudge(*, scan: Scan) -> bool:
    """Re-enqueue a scan whose worker died (its lease ran out). Harmless when it is alive: a step only
    runs while it holds the lease. Returns whether a step was enqueued."""
    if not scan_is_stale(scan):
        return False
    logger.info("scan %s: stale, enqueuing a step to resume it", scan.pk, extra={"scan_id": scan.pk})
    Scan.unscoped.filter(pk=scan.pk).update(updated_at=timezone.now())
    _enqueue(scan.pk)
    return True


@transaction.atomic
def scan_resume(*, scan: Scan, actor, actor_kind: str | None = None) -> Scan:
    """Carry on a failed or stalled scan from its last checkpoint (a failed one keeps its counts)."""
    if scan.status == Scan.Status.FAILED:
        Scan.unscoped.filter(pk=scan.pk).update(status=Scan.Status.QUEUED, finished_at=None, error_code="",
                                                error_message="", lease_token="", lease_until=None,
                                                updated_at=timezone.now())
        checkpoint = dict(scan.checkpoint or {})
        checkpoint.pop("transient_failures", None)
        Scan.unscoped.filter(pk=scan.pk).update(checkpoint=checkpoint)
        _enqueue(scan.pk)
    elif scan.status in ACTIVE:
        if not scan_is_stale(scan):
            raise ApplicationError("This scan is running; it carries on by itself.", extra={"status": scan.status},
                                   status_code=409)
        _enqueue(scan.pk)
    else:
        raise ApplicationError(f"This scan has {scan.status}; start a new scan instead.",
                               extra={"status": scan.status})
    audit_record(organisation=scan.organisation, actor=actor, actor_kind=_actor_kind(actor, actor_kind),
                 action="scan.resumed", target=scan, data={"items_done": scan.items_done})
    scan.refresh_from_db()
    return scan


def scans_recover() -> int:
    """Enqueue a step for every scan that is not finished. Run when a worker starts: a worker killed in the
    middle of a step may have taken its message with it. A step for a scan that is in fact alive finds the
    lease held and only watches (see scan_step)."""
    count = 0
    for scan_id in Scan.unscoped.filter(status__in=ACTIVE).values_list("pk", flat=True):
        _enqueue(scan_id)
        count += 1
    return count


# --- one step ------------------------------------------------------------------------------------------


class _LeaseLost(Exception):
    pass


def _lease_take(scan_id: int, token: str) -> bool:
    now = timezone.now()
    return bool(Scan.unscoped.filter(pk=scan_id, status__in=ACTIVE).filter(
        Q(lease_until__isnull=True) | Q(lease_until__lt=now)
    ).update(lease_token=token, lease_until=now + timedelta(seconds=settings.CATALOG_SCAN_STALE_SECONDS),
             status=Scan.Status.RUNNING, steps=F("steps") + 1, updated_at=now))


def _save(scan_id: int, token: str, **values) -> None:
    """Save under the lease (one UPDATE: the checkpoint and the counts up to it together), or stop."""
    now = timezone.now()
    values.setdefault("lease_until", now + timedelta(seconds=settings.CATALOG_SCAN_STALE_SECONDS))
    values.setdefault("updated_at", now)
    if not Scan.unscoped.filter(pk=scan_id, lease_token=token, status=Scan.Status.RUNNING).update(**values):
        raise _LeaseLost()


def scan_step(*, scan_id: int) -> int | None:
    """Run one step of a scan. Returns None when there is nothing more to do (done, failed, cancelled),
    else the seconds after which the next step should run (0 = now)."""
    token = uuid.uuid4().hex
    if not _lease_take(scan_id, token):
        # Another step holds the scan. If it is alive it renews its lease at every checkpoint and enqueues
        # its own successor; this one only watches: it comes back when the lease would run out, and takes
        # over then if the holder died (a killed worker leaves no message behind on some brokers).
        held = Scan.unscoped.filter(pk=scan_id, status__in=ACTIVE).values_list("lease_until", flat=True).first()
        if held is None:
            return None
        return max(1, int((held - timezone.now()).total_seconds()) + 1)
    scan = Scan.unscoped.select_related("connection", "organisation").get(pk=scan_id)
    if scan.started_at is None:
        Scan.unscoped.filter(pk=scan_id).update(started_at=timezone.now())
    if scan.connection is None:
        _fail(scan, token, "connection_deleted", "The connection this scan used was deleted.")
        return None
    deadline = time.monotonic() + settings.CATALOG_SCAN_STEP_SECONDS
    try:
        with connection_connector(scan.connection) as connector:
            try:
                more = _run_phases(scan, token, connector, deadline)
            finally:
                requests = connector.http.stats.total
                if requests:
                    Scan.unscoped.filter(pk=scan_id).update(requests_made=F("requests_made") + requests)
    except _LeaseLost:
        logger.warning("scan %s: lost its lease (another step took over)", scan_id, extra={"scan_id": scan_id})
        return None
    except SecretUnreadable as exc:
        _fail(scan, token, "secret_unreadable", str(exc))
        return None
    except ConnectorError as exc:
        return _connector_failure(scan, token, exc)
    Scan.unscoped.filter(pk=scan_id, lease_token=token).update(lease_token="", lease_until=None)
    return 0 if more else None


def _connector_failure(scan: Scan, token: str, exc: ConnectorError) -> int | None:
    if exc.kind == "transient":
        checkpoint = dict(Scan.unscoped.get(pk=scan.pk).checkpoint or {})
        failures = int(checkpoint.get("transient_failures", 0)) + 1
        if failures <= MAX_TRANSIENT_FAILURES:
            checkpoint["transient_failures"] = failures
            wait = int(exc.details.get("retry_after_seconds") or min(300, 5 * 2 ** failures))
            try:
                _save(scan.pk, token, checkpoint=checkpoint, error_code=exc.code, lease_token="", lease_until=None,
                      error_message=f"{exc.message} Trying again in {wait} seconds (attempt {failures}).")
            except _LeaseLost:
                return None
            logger.warning("scan %s: %s; retry %d in %ds", scan.pk, exc.code, failures, wait,
                           extra={"scan_id": scan.pk, "error": exc.code})
            return wait
    _fail(scan, token, exc.code, exc.message)
    return None


def _fail(scan: Scan, token: str, code: str, message: str) -> None:
    updated = Scan.unscoped.filter(pk=scan.pk, lease_token=token).update(
        status=Scan.Status.FAILED, error_code=code[:60], error_message=message, finished_at=timezone.now(),
        lease_token="", lease_until=None, updated_at=timezone.now())
    if updated:
        audit_record(organisation=scan.organisation, actor=None, actor_kind="system", action="scan.failed",
                     target=scan, data={"error": code, "items_done": scan.items_done})
        logger.warning("scan %s failed: %s", scan.pk, code, extra={"scan_id": scan.pk, "error": code})


def _run_phases(scan: Scan, token: str, connector, deadline: float) -> bool:
    """Advance the scan; True when more steps are needed."""
    checkpoint = dict(scan.checkpoint or {})
    phase = checkpoint.get("phase", "schema")
    project = scan.project_key
    if phase == "schema":
        catalog = connector.discover(project=project)
        checkpoint = {"phase": "count"}
        _save(scan.pk, token, schema=catalog_to_dict(catalog), checkpoint=checkpoint, phase="count",
              error_code="", error_message="")
        scan.schema, phase = catalog_to_dict(catalog), "count"
    if phase == "count":
        expected = connector.count_items(project)
        phase = "work_items" if scan.role == Scan.Role.SOURCE else "done"
        checkpoint = {"phase": phase, "state": {}, "people": {}}
        volumes = empty_volumes()
        if scan.role == Scan.Role.DESTINATION:
            volumes["items"] = expected or 0
        _save(scan.pk, token, items_expected=expected, checkpoint=checkpoint, phase=phase, volumes=volumes)
        scan.volumes = volumes
        if time.monotonic() > deadline:
            return True
    if phase == "work_items":
        if not _read_work_items(scan, token, connector, checkpoint, deadline):
            return True
        checkpoint = dict(Scan.unscoped.get(pk=scan.pk).checkpoint)
    # "finishing" (read, not yet summed up) and "done" (a destination after its count) end here.
    _finish(scan, token, checkpoint)
    return False


def _read_work_items(scan: Scan, token: str, connector, checkpoint: dict, deadline: float) -> bool:
    """Read from the checkpoint on; True when the stream is finished."""
    catalog = catalog_from_dict(scan.schema)
    counter = VolumeCounter.for_catalog(scan.volumes, catalog, people=checkpoint.get("people"))
    for record in connector.read("work_items", checkpoint.get("state") or {}, project=scan.project_key):
        if isinstance(record, records.StateCheckpoint):
            volumes = counter.result()
            _save(scan.pk, token, volumes=volumes, items_done=volumes["items"],
                  checkpoint={"phase": "work_items", "state": record.state, "people": counter.people},
                  error_code="", error_message="")
            scan.volumes = volumes
            if time.monotonic() > deadline:
                return False
            continue
        counter.add(record)
    volumes = counter.result()
    _save(scan.pk, token, volumes=volumes, items_done=volumes["items"],
          checkpoint={"phase": "finishing", "state": {}, "people": counter.people})
    return True


def _finish(scan: Scan, token: str, checkpoint: dict) -> None:
    scan = Scan.unscoped.select_related("organisation").get(pk=scan.pk)
    catalog = catalog_from_dict(scan.schema)
    volumes = dict(scan.volumes)
    seen = volumes.pop("values_seen", {}) or {}
    fields = [replace(f, allowed_values=tuple(seen[f.source_id])) if f.source_id in seen and not f.allowed_values
              else f for f in catalog.fields]
    people = {p.source_id: p for p in catalog.people}
    for data in (checkpoint.get("people") or {}).values():
        people.setdefault(data["source_id"], records.Person(**data))
    catalog = replace(catalog, fields=fields,
                      people=sorted(people.values(), key=lambda p: (p.display_name.lower(), p.source_id)))
    volumes["people"] = len(catalog.people)
    volumes["values_observed"] = sorted(seen)
    now = timezone.now()
    with transaction.atomic():
        _save(scan.pk, token, schema=catalog_to_dict(catalog), volumes=volumes, status=Scan.Status.DONE,
              phase="done", checkpoint={"phase": "done"}, finished_at=now, items_done=volumes["items"],
              lease_token="", lease_until=None, error_code="", error_message="")
        audit_record(organisation=scan.organisation, actor=None, actor_kind="system", action="scan.finished",
                     target=scan, data={"items": volumes["items"], "attachments": volumes["attachments"],
                                        "role": scan.role})
    scan.refresh_from_db()
    if scan.role == Scan.Role.SOURCE and PricingTable.objects.filter(active=True).exists():
        quote_create(scan=scan)
    logger.info("scan %s done: %d items", scan.pk, volumes["items"], extra={"scan_id": scan.pk})


# --- pricing -------------------------------------------------------------------------------------------


def pricing_table_activate(*, table: PricingTable) -> PricingTable:
    """Make `table` the one active pricing table (the others are switched off in the same transaction)."""
    with transaction.atomic():
        PricingTable.objects.exclude(pk=table.pk).filter(active=True).update(active=False)
        table.active = True
        table.updated_at = timezone.now()
        table.save()
    return table


def quote_create(*, scan: Scan, destination_kind: str | None = None, actor=None,
                 actor_kind: str | None = None) -> Quote:
    """Price a finished source scan under the active pricing table, with a duration estimate for the
    destination kind (by default the other product than the source)."""
    if scan.role != Scan.Role.SOURCE:
        raise ApplicationError("Quotes are for source scans: the price follows what is migrated.",
                               extra={"field": "scan"})
    if scan.status != Scan.Status.DONE:
        raise ApplicationError("The scan has not finished: the price needs its volumes.",
                               extra={"status": scan.status}, status_code=409)
    source_kind = scan.connection_kind or Connection.Kind.AZURE_DEVOPS
    destination_kind = destination_kind or pricing.default_destination_kind(source_kind)
    if destination_kind not in pricing.WRITES:
        raise ApplicationError(f"Unknown destination kind {destination_kind!r}.",
                               extra={"field": "destination_kind", "allowed": sorted(pricing.WRITES)})
    table = PricingTable.objects.filter(active=True).first()
    if table is None:
        raise ApplicationError("No price list is active yet; staff set one in the admin.", status_code=409)
    prices = pricing.Prices(currency=table.currency, per_work_item=Decimal(table.per_work_item),
                            per_gb_attachments=Decimal(table.per_gb_attachments), minimum=Decimal(table.minimum))
    lines, total = pricing.price_lines(scan.volumes, prices)
    estimate = pricing.duration_estimate(scan.volumes, destination_kind=destination_kind, source_kind=source_kind)
    with transaction.atomic():
        quote = Quote.objects.create(organisation=scan.organisation, scan=scan, pricing_table=table,
                                     destination_kind=destination_kind, currency=table.currency, total=total,
                                     lines=lines, estimate_seconds=estimate["seconds"], estimate=estimate)
        audit_record(organisation=scan.organisation, actor=actor, actor_kind=_actor_kind(actor, actor_kind),
                     action="quote.created", target=quote,
                     data={"scan_id": scan.pk, "total": str(total), "currency": table.currency})
    return quote
