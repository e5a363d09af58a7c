import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from apps.accounts.selectors import membership_for
from apps.catalog import selectors as catalog_selectors
from apps.catalog.models import Scan
from apps.core.exceptions import ApplicationError
from apps.mappings import selectors, services
from apps.mappings.document import DocumentInvalid, document_loads
from apps.mappings.drafting.proposals import AUTO_ACCEPT, Kind, Transform
from apps.mappings.forms import (
    AcceptAboveForm,
    ConsentForm,
    ImportForm,
    MappingSetForm,
    OptionsForm,
    RowEditForm,
)
from apps.mappings.models import MappingRow, MappingSet, MappingVersion
from apps.mappings.validation import DEPARTED_INACTIVE_KINDS

FIELD_TRANSFORMS = [(t.value, t.value.replace("_", " ")) for t in Transform
                    if t not in (Transform.CREATE, Transform.ATTRIBUTION, Transform.DEFAULT_PERSON)]


def _organisation(request):
    if request.organisation is None:
        raise Http404("Choose or create an organisation first.")
    return request.organisation


def _set_or_404(request, mapping_set_id: int) -> MappingSet:
    try:
        return selectors.mapping_set_get(organisation=_organisation(request), mapping_set_id=mapping_set_id)
    except MappingSet.DoesNotExist:
        raise Http404("No such mapping.") from None


def _row_or_404(mapping_set: MappingSet, row_id: int) -> MappingRow:
    try:
        return selectors.mapping_row_get(mapping_set=mapping_set, row_id=row_id)
    except MappingRow.DoesNotExist:
        raise Http404("No such row.") from None


def _is_htmx(request) -> bool:
    return bool(request.headers.get("HX-Request"))


def _is_admin(request) -> bool:
    membership = membership_for(user=request.user, organisation=request.organisation)
    return bool(membership and membership.is_admin)


@login_required
def mapping_list(request):
    sets = selectors.mapping_set_list(organisation=_organisation(request))
    return render(request, "mappings/list.html", {"sets": sets})


@login_required
def mapping_create(request):
    organisation = _organisation(request)
    scans = catalog_selectors.scan_list(organisation=organisation, status=Scan.Status.DONE)
    form = MappingSetForm(request.POST or None, scans=scans)
    if request.method == "POST" and form.is_valid():
        try:
            mapping_set = services.mapping_set_create(organisation=organisation, actor=request.user,
                                                      **form.cleaned_data)
        except ApplicationError as exc:
            field = exc.extra.get("field")
            form.add_error(field if field in form.fields else None, exc.message)
        else:
            messages.success(request, f"Made {mapping_set.name}. Drafting it now…")
            return redirect("mappings:detail", mapping_set.pk)
    return render(request, "mappings/form.html", {"form": form, "has_scans": scans.exists()})


def _review_context(request, mapping_set: MappingSet) -> dict:
    kind = request.GET.get("kind") or ""
    show = request.GET.get("show") or "all"
    if kind not in {k.value for k in Kind}:
        kind = ""
    if show not in selectors.ATTENTION_FILTERS:
        show = "all"
    issues = selectors.mapping_set_issues(mapping_set)
    errors = [i for i in issues if i.level == "error"]
    warnings = [i for i in issues if i.level != "error"]
    flagged = {i.row_key(): i.message for i in errors if i.row_key()}
    rows = list(selectors.mapping_row_list(mapping_set=mapping_set, kind=kind or None, show=show, issues=issues)
                .select_related("decided_by"))
    for row in rows:
        row.problem = flagged.get(row.key())
    _, destination = selectors.mapping_set_catalogs(mapping_set)
    people = [(p.source_id, p.display_name or p.source_id) for p in destination.people if p.active]
    options_form = OptionsForm(people=people, initial={
        "default_person": mapping_set.default_person, "areas_as_labels": mapping_set.areas_as_labels,
        "comments": mapping_set.comments, "attachments": mapping_set.attachments, "links": mapping_set.links,
        "history": mapping_set.history})
    return {
        "mapping_set": mapping_set, "rows": rows, "kind": kind, "show": show,
        "kinds": [(k.value, k.value.replace("_", " ")) for k in selectors.KIND_ORDER],
        "filters": selectors.ATTENTION_FILTERS.items(), "errors": errors, "warnings": warnings,
        "summary": selectors.mapping_set_summary(mapping_set), "auto_accept": AUTO_ACCEPT,
        "accept_form": AcceptAboveForm(), "options_form": options_form, "import_form": ImportForm(),
        "versions": selectors.mapping_version_list(mapping_set=mapping_set)[:10],
        "llm_configured": services.llm_config() is not None, "is_admin": _is_admin(request),
    }


@login_required
def mapping_detail(request, mapping_set_id: int):
    mapping_set = _set_or_404(request, mapping_set_id)
    return render(request, "mappings/detail.html", _review_context(request, mapping_set))


