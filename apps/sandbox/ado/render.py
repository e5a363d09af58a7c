"""The JSON the local Azure DevOps answers with, shaped as dev.azure.com shapes it."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

from apps.sandbox.ado.models import AdoIdentity, AdoNode, AdoProject, AdoWorkItem
from apps.sandbox.ado.processes import RELATION_TYPES, SYSTEM_FIELDS


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    value = value.astimezone(UTC)
    text = value.strftime("%Y-%m-%dT%H:%M:%S.%f").rstrip("0").rstrip(".")
    return text + "Z"


def parse_iso(text) -> datetime | None:
    if not isinstance(text, str) or not text:
        return None
    cleaned = text.strip().replace("Z", "+00:00")
    try:
        parsed = datetime.fromisoformat(cleaned)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class Urls:
    """Absolute URLs of one sandbox organisation, e.g. http://127.0.0.1:8000/sandbox/ado/fabrikam."""

    def __init__(self, base: str):
        self.base = base.rstrip("/")

    @classmethod
    def for_request(cls, request, site_slug: str) -> Urls:
        return cls(request.build_absolute_uri(f"/sandbox/ado/{site_slug}"))

    def work_item(self, item_id: int) -> str:
        return f"{self.base}/_apis/wit/workItems/{item_id}"

    def field(self, ref: str) -> str:
        return f"{self.base}/_apis/wit/fields/{ref}"

    def project(self, project: AdoProject) -> str:
        return f"{self.base}/_apis/projects/{project.guid}"

    def attachment(self, guid, file_name: str | None = None) -> str:
        url = f"{self.base}/_apis/wit/attachments/{guid}"
        return f"{url}?fileName={file_name}" if file_name else url


def identity_descriptor(identity: AdoIdentity) -> str:
    return "aad." + base64.urlsafe_b64encode(str(identity.guid).encode()).decode().rstrip("=")


def identity_ref(identity: AdoIdentity, site_slug: str) -> dict:
    """An IdentityRef as work item fields carry it (the URLs point at the real hosts' shapes)."""
    descriptor = identity_descriptor(identity)
    ref = {
        "displayName": identity.display_name,
        "url": f"https://vssps.dev.azure.com/{site_slug}/_apis/Identities/{identity.guid}",
        "_links": {"avatar": {"href": f"https://dev.azure.com/{site_slug}/_apis/GraphProfile/MemberAvatars/{descriptor}"}},
        "id": str(identity.guid),
        "uniqueName": identity.unique_name,
        "imageUrl": f"https://dev.azure.com/{site_slug}/_api/_common/identityImage?id={identity.guid}",
        "descriptor": descriptor,
    }
    if not identity.is_active or identity.is_deleted:
        ref["inactive"] = True
    return ref


def field_json(field: dict, urls: Urls) -> dict:
    typ = field["type"]
    out = {
        "name": field["name"],
        "referenceName": field["referenceName"],
        "description": field.get("description", ""),
        "type": "string" if typ == "identity" else typ,
        "usage": "workItem",
        "readOnly": field.get("readOnly", False),
        "canSortBy": typ not in ("html", "history", "plainText"),
        "isQueryable": True,
        "supportedOperations": [{"referenceName": "SupportedOperations.Equals", "name": "="}],
        "isIdentity": typ == "identity",
        "isPicklist": bool(field.get("picklist")),
        "isPicklistSuggested": False,
        "url": urls.field(field["referenceName"]),
    }
    if field.get("picklistId"):
        out["picklistId"] = field["picklistId"]
    return out


def field_ref_json(ref: str, urls: Urls, custom: dict | None = None) -> dict:
    field = SYSTEM_FIELDS.get(ref) or (custom or {}).get(ref) or {"name": ref.rsplit(".", 1)[-1]}
    return {"referenceName": ref, "name": field["name"], "url": urls.field(ref)}


