"""Runs: create, start, step, pause, resume, cancel, retry the failed, roll back, kick a stalled run.

Every control writes an audit row (ids and counts only). The step runs one bounded slice of the engine
under the run's lease (see store.py) and enqueues the next step on commit.
"""

import dataclasses
import logging
import os
import socket
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from apps.connections.connectors.errors import ConnectorError
from apps.core.exceptions import ApplicationError
from apps.core.services import actor_kind_of as _actor_kind
from apps.core.services import audit_record
from apps.mappings.plan import MappingPlan
from apps.runs import store as run_store
from apps.runs.engine.execute import Engine
from apps.runs.engine.ports import LeaseLost, Stop
from apps.runs.models import IdMapEntry, Run, RunError, RunItem, VerificationDifference, empty_progress
from apps.runs.planjson import plan_from_dict, plan_to_dict

logger = logging.getLogger(__name__)

ROLLBACK_CONFIRMATION = "ROLL BACK {run_id}"


def _audit(run: Run, action: str, *, actor=None, actor_kind: str | None = None, **data) -> None:
    audit_record(organisation=run.organisation, actor=actor, actor_kind=_actor_kind(actor, actor_kind),
                 action=action, target=run, data={"kind": run.kind, "phase": run.phase, **data})


def _webhook(run: Run, event: str, extra: dict | None = None) -> None:
    """Tell the organisation's webhook endpoints (apps/webhooks): ids and counts only, sent after commit. A
    problem with webhooks is logged and never touches the run."""
    from django.db.models import Count

    from apps.webhooks.services import webhook_event_emit

    try:
        counts = dict(RunItem.unscoped.filter(run_id=run.pk).values_list("state").annotate(n=Count("id")))
        webhook_event_emit(organisation=run.organisation, event=event, payload={
            "run_id": run.pk, "run_uid": str(run.uid), "kind": run.kind, "state": run.state, "phase": run.phase,
            "items": {str(state): int(n) for state, n in counts.items()}, "error_code": run.error_code or None,
            **(extra or {}),
        })
    except Exception:
        logger.exception("run %s: the %s webhook could not be queued", run.pk, event)


def run_payment_required(*, run: Run) -> bool:
    """The billing hook (issue 10): a live run will check here that its usage is paid. Always False for
    now, so nothing is blocked."""
    return False