@login_required
@require_GET
def mapping_status(request, mapping_set_id: int):
    """Polled by the review page while a draft is being made; reloads the page when it is done."""
    mapping_set = _set_or_404(request, mapping_set_id)
    response = render(request, "mappings/_status.html", {"mapping_set": mapping_set, "polling": True})
    if not mapping_set.is_drafting and request.GET.get("was") in ("queued", "running"):
        response["HX-Refresh"] = "true"
    return response


@login_required
@require_POST
def mapping_draft(request, mapping_set_id: int):
    mapping_set = _set_or_404(request, mapping_set_id)
    use_llm = request.POST.get("use_llm") == "1"
    try:
        services.mapping_set_draft_request(mapping_set=mapping_set, actor=request.user, use_llm=use_llm,
                                           payload_sha256=request.POST.get("payload_sha256", ""))
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("mappings:llm" if use_llm else "mappings:detail", mapping_set.pk)
    messages.success(request, "Asking the model about the uncertain rows…" if use_llm else "Drafting…")
    return redirect("mappings:detail", mapping_set.pk)


def _row_response(request, mapping_set: MappingSet, row: MappingRow, *, error: str = ""):
    if _is_htmx(request):
        row.problem = None
        return render(request, "mappings/_row.html", {"row": row, "mapping_set": mapping_set, "error": error,
                                                      "auto_accept": AUTO_ACCEPT})
    if error:
        messages.error(request, error)
    return redirect(reverse("mappings:detail", args=[mapping_set.pk]) + f"#row-{row.pk}")


def _edit_form(mapping_set, row, data=None):
    transforms = FIELD_TRANSFORMS if row.kind == Kind.FIELD else []
    initial = {"target": row.target or "", "transform": row.transform,
               "missing_level": (row.options or {}).get("missing_level", ""),
               "transition_path": ", ".join((row.options or {}).get("transition_path", [])),
               "departed": (row.options or {}).get("departed", "")}
    targets = services.mapping_field_choices(mapping_set=mapping_set, row=row)
    if row.target and row.target not in {t for t, _ in targets}:
        targets = [(row.target, row.target_label or row.target)] + targets
    return RowEditForm(data, initial=initial, targets=targets, transforms=transforms,
                       inactive_allowed=mapping_set.destination_kind in DEPARTED_INACTIVE_KINDS)


@login_required
def mapping_row_edit(request, mapping_set_id: int, row_id: int):
    mapping_set = _set_or_404(request, mapping_set_id)
    row = _row_or_404(mapping_set, row_id)
    form = _edit_form(mapping_set, row, request.POST or None)
    error = ""
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        options = {}
        if row.kind == Kind.TYPE and data["missing_level"]:
            options["missing_level"] = data["missing_level"]
        if row.kind == Kind.STATE:
            options["transition_path"] = [s.strip() for s in data["transition_path"].split(",") if s.strip()]
        if row.kind == Kind.PERSON:
            options["departed"] = data["departed"] if not data["target"] else ""
        try:
            row = services.mapping_row_decide(row=row, actor=request.user, decision="edit", target=data["target"],
                                              transform=data["transform"] or None, options=options or None)
        except ApplicationError as exc:
            error = exc.message
        else:
            return _row_response(request, mapping_set, row)
    template = "mappings/_row_edit.html" if _is_htmx(request) else "mappings/row_edit.html"
    return render(request, template, {"row": row, "form": form, "mapping_set": mapping_set, "error": error})


@login_required
@require_POST
def mapping_row_decide(request, mapping_set_id: int, row_id: int):
    mapping_set = _set_or_404(request, mapping_set_id)
    row = _row_or_404(mapping_set, row_id)
    decision = request.POST.get("decision", "")
    if decision not in ("accept", "reject"):
        return _row_response(request, mapping_set, row, error="Choose accept or reject.")
    try:
        row = services.mapping_row_decide(row=row, actor=request.user, decision=decision)
    except ApplicationError as exc:
        return _row_response(request, mapping_set, row, error=exc.message)
    return _row_response(request, mapping_set, row)


@login_required
@require_POST
def mapping_accept_above(request, mapping_set_id: int):
    mapping_set = _set_or_404(request, mapping_set_id)
    form = AcceptAboveForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Accept in bulk from a confidence between 0.5 and 1.")
    else:
        try:
            count = services.mapping_rows_accept_above(mapping_set=mapping_set, actor=request.user,
                                                       confidence=form.cleaned_data["confidence"],
                                                       kind=form.cleaned_data["kind"] or None)
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, f"Accepted {count} rows at or above {form.cleaned_data['confidence']:.2f}.")
    return redirect("mappings:detail", mapping_set.pk)