def relation_types_json(urls: Urls) -> list[dict]:
    out = []
    for ref, name, usage, topology, directional, opposite in RELATION_TYPES:
        attributes = {"usage": usage, "editable": usage == "workItemLink", "enabled": True}
        if usage == "workItemLink":
            attributes |= {"acyclic": topology in ("tree", "dependency"), "directional": directional,
                           "singleTarget": ref.endswith("Hierarchy-Reverse"), "topology": topology,
                           "isForward": not ref.endswith("-Reverse"), "oppositeEndReferenceName": opposite}
        out.append({"referenceName": ref, "name": name, "attributes": attributes,
                    "url": f"{urls.base}/_apis/wit/workItemRelationTypes/{ref}"})
    return out


def work_item_json(item: AdoWorkItem, urls: Urls, *, fields: dict | None = None, rev: int | None = None,
                   relations: list | None = None, expand: str = "none", only_fields: list[str] | None = None,
                   comment_count: int | None = None) -> dict:
    values = dict(item.fields if fields is None else fields)
    if only_fields is not None:
        wanted = {f.lower() for f in only_fields}
        values = {k: v for k, v in values.items() if k.lower() in wanted}
    body = {"id": item.item_id, "rev": rev or item.rev, "fields": values}
    expand = (expand or "none").lower()
    rels = item.relations if relations is None else relations
    if expand in ("relations", "all") and rels:
        body["relations"] = [
            {"rel": r["rel"], "url": _relation_url(r, urls), "attributes": r.get("attributes", {})} for r in rels
        ]
    if expand in ("links", "all") or (only_fields is None and expand == "none"):
        link = urls.work_item(item.item_id)
        body["_links"] = {
            "self": {"href": link},
            "workItemUpdates": {"href": f"{link}/updates"},
            "workItemRevisions": {"href": f"{link}/revisions"},
            "workItemComments": {"href": f"{link}/comments"},
            "html": {"href": f"{urls.base}/web/wi.aspx?id={item.item_id}"},
            "workItemType": {"href": f"{urls.base}/{item.project_id}/_apis/wit/workItemTypes/{item.work_item_type}"},
            "fields": {"href": f"{urls.base}/_apis/wit/fields"},
        }
        if expand == "none":
            body.pop("_links")
    if comment_count is not None:
        body["commentVersionRef"] = {"commentId": 0, "version": 1} if comment_count else None
        if not comment_count:
            body.pop("commentVersionRef")
    body["url"] = urls.work_item(item.item_id)
    return body


def _relation_url(relation: dict, urls: Urls) -> str:
    # Work item links are stored by id so a migration's sandbox URL never goes stale.
    if "target_id" in relation:
        return urls.work_item(relation["target_id"])
    if "attachment_guid" in relation:
        return urls.attachment(relation["attachment_guid"])
    return relation["url"]


def node_json(node: AdoNode, urls: Urls, *, depth: int, children_of: dict) -> dict:
    group = "Areas" if node.structure == "area" else "Iterations"
    parts = node.path.split("\\")
    body = {
        "id": node.node_id,
        "identifier": str(node.guid),
        "name": node.name,
        "structureType": node.structure,
        "hasChildren": bool(children_of.get(node.pk)),
        "path": "\\" + "\\".join([parts[0], "Area" if node.structure == "area" else "Iteration", *parts[1:]]),
    }
    if node.structure == "iteration" and (node.start_date or node.finish_date):
        body["attributes"] = {"startDate": iso(node.start_date), "finishDate": iso(node.finish_date)}
    if depth > 0 and children_of.get(node.pk):
        body["children"] = [node_json(c, urls, depth=depth - 1, children_of=children_of) for c in children_of[node.pk]]
    rest = "/".join(parts[1:])
    body["url"] = f"{urls.base}/{node.project.guid}/_apis/wit/classificationNodes/{group}" + (f"/{rest}" if rest else "")
    return body
