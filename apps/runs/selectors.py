"""Reads of runs. Everything is scoped to an organisation."""

from datetime import timedelta
from decimal import Decimal

from django.db.models import QuerySet
from django.utils import timezone

from apps.core.models import AuditEvent
from apps.runs.models import PHASE_LABELS, PHASES, Run, RunError, RunSample


def run_list(*, organisation, kind: str | None = None, state: str | None = None) -> QuerySet[Run]:
    qs = Run.objects.for_organisation(organisation).select_related("started_by", "source_connection",
                                                                   "destination_connection")
    if kind:
        qs = qs.filter(kind=kind)
    if state:
        qs = qs.filter(state=state)
    return qs


def run_get(*, organisation, run_id) -> Run:
    """Raises Run.DoesNotExist for another organisation's run, exactly as for a missing one."""
    return run_list(organisation=organisation).get(pk=run_id)


def run_phases(run: Run) -> list[dict]:
    """Progress per phase, for the bars."""
    rows = []
    current = PHASES.index(run.phase) if run.phase in PHASES else len(PHASES)
    for index, phase in enumerate(PHASES):
        entry = (run.progress or {}).get(phase, {})
        total = int(entry.get("total") or 0)
        done, failed, skipped = (int(entry.get(k) or 0) for k in ("done", "failed", "skipped"))
        finished = index < current
        percent = 100 if finished else (min(100, round(100 * (done + failed) / total)) if total else 0)
        rows.append({"phase": phase, "label": PHASE_LABELS[phase], "done": done, "total": total, "failed": failed,
                     "skipped": skipped, "percent": percent, "current": index == current and run.is_active,
                     "finished": finished})
    return rows


def run_errors(*, run: Run, limit: int = 200) -> QuerySet[RunError]:
    return run.errors.filter(resolved=False).order_by("-at", "-id")[:limit]


def run_audit(*, run: Run) -> QuerySet[AuditEvent]:
    return AuditEvent.objects.for_organisation(run.organisation).filter(
        target_type="runs.run", target_id=str(run.pk)).select_related("actor").order_by("created_at", "id")


def run_throughput(*, run: Run, points: int = 60) -> list[tuple[float, float]]:
    """(seconds since the start, units per minute) over the run, in `points` equal windows."""
    samples = list(run.samples.order_by("at", "id").values_list("at", "done"))
    if len(samples) < 2:
        return []
    start, end = samples[0][0], samples[-1][0]
    span = (end - start).total_seconds()
    if span <= 0:
        return []
    width = span / points
    done_at = [0] * (points + 1)  # units done by the end of each window
    index = 0
    for window in range(points + 1):
        limit = window * width
        while index < len(samples) and (samples[index][0] - start).total_seconds() <= limit + 1e-9:
            done_at[window] = samples[index][1]
            index += 1
        if window and done_at[window] < done_at[window - 1]:
            done_at[window] = done_at[window - 1]
    return [(round(w * width, 1), max(0.0, (done_at[w] - done_at[w - 1]) * 60 / width)) for w in range(1, points + 1)]


def run_remaining_units(run: Run) -> int:
    remaining = 0
    for phase in PHASES[1:]:
        entry = (run.progress or {}).get(phase, {})
        total = int(entry.get("total") or 0)
        remaining += max(0, total - sum(int(entry.get(k) or 0) for k in ("done", "failed", "skipped")))
    return remaining


def run_estimated_finish(*, run: Run):
    """When the run should end at the pace of the last ten minutes; None when it cannot be told yet."""
    if not run.is_active:
        return None
    since = timezone.now() - timedelta(minutes=10)
    recent = list(RunSample.unscoped.filter(run_id=run.pk, at__gte=since).order_by("at").values_list("at", "done"))
    if len(recent) < 2:
        return None
    seconds = (recent[-1][0] - recent[0][0]).total_seconds()
    done = recent[-1][1] - recent[0][1]
    if seconds <= 0 or done <= 0:
        return None
    return timezone.now() + timedelta(seconds=run_remaining_units(run) * seconds / done)


def run_estimate(*, run: Run) -> dict:
    """The duration and price of the live run a preview stands for, from what the preview counted."""
    from apps.catalog import quote
    from apps.catalog.selectors import pricing_table_active

    progress = run.progress or {}
    volumes = {"items": int(progress.get("items", {}).get("total") or 0),
               "links": int(progress.get("links", {}).get("done") or 0) if run.is_preview else
               int(progress.get("links", {}).get("total") or 0)}
    destination_kind = run.plan.get("destination_kind") or "jira_cloud"
    if destination_kind not in quote.RATES:
        destination_kind = "jira_cloud"
    duration = quote.duration_estimate(volumes, destination_kind=destination_kind,
                                       source_kind=run.plan.get("source_kind") or "azure_devops")
    estimate = {"volumes": volumes, "seconds": duration["seconds"], "duration": quote.duration_words(duration["seconds"]),
                "assumptions": duration["assumptions"], "price": None}
    table = pricing_table_active()
    if table is not None:
        prices = quote.Prices(currency=table.currency, per_work_item=Decimal(table.per_work_item),
                              per_gb_attachments=Decimal(table.per_gb_attachments), minimum=Decimal(table.minimum))
        lines, total = quote.price_lines(volumes, prices)
        estimate["price"] = {"currency": table.currency, "total": str(total), "lines": lines}
    return estimate


def run_warnings(run: Run) -> list[dict]:
    labels = {
        "value_unmapped": "Values with no mapping", "text_cut": "Text that will be cut",
        "person_no_account": "People with no account", "person_default": "People given the default person",
        "person_inactive": "People written as inactive accounts",
        "attachment_too_large": "Attachments over the size limit", "formatting": "Formatting that cannot be kept",
        "state_unmapped": "States with no mapping", "type_unmapped": "Types not migrated",
        "parent_level": "Parents the destination's levels do not allow", "parent_missing": "Parents not created",
        "value_invalid": "Values that are not valid",
        "link_outside": "Links to items this run does not migrate",
        "web_link_refused": "Remote links the destination refuses",
    }
    rows = []
    for code, entry in sorted((run.warnings or {}).items(), key=lambda kv: -kv[1].get("count", 0)):
        messages = sorted(entry.get("messages", {}).items(), key=lambda kv: -kv[1])
        rows.append({"code": code, "label": labels.get(code, code.replace("_", " ").capitalize()),
                     "count": entry.get("count", 0), "messages": messages, "examples": entry.get("examples", [])})
    return rows
