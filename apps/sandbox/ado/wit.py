"""Work item writes: create and update by JSON Patch with the service's rules, links kept on both ends,
the recycle bin, comments, classification nodes and attachments."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from datetime import timedelta

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from apps.sandbox.ado import errors
from apps.sandbox.ado.models import (
    AdoAttachment,
    AdoComment,
    AdoCounter,
    AdoField,
    AdoIdentity,
    AdoNode,
    AdoProject,
    AdoUpdate,
    AdoWorkItem,
)
from apps.sandbox.ado.processes import (
    ALWAYS_READ_ONLY,
    BYPASS_ONLY,
    CREATION_ONLY,
    PICKLISTS,
    RELATION_BY_REF,
    SYSTEM_FIELDS,
    type_def,
    type_field_refs,
)
from apps.sandbox.ado.render import identity_ref, iso, parse_iso
from apps.sandbox.machinery import VendorError

TITLE_MAX = 255
FAR_FUTURE = "9999-01-01T00:00:00Z"
_WORK_ITEM_URL = re.compile(r"/_apis/wit/workItems/(\d+)/?$", re.IGNORECASE)
_ATTACHMENT_URL = re.compile(r"/_apis/wit/attachments/([0-9a-fA-F-]{36})", re.IGNORECASE)
_IDENTITY_TEXT = re.compile(r"^\s*(?P<name>.*?)\s*<(?P<email>[^<>]+)>\s*$")


@dataclass
class WriteOptions:
    actor: AdoIdentity
    bypass_rules: bool = False
    validate_only: bool = False
    suppress_notifications: bool = False
    now: object = None


@dataclass
class PendingChange:
    fields: dict
    relations: list
    field_changes: dict = field(default_factory=dict)
    added: list = field(default_factory=list)
    removed: list = field(default_factory=list)
    history: str | None = None
    explicit: set = field(default_factory=set)


# ---------------------------------------------------------------------------------------------- counters

def next_ids(site, kind: str, count: int = 1) -> int:
    """Reserve `count` numbers of an organisation-wide sequence; returns the first."""
    column = {"work_item": "next_work_item_id", "comment": "next_comment_id", "node": "next_node_id"}[kind]
    with transaction.atomic():
        AdoCounter.objects.get_or_create(site=site)
        AdoCounter.objects.filter(site=site).update(**{column: F(column) + count})
        return AdoCounter.objects.filter(site=site).values_list(column, flat=True).get() - count


# ---------------------------------------------------------------------------------------------- fields

def custom_fields(site) -> dict[str, dict]:
    return {
        f.reference_name: {"referenceName": f.reference_name, "name": f.name, "type": f.type, "readOnly": False,
                           "picklist": f.picklist, "description": f.description, "workItemTypes": f.work_item_types}
        for f in AdoField.objects.filter(site=site)
    }


def all_fields(site) -> dict[str, dict]:
    return {**SYSTEM_FIELDS, **custom_fields(site)}


def _field_ref(name: str, fields: dict) -> str | None:
    if name in fields:
        return name
    lowered = name.lower()
    for ref, definition in fields.items():
        if ref.lower() == lowered or definition["name"].lower() == lowered:
            return ref
    return None


def identity_resolve(site, value, *, bypass: bool, field_name: str):
    """A field's identity value (an e-mail, a display name, "Name <e-mail>", an IdentityRef) as an
    IdentityRef; unknown or inactive people are refused unless bypassRules, which keeps the text."""
    if value in (None, ""):
        return None
    if isinstance(value, dict):
        key = value.get("uniqueName") or value.get("id") or value.get("displayName") or ""
    else:
        key = str(value)
    match = _IDENTITY_TEXT.match(key)
    people = AdoIdentity.objects.filter(site=site)
    person = None
    if match:
        person = people.filter(unique_name__iexact=match["email"]).first()
    if person is None:
        person = people.filter(unique_name__iexact=key).first() or people.filter(display_name__iexact=key).first()
    if person is None and re.fullmatch(r"[0-9a-fA-F-]{36}", key):
        person = people.filter(guid=key).first()
    if person is not None and person.is_active and not person.is_deleted:
        return identity_ref(person, site.slug)
    if bypass:
        return identity_ref(person, site.slug) if person else key
    if person is not None:
        raise errors.rule_error(field_name, "InvalidNotOldValue",
                                f"The identity '{key}' is not an active member of this organization.")
    raise errors.rule_error(field_name, "InvalidIdentity", f"The identity value '{key}' is an unknown identity.")


def _coerce(site, ref, definition, value, *, bypass):
    typ = definition["type"]
    name = definition["name"]
    if value is None or value == "":
        return None
    if typ == "identity":
        return identity_resolve(site, value, bypass=bypass, field_name=name)
    if typ == "integer":
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise errors.rule_error(name, "InvalidType", f"The value '{value}' is not a whole number.") from None
        if number != int(number):
            raise errors.rule_error(name, "InvalidType", f"The value '{value}' is not a whole number.")
        value = int(number)
    elif typ == "double":
        try:
            value = float(value)
        except (TypeError, ValueError):
            raise errors.rule_error(name, "InvalidType", f"The value '{value}' is not a number.") from None
    elif typ == "dateTime":
        parsed = parse_iso(value) if isinstance(value, str) else None
        if parsed is None:
            raise errors.rule_error(name, "InvalidType", f"The value '{value}' is not a date.")
        value = iso(parsed)
    elif typ == "boolean":
        if not isinstance(value, bool):
            raise errors.rule_error(name, "InvalidType", f"The value '{value}' is not true or false.")
    else:
        value = str(value)
    allowed = definition.get("picklist") or PICKLISTS.get(ref)
    if allowed and not bypass and value not in allowed:
        raise errors.rule_error(name, "LimitedToValues",
                                f"The field '{name}' contains the value '{value}' that is not in the list of supported values.")
    return value


# ---------------------------------------------------------------------------------------------- patch

def _patch_ops(body) -> list[dict]:
    if not isinstance(body, list) or not body:
        raise errors.bad_request("VS403357: The body of the request must be a JSON Patch document: a non-empty array "
                                 "of operations.", "WorkItemPatchDocumentInvalidException")
    for op in body:
        if not isinstance(op, dict) or op.get("op") not in ("add", "replace", "remove", "test", "copy", "move"):
            raise errors.bad_request(f"VS403357: The operation {op!r} is not a JSON Patch operation.",
                                     "WorkItemPatchDocumentInvalidException")
        if not isinstance(op.get("path"), str) or not op["path"].startswith("/"):
            raise errors.bad_request(f"VS403357: The operation {op.get('op')} has no valid path.",
                                     "WorkItemPatchDocumentInvalidException")
    return body


def _parse_relation_target(site, value: dict):
    url = value.get("url") if isinstance(value, dict) else None
    rel = value.get("rel") if isinstance(value, dict) else None
    if not rel or not url:
        raise errors.bad_request("VS403350: A relation needs both 'rel' and 'url'.", "WorkItemRelationInvalidException")
    relation_type = RELATION_BY_REF.get(rel.lower())
    if relation_type is None:
        raise errors.bad_request(f"VS402313: The relation type '{rel}' does not exist.", "WorkItemLinkTypeNotFoundException")
    entry = {"rel": relation_type[0], "attributes": dict(value.get("attributes") or {})}
    if relation_type[2] == "workItemLink":
        match = _WORK_ITEM_URL.search(url)
        if not match:
            raise errors.bad_request(f"VS403350: The URL '{url}' does not name a work item.", "WorkItemRelationInvalidException")
        entry["target_id"] = int(match.group(1))
    elif relation_type[0] == "AttachedFile":
        match = _ATTACHMENT_URL.search(url)
        attachment = AdoAttachment.objects.filter(site=site, guid=match.group(1)).first() if match else None
        if attachment is None or not attachment.is_complete:
            raise errors.bad_request(f"VS402335: The attachment '{url}' does not exist or is not uploaded completely.",
                                     "AttachmentNotFoundException")
        entry["attachment_guid"] = str(attachment.guid)
        entry["attributes"].setdefault("name", attachment.file_name)
        entry["attributes"].setdefault("resourceSize", attachment.size)
    else:
        entry["url"] = url
    return entry


def _same_relation(a: dict, b: dict) -> bool:
    keys = ("target_id", "attachment_guid", "url")
    return a["rel"] == b["rel"] and any(k in a and a.get(k) == b.get(k) for k in keys)


def _type_fields(fields_def: dict, wit) -> set[str]:
    return set(type_field_refs(wit, {ref: d for ref, d in fields_def.items() if ref not in SYSTEM_FIELDS}))


def _type_after(project: AdoProject, wit, ops: list[dict]):
    """The type an update leaves the item with (a patch may change it): the fields it may set are that type's."""
    for op in ops:
        if str(op.get("path", "")).lower() == "/fields/system.workitemtype" and op.get("op") in ("add", "replace"):
            return type_def(project.process, str(op.get("value") or "")) or wit
    return wit