def run_create(*, organisation, actor, kind: str, plan: MappingPlan, source_connection, destination_connection,
               mapping_version_id: int | None = None, type_levels: dict | None = None,
               actor_kind: str | None = None, start: bool = True, scope: dict | None = None,
               options: dict | None = None, adopt_run_id: int | None = None) -> Run:
    """`scope` (apps/connections/scope.py: area_path or Jira components, types, states, created_from/to, a
    WIQL or JQL `query`, a `sample` size) is checked against the source and counted before the run is saved;
    `options` switch comments, attachments, links and history on or off for this run. `adopt_run_id`: a finished live run
    (a sample) whose id map this live run takes over, writing only what it did not (apps/runs/adoption.py)."""
    if kind not in Run.Kind.values:
        raise ApplicationError(f"A run is a preview or live, not {kind!r}.")
    for connection, role in ((source_connection, "source"), (destination_connection, "destination")):
        if connection is None or connection.organisation_id != organisation.pk:
            raise ApplicationError(f"The {role} connection is missing or belongs to another organisation.")
    jira = ("jira_cloud", "jira_data_center")
    if not ((source_connection.kind == "azure_devops" and destination_connection.kind in jira)
            or (source_connection.kind in jira and destination_connection.kind == "azure_devops")):
        raise ApplicationError("This version migrates from Azure DevOps to Jira Cloud or Jira Data Center, and from "
                               "Jira Cloud or Jira Data Center to Azure DevOps.")
    adopted = None
    if adopt_run_id not in (None, ""):
        from apps.runs.adoption import run_adoption_check

        adopted = run_adoption_check(organisation=organisation, adopt_run_id=adopt_run_id, kind=kind,
                                     source_connection=source_connection, destination_connection=destination_connection,
                                     source_project=plan.source_project, destination_project=plan.destination_project)
    if kind == Run.Kind.LIVE:
        # The id map belongs to a run: a second live run of the same project into the same destination project
        # would write everything again. Retry the first one's failed items, or roll it back, instead (or adopt
        # a finished sample run's id map: apps/runs/adoption.py).
        from apps.runs.adoption import run_adoption_chain

        earlier = Run.objects.for_organisation(organisation).filter(
            kind=Run.Kind.LIVE, source_connection=source_connection, destination_connection=destination_connection,
            source_project=plan.source_project, destination_project=plan.destination_project,
        ).exclude(state__in=[Run.State.ROLLED_BACK, Run.State.CANCELLED]).exclude(
            pk__in=run_adoption_chain(adopted) if adopted else []).first()
        if earlier is not None:
            raise ApplicationError(
                f"Live run #{earlier.pk} already migrates {plan.source_project} into {plan.destination_project} "
                f"({earlier.state}). Resume it or retry its failed items, or roll it back before starting another.",
                extra={"run_id": earlier.pk})
    plan_data = plan_to_dict(plan)
    plan_data["destination_type_levels"] = type_levels or {}
    plan_data.update(_run_options(options))
    if scope:
        plan_data["scope"] = _run_scope(scope, source_connection, plan.source_project)
    if adopted:
        from apps.runs.adoption import run_adoption_chain

        plan_data["adopted_from"], plan_data["adopted_chain"] = adopted.pk, run_adoption_chain(adopted)
    with transaction.atomic():
        run = Run.objects.create(
            organisation=organisation, kind=kind, plan=plan_data, mapping_version_id=mapping_version_id,
            source_connection=source_connection, destination_connection=destination_connection,
            source_project=plan.source_project, destination_project=plan.destination_project,
            started_by=actor if getattr(actor, "is_authenticated", False) else None, progress=empty_progress())
        if adopted:
            from apps.runs.adoption import run_adopt_id_map

            run_adopt_id_map(run=run, earlier=adopted)
        _audit(run, "run.created", actor=actor, actor_kind=actor_kind, mapping_version_id=mapping_version_id)
        if kind == Run.Kind.LIVE and run_payment_required(run=run):
            raise ApplicationError("This run is not paid for yet.")
        if start:
            run_enqueue(run=run)
    return run


def _run_options(options: dict | None) -> dict:
    known = ("comments", "attachments", "links", "history")
    unknown = sorted(set(options or {}) - set(known))
    if unknown:
        raise ApplicationError(f"Unknown option(s): {', '.join(unknown)}; the options are {', '.join(known)}.")
    return {key: bool(value) for key, value in (options or {}).items()}


def _run_scope(scope: dict, source_connection, project: str) -> dict:
    from apps.connections.scope import scope_count, scope_from_data

    counted = scope_count(connection=source_connection, project=project,
                          scope=scope_from_data(scope, source_kind=source_connection.kind))
    if counted.count == 0:
        raise ApplicationError("No item of the source is in this scope; widen it.", extra={"field": "scope"})
    return {**counted.scope.as_dict(), "condition": counted.condition, "count": counted.count,
            "total_in_scope": counted.total_in_scope}


def run_create_from_version(*, organisation, actor, kind: str, mapping_version_id: int,
                            actor_kind: str | None = None, scope: dict | None = None,
                            options: dict | None = None, adopt_run_id: int | None = None) -> Run:
    from apps.catalog.selectors import catalog_schema
    from apps.mappings.models import MappingVersion
    from apps.mappings.selectors import mapping_version_plan

    try:
        version = MappingVersion.objects.for_organisation(organisation).select_related(
            "mapping_set__source_scan__connection", "mapping_set__destination_scan__connection").get(
            pk=mapping_version_id)
    except (MappingVersion.DoesNotExist, ValueError, TypeError):
        raise ApplicationError("No such approved mapping version in this organisation.") from None
    mapping_set = version.mapping_set
    source_scan, destination_scan = mapping_set.source_scan, mapping_set.destination_scan
    if not source_scan or not destination_scan or not source_scan.connection or not destination_scan.connection:
        raise ApplicationError("The mapping's source or destination scan (or its connection) no longer exists.")
    levels = {}
    schema = catalog_schema(destination_scan)
    # Jira takes a parent exactly one level up (the plan climbs to one that fits); Azure DevOps links a child
    # under any item (a Story straight under an Epic with no Feature between), so no levels are enforced.
    if schema and destination_scan.connection.kind != "azure_devops":
        levels = {t.source_id: t.hierarchy_level for t in schema.work_item_types}
    # The scans name the projects the way the connectors address them (Jira's key, ADO's name).
    plan = dataclasses.replace(mapping_version_plan(version),
                               source_project=source_scan.project_key or mapping_set.source_project,
                               destination_project=destination_scan.project_key or mapping_set.destination_project)
    return run_create(organisation=organisation, actor=actor, kind=kind, plan=plan,
                      source_connection=source_scan.connection, destination_connection=destination_scan.connection,
                      mapping_version_id=version.pk, type_levels=levels, actor_kind=actor_kind, scope=scope,
                      options=options, adopt_run_id=adopt_run_id)


