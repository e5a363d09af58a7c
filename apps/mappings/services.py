"""Mapping sets: create them from two scans, draft them (offline layers, then the model with consent),
decide each row, approve a frozen version, export and import them.

Every write leaves an audit row saying what was mapped and by whom, or by which model; a call to a model
is audited with the sha256 of exactly what was sent, never the content.
"""

import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.accounts.selectors import membership_for
from apps.catalog import selectors as catalog_selectors
from apps.catalog.models import Scan
from apps.connections.connectors.serialise import SerialisationError
from apps.core.exceptions import ApplicationError
from apps.core.services import actor_kind_of as _actor_kind
from apps.core.services import audit_record
from apps.mappings import selectors
from apps.mappings.document import DocumentInvalid, document_check, document_sha256, mapping_document
from apps.mappings.drafting.drafter import mapping_draft, values_draft
from apps.mappings.drafting.llm import LlmConfig, LlmError, Questions, llm_questions, llm_refine
from apps.mappings.drafting.proposals import Kind, Proposal, Transform
from apps.mappings.models import MappingRow, MappingSet, MappingVersion
from apps.mappings.sanitise import CONSENTABLE, Category
from apps.mappings.validation import (
    DEPARTED_CHOICES,
    DEPARTED_INACTIVE_KINDS,
    ERROR,
    MISSING_LEVEL_CHOICES,
    field_candidates,
    target_check,
)

logger = logging.getLogger(__name__)

SUPPORTED_KINDS = ("azure_devops", "jira_cloud", "jira_data_center")
_UNSET = object()


def _user(actor):
    return actor if getattr(actor, "is_authenticated", False) else None


# --- the model's settings ----------------------------------------------------------------------------


def llm_config() -> LlmConfig | None:
    """The outside model, from OPENAI_BASE_URL / OPENAI_API_KEY / MIGRAYT_LLM_MODEL; None (off) unless both the
    key and the model are set."""
    if not (settings.MAPPING_LLM_API_KEY and settings.MAPPING_LLM_MODEL):
        return None
    return LlmConfig(base_url=settings.MAPPING_LLM_BASE_URL, api_key=settings.MAPPING_LLM_API_KEY,
                     model=settings.MAPPING_LLM_MODEL, timeout_s=settings.MAPPING_LLM_TIMEOUT_SECONDS)


# --- create, change, delete --------------------------------------------------------------------------


def _scan_for(organisation, scan_id, which: str) -> Scan:
    try:
        scan = catalog_selectors.scan_get(organisation=organisation, scan_id=scan_id)
    except (Scan.DoesNotExist, ValueError, TypeError):
        raise ApplicationError(f"No such {which} scan in this organisation.",
                               extra={"field": f"{which}_scan_id"}) from None
    if scan.status != Scan.Status.DONE or not scan.schema:
        raise ApplicationError(f"The {which} scan of {scan.project_key} has not finished; map from a finished scan.",
                               extra={"field": f"{which}_scan_id"})
    if scan.connection_kind not in SUPPORTED_KINDS:
        raise ApplicationError(f"The {which} scan does not say which system it came from.",
                               extra={"field": f"{which}_scan_id"})
    return scan


def _save(mapping_set: MappingSet) -> None:
    try:
        with transaction.atomic():
            mapping_set.save()
    except IntegrityError:
        raise ApplicationError("There is already a mapping with this name. Choose another name.",
                               extra={"field": "name"}) from None


@transaction.atomic
def mapping_set_create(*, organisation, actor, name: str, source_scan_id, destination_scan_id,
                       draft: bool = True, actor_kind: str | None = None) -> MappingSet:
    name = (name or "").strip()
    if not name:
        raise ApplicationError("Give the mapping a name.", extra={"field": "name"})
    source = _scan_for(organisation, source_scan_id, "source")
    destination = _scan_for(organisation, destination_scan_id, "destination")
    if source.pk == destination.pk:
        raise ApplicationError("The source and the destination are the same scan; choose the project you migrate to.",
                               extra={"field": "destination_scan_id"})
    try:
        catalog_selectors.catalog_schema(source)
        catalog_selectors.catalog_schema(destination)
    except SerialisationError as exc:
        raise ApplicationError(f"A scan's schema cannot be read: {exc}. Scan the project again.") from None
    mapping_set = MappingSet(
        organisation=organisation, name=name, source_scan=source, destination_scan=destination,
        source_kind=source.connection_kind, destination_kind=destination.connection_kind,
        source_project=source.project_name or source.project_key,
        destination_project=destination.project_name or destination.project_key,
        source_schema=source.schema, destination_schema=destination.schema, created_by=_user(actor),
    )
    _save(mapping_set)
    audit_record(organisation=organisation, actor=actor, actor_kind=_actor_kind(actor, actor_kind),
                 action="mapping.created", target=mapping_set,
                 data={"source_scan": source.pk, "destination_scan": destination.pk,
                       "direction": mapping_set.direction})
    if draft:
        mapping_set = mapping_set_draft_request(mapping_set=mapping_set, actor=actor, actor_kind=actor_kind)
    return mapping_set


