"""Import of real exports: projects in Azure DevOps' own REST JSON.

A folder is one project when it has a `WorkItems/` folder (or `*.json` files) of `{count, value: [work
item]}` as `GET _apis/wit/workitems?$expand=relations` returns them; otherwise each sub-folder that is
one is imported as its own project (the demo-generator templates: one folder per template). Optional:
`Iterations.json` (a classification node tree), `comments/*.json` (`{comments: [...]}` with `workItemId`)
and `updates/*.json` (`{value: [WorkItemUpdate]}`) give comments and full history; without updates an item
gets one revision holding its exported fields.

Ids are renumbered into the organisation's sequence, links are kept on both ends (a link to an item not
in the export is dropped and counted), identity strings (`"Name <e-mail>"`) become identities, and
`$ProjectName$` placeholders become the project name.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from apps.core.exceptions import ApplicationError
from apps.sandbox.ado.models import AdoAttachment, AdoComment, AdoField, AdoIdentity, AdoUpdate, AdoWorkItem
from apps.sandbox.ado.processes import RELATION_BY_REF, SYSTEM_FIELDS, type_def, type_field_refs
from apps.sandbox.ado.projects import nodes_ensure, project_create
from apps.sandbox.ado.render import identity_ref, iso, parse_iso
from apps.sandbox.ado.wit import FAR_FUTURE, next_ids

_ID_IN_URL = re.compile(r"/workItems/(\d+)$", re.IGNORECASE)
_IDENTITY = re.compile(r"^\s*(?P<name>.*?)\s*<(?P<email>[^<>]+)>\s*$")
_IDENTITY_FIELDS = {ref for ref, d in SYSTEM_FIELDS.items() if d["type"] == "identity"}


def _load(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ApplicationError(f"{path} is not readable JSON: {exc}") from None


def _work_item_files(folder: Path) -> list[Path]:
    inner = folder / "WorkItems"
    return sorted(inner.glob("*.json")) if inner.is_dir() else []


def ado_export_import(*, site, path) -> dict:
    root = Path(path)
    if not root.is_dir():
        raise ApplicationError(f"{root} is not a folder of Azure DevOps exports.")
    folders = [root] if _work_item_files(root) else sorted(p for p in root.iterdir() if p.is_dir() and _work_item_files(p))
    if not folders:
        raise ApplicationError(f"{root} holds no WorkItems/*.json export.")
    projects = [project_import(site=site, folder=folder) for folder in folders]
    return {
        "projects": len(projects),
        "items": sum(p["items"] for p in projects),
        "comments": sum(p["comments"] for p in projects),
        "links": sum(p["links"] for p in projects),
        "dangling_links": sum(p["dangling_links"] for p in projects),
        "by_project": {p["project"]: p for p in projects},
    }


def _process_for(types: set[str]) -> str:
    if "Product Backlog Item" in types:
        return "Scrum"
    if "Requirement" in types:
        return "CMMI"
    if "User Story" in types or "Test Plan" in types:
        return "Agile"
    if "Issue" in types:
        return "Basic"
    return "Agile"


class _People:
    def __init__(self, site):
        self.site = site
        self.by_email = {i.unique_name.lower(): i for i in AdoIdentity.objects.filter(site=site)}

    def ref(self, value):
        if value in (None, ""):
            return None
        if isinstance(value, dict):
            email = value.get("uniqueName") or value.get("displayName") or ""
            name = value.get("displayName") or email
        else:
            match = _IDENTITY.match(str(value))
            name, email = (match["name"], match["email"]) if match else (str(value), str(value))
        key = email.lower()
        if key not in self.by_email:
            self.by_email[key] = AdoIdentity.objects.create(site=self.site, unique_name=email, display_name=name or email)
        return identity_ref(self.by_email[key], self.site.slug)


@transaction.atomic
def project_import(*, site, folder: Path) -> dict:
    raw_items = []
    for file in _work_item_files(folder):
        data = _load(file)
        values = data.get("value") if isinstance(data, dict) else data
        if not isinstance(values, list):
            raise ApplicationError(f"{file} is not a work item list ({{count, value}}).")
        raw_items.extend(v for v in values if isinstance(v, dict) and isinstance(v.get("fields"), dict))
    name = folder.name[:64]
    types = {item["fields"].get("System.WorkItemType") for item in raw_items}
    process = _process_for(types)
    project = project_create(site=site, name=name, process=process, description=f"Imported from {folder.name}.")
    people = _People(site)

    def placeholders(value):
        if isinstance(value, str):
            return value.replace("$ProjectName$", name).replace("$AreaName$", name).replace("$TeamName$", f"{name} Team")
        return value

    # Iterations and areas: the exported tree, plus every path an item uses.
    iteration_paths, area_paths = set(), set()
    tree_file = folder / "Iterations.json"
    if tree_file.exists():
        def walk(node, prefix):
            for child in node.get("children") or []:
                path = f"{prefix}\\{child['name']}"
                iteration_paths.add(path)
                walk(child, path)
        walk(_load(tree_file), name)
    for item in raw_items:
        for ref, bucket in (("System.AreaPath", area_paths), ("System.IterationPath", iteration_paths)):
            value = placeholders(item["fields"].get(ref))
            if isinstance(value, str) and "\\" in value:
                bucket.add(name + value[value.index("\\"):])
    areas = nodes_ensure(project=project, structure="area", paths=sorted(area_paths))
    iterations = nodes_ensure(project=project, structure="iteration", paths=sorted(iteration_paths))

    known_custom = set(AdoField.objects.filter(site=site).values_list("reference_name", flat=True))
    new_ids = {}
    first = next_ids(site, "work_item", len(raw_items)) if raw_items else 0
    for offset, item in enumerate(raw_items):
        new_ids[int(item["id"])] = first + offset

    relations: dict[int, list] = {new_ids[int(i["id"])]: [] for i in raw_items}
    dangling = links = 0
    attachments = []
    for item in raw_items:
        source = new_ids[int(item["id"])]
        for relation in item.get("relations") or []:
            kind = RELATION_BY_REF.get(str(relation.get("rel", "")).lower())
            if kind is None:
                dangling += 1
                continue
            attributes = {k: v for k, v in (relation.get("attributes") or {}).items() if v is not None}
            if kind[2] == "workItemLink":
                match = _ID_IN_URL.search(relation.get("url", ""))
                target = new_ids.get(int(match.group(1))) if match else None
                if target is None:
                    dangling += 1
                    continue
                _add_both_ends(relations, source, target, kind, attributes)
                links += 1
            elif kind[0] == "AttachedFile":
                attachment = AdoAttachment(site=site, file_name=str(attributes.get("name") or "attachment"),
                                           content=b"(The export holds this attachment's name, not its content.)")
                attachment.size = len(attachment.content)
                attachments.append(attachment)
                relations[source].append({"rel": "AttachedFile", "attachment_guid": str(attachment.guid), "attributes": attributes})
            else:
                relations[source].append({"rel": kind[0], "url": relation.get("url", ""), "attributes": attributes})
    AdoAttachment.objects.bulk_create(attachments)

    imported_at = timezone.now()
    work_items, histories, comments = [], {}, []
    comment_count = 0
    left_out: dict[str, int] = {}  # values of fields the item's type does not have, per field
    for item in raw_items:
        new_id = new_ids[int(item["id"])]
        wit = type_def(process, str(item["fields"].get("System.WorkItemType")))
        own = set(type_field_refs(wit)) if wit else set()
        fields = {}
        for ref, value in item["fields"].items():
            value = placeholders(value)
            if value is None or ref == "System.History":
                continue
            if ref in SYSTEM_FIELDS and ref not in own:
                # The demo generator's templates give every type every field; the service keeps only the type's own.
                left_out[ref] = left_out.get(ref, 0) + 1
                continue
            if ref in _IDENTITY_FIELDS or ref.endswith((".AssignedTo", "By")) and isinstance(value, str) and "<" in value:
                value = people.ref(value)
            elif SYSTEM_FIELDS.get(ref, {}).get("type") == "integer" and isinstance(value, float):
                value = int(value)
            fields[ref] = value
            if ref not in SYSTEM_FIELDS and ref not in known_custom:
                typ = "html" if isinstance(value, str) and value.lstrip().startswith("<") else \
                    "double" if isinstance(value, float | int) else "string"
                AdoField.objects.get_or_create(site=site, reference_name=ref, defaults={"name": ref.rsplit(".", 1)[-1], "type": typ})
                known_custom.add(ref)
        fields["System.TeamProject"] = name
        for ref, nodes, id_ref in (("System.AreaPath", areas, "System.AreaId"), ("System.IterationPath", iterations, "System.IterationId")):
            path = fields.get(ref) or name
            path = name + path[path.index("\\"):] if "\\" in path else name
            fields[ref] = path
            fields[id_ref] = nodes[path.lower()].node_id
        if wit is None:
            raise ApplicationError(f"{folder.name}: the work item type {fields.get('System.WorkItemType')!r} is not in the {process} process.")
        fields["System.WorkItemType"] = wit.name
        if fields.get("System.State") not in wit.state_names:
            fields["System.State"] = wit.initial_state
        # Some exports leave the dates out: the import time stands in, as the service would stamp it.
        created = parse_iso(fields.get("System.CreatedDate")) or parse_iso(fields.get("System.ChangedDate")) or imported_at
        changed = max(parse_iso(fields.get("System.ChangedDate")) or created, created)
        fields["System.CreatedDate"], fields["System.ChangedDate"] = iso(created), iso(changed)
        fields.update({"System.Id": new_id, "System.Rev": 1, "System.AuthorizedDate": iso(changed), "System.RevisedDate": FAR_FUTURE})
        fields.setdefault("System.CreatedBy", people.ref("Imported <imported@migrayt.local>"))
        fields.setdefault("System.ChangedBy", fields["System.CreatedBy"])
        parent = next((r["target_id"] for r in relations[new_id] if r["rel"] == "System.LinkTypes.Hierarchy-Reverse"), None)
        if parent:
            fields["System.Parent"] = parent
        history_text = placeholders(item["fields"].get("System.History"))
        if history_text:
            comment_count += 1
            comments.append((new_id, history_text, fields["System.ChangedBy"], changed))
            fields["System.CommentCount"] = 1
        work_items.append(AdoWorkItem(site=site, project=project, item_id=new_id, rev=1, work_item_type=wit.name,
                                      state=fields["System.State"], changed_date=changed, fields=fields, relations=relations[new_id]))
        delta = {k: {"newValue": v} for k, v in fields.items()}
        if history_text:
            delta["System.History"] = {"newValue": history_text}
        histories[new_id] = (changed, fields["System.ChangedBy"], delta)

    AdoWorkItem.objects.bulk_create(work_items, batch_size=500)
    pk_of = dict(AdoWorkItem.objects.filter(site=site, project=project).values_list("item_id", "pk"))
    AdoUpdate.objects.bulk_create([
        AdoUpdate(work_item_id=pk_of[item_id], rev=1, revised_by=who, revised_date=when, fields=delta,
                  relations={"added": relations[item_id]} if relations[item_id] else {})
        for item_id, (when, who, delta) in histories.items()
    ], batch_size=500)
    first_comment = next_ids(site, "comment", len(comments)) if comments else 0
    AdoComment.objects.bulk_create([
        AdoComment(work_item_id=pk_of[item_id], comment_id=first_comment + n, text=text, format="html", created_by=who,
                   created_date=when, modified_by=who, modified_date=when)
        for n, (item_id, text, who, when) in enumerate(comments)
    ])
    return {"project": name, "process": process, "items": len(work_items), "comments": comment_count, "links": links,
            "dangling_links": dangling, "attachments": len(attachments), "first_id": first if raw_items else None,
            "fields_left_out": left_out}


def _add_both_ends(relations, source, target, kind, attributes):
    """Add source->target and its mirror once each; a second parent is dropped (one-parent rule)."""
    ref, opposite = kind[0], kind[5]

    def add(a, b, rel, attrs):
        if a == b or any(r.get("target_id") == b and r["rel"] == rel for r in relations[a]):
            return
        if rel == "System.LinkTypes.Hierarchy-Reverse" and any(r["rel"] == rel for r in relations[a]):
            return
        relations[a].append({"rel": rel, "target_id": b, "attributes": attrs})

    if ref == "System.LinkTypes.Hierarchy-Forward" and any(r["rel"] == "System.LinkTypes.Hierarchy-Reverse" and r["target_id"] != source for r in relations[target]):
        return
    if ref == "System.LinkTypes.Hierarchy-Reverse" and any(r["rel"] == ref and r["target_id"] != target for r in relations[source]):
        return
    add(source, target, ref, attributes)
    add(target, source, opposite, {k: v for k, v in attributes.items() if k != "name"})