def run_enqueue(*, run: Run, countdown: float = 0) -> None:
    from apps.runs.tasks import run_step

    run_id, step = run.pk, run.step
    transaction.on_commit(lambda: run_step.apply_async(kwargs={"run_id": run_id, "step": step},
                                                       countdown=countdown or None))


# --- the step --------------------------------------------------------------------------------------------


def _engine_for(run: Run, store) -> tuple[Engine, list]:
    from apps.connections.connectors.jira.writer import JiraWriter
    from apps.connections.services import connection_connector
    from apps.runs.adapters import AdoSource, JiraDestination
    from apps.runs.staging import RunStager

    if run.source_connection is None or run.destination_connection is None:
        raise ApplicationError("A connection this run uses was deleted.")
    if run.destination_connection.kind == "azure_devops":
        from apps.runs.adapters_to_ado import engine_to_ado

        return engine_to_ado(run, store)
    plan = plan_from_dict(run.plan)
    source_connector = connection_connector(run.source_connection)
    closers = [source_connector]
    destination = None
    if not run.is_preview or run.phase == "plan":
        destination_connector = connection_connector(run.destination_connection)
        closers.append(destination_connector)
        writer = JiraWriter(destination_connector, run_id=str(run.uid))
        destination = JiraDestination(writer, project=run.destination_project,
                                      parallel=getattr(settings, "RUNS_PARALLEL_REQUESTS", 4),
                                      stager=RunStager(organisation_id=run.organisation_id, run_id=run.pk))
    condition = (run.plan.get("scope") or {}).get("condition", "")
    engine = Engine(plan=plan, source=AdoSource(source_connector, project=run.source_project, condition=condition),
                    destination=None if run.is_preview else destination, store=store,
                    budget_seconds=getattr(settings, "RUNS_SLICE_SECONDS", 20),
                    reconcile_after=getattr(settings, "RUNS_RECONCILE_AFTER_SECONDS", 60),
                    type_levels=run.plan.get("destination_type_levels") or {})
    if run.is_preview and destination is not None:
        engine.attachment_limit = destination.attachment_limit_bytes
    # A sample fills its sprints and leaves starting and closing them to the full run that adopts it.
    engine.sprint_lifecycle = not (run.plan.get("scope") or {}).get("sample")
    engine.reparent = set(run.plan.get("reparent") or [])  # adopted items the sample wrote without their parent
    return engine, closers