OPTION_FIELDS = ("default_person", "areas_as_labels", "comments", "attachments", "links", "history")


@transaction.atomic
def mapping_set_update(*, mapping_set: MappingSet, actor, actor_kind: str | None = None, **changes) -> MappingSet:
    changed = []
    if "name" in changes and changes["name"] is not None:
        name = changes["name"].strip()
        if not name:
            raise ApplicationError("Give the mapping a name.", extra={"field": "name"})
        if name != mapping_set.name:
            mapping_set.name = name
            changed.append("name")
    if changes.get("default_person") is not None:
        person = changes["default_person"].strip()
        if person:
            _, destination = selectors.mapping_set_catalogs(mapping_set)
            problem = target_check(kind=Kind.PERSON, scope="", target=person, source=destination,
                                   destination=destination)
            if problem:
                raise ApplicationError(f"Default person: {problem}", extra={"field": "default_person"})
        if person != mapping_set.default_person:
            mapping_set.default_person = person
            changed.append("default_person")
    for flag in OPTION_FIELDS[1:]:
        value = changes.get(flag)
        if value is not None and bool(value) != getattr(mapping_set, flag):
            setattr(mapping_set, flag, bool(value))
            changed.append(flag)
    if not changed:
        return mapping_set
    mapping_set.updated_at = timezone.now()
    _save(mapping_set)
    audit_record(organisation=mapping_set.organisation, actor=actor, actor_kind=_actor_kind(actor, actor_kind),
                 action="mapping.updated", target=mapping_set, data={"changed": changed})
    return mapping_set


@transaction.atomic
def mapping_set_delete(*, mapping_set: MappingSet, actor, actor_kind: str | None = None) -> None:
    if mapping_set.versions.exists():
        raise ApplicationError("This mapping has approved versions, which runs may use: it cannot be deleted.",
                               status_code=409)
    audit_record(organisation=mapping_set.organisation, actor=actor, actor_kind=_actor_kind(actor, actor_kind),
                 action="mapping.deleted", target=mapping_set, data={"name": mapping_set.name})
    mapping_set.delete()


# --- drafting ----------------------------------------------------------------------------------------


def mapping_set_draft_request(*, mapping_set: MappingSet, actor, use_llm: bool = False, payload_sha256: str = "",
                              actor_kind: str | None = None) -> MappingSet:
    """Queue a draft. With `use_llm`, the model is asked about the uncertain rows, and only if the model is
    configured, an organisation admin consented for this set, and `payload_sha256` is the hash of the
    payload the person was shown (so what is sent is exactly what they saw)."""
    from apps.mappings.tasks import mapping_set_draft_task

    with transaction.atomic():
        mapping_set = MappingSet.objects.for_organisation(mapping_set.organisation).select_for_update().get(
            pk=mapping_set.pk)
        if mapping_set.is_drafting:
            raise ApplicationError("A draft is already being made for this mapping; wait for it to finish.",
                                   status_code=409)
        if use_llm:
            questions = _llm_gate(mapping_set)
            if not payload_sha256 or payload_sha256 != questions.sanitised.sha256:
                raise ApplicationError("What would be sent has changed since it was shown (or was not looked at): "
                                       "look at the payload again, then send it.",
                                       extra={"field": "payload_sha256", "payload_sha256": questions.sanitised.sha256})
            if not questions.payload["questions"]:
                raise ApplicationError("Every undecided row is already certain: there is nothing to ask the model.")
        mapping_set.draft_status = MappingSet.DraftStatus.QUEUED
        mapping_set.draft_message = ""
        mapping_set.draft_requested_at = timezone.now()
        mapping_set.llm_requested_sha256 = payload_sha256 if use_llm else ""
        mapping_set.save(update_fields=["draft_status", "draft_message", "draft_requested_at",
                                        "llm_requested_sha256"])
        audit_record(organisation=mapping_set.organisation, actor=actor, actor_kind=_actor_kind(actor, actor_kind),
                     action="mapping.draft_requested", target=mapping_set,
                     data={"layers": "llm" if use_llm else "offline",
                           **({"payload_sha256": payload_sha256} if use_llm else {})})
        mapping_set_draft_task.delay_on_commit(mapping_set_id=mapping_set.pk, use_llm=use_llm)
    return mapping_set


def _llm_gate(mapping_set: MappingSet) -> Questions:
    if llm_config() is None:
        raise ApplicationError("No outside model is configured (OPENAI_API_KEY and MIGRAYT_LLM_MODEL); the offline "
                               "draft is what there is.")
    if not mapping_set.has_llm_consent:
        raise ApplicationError("An owner or admin of the organisation must agree, for this mapping, before anything "
                               "is sent to an outside model.", status_code=403)
    return mapping_set_llm_preview(mapping_set=mapping_set)