def _apply_ops(site, item_rev: int | None, change: PendingChange, ops: list[dict], fields_def: dict, bypass: bool,
               allowed: set[str] | None = None):
    for op in ops:
        kind, path = op["op"], op["path"]
        lowered = path.lower()
        if kind == "test":
            if lowered == "/rev" and item_rev is not None and op.get("value") != item_rev:
                raise VendorError(412, f"TF26071: This work item has been changed by someone else since you opened it "
                                       f"(revision {item_rev}, not {op.get('value')}).",
                                  type_key="WorkItemRevisionMismatchException")
            continue
        if lowered.startswith("/fields/"):
            name = path[len("/fields/"):]
            ref = _field_ref(name, fields_def)
            if ref is None or (allowed is not None and ref not in allowed):
                # The service answers alike for a field it does not know and one the item's type lacks.
                raise errors.field_not_found(name)
            if ref == "System.History":
                if kind != "remove" and op.get("value"):
                    change.history = str(op["value"])
                continue
            if ref in ALWAYS_READ_ONLY or (ref in BYPASS_ONLY and not bypass):
                raise errors.read_only_field(ref)
            value = None if kind == "remove" else _coerce(site, ref, fields_def[ref], op.get("value"), bypass=bypass)
            change.explicit.add(ref)
            _set(change, ref, value)
        elif lowered == "/relations/-" and kind == "add":
            entry = _parse_relation_target(site, op.get("value"))
            if any(_same_relation(entry, r) for r in change.relations):
                raise errors.bad_request(f"TF201035: The relation {entry['rel']} to this target exists already.",
                                         "WorkItemLinkAlreadyExistsException")
            change.relations.append(entry)
            change.added.append(entry)
        elif lowered.startswith("/relations/"):
            rest = lowered[len("/relations/"):].split("/")
            try:
                index = int(rest[0])
                current = change.relations[index]
            except (ValueError, IndexError):
                raise errors.bad_request(f"VS403350: There is no relation at {path}.", "WorkItemRelationInvalidException") from None
            if kind == "remove" and len(rest) == 1:
                change.relations.pop(index)
                change.removed.append(current)
            elif kind in ("add", "replace") and len(rest) >= 2 and rest[1] == "attributes":
                if len(rest) == 3:
                    current.setdefault("attributes", {})[path.split("/")[-1]] = op.get("value")
                elif isinstance(op.get("value"), dict):
                    current["attributes"] = dict(op["value"])
            else:
                raise errors.bad_request(f"VS403357: The operation {kind} on {path} is not supported.",
                                         "WorkItemPatchDocumentInvalidException")
        else:
            raise errors.bad_request(f"VS403357: The path {path} is not supported.", "WorkItemPatchDocumentInvalidException")