def run_step_execute(*, run_id: int, step: int) -> str:
    """One slice of a run. Returns what happened (for logs and tests): stale, busy, paused, cancelled,
    failed, finished or continued."""
    run = Run.unscoped.filter(pk=run_id).first()
    if run is None or run.step != step or not run.is_active:
        return "stale"
    owner = run_store.lease_owner_name()
    if not run_store.lease_acquire(run_id=run_id, step=step, owner=owner):
        run.refresh_from_db()
        if run.step == step and run.is_active:
            wait = max(1.0, min(15.0, ((run.lease_until or timezone.now()) - timezone.now()).total_seconds() + 1))
            from apps.runs.tasks import run_step

            run_step.apply_async(kwargs={"run_id": run_id, "step": step}, countdown=wait)
        return "busy"
    run.refresh_from_db()
    if run.state == Run.State.QUEUED:
        run.state, run.started_at = Run.State.RUNNING, run.started_at or timezone.now()
        run.save(update_fields=["state", "started_at"])
        _audit(run, "run.started", actor_kind="system")
        _webhook(run, "run.started")
    if run.state == Run.State.ROLLING_BACK:
        return _rollback_step(run, owner)
    store = run_store.RunStore(run, owner=owner)
    outcome, countdown = "continued", 0.0
    closers = []
    try:
        if run.cancel_requested or run.pause_requested:
            raise Stop("cancel" if run.cancel_requested else "pause")
        engine, closers = _engine_for(run, store)
        phase_before = run.phase
        result = engine.step()
        countdown = result.wait_seconds
        if result.phase_done:
            _audit(store.run, "run.phase_finished", actor_kind="system", finished_phase=phase_before,
                   progress=store.run.progress.get(phase_before, {}))
        if result.finished:
            outcome = "finished"
    except Stop as stop:
        outcome = "cancelled" if str(stop) == "cancel" else "paused"
    except LeaseLost:
        return "lease_lost"
    except ConnectorError as exc:
        if exc.kind == "transient":
            countdown = min(60.0, float(exc.details.get("retry_after_seconds") or 10))
            logger.warning("run %s: %s; trying again in %.0fs", run_id, exc.code, countdown)
        else:
            outcome = "failed"
            _fail(run_id, owner, exc.code, f"{exc.message}")
    except ApplicationError as exc:
        outcome = "failed"
        _fail(run_id, owner, "error", exc.message)
    except Exception:
        logger.exception("run %s: step %s failed", run_id, step)
        outcome = "failed"
        _fail(run_id, owner, "internal_error", "The run stopped on an internal error; it can be resumed.")
    finally:
        for closer in closers:
            closer.close()
    _step_finish(run_id, owner, step, outcome, countdown)
    return outcome


def _fail(run_id: int, owner: str, code: str, message: str) -> None:
    Run.unscoped.filter(pk=run_id, lease_owner=owner).update(state=Run.State.FAILED, error_code=code[:60],
                                                             error_message=message, updated_at=timezone.now())


def _step_finish(run_id: int, owner: str, step: int, outcome: str, countdown: float) -> None:
    with transaction.atomic():
        run = Run.unscoped.select_for_update().filter(pk=run_id, lease_owner=owner).first()
        if run is None:
            return
        run.step = step + 1
        run.lease_owner, run.lease_until = "", None
        if outcome == "paused":
            run.state, run.pause_requested = Run.State.PAUSED, False
        elif outcome == "cancelled":
            run.state, run.cancel_requested, run.finished_at = Run.State.CANCELLED, False, timezone.now()
        run.updated_at = timezone.now()
        run.save()
        if outcome in ("paused", "cancelled", "failed", "finished"):
            _audit(run, f"run.{outcome}", actor_kind="system", error_code=run.error_code)
        if outcome in ("cancelled", "failed", "finished"):
            from apps.runs.staging import run_staged_purge

            org_id, pk = run.organisation_id, run.pk
            transaction.on_commit(lambda: run_staged_purge(organisation_id=org_id, run_id=pk))
        if outcome in ("paused", "failed", "finished"):
            _webhook(run, f"run.{outcome}")
        if outcome == "finished" and run.kind == Run.Kind.LIVE:
            summary = (run.stats or {}).get("verification") or {}
            _audit(run, "run.report_ready", actor_kind="system",
                   **{k: summary.get(k) for k in ("items_checked", "matched", "differing", "missing", "unexplained")})
            # the verify phase ran: the report is there to read (its counts in the payload)
            _webhook(run, "run.report_ready", {"verification": {k: v for k, v in summary.items() if k != "by_check"}})
        if outcome == "continued" and run.is_active:
            run_enqueue(run=run, countdown=countdown)


# --- controls --------------------------------------------------------------------------------------------


def _locked(run: Run) -> Run:
    return Run.unscoped.select_for_update().get(pk=run.pk)


def run_pause(*, run: Run, actor, actor_kind: str | None = None) -> Run:
    with transaction.atomic():
        run = _locked(run)
        if run.state not in (Run.State.QUEUED, Run.State.RUNNING):
            raise ApplicationError(f"Only a queued or running run can be paused; this one is {run.state}.")
        run.pause_requested = True
        run.save(update_fields=["pause_requested"])
        if not run.lease_owner:  # nothing running it now: pause at once
            run.state, run.pause_requested = Run.State.PAUSED, False
            run.save(update_fields=["state", "pause_requested"])
            _webhook(run, "run.paused")
        _audit(run, "run.pause_requested", actor=actor, actor_kind=actor_kind)
    return run


