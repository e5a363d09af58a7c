"""Reads on the local Azure DevOps: projects, the acting identity, history replay and WIQL."""

from __future__ import annotations

import uuid

from apps.sandbox.ado import errors
from apps.sandbox.ado.models import AdoIdentity, AdoProject, AdoUpdate, AdoWorkItem
from apps.sandbox.ado.render import parse_iso
from apps.sandbox.ado.wiql import MAX_RESULTS, Evaluator, parse, project_prefilter
from apps.sandbox.ado.wit import all_fields
from apps.sandbox.machinery import VendorError


def project_get(*, site, name_or_id: str) -> AdoProject:
    projects = AdoProject.objects.filter(site=site)
    project = None
    try:
        project = projects.filter(guid=uuid.UUID(str(name_or_id))).first()
    except ValueError:
        pass
    project = project or projects.filter(name__iexact=name_or_id).first()
    if project is None:
        raise errors.project_not_found(name_or_id)
    return project


def actor_for_token(*, site, token) -> AdoIdentity:
    """The identity a PAT acts as (its principal's e-mail), made on first use."""
    principal = (token.principal if token else None) or {}
    unique_name = principal.get("unique_name") or "sandbox.admin@migrayt.local"
    identity, _ = AdoIdentity.objects.get_or_create(
        site=site, unique_name=unique_name,
        defaults={"display_name": principal.get("display_name") or unique_name.split("@")[0]},
    )
    return identity


def work_item_history(item: AdoWorkItem, *, until_rev: int | None = None, as_of=None) -> list[dict]:
    """Every revision of an item as {rev, fields, relations, date}, replayed from its updates."""
    fields: dict = {}
    relations: list = []
    out = []
    updates = AdoUpdate.objects.filter(work_item=item).order_by("rev")
    if until_rev is not None:
        updates = updates.filter(rev__lte=until_rev)
    if as_of is not None:
        updates = updates.filter(revised_date__lte=as_of)
    for update in updates:
        for ref, change in update.fields.items():
            if "newValue" in change:
                fields[ref] = change["newValue"]
            else:
                fields.pop(ref, None)
        for gone in update.relations.get("removed", []):
            relations = [r for r in relations if not _same(r, gone)]
        relations.extend(update.relations.get("added", []))
        snapshot = {k: v for k, v in fields.items() if k != "System.History" or "System.History" in update.fields}
        fields.pop("System.History", None)
        out.append({"rev": update.rev, "fields": snapshot, "relations": list(relations), "date": update.revised_date})
    return out


def _same(a, b):
    return a["rel"] == b["rel"] and any(k in a and a.get(k) == b.get(k) for k in ("target_id", "attachment_guid", "url"))


def wiql_run(*, site, text: str, project: AdoProject | None, me: dict, top: int | None, time_precision: bool):
    query = parse(text)
    fields_def = all_fields(site)
    evaluator = Evaluator(fields_def=fields_def, project_name=project.name if project else None, me=me,
                          time_precision=time_precision)
    evaluator.check(query.where)
    columns = [evaluator.ref(c) for c in query.columns]
    order = [(evaluator.ref(name), desc) for name, desc in query.order] or [("System.Id", False)]

    rows = AdoWorkItem.objects.filter(site=site, is_deleted=False)
    limited_to = project_prefilter(query.where)
    if limited_to is not None:
        name = evaluator.resolve(limited_to, "System.TeamProject", {})
        rows = rows.filter(project__name__iexact=str(name))
    # One JSON parse per item is faster than extracting each field in SQL (SQLite re-parses per key).
    matched = [(item_id, fields) for item_id, fields in rows.values_list("item_id", "fields").iterator(chunk_size=2000)
               if evaluator.matches(query.where, fields)]
    for ref, descending in reversed(order):
        matched.sort(key=lambda row, r=ref: evaluator.sort_key(r, row[1]), reverse=descending)
    if top is not None:
        matched = matched[:top]
    elif len(matched) > MAX_RESULTS:
        raise VendorError(400, f"VS402337: The number of work items returned exceeds the size limit of {MAX_RESULTS}. "
                               "Change the query to return fewer work items.", type_key="WorkItemTrackingQueryResultSizeLimitExceededException")
    return columns, order, [item_id for item_id, _ in matched]


def as_of_datetime(value: str | None):
    if not value:
        return None
    parsed = parse_iso(value)
    if parsed is None:
        raise errors.bad_request(f"VS403357: The asOf value '{value}' is not a date.")
    return parsed