def _names_only(left: list[str], right: list[str]):
    # Without the local model, only names that read the same match (the matcher treats those as certain).
    return [[0.0] * len(right) for _ in left]


def mapping_set_draft_run(*, mapping_set_id: int, use_llm: bool = False) -> None:
    """What the drafting task does (ids in): the offline layers over the set's schemas, or the model over the
    undecided rows. Re-running is harmless: decided rows are never changed by a draft."""
    mapping_set = MappingSet.unscoped.filter(pk=mapping_set_id).first()
    if mapping_set is None:
        return
    MappingSet.unscoped.filter(pk=mapping_set.pk).update(draft_status=MappingSet.DraftStatus.RUNNING)
    try:
        message = _model_refine(mapping_set) if use_llm else _offline_draft(mapping_set)
        status = MappingSet.DraftStatus.DONE
    except Exception:
        logger.exception("mapping set %s: drafting failed", mapping_set.pk)
        status = MappingSet.DraftStatus.FAILED
        message = "The draft could not be made because of an error on our side. It has been logged; try again."
    MappingSet.unscoped.filter(pk=mapping_set.pk).update(draft_status=status, draft_message=message,
                                                         drafted_at=timezone.now(), llm_requested_sha256="")


def _with_local_model(draft, **kwargs):
    """Run a drafting function with the local model, or, where it is not installed, with names alone.
    Returns (result, degraded)."""
    from apps.mappings.drafting.embeddings import EmbeddingModelUnavailable

    try:
        return draft(**kwargs), False
    except EmbeddingModelUnavailable:
        return draft(**kwargs, similarity=_names_only), True


def _offline_draft(mapping_set: MappingSet) -> str:
    source, destination = selectors.mapping_set_catalogs(mapping_set)
    proposals, degraded = _with_local_model(mapping_draft, source=source, destination=destination,
                                            source_kind=mapping_set.source_kind,
                                            destination_kind=mapping_set.destination_kind)
    note = " The local model is not installed here, so only knowledge and identical names were used." if degraded else ""
    _missing_level_defaults(proposals, source, destination)
    counts = _rows_apply(mapping_set, proposals)
    layers: dict[str, int] = {}
    for p in proposals:
        layers[p.layer] = layers.get(p.layer, 0) + 1
    audit_record(organisation=mapping_set.organisation, actor=None, actor_kind="system", action="mapping.drafted",
                 target=mapping_set, data={"layers": layers, **counts})
    return (f"Drafted {len(proposals)} rows ({', '.join(f'{n} {layer}' for layer, n in sorted(layers.items()))}); "
            f"{counts['kept']} rows you had decided were kept.{note}")


def _model_refine(mapping_set: MappingSet) -> str:
    config = llm_config()
    if config is None or not mapping_set.has_llm_consent:
        return "Nothing was sent: the model is off or consent was withdrawn. The offline draft stands."
    questions = mapping_set_llm_preview(mapping_set=mapping_set)
    sha = questions.sanitised.sha256
    if sha != mapping_set.llm_requested_sha256:
        return ("Nothing was sent: the rows changed after the payload was shown. Look at the payload again and "
                "send it. The offline draft stands.")
    audit_record(organisation=mapping_set.organisation, actor=None, actor_kind="system", action="mapping.llm_sent",
                 target=mapping_set,
                 data={"model": config.model, "payload_sha256": sha, "questions": len(questions.payload["questions"]),
                       "removed": questions.sanitised.removal_counts(),
                       "consent": list(mapping_set.llm_consent_categories)})
    try:
        improved = llm_refine(config=config, questions=questions)
    except LlmError as exc:
        audit_record(organisation=mapping_set.organisation, actor=None, actor_kind=f"model:{config.model}"[:40],
                     action="mapping.llm_refused", target=mapping_set,
                     data={"payload_sha256": sha, "reason": type(exc).__name__})
        return str(exc)
    changed = []
    with transaction.atomic():
        rows = {r.key(): r for r in mapping_set.rows.select_for_update().filter(decision=MappingRow.Decision.PENDING)}
        for p in improved:
            row = rows.get((str(p.kind), p.scope, p.source))
            if row is None:
                continue  # decided meanwhile: a person's decision stands
            row.target, row.target_label = p.target, _target_label(mapping_set, p.kind, p.target)
            row.confidence, row.reason, row.layer = p.confidence, p.reason, "llm"
            row.proposed_target, row.proposed_layer = p.target, "llm"
            row.save(update_fields=["target", "target_label", "confidence", "reason", "layer", "proposed_target",
                                    "proposed_layer"])
            changed.append({"kind": row.kind, "scope": row.scope, "source": row.source, "target": row.target})
    audit_record(organisation=mapping_set.organisation, actor=None, actor_kind=f"model:{config.model}"[:40],
                 action="mapping.llm_proposed", target=mapping_set,
                 data={"payload_sha256": sha, "rows": changed[:200], "count": len(changed)})
    return (f"The model answered {len(questions.payload['questions'])} questions and changed {len(changed)} "
            "proposals; they are marked 'llm' and need your decision.")