def run_resume(*, run: Run, actor, actor_kind: str | None = None) -> Run:
    with transaction.atomic():
        run = _locked(run)
        if run.state not in (Run.State.PAUSED, Run.State.FAILED):
            raise ApplicationError(f"Only a paused or failed run can be resumed; this one is {run.state}.")
        if run.is_preview and run.is_expired:
            raise ApplicationError("This preview has expired; make a new one.")
        run.state, run.pause_requested, run.error_code, run.error_message = Run.State.RUNNING, False, "", ""
        run.step += 1  # any old message of this chain is now stale
        run.lease_owner, run.lease_until = "", None
        run.save()
        _audit(run, "run.resumed", actor=actor, actor_kind=actor_kind)
        run_enqueue(run=run)
    return run


def run_cancel(*, run: Run, actor, actor_kind: str | None = None) -> Run:
    with transaction.atomic():
        run = _locked(run)
        if run.state in (Run.State.FINISHED, Run.State.CANCELLED, Run.State.ROLLED_BACK):
            raise ApplicationError(f"This run is {run.state} already.")
        if run.state in (Run.State.QUEUED, Run.State.RUNNING) and run.lease_owner:
            run.cancel_requested = True
        else:
            from apps.runs.staging import run_staged_purge

            run.state, run.finished_at = Run.State.CANCELLED, timezone.now()
            org_id, pk = run.organisation_id, run.pk
            transaction.on_commit(lambda: run_staged_purge(organisation_id=org_id, run_id=pk))
        run.save()
        _audit(run, "run.cancel_requested", actor=actor, actor_kind=actor_kind)
    return run


def run_retry_failed(*, run: Run, actor, actor_kind: str | None = None) -> int:
    """Put the failed items back in the queue and run the phases again from the items on."""
    with transaction.atomic():
        run = _locked(run)
        if run.is_active or run.is_preview:
            raise ApplicationError("Retry the failed items of a live run once it has stopped.")
        count = RunItem.unscoped.filter(run_id=run.pk, state=RunItem.State.FAILED).update(
            state=RunItem.State.PENDING, error_code="", error_message="", error_phase="")
        RunError.unscoped.filter(run_id=run.pk, resolved=False).update(resolved=True)
        VerificationDifference.unscoped.filter(run_id=run.pk).delete()  # verified again at the end
        run.stats = {k: v for k, v in (run.stats or {}).items() if k != "verification"}
        if count == 0 and run.state == Run.State.FINISHED:
            raise ApplicationError("This run has no failed items.")
        progress = run.progress
        progress["items"]["failed"] = 0
        for phase in ("states", "links", "remote_links", "sprints", "verify"):
            progress[phase].update(done=0, failed=0, skipped=0)
        cursor = {k: v for k, v in (run.cursor or {}).items() if k in ("plan",)}
        run.cursor, run.progress = cursor, progress
        run.phase = "items" if run.phase not in ("plan", "structure") else run.phase
        run.state, run.finished_at, run.error_code, run.error_message = Run.State.RUNNING, None, "", ""
        run.step += 1
        run.lease_owner, run.lease_until = "", None
        run.save()
        _audit(run, "run.retry_failed", actor=actor, actor_kind=actor_kind, items=count)
        run_enqueue(run=run)
    return count


