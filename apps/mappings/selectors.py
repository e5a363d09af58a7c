"""Reads of mapping sets, rows and versions; every one scoped to an organisation, and the engine's plan."""

from django.db.models import Q, QuerySet

from apps.connections.connectors.base import Catalog
from apps.connections.connectors.serialise import catalog_from_dict
from apps.mappings.drafting.proposals import AUTO_ACCEPT, Kind, Transform
from apps.mappings.models import MappingRow, MappingSet, MappingVersion
from apps.mappings.plan import FieldRule, MappingPlan, TypeRule
from apps.mappings.validation import Issue, SetOptions, mapping_validate, workflow_path

KIND_ORDER = [Kind.TYPE, Kind.FIELD, Kind.STATE, Kind.VALUE, Kind.LINK_TYPE, Kind.ITERATION, Kind.AREA, Kind.TAG,
              Kind.PERSON]

# Filters of the review page ("what needs attention").
ATTENTION_FILTERS = {
    "all": "Everything",
    "attention": "Needs attention",
    "pending": "Not decided",
    "low": f"Confidence below {AUTO_ACCEPT:.2f}",
    "no_target": "No target",
    "warnings": "Lossy (warnings)",
    "llm": "Suggested by the model",
    "decided": "Decided",
}


def mapping_set_list(*, organisation) -> QuerySet[MappingSet]:
    return MappingSet.objects.for_organisation(organisation).select_related("created_by", "llm_consent_by")


def mapping_set_get(*, organisation, mapping_set_id) -> MappingSet:
    """Raises MappingSet.DoesNotExist for another organisation's set, exactly as for a missing one."""
    return mapping_set_list(organisation=organisation).get(pk=mapping_set_id)


def mapping_row_list(*, mapping_set: MappingSet, kind: str | None = None, show: str = "all",
                     issues: list[Issue] | None = None) -> QuerySet[MappingRow]:
    qs = mapping_set.rows.all()
    if kind:
        qs = qs.filter(kind=kind)
    if show == "pending":
        qs = qs.filter(decision=MappingRow.Decision.PENDING)
    elif show == "decided":
        qs = qs.exclude(decision=MappingRow.Decision.PENDING)
    elif show == "low":
        qs = qs.filter(confidence__lt=AUTO_ACCEPT)
    elif show == "no_target":
        qs = qs.filter(Q(target__isnull=True) | Q(decision=MappingRow.Decision.REJECTED))
    elif show == "warnings":
        qs = qs.exclude(warnings=[])
    elif show == "llm":
        qs = qs.filter(layer="llm")
    elif show == "attention":
        # Undecided rows that are not sure, and every row an error names.
        flagged = {i.row_key() for i in issues or [] if i.level == "error" and i.row_key()}
        ids = [r.pk for r in qs if r.key() in flagged]
        qs = qs.filter(Q(pk__in=ids) | Q(decision=MappingRow.Decision.PENDING, confidence__lt=AUTO_ACCEPT)
                       | Q(decision=MappingRow.Decision.PENDING, target__isnull=True))
    return qs.order_by("position", "id")


def mapping_row_get(*, mapping_set: MappingSet, row_id) -> MappingRow:
    return mapping_set.rows.get(pk=row_id)


def mapping_set_catalogs(mapping_set: MappingSet) -> tuple[Catalog, Catalog]:
    return catalog_from_dict(mapping_set.source_schema), catalog_from_dict(mapping_set.destination_schema)


def mapping_set_issues(mapping_set: MappingSet, rows=None) -> list[Issue]:
    source, destination = mapping_set_catalogs(mapping_set)
    return mapping_validate(
        rows=rows if rows is not None else mapping_set.rows.all(),
        source=source, destination=destination,
        options=SetOptions(default_person=mapping_set.default_person, areas_as_labels=mapping_set.areas_as_labels,
                           destination_kind=mapping_set.destination_kind),
        workflows=mapping_set.destination_workflows,
    )