def _target_label(mapping_set: MappingSet, kind, target) -> str:
    if not target:
        return ""
    _, destination = selectors.mapping_set_catalogs(mapping_set)
    names = {
        Kind.TYPE: {t.source_id: t.name for t in destination.work_item_types},
        Kind.FIELD: {f.source_id: f.name for f in destination.fields},
        Kind.LINK_TYPE: {lt.source_id: lt.name for lt in destination.link_types},
        Kind.ITERATION: {i.source_id: i.name for i in destination.iterations},
        Kind.AREA: {a.source_id: a.name for a in destination.areas},
        Kind.PERSON: {p.source_id: p.display_name for p in destination.people},
    }.get(Kind(kind), {})
    if str(target).startswith("create:"):
        return str(target)[len("create:"):]
    return names.get(target, str(target))


def _missing_level_defaults(proposals: list[Proposal], source, destination) -> None:
    """A source level whose items land on the same destination level as their children's (ADO Epic and
    Feature both as Jira epics) keeps its parent links as plain links unless the person chooses otherwise."""
    src_levels = {t.source_id: t.hierarchy_level for t in source.work_item_types}
    dst_levels = {t.source_id: t.hierarchy_level for t in destination.work_item_types}
    typed = [p for p in proposals if p.kind == Kind.TYPE and p.target in dst_levels and p.source in src_levels]
    for parent in typed:
        for child in typed:
            if src_levels[child.source] < src_levels[parent.source] and \
                    dst_levels[child.target] >= dst_levels[parent.target]:
                parent.options = {"missing_level": "link"}  # type: ignore[attr-defined]
                break


def _rows_apply(mapping_set: MappingSet, proposals: list[Proposal]) -> dict:
    """Store a draft: new rows are made, undecided rows take the new proposal, decided rows stay as the
    person left them (their `proposed_*` is refreshed), rows for elements the draft no longer has go."""
    created = updated = kept = 0
    with transaction.atomic():
        existing = {r.key(): r for r in mapping_set.rows.select_for_update()}
        seen = set()
        for position, p in enumerate(proposals):
            key = (str(p.kind), p.scope, p.source)
            if key in seen:
                continue
            seen.add(key)
            row = existing.get(key)
            values = dict(
                source_label=p.source_label[:255], target=p.target, target_label=(p.target_label or "")[:255],
                transform=str(p.transform) if p.transform else "", confidence=float(p.confidence),
                reason=p.reason, layer=p.layer, warnings=list(p.warnings),
                options=getattr(p, "options", {}) or {}, proposed_target=p.target, proposed_layer=p.layer,
                position=position,
            )
            if row is None:
                MappingRow.objects.create(organisation=mapping_set.organisation, mapping_set=mapping_set,
                                          kind=str(p.kind), scope=p.scope, source=p.source, **values)
                created += 1
            elif row.is_decided:
                row.proposed_target, row.proposed_layer, row.position = p.target, p.layer, position
                row.save(update_fields=["proposed_target", "proposed_layer", "position"])
                kept += 1
            else:
                for name, value in values.items():
                    setattr(row, name, value)
                row.save()
                updated += 1
        stale = [r.pk for key, r in existing.items() if key not in seen and not r.is_decided and r.layer != "import"]
        if stale:
            mapping_set.rows.filter(pk__in=stale).delete()
    return {"created": created, "updated": updated, "kept": kept, "removed": len(stale)}


# --- the consent gate and the payload ----------------------------------------------------------------


def _row_proposal(row: MappingRow) -> Proposal:
    return Proposal(kind=Kind(row.kind), source=row.source, target=row.target, confidence=row.confidence,
                    reason=row.reason, layer=row.layer,
                    transform=Transform(row.transform) if row.transform else None, scope=row.scope,
                    source_label=row.source_label, target_label=row.target_label)


def mapping_set_llm_preview(*, mapping_set: MappingSet) -> Questions:
    """Exactly what would be sent to the model now: the undecided, uncertain rows about schema (never
    people), scrubbed by the sanitiser with the categories the organisation consented to."""
    source, destination = selectors.mapping_set_catalogs(mapping_set)
    proposals = []
    for r in mapping_set.rows.order_by("position", "id"):
        proposal = _row_proposal(r)
        if r.is_decided:
            # A person's decision is certain: never asked about, and its target is taken (the model is not
            # offered a destination field a decided row already fills; values see their field's target).
            proposal.target, proposal.confidence = r.effective_target, 1.0
        proposals.append(proposal)
    consent = frozenset(Category(c) for c in mapping_set.llm_consent_categories if c in CONSENTABLE)
    return llm_questions(proposals=proposals, source=source, destination=destination,
                         direction=mapping_set.direction, consent=consent)