def run_rollback(*, run: Run, actor, confirmation: str, actor_kind: str | None = None) -> Run:
    """Delete what this run created, after the person typed `ROLL BACK <run id>`."""
    from apps.runs.adoption import run_rollback_adopted

    expected = ROLLBACK_CONFIRMATION.format(run_id=run.pk)
    if (confirmation or "").strip() != expected:
        adopted = run_rollback_adopted(run)
        also = (f", including the {adopted} item(s) of the sample run #{run.plan.get('adopted_from')} it adopted"
                if adopted else "")
        raise ApplicationError(f"Type “{expected}” to confirm: this deletes every item this run created{also}.",
                               extra={"expected": expected, "adopted_items": adopted})
    with transaction.atomic():
        run = _locked(run)
        if run.is_preview:
            raise ApplicationError("A preview wrote nothing; there is nothing to roll back.")
        if run.is_active:
            raise ApplicationError("Pause or cancel the run before rolling it back.")
        run.state, run.step, run.lease_owner, run.lease_until = Run.State.ROLLING_BACK, run.step + 1, "", None
        run.save()
        _audit(run, "run.rollback_started", actor=actor, actor_kind=actor_kind,
               items=IdMapEntry.unscoped.filter(run_id=run.pk, phase="items", rolled_back=False).count())
        run_enqueue(run=run)
    return run


def _rollback_destination(run: Run, connector):
    """The destination a roll-back deletes from: Jira, or Azure DevOps for a run from Jira."""
    if run.destination_connection.kind == "azure_devops":
        from apps.connections.connectors.azure_devops.writer import AdoWriter
        from apps.runs.adapters_to_ado import AdoDestination

        return AdoDestination(AdoWriter(connector, run_id=str(run.uid)), project=run.destination_project)
    from apps.connections.connectors.jira.writer import JiraWriter
    from apps.runs.adapters import JiraDestination

    return JiraDestination(JiraWriter(connector, run_id=str(run.uid)), project=run.destination_project)


def _rollback_step(run: Run, owner: str) -> str:
    from apps.connections.services import connection_connector

    entries = list(IdMapEntry.unscoped.filter(run_id=run.pk, phase="items", rolled_back=False)
                   .order_by("-written_at", "-id")[:200])
    outcome = "continued"
    if entries:
        with connection_connector(run.destination_connection) as connector:
            destination = _rollback_destination(run, connector)
            done = []
            try:
                for entry in entries:  # children were written after their parents: deleted first
                    destination.delete_item(destination_id=entry.destination_id)
                    done.append(entry.pk)
            except ConnectorError as exc:
                logger.warning("run %s: rollback paused on %s", run.pk, exc.code)
            IdMapEntry.unscoped.filter(pk__in=done).update(rolled_back=True)
    else:
        Run.unscoped.filter(pk=run.pk, lease_owner=owner).update(state=Run.State.ROLLED_BACK,
                                                                  finished_at=timezone.now())
        run.refresh_from_db()
        _audit(run, "run.rolled_back", actor_kind="system")
        outcome = "rolled_back"
    with transaction.atomic():
        Run.unscoped.filter(pk=run.pk, lease_owner=owner).update(step=run.step + 1, lease_owner="", lease_until=None,
                                                                 updated_at=timezone.now())
        if outcome == "continued":
            run.step += 1
            run_enqueue(run=run)
    return outcome


def runs_kick_stalled(*, older_than_seconds: int = 0) -> int:
    """Enqueue the next step of every active run nobody is working on (its lease free, expired or held by a
    process that died): what a worker does when it starts, and the watchdog. A duplicate message is
    harmless: the step number drops the second one."""
    now = timezone.now()
    kicked = 0
    candidates = Run.unscoped.filter(state__in=Run.ACTIVE_STATES, updated_at__lte=now - timedelta(
        seconds=older_than_seconds))
    for run in candidates.filter(Q(lease_owner="") | Q(lease_until__lt=now) | Q(lease_owner__startswith=socket.gethostname())):
        if run.lease_owner and run.lease_until and run.lease_until >= now and not run_store.lease_holder_dead(
                run.lease_owner):
            continue
        with transaction.atomic():
            run_enqueue(run=run)
        kicked += 1
    if kicked:
        logger.info("kicked %d stalled run(s) (pid %s)", kicked, os.getpid())
    return kicked


# --- the preview of one item, on demand ---------------------------------------------------------------------