def _set(change: PendingChange, ref: str, value):
    old = change.fields.get(ref)
    if old == value:
        return
    entry = change.field_changes.setdefault(ref, {"oldValue": old} if old is not None else {})
    if value is None:
        change.fields.pop(ref, None)
        entry.pop("newValue", None)
    else:
        change.fields[ref] = value
        entry["newValue"] = value


def _node_for(project: AdoProject, structure: str, path: str, field_name: str) -> AdoNode:
    node = AdoNode.objects.filter(project=project, structure=structure, path__iexact=path).first()
    if node is None:
        raise errors.rule_error(field_name, "InvalidTreeName",
                                f"TF401347: Invalid tree name given for work item, field '{field_name}': '{path}'.")
    return node


def _validate(site, project, wit, change: PendingChange, previous: dict | None, opts: WriteOptions):
    fields = change.fields
    title = fields.get("System.Title")
    if not title or not str(title).strip():
        raise errors.rule_error("Title", "Required, InvalidEmpty", "The field 'Title' cannot be empty.")
    if len(str(title)) > TITLE_MAX and not opts.bypass_rules:
        raise errors.rule_error("Title", "LimitedToValues", f"The field 'Title' is longer than {TITLE_MAX} characters.")
    state = fields.get("System.State")
    if state not in wit.state_names:
        raise errors.rule_error("State", "InvalidListValue",
                                f"The field 'State' contains the value '{state}' that is not in the list of supported "
                                f"values ({', '.join(wit.state_names)}).")
    if previous is None and state != wit.initial_state and not opts.bypass_rules:
        raise errors.rule_error("State", "InvalidListValue",
                                f"A new {wit.name} starts in the state '{wit.initial_state}'; set another state in a "
                                "later update, or use bypassRules.")
    for ref, structure, name in (("System.AreaPath", "area", "Area Path"), ("System.IterationPath", "iteration", "Iteration Path")):
        node = _node_for(project, structure, fields.get(ref) or project.name, name)
        fields[ref] = node.path
        id_ref = "System.AreaId" if structure == "area" else "System.IterationId"
        if fields.get(id_ref) != node.node_id:
            _set(change, id_ref, node.node_id)
    # One parent: a work item has at most one Hierarchy-Reverse link.
    parents = [r for r in change.relations if r["rel"] == "System.LinkTypes.Hierarchy-Reverse"]
    if len(parents) > 1:
        raise errors.bad_request("TF201036: You cannot add a Parent link to this work item because a work item can "
                                 "have only one Parent link.", "WorkItemLinkInvalidException")