def _require_admin(mapping_set: MappingSet, actor) -> None:
    membership = membership_for(user=actor, organisation=mapping_set.organisation) if _user(actor) else None
    if membership is None or not membership.is_admin:
        raise ApplicationError("Only an owner or admin of the organisation can agree to sending schema to an outside "
                               "model.", status_code=403)


@transaction.atomic
def mapping_set_consent_give(*, mapping_set: MappingSet, actor, categories=(), actor_kind: str | None = None) -> MappingSet:
    _require_admin(mapping_set, actor)
    wanted = []
    for c in categories or ():
        if c not in {x.value for x in CONSENTABLE}:
            raise ApplicationError(f"{c!r} cannot be consented to; choose from "
                                   f"{', '.join(x.value for x in CONSENTABLE)} (secrets are never sent).",
                                   extra={"field": "categories"})
        wanted.append(str(c))
    mapping_set.llm_consent_by = _user(actor)
    mapping_set.llm_consent_at = timezone.now()
    mapping_set.llm_consent_categories = sorted(set(wanted))
    mapping_set.save(update_fields=["llm_consent_by", "llm_consent_at", "llm_consent_categories"])
    audit_record(organisation=mapping_set.organisation, actor=actor, actor_kind=_actor_kind(actor, actor_kind),
                 action="mapping.llm_consent_given", target=mapping_set,
                 data={"categories": mapping_set.llm_consent_categories})
    return mapping_set


@transaction.atomic
def mapping_set_consent_withdraw(*, mapping_set: MappingSet, actor, actor_kind: str | None = None) -> MappingSet:
    _require_admin(mapping_set, actor)
    mapping_set.llm_consent_by = None
    mapping_set.llm_consent_at = None
    mapping_set.llm_consent_categories = []
    mapping_set.save(update_fields=["llm_consent_by", "llm_consent_at", "llm_consent_categories"])
    audit_record(organisation=mapping_set.organisation, actor=actor, actor_kind=_actor_kind(actor, actor_kind),
                 action="mapping.llm_consent_withdrawn", target=mapping_set)
    return mapping_set


# --- decisions ---------------------------------------------------------------------------------------


def _field_targets(mapping_set: MappingSet) -> dict[str, str | None]:
    return {r.source: r.effective_target for r in mapping_set.rows.filter(kind=Kind.FIELD)}


@transaction.atomic
def mapping_row_decide(*, row: MappingRow, actor, decision: str, target=_UNSET, transform: str | None = None,
                       options: dict | None = None, actor_kind: str | None = None) -> MappingRow:
    """Accept the proposal, reject it (nothing receives the element), or edit it (a new target, transform
    or options). An edit is checked against the destination's schema at once."""
    mapping_set = row.mapping_set
    if decision not in ("accept", "reject", "edit"):
        raise ApplicationError("Decide with accept, reject or edit.", extra={"field": "decision"})
    if decision == "edit":
        source, destination = selectors.mapping_set_catalogs(mapping_set)
        if target is not _UNSET:
            target = (target or "").strip() or None
            problem = target_check(kind=row.kind, scope=row.scope, target=target, source=source,
                                   destination=destination, field_rows=_field_targets(mapping_set))
            if problem:
                raise ApplicationError(problem, extra={"field": "target"})
            row.target = target
            row.target_label = _target_label(mapping_set, row.kind, target)
        if transform:
            _check_transform(row, transform, source, destination)
            row.transform = transform
        elif row.kind == Kind.FIELD and target is not _UNSET:
            row.transform = _default_transform(row, source, destination)
        if options is not None:
            row.options = _clean_options(row, options)
        retargeted = row.kind == Kind.FIELD and target is not _UNSET
        row.decision = MappingRow.Decision.EDITED
        row.layer = "person"
        row.confidence = 1.0
        row.reason = f"Chosen by {getattr(actor, 'email', 'a person')}." if _user(actor) else "Chosen by a person."
    elif decision == "accept":
        row.decision = MappingRow.Decision.ACCEPTED
    else:
        row.decision = MappingRow.Decision.REJECTED
    row.decided_by = _user(actor)
    row.decided_at = timezone.now()
    row.save()
    if decision == "edit" and retargeted:
        _values_redraft(mapping_set, row)
    audit_record(organisation=mapping_set.organisation, actor=actor, actor_kind=_actor_kind(actor, actor_kind),
                 action=f"mapping.row_{row.decision}", target=mapping_set,
                 data={"row": row.pk, "kind": row.kind, "scope": row.scope, "source": row.source,
                       "target": row.effective_target, "transform": row.transform,
                       "proposed_by": row.proposed_layer})
    return row