def run_item_preview(*, run: Run, source_id: str) -> dict:
    """One item read from the source now and what the run writes (or wrote) for it, side by side. Computed
    on request and never stored: the preview keeps no copy of the customer's data."""
    from apps.connections.connectors.errors import ConnectorError
    from apps.connections.services import connection_connector
    from apps.mappings.transforms import adf_to_html, sanitise_html, wiki_to_html
    from apps.runs.adapters import AdoSource
    from apps.runs.adapters_to_ado import JiraSource, ado_type_fields
    from apps.runs.engine.draft import Drafter

    source_id = str(source_id or "").strip()
    planned = RunItem.unscoped.filter(run_id=run.pk, source_id=source_id).first()
    if planned is None:
        raise ApplicationError("This run has no item with that source id.", status_code=404)
    if run.source_connection is None:
        raise ApplicationError("The source connection of this run was deleted.")
    plan = plan_from_dict(run.plan)
    parent = IdMapEntry.unscoped.filter(run_id=run.pk, phase="items", source_id=planned.parent_source_id).first() \
        if planned.parent_source_id else None
    rich = {"jira_data_center": "wiki", "azure_devops": "html"}.get(plan.destination_kind, "adf")
    type_fields = {}
    if plan.destination_kind == "azure_devops" and run.destination_connection is not None:
        try:  # a value the item's type has no field for shows as left out, as the run leaves it out
            type_fields = ado_type_fields(run.destination_connection, run.destination_project)
        except ConnectorError:
            type_fields = {}  # drafted without the types: the run reads them itself
    try:
        with connection_connector(run.source_connection) as connector:
            source_class = JiraSource if run.source_connection.kind in ("jira_cloud", "jira_data_center") else AdoSource
            source = source_class(connector, project=run.source_project)
            items = source.items_by_ids([source_id])
            url = source.item_url(source_id)
            # Drafted while the source is open: a Data Center mention names a user the source is asked about.
            drafter = Drafter(plan, rich_text=rich, mentioned=getattr(source, "person_mentioned", None))
            drafter.type_fields = type_fields
            draft = drafter.draft(items[0], source_url=url, parent_id=parent.destination_id if parent else "",
                                  parent_key=parent.destination_key if parent else "") if items else None
    except ConnectorError as exc:
        raise ApplicationError(f"The source could not be read: {exc.message}") from None
    if not items:
        raise ApplicationError("The item is no longer in the source.", status_code=404)
    item = items[0]
    source_html = item.description or ""
    if source_class is JiraSource and source_html:  # Jira's ADF (Cloud) or wiki markup (Data Center)
        source_html = (adf_to_html if isinstance(source_html, dict) else wiki_to_html)(source_html).value
    written = IdMapEntry.unscoped.filter(run_id=run.pk, phase="items", source_id=source_id).first()
    write = draft.write
    description_html = ""
    if write is not None and write.description:
        if rich == "html":  # already converted for Azure DevOps
            description_html = sanitise_html(write.description)
        else:
            converted = adf_to_html(write.description) if rich == "adf" else wiki_to_html(write.description)
            description_html = converted.value
    return {
        "source_id": source_id,
        "source": {"url": url, "key": item.key, "type": item.type_id, "title": item.title, "state": item.state,
                   "priority": item.priority, "assignee": item.assignee.display_name if item.assignee else "",
                   "tags": list(item.labels), "parent_id": item.parent_id,
                   "planned_parent_id": planned.parent_source_id,
                   "description_html": sanitise_html(source_html)},
        "destination": None if write is None else {
            "type": write.type_id, "summary": write.summary, "status": write.target_status,
            "priority": write.priority, "assignee": write.assignee, "labels": list(write.labels),
            "components": list(write.component_ids), "parent_key": write.parent_key or planned.parent_source_id,
            "fields": write.fields, "description_html": description_html,
            "description_format": rich, "entity_property": {"key": "migrayt.source", "source_id": source_id,
                                                            "source_url": url, "run_id": str(run.uid)},
            "remote_link_global_id": url},
        "written": None if written is None else {"destination_id": written.destination_id,
                                                 "key": written.destination_key,
                                                 "payload_sha256": written.payload_sha256,
                                                 "adopted": written.adopted},
        "warnings": [{"code": w.code, "message": w.message} for w in draft.warnings],
    }


def runs_purge_expired_previews() -> int:
    """An expired preview keeps its counts and warnings; its per-item plan rows go."""
    expired = Run.unscoped.filter(kind=Run.Kind.PREVIEW, expires_at__lt=timezone.now())
    count = 0
    for run in expired.only("pk"):
        count += RunItem.unscoped.filter(run_id=run.pk).delete()[0]
    return count