def _link_targets(site, change: PendingChange, self_id: int | None) -> dict[int, AdoWorkItem]:
    wanted = {r["target_id"] for r in change.added + change.removed if "target_id" in r}
    if self_id is not None and self_id in wanted:
        raise errors.bad_request("TF201037: A work item cannot be linked to itself.", "WorkItemLinkInvalidException")
    targets = {t.item_id: t for t in AdoWorkItem.objects.filter(site=site, item_id__in=wanted, is_deleted=False)}
    missing = wanted - set(targets)
    if missing:
        raise errors.work_item_not_found(min(missing))
    for relation in change.added:
        if relation["rel"] == "System.LinkTypes.Hierarchy-Forward":
            child = targets[relation["target_id"]]
            if any(r["rel"] == "System.LinkTypes.Hierarchy-Reverse" for r in child.relations):
                raise errors.bad_request(
                    f"TF201036: You cannot add a Child link between work items {self_id or 0} and {child.item_id} "
                    "because a work item can have only one Parent link.", "WorkItemLinkInvalidException")
    return targets


def _finish_revision(change: PendingChange, previous_fields: dict | None, opts: WriteOptions, wit, is_new: bool):
    """Dates, authors and state bookkeeping of one revision."""
    now = opts.now or timezone.now()
    actor = identity_ref(opts.actor, opts.actor.site.slug)
    fields = change.fields
    if is_new:
        created = fields.get("System.CreatedDate") or iso(now)
        _set(change, "System.CreatedDate", created)
        if "System.CreatedBy" not in change.explicit:
            _set(change, "System.CreatedBy", actor)
    if "System.ChangedDate" in change.explicit:
        changed = parse_iso(fields["System.ChangedDate"])
    elif is_new and "System.CreatedDate" in change.explicit:
        changed = parse_iso(fields["System.CreatedDate"])
    else:
        changed = now
    if is_new:
        created_at = parse_iso(fields["System.CreatedDate"])
        if changed < created_at:
            raise errors.dates_not_increasing()
    else:
        before = parse_iso(previous_fields.get("System.ChangedDate"))
        if before and changed <= before:
            raise errors.dates_not_increasing()
    _set(change, "System.ChangedDate", iso(changed))
    if "System.ChangedBy" not in change.explicit:
        _set(change, "System.ChangedBy", actor)
    _set(change, "System.AuthorizedDate", iso(changed))
    _set(change, "System.RevisedDate", FAR_FUTURE)
    old_state = (previous_fields or {}).get("System.State")
    new_state = fields.get("System.State")
    own = set(wit.extra_fields)  # the service stamps these only on a type that has them
    if old_state != new_state:
        if "System.Reason" not in change.explicit:
            _set(change, "System.Reason", "New" if is_new else f"Moved to state {new_state}")
        if "Microsoft.VSTS.Common.StateChangeDate" not in change.explicit and "Microsoft.VSTS.Common.StateChangeDate" in own:
            _set(change, "Microsoft.VSTS.Common.StateChangeDate", iso(changed))
        category = wit.category_of(new_state)
        if category == "Completed" and "Microsoft.VSTS.Common.ClosedDate" not in change.explicit and \
                "Microsoft.VSTS.Common.ClosedDate" in own:
            _set(change, "Microsoft.VSTS.Common.ClosedDate", iso(changed))
            _set(change, "Microsoft.VSTS.Common.ClosedBy", fields.get("System.ChangedBy"))
        if category == "InProgress" and "Microsoft.VSTS.Common.ActivatedDate" not in change.explicit and \
                "Microsoft.VSTS.Common.ActivatedDate" in own:
            _set(change, "Microsoft.VSTS.Common.ActivatedDate", iso(changed))
            _set(change, "Microsoft.VSTS.Common.ActivatedBy", fields.get("System.ChangedBy"))
    parent = next((r["target_id"] for r in change.relations if r["rel"] == "System.LinkTypes.Hierarchy-Reverse"), None)
    if fields.get("System.Parent") != parent:
        _set(change, "System.Parent", parent)
    return changed