def _values_redraft(mapping_set: MappingSet, field_row: MappingRow) -> None:
    """Value rows follow their field: a field given a new target gets the values drafted for that target
    (undecided value rows of the old target go; decided ones stay, and validation says if they no longer fit)."""
    mapping_set.rows.filter(kind=Kind.VALUE, scope=field_row.source, decision=MappingRow.Decision.PENDING).delete()
    if not field_row.target or field_row.transform != Transform.MAP_VALUES:
        return
    source, destination = selectors.mapping_set_catalogs(mapping_set)
    proposals, _ = _with_local_model(values_draft, source=source, destination=destination,
                                     source_kind=mapping_set.source_kind,
                                     destination_kind=mapping_set.destination_kind,
                                     source_field=field_row.source, target_field=field_row.target)
    decided = set(mapping_set.rows.filter(kind=Kind.VALUE, scope=field_row.source).values_list("source", flat=True))
    MappingRow.objects.bulk_create([
        MappingRow(organisation=mapping_set.organisation, mapping_set=mapping_set, kind=Kind.VALUE, scope=p.scope,
                   source=p.source, source_label=p.source_label[:255], target=p.target,
                   target_label=(p.target_label or "")[:255], confidence=float(p.confidence), reason=p.reason,
                   layer=p.layer, proposed_target=p.target, proposed_layer=p.layer, position=field_row.position)
        for p in proposals if p.source not in decided
    ])


def _check_transform(row: MappingRow, transform: str, source, destination) -> None:
    if transform not in {t.value for t in Transform}:
        raise ApplicationError(f"Unknown transform {transform!r}.", extra={"field": "transform"})
    if row.kind != Kind.FIELD:
        return
    if transform in (Transform.DROP, Transform.HISTORY, Transform.JOIN_DESCRIPTION):
        if row.target:
            raise ApplicationError(f"'{transform}' writes no field: clear the target to use it.",
                                   extra={"field": "transform"})


def _default_transform(row: MappingRow, source, destination) -> str:
    from apps.mappings.drafting import knowledge as k

    if not row.target:
        return Transform.DROP.value
    sf = next((f for f in source.fields if f.source_id == row.source), None)
    tf = next((f for f in destination.fields if f.source_id == row.target), None)
    found = k.transform_between(sf, tf) if sf and tf else None
    if found is None:
        raise ApplicationError(f"'{row.source_label or row.source}' holds {sf.type if sf else 'unknown'} values and "
                               f"'{tf.name if tf else row.target}' holds {tf.type if tf else 'unknown'}: they cannot "
                               "be converted. Choose another field.", extra={"field": "target"})
    return found.value


def _clean_options(row: MappingRow, options: dict) -> dict:
    if not isinstance(options, dict):
        raise ApplicationError("Options are an object.", extra={"field": "options"})
    clean = dict(row.options or {})
    for key, value in options.items():
        if key == "missing_level" and row.kind == Kind.TYPE:
            if value not in MISSING_LEVEL_CHOICES:
                raise ApplicationError(f"A missing level is handled by {', '.join(MISSING_LEVEL_CHOICES)}.",
                                       extra={"field": "options.missing_level"})
            clean[key] = value
        elif key == "transition_path" and row.kind == Kind.STATE:
            if value in (None, []):
                clean.pop(key, None)
            elif not (isinstance(value, list) and all(isinstance(v, str) and v.strip() for v in value)
                      and len(value) <= 50):
                raise ApplicationError("A transition path is a list of status names, first to last.",
                                       extra={"field": "options.transition_path"})
            else:
                clean[key] = [v.strip() for v in value]
        elif key == "departed" and row.kind == Kind.PERSON:
            if value in (None, ""):
                clean.pop(key, None)
                continue
            if value not in DEPARTED_CHOICES:
                raise ApplicationError(f"A person with no account goes to one of {', '.join(DEPARTED_CHOICES)}.",
                                       extra={"field": "options.departed"})
            if value == "inactive_account" and row.mapping_set.destination_kind not in DEPARTED_INACTIVE_KINDS:
                raise ApplicationError("This destination refuses an inactive account as assignee or reporter (Jira "
                                       "only takes active accounts): choose the default person or keep the name as "
                                       "text.", extra={"field": "options.departed"})
            clean[key] = value
        else:
            raise ApplicationError(f"{row.kind} rows have no option {key!r}.", extra={"field": "options"})
    return clean


