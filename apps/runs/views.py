from django.contrib import messages
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_POST

from apps.accounts.decorators import organisation_required
from apps.connections.scope import scope_count_for_version
from apps.core.exceptions import ApplicationError
from apps.runs import selectors, services, verification
from apps.runs.adoption import run_rollback_adopted
from apps.runs.forms import RunCreateForm
from apps.runs.models import Run

CONTROLS = ("pause", "resume", "cancel", "retry", "rollback")


def _run_or_404(request, run_id: int) -> Run:
    try:
        return selectors.run_get(organisation=request.organisation, run_id=run_id)
    except Run.DoesNotExist:
        raise Http404("No such run.") from None


def throughput_chart(series: list[tuple[float, float]], *, width: int = 640, height: int = 160) -> dict | None:
    """An SVG line chart of units per minute over time, drawn on the server (no script, no CDN)."""
    if len(series) < 2:
        return None
    max_t = max(t for t, _ in series) or 1.0
    max_v = max(v for _, v in series) or 1.0
    pad = 30
    points = " ".join(f"{pad + (width - pad - 5) * t / max_t:.1f},{height - pad - (height - pad - 10) * v / max_v:.1f}"
                      for t, v in series)
    return {"width": width, "height": height, "points": points, "max_v": round(max_v), "max_t": round(max_t),
            "pad": pad, "base_y": height - pad, "right_x": width - 5}


def _approved_versions(organisation):
    try:
        from apps.mappings.models import MappingVersion
    except ImportError:  # the mappings app is not installed here
        return []
    return list(MappingVersion.objects.for_organisation(organisation).select_related("mapping_set")
                .order_by("-approved_at")[:100])


@organisation_required
def run_list(request):
    runs = selectors.run_list(organisation=request.organisation, kind=Run.Kind.LIVE)[:200]
    return render(request, "runs/list.html", {"runs": runs, "title": "Runs", "kind": "live"})


@organisation_required
def preview_list(request):
    runs = selectors.run_list(organisation=request.organisation, kind=Run.Kind.PREVIEW)[:200]
    return render(request, "runs/list.html", {"runs": runs, "title": "Previews", "kind": "preview"})


@organisation_required
def report_list(request):
    runs = selectors.run_list(organisation=request.organisation, kind=Run.Kind.LIVE,
                              state=Run.State.FINISHED)[:200]
    return render(request, "runs/reports.html", {"runs": runs})


@organisation_required
def run_create(request):
    """Preview or live run of an approved mapping, with its scope and options; a bad scope is a form error."""
    versions = _approved_versions(request.organisation)
    kind = request.POST.get("kind") or request.GET.get("kind") or Run.Kind.PREVIEW
    # Choosing another mapping re-renders the scope fields (htmx GET): what means the same for either source
    # (the dates, the sample size) is kept; an area, a query or type names belong to the other source.
    kept = {name: request.GET[name] for name in RunCreateForm.SHARED_SCOPE_FIELDS if request.GET.get(name)}
    form = RunCreateForm(request.POST or None, versions=versions,
                         initial={"kind": kind, "mapping_version": request.GET.get("mapping_version"), **kept})
    error = ""
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            run = services.run_create_from_version(organisation=request.organisation, actor=request.user,
                                                   kind=data["kind"], mapping_version_id=data["mapping_version"],
                                                   scope=form.scope(), options=form.options(),
                                                   adopt_run_id=data.get("adopt_run"))
        except ApplicationError as exc:
            field = (exc.extra or {}).get("field", "")
            field = {"scope": "area_path", "adopt_run_id": "adopt_run", "connection": None}.get(field, field)
            if field in form.fields:
                form.add_error(field, exc.message)
            else:
                error = exc.message
        else:
            messages.success(request, f"{run.get_kind_display()} #{run.pk} started.")
            return redirect("runs:detail", run_id=run.pk)
    bad = request.method == "POST" and (error or form.errors)
    return render(request, "runs/create.html", {"versions": versions, "kind": kind, "error": error, "form": form},
                  status=400 if bad else 200)


@organisation_required
@require_POST
def run_scope_count(request):
    """htmx: how many items the scope on the form takes, asked of the source before anything is saved."""
    form = RunCreateForm(request.POST, versions=_approved_versions(request.organisation))
    form.is_valid()
    problems = [f"{form.fields[name].label}: {' '.join(errors)}" for name, errors in form.errors.items()
                if name in RunCreateForm.SCOPE_FIELDS or name == "mapping_version"]
    counted = None
    if not problems:
        try:
            counted = scope_count_for_version(organisation=request.organisation,
                                              mapping_version_id=form.cleaned_data["mapping_version"],
                                              scope_data=form.scope())
        except ApplicationError as exc:
            problems = [exc.message]
    return render(request, "runs/_scope_count.html", {"counted": counted, "problems": problems})