def _relation_delta(change: PendingChange) -> dict:
    delta = {}
    if change.added:
        delta["added"] = [dict(r) for r in change.added]
    if change.removed:
        delta["removed"] = [dict(r) for r in change.removed]
    return delta


def _mirror(relation: dict) -> str | None:
    from apps.sandbox.ado.processes import RELATION_BY_REF as by_ref

    return by_ref[relation["rel"].lower()][5]


def _update_link_ends(site, source_id: int, targets: dict, change: PendingChange, opts: WriteOptions, when):
    """ADO keeps a link on both work items: each other end gets its own revision."""
    actor = identity_ref(opts.actor, site.slug)
    per_target: dict[int, tuple[list, list]] = {}
    for relation in change.added:
        if "target_id" in relation:
            per_target.setdefault(relation["target_id"], ([], []))[0].append(
                {"rel": _mirror(relation), "target_id": source_id, "attributes": {"isLocked": False, "name": ""}})
    for relation in change.removed:
        if "target_id" in relation:
            per_target.setdefault(relation["target_id"], ([], []))[1].append({"rel": _mirror(relation), "target_id": source_id})
    for target_id, (added, removed) in per_target.items():
        target = AdoWorkItem.objects.select_for_update().get(pk=targets[target_id].pk)
        relations = list(target.relations)
        really_removed = []
        for gone in removed:
            for existing in list(relations):
                if _same_relation(existing, gone):
                    relations.remove(existing)
                    really_removed.append(existing)
        relations.extend(added)
        fields = dict(target.fields)
        before = parse_iso(fields.get("System.ChangedDate"))
        changed = max(when, before + timedelta(milliseconds=1)) if before else when
        delta_fields = {
            "System.Rev": {"oldValue": target.rev, "newValue": target.rev + 1},
            "System.ChangedDate": {"oldValue": fields.get("System.ChangedDate"), "newValue": iso(changed)},
        }
        fields["System.Rev"] = target.rev + 1
        fields["System.ChangedDate"] = iso(changed)
        fields["System.ChangedBy"] = actor
        parent = next((r["target_id"] for r in relations if r["rel"] == "System.LinkTypes.Hierarchy-Reverse"), None)
        if fields.get("System.Parent") != parent:
            delta_fields["System.Parent"] = {"oldValue": fields.get("System.Parent"), "newValue": parent}
            if parent is None:
                fields.pop("System.Parent", None)
            else:
                fields["System.Parent"] = parent
        target.rev += 1
        target.fields = fields
        target.relations = relations
        target.changed_date = changed
        target.save(update_fields=["rev", "fields", "relations", "changed_date"])
        delta = {}
        if added:
            delta["added"] = added
        if really_removed:
            delta["removed"] = really_removed
        AdoUpdate.objects.create(work_item=target, rev=target.rev, revised_by=actor, revised_date=changed,
                                 fields=delta_fields, relations=delta)


def _history_comment(item: AdoWorkItem, text: str, author, when, *, fmt: str = "html") -> AdoComment:
    # With bypassRules the comment keeps the revision's ChangedBy, as a migration needs.
    return AdoComment.objects.create(
        work_item=item, comment_id=next_ids(item.site, "comment"), text=text, format=fmt,
        created_by=author, created_date=when, modified_by=author, modified_date=when,
    )