def mapping_set_summary(mapping_set: MappingSet) -> dict:
    """Counts for the review page's header: rows by decision and by kind."""
    rows = list(mapping_set.rows.all())
    by_kind: dict[str, dict[str, int]] = {}
    for row in rows:
        entry = by_kind.setdefault(row.kind, {"total": 0, "pending": 0})
        entry["total"] += 1
        entry["pending"] += row.decision == MappingRow.Decision.PENDING
    return {
        "total": len(rows),
        "pending": sum(r.decision == MappingRow.Decision.PENDING for r in rows),
        "accepted": sum(r.decision in (MappingRow.Decision.ACCEPTED, MappingRow.Decision.EDITED) for r in rows),
        "rejected": sum(r.decision == MappingRow.Decision.REJECTED for r in rows),
        "by_kind": [(k.value, by_kind[k.value]) for k in KIND_ORDER if k.value in by_kind],
    }


def mapping_version_list(*, mapping_set: MappingSet) -> QuerySet[MappingVersion]:
    return mapping_set.versions.select_related("approved_by").order_by("-number")


def mapping_version_get(*, organisation, version_id) -> MappingVersion:
    """Raises MappingVersion.DoesNotExist for another organisation's version."""
    return MappingVersion.objects.for_organisation(organisation).select_related("mapping_set").get(pk=version_id)


def mapping_version_latest(*, mapping_set: MappingSet) -> MappingVersion | None:
    return mapping_set.versions.order_by("-number").first()


def mapping_version_plan(version: MappingVersion) -> MappingPlan:
    """What the engine needs of an approved version, as plain data (see plan.py). Built only from the frozen
    content, so it is the same for every run that uses this version."""
    return mapping_plan_from_document(version.content, version_id=version.pk)


def mapping_plan_from_document(document: dict, *, version_id: int) -> MappingPlan:
    rows = document.get("rows", [])
    options = document.get("options", {})
    workflows = document.get("workflows") or {}
    values: dict[str, dict[str, str | None]] = {}
    for row in rows:
        if row["kind"] == Kind.VALUE:
            values.setdefault(row.get("scope", ""), {})[row["source"]] = row.get("target")
    types, fields, states, state_paths = {}, {}, {}, {}
    people, iterations, areas, link_types, tags, departed = {}, {}, {}, {}, {}, {}
    type_targets = {r["source"]: r.get("target") for r in rows if r["kind"] == Kind.TYPE}
    for row in rows:
        kind, source, target = row["kind"], row["source"], row.get("target")
        scope, row_options = row.get("scope", ""), row.get("options") or {}
        if kind == Kind.TYPE:
            types[source] = TypeRule(source_type=source, target_type=target,
                                     missing_level=row_options.get("missing_level") or "flatten")
        elif kind == Kind.FIELD:
            transform = Transform(row["transform"]) if row.get("transform") else (
                Transform.COPY if target else Transform.DROP)
            fields[source] = FieldRule(source_field=source, target_field=target, transform=transform,
                                       values=values.get(source, {}) if transform == Transform.MAP_VALUES else {})
        elif kind == Kind.STATE and target:
            states[(scope, source)] = target
            path = row_options.get("transition_path")
            workflow = workflows.get(type_targets.get(scope) or "")
            if not path and workflow:
                path = workflow_path(workflow, target)
            if path:
                state_paths[(scope, source)] = tuple(path)
        elif kind == Kind.PERSON:
            people[source] = target
            if not target and row_options.get("departed"):
                departed[source] = row_options["departed"]
        elif kind == Kind.ITERATION and target:
            iterations[source] = target
        elif kind == Kind.AREA and target:
            areas[source] = target
        elif kind == Kind.LINK_TYPE:
            link_types[source] = target
        elif kind == Kind.TAG and target:
            tags[source] = target
    return MappingPlan(
        version_id=version_id,
        source_kind=document["source"]["kind"],
        destination_kind=document["destination"]["kind"],
        source_project=document["source"].get("project", ""),
        destination_project=document["destination"].get("project", ""),
        types=types, fields=fields, states=states, people=people,
        default_person=options.get("default_person") or None, departed=departed,
        iterations=iterations, areas=areas, areas_as_labels=bool(options.get("areas_as_labels")),
        link_types=link_types, tags=tags, state_paths=state_paths,
        comments=options.get("comments", True), attachments=options.get("attachments", True),
        links=options.get("links", True), history=options.get("history", True),
    )