@transaction.atomic
def mapping_rows_accept_above(*, mapping_set: MappingSet, actor, confidence: float, kind: str | None = None,
                              actor_kind: str | None = None) -> int:
    try:
        confidence = float(confidence)
    except (TypeError, ValueError):
        raise ApplicationError("The confidence is a number between 0 and 1.", extra={"field": "confidence"}) from None
    if not 0.5 <= confidence <= 1:
        raise ApplicationError("Accept in bulk only from a confidence of 0.5 up to 1.", extra={"field": "confidence"})
    qs = mapping_set.rows.filter(decision=MappingRow.Decision.PENDING, confidence__gte=confidence)
    if kind:
        qs = qs.filter(kind=kind)
    count = qs.update(decision=MappingRow.Decision.ACCEPTED, decided_by=_user(actor), decided_at=timezone.now())
    audit_record(organisation=mapping_set.organisation, actor=actor, actor_kind=_actor_kind(actor, actor_kind),
                 action="mapping.rows_accepted", target=mapping_set,
                 data={"confidence_at_least": confidence, "kind": kind or "all", "count": count})
    return count


# --- approval ----------------------------------------------------------------------------------------


def mapping_set_approve(*, mapping_set: MappingSet, actor, actor_kind: str | None = None) -> MappingVersion:
    """Freeze the set as it stands into a new version, unless something blocks it (the ApplicationError's
    extra lists every error)."""
    with transaction.atomic():
        mapping_set = MappingSet.objects.for_organisation(mapping_set.organisation).select_for_update().get(
            pk=mapping_set.pk)
        if mapping_set.is_drafting:
            raise ApplicationError("A draft is being made; approve when it has finished.", status_code=409)
        rows = list(mapping_set.rows.order_by("position", "id"))
        if not rows:
            raise ApplicationError("There is nothing to approve yet: draft the mapping first.")
        issues = selectors.mapping_set_issues(mapping_set, rows)
        errors = [i for i in issues if i.level == ERROR]
        if errors:
            raise ApplicationError(
                f"{len(errors)} {'problem blocks' if len(errors) == 1 else 'problems block'} approval: "
                f"{errors[0].message}", extra={"errors": [i.as_dict() for i in errors[:200]]})
        content = mapping_document(mapping_set, rows)
        sha = document_sha256(content)
        latest = selectors.mapping_version_latest(mapping_set=mapping_set)
        if latest is not None and latest.content_sha256 == sha:
            raise ApplicationError(f"Nothing changed since version {latest.number}: it is still the approved mapping.",
                                   status_code=409, extra={"version": latest.number})
        version = MappingVersion.objects.create(
            organisation=mapping_set.organisation, mapping_set=mapping_set,
            number=(latest.number + 1) if latest else 1, content=content, content_sha256=sha,
            warnings=[i.as_dict() for i in issues if i.level != ERROR][:500], approved_by=_user(actor),
        )
        audit_record(organisation=mapping_set.organisation, actor=actor, actor_kind=_actor_kind(actor, actor_kind),
                     action="mapping.approved", target=mapping_set,
                     data={"version": version.number, "content_sha256": sha, "rows": len(rows),
                           "warnings": len(version.warnings)})
    return version


# --- export and import -------------------------------------------------------------------------------


def mapping_set_export(*, mapping_set: MappingSet, actor, actor_kind: str | None = None) -> dict:
    document = mapping_document(mapping_set, mapping_set.rows.order_by("position", "id"))
    audit_record(organisation=mapping_set.organisation, actor=actor, actor_kind=_actor_kind(actor, actor_kind),
                 action="mapping.exported", target=mapping_set, data={"sha256": document_sha256(document)})
    return document


@dataclass
class ImportReport:
    applied: int
    skipped: list[dict]
    not_in_document: int

    def as_dict(self) -> dict:
        return {"applied": self.applied, "skipped": self.skipped[:200], "skipped_count": len(self.skipped),
                "not_in_document": self.not_in_document}


def _family(kind: str) -> str:
    return "jira" if kind.startswith("jira") else kind