@transaction.atomic
def work_item_create(*, site, project: AdoProject, type_name: str, ops, opts: WriteOptions):
    wit = type_def(project.process, type_name)
    if wit is None:
        raise VendorError(404, f"VS402323: Work item type {type_name} does not exist in project {project.name}.",
                          type_key="WorkItemTypeNotFoundException")
    ops = _patch_ops(ops)
    fields_def = all_fields(site)
    change = PendingChange(fields={}, relations=[])
    for ref, value in (("System.TeamProject", project.name), ("System.WorkItemType", wit.name),
                       ("System.AreaPath", project.name), ("System.IterationPath", project.name),
                       ("System.State", wit.initial_state), ("System.Reason", "New"),
                       ("System.CommentCount", 0)):
        _set(change, ref, value)
    if "Microsoft.VSTS.Common.Priority" in wit.extra_fields:
        _set(change, "Microsoft.VSTS.Common.Priority", 2)
    _apply_ops(site, None, change, ops, fields_def, opts.bypass_rules, allowed=_type_fields(fields_def, wit))
    for ref, expected in (("System.WorkItemType", wit.name), ("System.TeamProject", project.name)):
        if ref in change.explicit and str(change.fields[ref]).lower() != expected.lower():
            raise errors.read_only_field(ref)
    change.fields["System.TeamProject"] = project.name
    _validate(site, project, wit, change, None, opts)
    targets = _link_targets(site, change, None)
    when = _finish_revision(change, None, opts, wit, True)
    if opts.validate_only:
        item = AdoWorkItem(site=site, project=project, item_id=0, rev=0, work_item_type=wit.name,
                           state=change.fields["System.State"], changed_date=when, fields=change.fields,
                           relations=change.relations)
        return item
    item_id = next_ids(site, "work_item")
    change.fields["System.Id"] = item_id
    change.fields["System.Rev"] = 1
    change.field_changes["System.Id"] = {"newValue": item_id}
    change.field_changes["System.Rev"] = {"newValue": 1}
    item = AdoWorkItem.objects.create(
        site=site, project=project, item_id=item_id, rev=1, work_item_type=wit.name,
        state=change.fields["System.State"], changed_date=when, fields=change.fields, relations=change.relations,
    )
    if change.history:
        _history_comment(item, change.history, change.fields["System.ChangedBy"], when)
        item.fields["System.CommentCount"] = 1
        change.field_changes["System.CommentCount"] = {"oldValue": 0, "newValue": 1}
        change.field_changes["System.History"] = {"newValue": change.history}
        item.save(update_fields=["fields"])
    AdoUpdate.objects.create(work_item=item, rev=1, revised_by=change.fields["System.ChangedBy"], revised_date=when,
                             fields=change.field_changes, relations=_relation_delta(change))
    _update_link_ends(site, item_id, targets, change, opts, when)
    return item