def _detail_context(run: Run) -> dict:
    return {
        "run": run, "phases": selectors.run_phases(run), "finish": selectors.run_estimated_finish(run=run),
        "chart": throughput_chart(selectors.run_throughput(run=run)), "errors": selectors.run_errors(run=run, limit=50),
        "warnings": selectors.run_warnings(run),
        "estimate": selectors.run_estimate(run=run) if run.is_preview and run.state == Run.State.FINISHED else None,
        "verify": (run.stats or {}).get("verify"), "requests": (run.stats or {}).get("requests", 0),
        "rollback_phrase": services.ROLLBACK_CONFIRMATION.format(run_id=run.pk),
        "rollback_adopted": run_rollback_adopted(run) if run.plan and run.plan.get("adopted_from") else 0,
    }


@organisation_required
def run_detail(request, run_id: int):
    run = _run_or_404(request, run_id)
    return render(request, "runs/detail.html", _detail_context(run))


@organisation_required
def run_progress(request, run_id: int):
    """The live part of a run's page, polled by htmx while the run is going."""
    run = _run_or_404(request, run_id)
    return render(request, "runs/_progress.html", _detail_context(run))


@organisation_required
def run_report(request, run_id: int):
    """The verification report: the summary, then every difference, the unexplained ones first."""
    run = _run_or_404(request, run_id)
    differences = verification.report_differences(run=run)
    return render(request, "runs/report.html", {
        "run": run, "summary": verification.report_summary(run=run), "verify": (run.stats or {}).get("verify"),
        "unexplained": differences.filter(announced=False)[:500], "announced": differences.filter(announced=True)[:500],
    })


@organisation_required
def run_report_csv(request, run_id: int):
    run = _run_or_404(request, run_id)
    response = StreamingHttpResponse(verification.report_csv_rows(run=run), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{verification.report_filename(run)}"'
    return response


@organisation_required
def run_round_trip(request, run_id: int):
    """The round-trip report (the API's, as a page): this Jira -> Azure DevOps run compared, item by item, with
    the Azure DevOps -> Jira run (`?from=`) whose destination it read. Read from the three projects now."""
    from apps.runs import roundtrip

    run = _run_or_404(request, run_id)
    from_id = (request.GET.get("from") or "").strip()
    context = {"run": run, "from_id": from_id, "error": "", "summary": None,
               "candidates": roundtrip.round_trip_candidates(organisation=request.organisation, run_b=run)}
    if from_id:
        try:
            run_a, report = _round_trip(request, run)
        except ApplicationError as exc:
            context["error"] = exc.message
        else:
            differences = report["differences"]
            context.update(run_a=run_a, summary=report["summary"],
                           unexpected=[d for d in differences if not d.expected][:500],
                           expected=[d for d in differences if d.expected][:500])
    return render(request, "runs/round_trip.html", context, status=400 if context["error"] else 200)


def _round_trip(request, run: Run):
    from apps.runs import roundtrip

    try:
        run_a = roundtrip.round_trip_runs(organisation=request.organisation, run_b=run, from_id=request.GET.get("from"))
    except Run.DoesNotExist:
        raise Http404("No such run.") from None
    return run_a, roundtrip.round_trip_report(run_a=run_a, run_b=run)


@organisation_required
def run_round_trip_csv(request, run_id: int):
    from apps.runs import roundtrip

    run = _run_or_404(request, run_id)
    try:
        run_a, report = _round_trip(request, run)
    except ApplicationError:
        return redirect(f"{reverse('runs:round-trip', args=[run.pk])}?{urlencode({'from': request.GET.get('from', '')})}")
    response = StreamingHttpResponse(roundtrip.round_trip_csv_rows(differences=report["differences"]),
                                     content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="migrayt-round-trip-{run_a.pk}-{run.pk}.csv"'
    return response


@organisation_required
def run_audit(request, run_id: int):
    run = _run_or_404(request, run_id)
    return render(request, "runs/audit.html", {"run": run, "events": selectors.run_audit(run=run)})


@organisation_required
def run_item(request, run_id: int):
    run = _run_or_404(request, run_id)
    source_id = (request.GET.get("source_id") or "").strip()
    context = {"run": run, "source_id": source_id, "item": None, "error": ""}
    if source_id:
        try:
            context["item"] = services.run_item_preview(run=run, source_id=source_id)
        except ApplicationError as exc:
            context["error"] = exc.message
    return render(request, "runs/item.html", context, status=400 if context["error"] else 200)


@organisation_required
@require_POST
def run_control(request, run_id: int, action: str):
    run = _run_or_404(request, run_id)
    if action not in CONTROLS:
        raise Http404("No such action.")
    try:
        if action == "pause":
            services.run_pause(run=run, actor=request.user)
        elif action == "resume":
            services.run_resume(run=run, actor=request.user)
        elif action == "cancel":
            services.run_cancel(run=run, actor=request.user)
        elif action == "retry":
            count = services.run_retry_failed(run=run, actor=request.user)
            messages.info(request, f"{count} failed item(s) queued again.")
        elif action == "rollback":
            services.run_rollback(run=run, actor=request.user, confirmation=request.POST.get("confirmation", ""))
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        if action != "retry":
            messages.success(request, {"pause": "Pausing at the next checkpoint.", "resume": "Resumed.",
                                       "cancel": "Cancelling at the next checkpoint.",
                                       "rollback": "Rolling back: deleting what this run created."}[action])
    return redirect(reverse("runs:detail", args=[run.pk]))