@login_required
@require_POST
def mapping_options(request, mapping_set_id: int):
    mapping_set = _set_or_404(request, mapping_set_id)
    _, destination = selectors.mapping_set_catalogs(mapping_set)
    people = [(p.source_id, p.display_name or p.source_id) for p in destination.people if p.active]
    form = OptionsForm(request.POST, people=people)
    if not form.is_valid():
        messages.error(request, "Choose a default person from the destination's accounts.")
    else:
        try:
            services.mapping_set_update(mapping_set=mapping_set, actor=request.user, **form.cleaned_data)
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, "Saved the options.")
    return redirect("mappings:detail", mapping_set.pk)


@login_required
@require_POST
def mapping_approve(request, mapping_set_id: int):
    mapping_set = _set_or_404(request, mapping_set_id)
    try:
        version = services.mapping_set_approve(mapping_set=mapping_set, actor=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect(reverse("mappings:detail", args=[mapping_set.pk]) + "?show=attention")
    messages.success(request, f"Approved version {version.number}. Runs use this frozen version.")
    return redirect("mappings:version", mapping_set.pk, version.number)


@login_required
def mapping_llm(request, mapping_set_id: int):
    """Exactly what would be sent to the outside model, the consent gate, and the button that sends it."""
    mapping_set = _set_or_404(request, mapping_set_id)
    questions = services.mapping_set_llm_preview(mapping_set=mapping_set)
    config = services.llm_config()
    return render(request, "mappings/llm.html", {
        "mapping_set": mapping_set, "config": config, "is_admin": _is_admin(request),
        "payload_text": json.dumps(questions.payload, indent=2, ensure_ascii=False, sort_keys=True),
        "payload_sha256": questions.sanitised.sha256, "question_count": len(questions.payload["questions"]),
        "removed": questions.sanitised.removal_counts(),
        "consent_form": ConsentForm(initial={"categories": mapping_set.llm_consent_categories}),
    })


@login_required
@require_POST
def mapping_consent(request, mapping_set_id: int):
    mapping_set = _set_or_404(request, mapping_set_id)
    try:
        if request.POST.get("withdraw") == "1":
            services.mapping_set_consent_withdraw(mapping_set=mapping_set, actor=request.user)
            messages.success(request, "Consent withdrawn: nothing of this mapping will be sent to a model.")
        else:
            form = ConsentForm(request.POST)
            if not form.is_valid():
                raise ApplicationError("Choose only the categories offered.")
            services.mapping_set_consent_give(mapping_set=mapping_set, actor=request.user,
                                              categories=form.cleaned_data["categories"])
            messages.success(request, "Consent recorded for this mapping.")
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect("mappings:llm", mapping_set.pk)


@login_required
@require_GET
def mapping_export(request, mapping_set_id: int):
    mapping_set = _set_or_404(request, mapping_set_id)
    document = services.mapping_set_export(mapping_set=mapping_set, actor=request.user)
    return _json_download(document, f"mapping-{mapping_set.pk}.json")


def _json_download(document: dict, filename: str) -> HttpResponse:
    response = HttpResponse(json.dumps(document, indent=2, ensure_ascii=False), content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
@require_POST
def mapping_import(request, mapping_set_id: int):
    mapping_set = _set_or_404(request, mapping_set_id)
    form = ImportForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, "Choose a mapping file (JSON) to import.")
        return redirect("mappings:detail", mapping_set.pk)
    try:
        document = document_loads(form.cleaned_data["file"].read())
        report = services.mapping_set_import(mapping_set=mapping_set, actor=request.user, document=document)
    except DocumentInvalid as exc:
        messages.error(request, str(exc))
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Imported {report.applied} rows.")
        for skipped in report.skipped[:10]:
            messages.warning(request, f"Not applied: {skipped['kind']} {skipped['source']}: {skipped['reason']}")
        if len(report.skipped) > 10:
            messages.warning(request, f"…and {len(report.skipped) - 10} more rows not applied.")
    return redirect("mappings:detail", mapping_set.pk)


@login_required
@require_POST
def mapping_delete(request, mapping_set_id: int):
    mapping_set = _set_or_404(request, mapping_set_id)
    try:
        services.mapping_set_delete(mapping_set=mapping_set, actor=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("mappings:detail", mapping_set.pk)
    messages.success(request, f"Deleted {mapping_set.name}.")
    return redirect("mappings:list")


@login_required
def mapping_version(request, mapping_set_id: int, number: int):
    mapping_set = _set_or_404(request, mapping_set_id)
    try:
        version = mapping_set.versions.get(number=number)
    except MappingVersion.DoesNotExist:
        raise Http404("No such version.") from None
    if request.GET.get("download") == "1":
        return _json_download(version.content, f"mapping-{mapping_set.pk}-v{version.number}.json")
    return render(request, "mappings/version.html", {"mapping_set": mapping_set, "version": version,
                                                     "rows": version.content.get("rows", [])})