@transaction.atomic
def work_item_update(*, site, item_id: int, ops, opts: WriteOptions, project: AdoProject | None = None):
    ops = _patch_ops(ops)
    item = (AdoWorkItem.objects.select_for_update().select_related("project")
            .filter(site=site, item_id=item_id, is_deleted=False).first())
    if item is None or (project is not None and item.project_id != project.pk):
        raise errors.work_item_not_found(item_id)
    wit = type_def(item.project.process, item.work_item_type)
    previous = dict(item.fields)
    change = PendingChange(fields=dict(item.fields), relations=[dict(r) for r in item.relations])
    fields_def = all_fields(site)
    _apply_ops(site, item.rev, change, ops, fields_def, opts.bypass_rules,
               allowed=_type_fields(fields_def, _type_after(item.project, wit, ops)) if wit else None)
    blocked = CREATION_ONLY & change.explicit
    if blocked:
        raise errors.read_only_field(sorted(blocked)[0])
    target_project = item.project
    if "System.TeamProject" in change.explicit:
        # Moving a work item to another project: its paths go to the new project's roots unless given.
        target_project = AdoProject.objects.filter(site=site, name__iexact=str(change.fields["System.TeamProject"])).first()
        if target_project is None:
            raise errors.project_not_found(change.fields["System.TeamProject"])
        change.fields["System.TeamProject"] = target_project.name
        for ref in ("System.AreaPath", "System.IterationPath"):
            path = str(change.fields.get(ref) or "")
            if ref not in change.explicit or not path.lower().startswith(target_project.name.lower()):
                _set(change, ref, target_project.name)
    if "System.WorkItemType" in change.explicit or target_project != item.project:
        wit = type_def(target_project.process, change.fields["System.WorkItemType"])
        if wit is None:
            raise errors.rule_error("Work Item Type", "InvalidListValue",
                                    f"The type {change.fields['System.WorkItemType']} does not exist in {target_project.name}.")
        change.fields["System.WorkItemType"] = wit.name
    if not change.field_changes and not change.added and not change.removed and not change.history:
        return item  # nothing changed: the service makes no revision
    _validate(site, target_project, wit, change, previous, opts)
    targets = _link_targets(site, change, item.item_id)
    when = _finish_revision(change, previous, opts, wit, False)
    if opts.validate_only:
        item.fields = change.fields
        item.relations = change.relations
        return item
    item.rev += 1
    _set(change, "System.Rev", item.rev)
    if change.history:
        _history_comment(item, change.history, change.fields["System.ChangedBy"], when)
        _set(change, "System.CommentCount", int(previous.get("System.CommentCount") or 0) + 1)
        change.field_changes["System.History"] = {"newValue": change.history}
    item.fields = change.fields
    item.relations = change.relations
    item.state = change.fields["System.State"]
    item.work_item_type = change.fields["System.WorkItemType"]
    item.changed_date = when
    item.project = target_project
    item.save()
    AdoUpdate.objects.create(work_item=item, rev=item.rev, revised_by=change.fields["System.ChangedBy"],
                             revised_date=when, fields=change.field_changes, relations=_relation_delta(change))
    _update_link_ends(site, item.item_id, targets, change, opts, when)
    return item


@transaction.atomic
def work_item_delete(*, site, item_id: int, actor: AdoIdentity, destroy: bool = False, project=None) -> AdoWorkItem:
    item = AdoWorkItem.objects.filter(site=site, item_id=item_id).select_for_update().first()
    if item is None or (project is not None and item.project_id != project.pk) or (item.is_deleted and not destroy):
        raise errors.work_item_not_found(item_id)
    if destroy:
        item.delete()
        return item
    item.is_deleted = True
    item.deleted_date = timezone.now()
    item.deleted_by = actor.display_name + f" <{actor.unique_name}>"
    item.save(update_fields=["is_deleted", "deleted_date", "deleted_by"])
    return item


@transaction.atomic
def work_item_restore(*, site, item_id: int, project=None) -> AdoWorkItem:
    item = AdoWorkItem.objects.filter(site=site, item_id=item_id, is_deleted=True).first()
    if item is None or (project is not None and item.project_id != project.pk):
        raise errors.work_item_not_found(item_id)
    item.is_deleted = False
    item.deleted_date = None
    item.deleted_by = ""
    item.save(update_fields=["is_deleted", "deleted_date", "deleted_by"])
    return item


# ---------------------------------------------------------------------------------------------- comments

def markdown_to_html(text: str) -> str:
    """Enough of Markdown for rendered comments: paragraphs, line breaks, emphasis and code."""
    escaped = html.escape(text)
    escaped = re.sub(r"`([^`]+)`", r"<code>\1</code>", escaped)
    escaped = re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", escaped)
    escaped = re.sub(r"\*([^*]+)\*", r"<em>\1</em>", escaped)
    paragraphs = [p.replace("\n", "<br>") for p in escaped.split("\n\n") if p.strip()]
    return "".join(f"<p>{p}</p>" for p in paragraphs)


@transaction.atomic
def comment_add(*, site, item: AdoWorkItem, text: str, fmt: str, opts: WriteOptions) -> AdoComment:
    if not isinstance(text, str) or not text.strip():
        raise errors.bad_request("VS403354: The comment text cannot be empty.", "WorkItemCommentInvalidException")
    # Adding a comment is a revision of the work item, as in the service.
    ops = [{"op": "add", "path": "/fields/System.History", "value": text}]
    work_item_update(site=site, item_id=item.item_id, ops=ops, opts=opts)
    comment = AdoComment.objects.filter(work_item=item).order_by("-comment_id").first()
    if fmt != comment.format:
        comment.format = fmt
        comment.save(update_fields=["format"])
    return comment