@transaction.atomic
def mapping_set_import(*, mapping_set: MappingSet, actor, document, actor_kind: str | None = None) -> ImportReport:
    """Apply a mapping exported from another set (the next project). Rows are matched on kind, scope and
    source id; a row for an element this project does not have, or with a target this destination does not
    have, is reported and not applied. Applied rows count as decided by the person importing."""
    try:
        document = document_check(document)
    except DocumentInvalid as exc:
        raise ApplicationError(str(exc), extra={"field": "document"}) from None
    if _family(document["source"]["kind"]) != _family(mapping_set.source_kind) or \
            _family(document["destination"]["kind"]) != _family(mapping_set.destination_kind):
        raise ApplicationError(
            f"This mapping goes from {document['source']['kind']} to {document['destination']['kind']}; this one goes "
            f"from {mapping_set.source_kind} to {mapping_set.destination_kind}.", extra={"field": "document"})
    source, destination = selectors.mapping_set_catalogs(mapping_set)
    rows = {r.key(): r for r in mapping_set.rows.select_for_update()}
    field_targets = {e["source"]: e.get("target") for e in document["rows"] if e["kind"] == Kind.FIELD}
    applied, skipped, touched = 0, [], set()
    name = document.get("name") or "an imported mapping"
    for entry in document["rows"]:
        key = (entry["kind"], entry.get("scope", ""), entry["source"])
        row = rows.get(key)
        where = {"kind": key[0], "scope": key[1], "source": key[2]}
        if row is None and entry["kind"] == Kind.TAG:
            row = MappingRow(organisation=mapping_set.organisation, mapping_set=mapping_set, kind=Kind.TAG,
                             scope=key[1], source=key[2], source_label=entry.get("source_label") or key[2],
                             position=len(rows) + applied)
        if row is None:
            skipped.append({**where, "reason": "This project's schema has no such element."})
            continue
        target = entry.get("target")
        problem = target_check(kind=entry["kind"], scope=key[1], target=target, source=source,
                               destination=destination, field_rows=field_targets)
        if problem:
            skipped.append({**where, "reason": problem})
            continue
        decision = entry.get("decision", "accepted")
        row.target = target
        row.target_label = entry.get("target_label") or _target_label(mapping_set, entry["kind"], target)
        if "transform" in entry:
            row.transform = entry.get("transform") or ""
        if entry.get("options") is not None:
            try:
                row.options = _clean_options(row, entry["options"]) if entry["options"] else {}
            except ApplicationError as exc:
                skipped.append({**where, "reason": exc.message})
                continue
        row.decision = MappingRow.Decision.REJECTED if decision == "rejected" else (
            MappingRow.Decision.PENDING if decision == "pending" else MappingRow.Decision.ACCEPTED)
        row.layer = "import"
        row.confidence = float(entry.get("confidence", 1.0)) if decision == "pending" else 1.0
        row.reason = f"From {name}."
        row.decided_by = _user(actor) if row.decision != MappingRow.Decision.PENDING else None
        row.decided_at = timezone.now() if row.decided_by or row.decision != MappingRow.Decision.PENDING else None
        row.save()
        touched.add(key)
        applied += 1
    options = document.get("options") or {}
    for flag in OPTION_FIELDS[1:]:
        if flag in options:
            setattr(mapping_set, flag, bool(options[flag]))
    if options.get("default_person"):
        if target_check(kind=Kind.PERSON, scope="", target=options["default_person"], source=source,
                        destination=destination):
            skipped.append({"kind": "option", "scope": "", "source": "default_person",
                            "reason": "The default person is not an account of this destination."})
        else:
            mapping_set.default_person = options["default_person"]
    if document.get("workflows"):
        known = {t.source_id for t in destination.work_item_types}
        mapping_set.destination_workflows = {t: w for t, w in document["workflows"].items() if t in known}
    mapping_set.updated_at = timezone.now()
    mapping_set.save()
    report = ImportReport(applied, skipped, sum(1 for key in rows if key not in touched))
    audit_record(organisation=mapping_set.organisation, actor=actor, actor_kind=_actor_kind(actor, actor_kind),
                 action="mapping.imported", target=mapping_set,
                 data={"sha256": document_sha256(document), "applied": applied, "skipped": len(skipped)})
    return report


def mapping_field_choices(*, mapping_set: MappingSet, row: MappingRow) -> list[tuple[str, str]]:
    """The targets a person may choose for a row on the review page."""
    source, destination = selectors.mapping_set_catalogs(mapping_set)
    if row.kind == Kind.FIELD:
        sf = next((f for f in source.fields if f.source_id == row.source), None)
        return [(f.source_id, f"{f.name} ({f.type})") for f in field_candidates(sf, destination)]
    if row.kind == Kind.TYPE:
        return [(t.source_id, t.name) for t in destination.work_item_types if not t.disabled]
    if row.kind == Kind.STATE:
        target_type = mapping_set.rows.filter(kind=Kind.TYPE, source=row.scope).values_list("target", flat=True).first()
        types = [t for t in destination.work_item_types if t.source_id == target_type] or destination.work_item_types
        seen = dict.fromkeys(s.name for t in types for s in t.states)
        return [(n, n) for n in seen]
    if row.kind == Kind.VALUE:
        field_target = _field_targets(mapping_set).get(row.scope)
        f = next((f for f in destination.fields if f.source_id == field_target), None)
        return [(v, v) for v in (f.allowed_values if f else ())]
    if row.kind == Kind.PERSON:
        return [(p.source_id, p.display_name or p.source_id) for p in destination.people if p.active]
    if row.kind == Kind.LINK_TYPE:
        return [(lt.source_id, lt.name) for lt in destination.link_types]
    if row.kind == Kind.ITERATION:
        return [(i.source_id, i.name) for i in destination.iterations] + [
            (f"create:{row.source_label.split(chr(92))[-1]}", f"Create '{row.source_label.split(chr(92))[-1]}'")]
    if row.kind == Kind.AREA:
        return [(a.source_id, a.name) for a in destination.areas] + [
            (f"create:{row.source_label.split(chr(92))[-1]}", f"Create '{row.source_label.split(chr(92))[-1]}'")]
    return []
