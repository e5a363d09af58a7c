"""Sample then full: a live sample run of N items into the real destination, then a full run that adopts
the sample's id map, so the full run writes only what the sample did not (no item, link, component or
sprint twice).

The id map belongs to a run, and a second live run of the same project is refused (services.run_create),
except for one that names the finished live run it adopts. The adopted run's entries are copied into the
new run's id map when it is created; the plan then marks the items already written as created, and every
later phase skips what its id map holds. A sample run fills its sprints but leaves starting and closing
them to the full run, which fills them again with everything (adding an issue to a sprint it is in changes
nothing) and then starts and closes them. Sprint stages are therefore not adopted.

An item of the sample whose parent was not in the sample was written without it. The sample's items
written without a parent have their "link back" entry left out of the adoption and their source ids put
into the full run's plan (`reparent`): the full run's remote_links phase writes the link back again (an
upsert) and, where its own plan gives the item a parent, sets that parent through the destination port
(Jira: the parent field, or the Epic Link on Data Center), recorded under the item's source id, so once.

Rolling back the full run deletes what its id map holds, and that includes the sample's items
(`run_rollback_adopted` counts them for the confirmation, which says so).
"""

from apps.core.exceptions import ApplicationError
from apps.runs.models import IdMapEntry, Run, RunItem

ADOPTED_PHASES_EXCLUDED = ("sprint_stages",)


def run_adoption_chain(run: Run) -> list[int]:
    """The run and every run it adopted, newest first."""
    return [run.pk, *[int(pk) for pk in (run.plan or {}).get("adopted_chain", [])]]


def run_adoption_check(*, organisation, adopt_run_id, kind: str, source_connection, destination_connection,
                       source_project: str, destination_project: str) -> Run:
    """The finished live run a new live run may adopt, or an ApplicationError saying why not."""
    if kind != Run.Kind.LIVE:
        raise ApplicationError("Only a live run adopts an earlier run's work; a preview shows what a run would "
                               "write.", extra={"field": "adopt_run_id"})
    try:
        earlier = Run.objects.for_organisation(organisation).get(pk=int(adopt_run_id))
    except (Run.DoesNotExist, TypeError, ValueError):
        raise ApplicationError("No such run in this organisation to adopt.", extra={"field": "adopt_run_id"}) from None
    same_pair = (earlier.source_connection_id == source_connection.pk
                 and earlier.destination_connection_id == destination_connection.pk
                 and earlier.source_project == source_project and earlier.destination_project == destination_project)
    if earlier.kind != Run.Kind.LIVE or not same_pair:
        raise ApplicationError(f"Run #{earlier.pk} is not a live run of {source_project} into {destination_project} "
                               "over these connections; only such a run can be adopted.",
                               extra={"field": "adopt_run_id"})
    if earlier.state != Run.State.FINISHED:
        raise ApplicationError(f"Run #{earlier.pk} is {earlier.state}; only a finished run can be adopted (resume "
                               "it, or wait until it finishes).", extra={"field": "adopt_run_id"})
    later = Run.objects.for_organisation(organisation).filter(
        kind=Run.Kind.LIVE, plan__adopted_from=earlier.pk).exclude(
        state__in=[Run.State.ROLLED_BACK, Run.State.CANCELLED]).first()
    if later is not None:
        raise ApplicationError(f"Run #{earlier.pk} was already adopted by run #{later.pk}; adopt that one instead.",
                               extra={"field": "adopt_run_id", "run_id": later.pk})
    return earlier


def run_adopt_id_map(*, run: Run, earlier: Run) -> int:
    """Copy what `earlier` wrote into `run`'s id map (inside run_create's transaction). Returns the items."""
    written = set(IdMapEntry.unscoped.filter(run_id=earlier.pk, phase="items", rolled_back=False)
                  .values_list("source_id", flat=True))
    # The sample's plan drops a parent it does not hold, so "written without a parent" is all it can tell:
    # the full run's plan says which of these have one now (ref.parent_source_id in phase_remote_links).
    orphans = sorted(RunItem.unscoped.filter(run_id=earlier.pk, source_id__in=written, parent_source_id="")
                     .values_list("source_id", flat=True))
    if orphans:
        run.plan = {**run.plan, "reparent": orphans}
        run.save(update_fields=["plan"])
    entries = IdMapEntry.unscoped.filter(run_id=earlier.pk, rolled_back=False).exclude(
        phase__in=ADOPTED_PHASES_EXCLUDED).exclude(phase="remote_links", source_id__in=orphans)
    IdMapEntry.unscoped.bulk_create(
        [IdMapEntry(organisation_id=run.organisation_id, run_id=run.pk, phase=e.phase, source_id=e.source_id,
                    destination_id=e.destination_id, destination_key=e.destination_key,
                    payload_sha256=e.payload_sha256, written_at=e.written_at) for e in entries.iterator()],
        batch_size=500, ignore_conflicts=True)
    return IdMapEntry.unscoped.filter(run_id=run.pk, phase="items").count()


def run_rollback_adopted(run: Run) -> int:
    """How many of the items a roll-back of `run` would delete were written by the sample run(s) it adopted."""
    chain = [pk for pk in run_adoption_chain(run) if pk != run.pk]
    if not chain:
        return 0
    theirs = IdMapEntry.unscoped.filter(run_id__in=chain, phase="items").values_list("source_id", flat=True)
    return IdMapEntry.unscoped.filter(run_id=run.pk, phase="items", rolled_back=False, source_id__in=theirs).count()