@transaction.atomic
def comment_update(*, comment: AdoComment, text: str, actor: AdoIdentity) -> AdoComment:
    if not isinstance(text, str) or not text.strip():
        raise errors.bad_request("VS403354: The comment text cannot be empty.", "WorkItemCommentInvalidException")
    comment.text = text
    comment.version += 1
    comment.modified_by = identity_ref(actor, actor.site.slug)
    comment.modified_date = max(timezone.now(), comment.created_date)
    comment.save()
    return comment


@transaction.atomic
def comment_delete(*, comment: AdoComment, actor: AdoIdentity) -> AdoComment:
    comment.is_deleted = True
    comment.version += 1
    comment.modified_by = identity_ref(actor, actor.site.slug)
    comment.modified_date = max(timezone.now(), comment.created_date)
    comment.save()
    return comment


# ---------------------------------------------------------------------------------------------- nodes

@transaction.atomic
def node_create(*, project: AdoProject, structure: str, parent_path: str, name: str, start=None, finish=None) -> AdoNode:
    if not isinstance(name, str) or not name.strip() or any(c in name for c in "\\/$?*:\"&><#%|+"):
        raise errors.bad_request(f"VS402371: The classification node name '{name}' is not valid.",
                                 "ClassificationNodeInvalidNameException")
    full_parent = project.name + (f"\\{parent_path.strip(chr(92))}" if parent_path.strip("\\") else "")
    parent = AdoNode.objects.filter(project=project, structure=structure, path__iexact=full_parent).first()
    if parent is None:
        raise VendorError(404, f"VS402485: The classification node '{parent_path}' does not exist.",
                          type_key="ClassificationNodeDoesNotExistException")
    path = f"{parent.path}\\{name.strip()}"
    if AdoNode.objects.filter(project=project, structure=structure, path__iexact=path).exists():
        raise VendorError(409, f"VS402371: Classification node name {name} is already in use by a different child "
                               "of parent classification node.", type_key="ClassificationNodeDuplicateNameException")
    if start and finish and finish < start:
        raise errors.bad_request("VS402386: The finish date of an iteration cannot be before its start date.",
                                 "ClassificationNodeInvalidDatesException")
    return AdoNode.objects.create(project=project, node_id=next_ids(project.site, "node"), structure=structure,
                                  name=name.strip(), parent=parent, path=path, start_date=start, finish_date=finish)


# ---------------------------------------------------------------------------------------------- attachments

def attachment_limit(site) -> int:
    return int(site.options.get("attachment_max_bytes") or 130 * 1024 * 1024)


def _too_large(site) -> VendorError:
    return VendorError(413, f"VS403313: The attachment exceeds the maximum size of {attachment_limit(site)} bytes.",
                       type_key="VssRequestContentTooLargeException")


def attachment_create(*, site, file_name: str, content: bytes, chunked: bool) -> AdoAttachment:
    if not file_name or len(file_name) > 255 or any(c in file_name for c in "\\/:*?\"<>|"):
        raise errors.bad_request("VS402335: The attachment needs a valid fileName.", "AttachmentInvalidNameException")
    if len(content) > attachment_limit(site):
        raise _too_large(site)
    return AdoAttachment.objects.create(site=site, file_name=file_name, content=b"" if chunked else content,
                                        size=0 if chunked else len(content), is_complete=not chunked)


_CONTENT_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+)$")


@transaction.atomic
def attachment_upload_chunk(*, site, guid, content: bytes, content_range: str) -> AdoAttachment:
    attachment = AdoAttachment.objects.select_for_update().filter(site=site, guid=guid).first()
    if attachment is None:
        raise VendorError(404, f"VS402335: The attachment {guid} does not exist.", type_key="AttachmentNotFoundException")
    match = _CONTENT_RANGE.match(content_range or "")
    if not match:
        raise errors.bad_request("VS402336: A chunk needs a Content-Range header like 'bytes 0-99/1000'.",
                                 "AttachmentInvalidChunkException")
    start, end, total = (int(g) for g in match.groups())
    if total > attachment_limit(site):
        raise _too_large(site)
    if start != attachment.size or end - start + 1 != len(content) or end >= total:
        raise errors.bad_request(f"VS402336: The chunk {start}-{end}/{total} does not follow the {attachment.size} "
                                 "bytes uploaded so far.", "AttachmentInvalidChunkException")
    attachment.content = bytes(attachment.content) + content
    attachment.size = len(attachment.content)
    attachment.expected_size = total
    attachment.is_complete = attachment.size == total
    attachment.save()
    return attachment
