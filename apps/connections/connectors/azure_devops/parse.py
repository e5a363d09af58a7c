"""Azure DevOps JSON -> the neutral records. Pure functions over what the REST API 7.1 answers."""

import re
from datetime import UTC, datetime

from apps.connections.connectors import records
from apps.connections.connectors.records import FieldType, StateCategory, TextFormat

STATE_CATEGORIES = {
    "proposed": StateCategory.PROPOSED,
    "inprogress": StateCategory.IN_PROGRESS,
    "resolved": StateCategory.IN_PROGRESS,  # "Resolved" is still work in progress: not done until Completed
    "completed": StateCategory.DONE,
    "removed": StateCategory.REMOVED,
}

# Reference names of the types at each backlog level of the four system processes, used where the
# service's process configuration is not read: Epic above Feature (portfolio backlogs), requirement types
# (level 0), and the task level below them.
_PORTFOLIO_LEVELS = {"microsoft.vsts.workitemtypes.epic": 2, "microsoft.vsts.workitemtypes.feature": 1}
_TASK_LEVEL = {"microsoft.vsts.workitemtypes.task"}

_TYPES = {
    "string": FieldType.STRING,
    "integer": FieldType.INTEGER,
    "double": FieldType.DECIMAL,
    "dateTime": FieldType.DATETIME,
    "boolean": FieldType.BOOLEAN,
    "html": FieldType.TEXT,
    "plainText": FieldType.TEXT,
    "history": FieldType.TEXT,
    "identity": FieldType.PERSON,
    "guid": FieldType.STRING,
    "picklistString": FieldType.OPTION,
    "picklistInteger": FieldType.OPTION,
    "picklistDouble": FieldType.OPTION,
}
RICH_TEXT_TYPES = {"html", "history"}
# Well-known fields whose values come from a list in every system process.
SYSTEM_PICKLISTS = {"Microsoft.VSTS.Common.Priority", "Microsoft.VSTS.Common.Severity",
                    "Microsoft.VSTS.Common.ValueArea", "Microsoft.VSTS.Common.Risk",
                    "Microsoft.VSTS.Common.Activity", "Microsoft.VSTS.Common.Triage",
                    "Microsoft.VSTS.CMMI.RequirementType"}
_IMG_ATTACHMENT = re.compile(r"<img\b[^>]*?src=[\"']([^\"']*?/_apis/wit/attachments/([0-9a-fA-F-]{36})[^\"']*)[\"']",
                             re.IGNORECASE)
# Link types that are the same from both ends: the service keeps them on both items.
SYMMETRIC_LINKS = {"System.LinkTypes.Related"}
_IMG = re.compile(r"<img\b", re.IGNORECASE)


def parse_datetime(value) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def is_custom_field(reference_name: str) -> bool:
    return not reference_name.startswith(("System.", "Microsoft.VSTS."))


def field_type_of(body: dict) -> tuple[FieldType, str]:
    """The neutral type and the vendor's own type name of a field from `_apis/wit/fields`."""
    ref = body.get("referenceName", "")
    vendor = "identity" if body.get("isIdentity") else str(body.get("type") or "")
    if vendor == "treePath":
        kind = FieldType.ITERATION if "iteration" in ref.lower() or "iteration" in body.get("name", "").lower() \
            else FieldType.AREA
        return kind, vendor
    if ref == "System.Tags":
        return FieldType.OPTIONS, vendor
    if ref in ("System.AreaId",):
        return FieldType.AREA, vendor
    if ref in ("System.IterationId",):
        return FieldType.ITERATION, vendor
    if ref == "System.Parent":
        return FieldType.LINK, vendor
    neutral = _TYPES.get(vendor, FieldType.OTHER)
    if (body.get("isPicklist") or ref in SYSTEM_PICKLISTS) and neutral not in (FieldType.PERSON, FieldType.TEXT):
        neutral = FieldType.OPTION
    return neutral, vendor


def field_definition(body: dict, allowed_values: tuple[str, ...] = ()) -> records.FieldDefinition:
    ref = body.get("referenceName", "")
    neutral, vendor = field_type_of(body)
    if allowed_values and neutral in (FieldType.STRING, FieldType.INTEGER, FieldType.DECIMAL):
        neutral = FieldType.OPTION
    return records.FieldDefinition(
        source_id=ref,
        name=str(body.get("name") or ref),
        type=neutral,
        is_custom=is_custom_field(ref),
        is_multi_value=ref == "System.Tags",
        allowed_values=tuple(str(v) for v in allowed_values),
        read_only=bool(body.get("readOnly")),
        vendor_type=vendor,
    )


def state_category(category: str | None) -> StateCategory:
    return STATE_CATEGORIES.get(str(category or "").lower(), StateCategory.IN_PROGRESS)


def hierarchy_level(reference_name: str) -> int:
    ref = reference_name.lower()
    if ref in _PORTFOLIO_LEVELS:
        return _PORTFOLIO_LEVELS[ref]
    return -1 if ref in _TASK_LEVEL else 0


def work_item_type(body: dict) -> records.WorkItemType:
    instances = body.get("fieldInstances") or body.get("fields") or []
    return records.WorkItemType(
        source_id=str(body.get("name", "")),
        name=str(body.get("name", "")),
        description=str(body.get("description") or ""),
        hierarchy_level=hierarchy_level(str(body.get("referenceName") or "")),
        states=tuple(
            records.State(name=str(s.get("name", "")), category=state_category(s.get("category")),
                          color=str(s.get("color") or ""))
            for s in body.get("states") or []
        ),
        field_ids=tuple(str(f.get("referenceName")) for f in instances if f.get("referenceName")),
        required_field_ids=tuple(str(f.get("referenceName")) for f in instances if f.get("alwaysRequired")),
        disabled=bool(body.get("isDisabled")),
    )


def link_types(bodies: list[dict]) -> list[records.LinkType]:
    """Relation types (`workitemrelationtypes`); `inward` names the opposite end (Child <-> Parent)."""
    names = {str(b.get("referenceName", "")): str(b.get("name") or b.get("referenceName", "")) for b in bodies}
    out = []
    for body in bodies:
        ref = str(body.get("referenceName", ""))
        attributes = body.get("attributes") or {}
        opposite = attributes.get("oppositeEndReferenceName")
        out.append(records.LinkType(
            source_id=ref,
            name=names[ref],
            outward=names[ref],
            inward=names.get(str(opposite), "") if opposite else "",
            is_hierarchy=attributes.get("topology") == "tree" and "Hierarchy" in ref,
        ))
    return out


def classification_nodes(body: dict, *, structure: str) -> list:
    """Flatten a classification tree (`$depth`) into Areas or Iterations, root first. The paths drop the
    `\\Project\\Area` / `\\Project\\Iteration` root segment, as work item fields show them."""
    out = []

    def walk(node: dict, parents: list[str]):
        names = [*parents, str(node.get("name", ""))]
        path = "\\".join(names)
        attributes = node.get("attributes") or {}
        if structure == "iteration":
            start, finish = parse_datetime(attributes.get("startDate")), parse_datetime(attributes.get("finishDate"))
            out.append(records.Iteration(source_id=str(node.get("id", "")), name=names[-1], path=path,
                                         start=start, finish=finish, state=_iteration_state(start, finish)))
        else:
            out.append(records.Area(source_id=str(node.get("id", "")), name=names[-1], path=path))
        for child in node.get("children") or []:
            walk(child, names)

    walk(body, [])
    return out


def _iteration_state(start: datetime | None, finish: datetime | None) -> str:
    if start is None or finish is None:
        return ""
    now = datetime.now(UTC)
    if finish < now:
        return "past"
    return "current" if start <= now else "future"


def person(identity) -> records.Person | None:
    """An IdentityRef (or, in old answers, "Name <e-mail>" text) as a Person."""
    if not identity:
        return None
    if isinstance(identity, str):
        match = re.match(r"^\s*(.*?)\s*<([^<>]+)>\s*$", identity)
        name, unique = (match.group(1), match.group(2)) if match else (identity, identity)
        return records.Person(source_id=unique, display_name=name, email=unique if "@" in unique else "")
    unique = str(identity.get("uniqueName") or "")
    return records.Person(
        source_id=str(identity.get("id") or unique or identity.get("displayName") or ""),
        display_name=str(identity.get("displayName") or ""),
        email=unique if "@" in unique else "",
        active=not identity.get("inactive", False),
        is_deleted=bool(identity.get("inactive", False)),
    )


def _number(value) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def inline_image_ids(html: str) -> list[str]:
    """Attachment ids of the images a rich-text value shows inline."""
    return [m.group(2).lower() for m in _IMG_ATTACHMENT.finditer(html or "")]


def inline_image_count(html: str) -> int:
    return len(_IMG.findall(html or ""))


def relation_records(item_id: str, relations: list, *, rich_text: str = "") -> tuple[list, list]:
    """(links, attachments) of one work item's relations. Every end is kept: a link between two items
    appears on both, as the service keeps it; counting them once is the caller's business."""
    links, attachments = [], []
    inline = set(inline_image_ids(rich_text))
    counters: dict[str, int] = {}
    for relation in relations or []:
        rel = str(relation.get("rel", ""))
        url = str(relation.get("url", ""))
        attributes = relation.get("attributes") or {}
        counters[rel] = counters.get(rel, 0) + 1
        if rel == "AttachedFile":
            guid = url.rstrip("/").rsplit("/", 1)[-1].split("?")[0].lower()
            size = attributes.get("resourceSize")
            attachments.append(records.Attachment(
                source_id=guid,
                work_item_id=item_id,
                filename=str(attributes.get("name") or guid),
                size_bytes=int(size) if isinstance(size, int | float) else None,
                created_at=parse_datetime(attributes.get("resourceCreatedDate") or attributes.get("authorizedDate")),
                download_url=url,
                is_inline=guid in inline,
            ))
            continue
        match = re.search(r"/_apis/wit/workItems/(\d+)/?$", url, re.IGNORECASE)
        target = match.group(1) if match else ""
        mirror = bool(target) and (rel.endswith("-Reverse") or (rel in SYMMETRIC_LINKS and int(target) < int(item_id)))
        links.append(records.Link(
            source_id=f"{item_id}:{rel}#{counters[rel]}",
            link_type_id=rel,
            from_item_id=item_id,
            to_item_id=match.group(1) if match else "",
            url="" if match else url,
            comment=str(attributes.get("comment") or ""),
            is_external=match is None,
            is_mirror=mirror,
        ))
    return links, attachments


def work_item(body: dict, *, rich_text_fields: set[str] = frozenset(), state_categories: dict | None = None):
    """One work item (from workitemsbatch with `$expand=relations`) as (WorkItem, links, attachments)."""
    item_id = str(body.get("id"))
    fields = dict(body.get("fields") or {})
    rich = " ".join(str(fields.get(ref) or "") for ref in rich_text_fields if ref in fields)
    links, attachments = relation_records(item_id, body.get("relations") or [], rich_text=rich)
    type_name = str(fields.get("System.WorkItemType", ""))
    state = str(fields.get("System.State", ""))
    tags = tuple(t.strip() for t in str(fields.get("System.Tags") or "").split(";") if t.strip())
    creator = person(fields.get("System.CreatedBy"))
    record = records.WorkItem(
        source_id=item_id,
        key=item_id,
        project_id=str(fields.get("System.TeamProject", "")),
        type_id=type_name,
        title=str(fields.get("System.Title") or ""),
        description=str(fields.get("System.Description") or ""),
        description_format=TextFormat.HTML,
        state=state,
        state_category=(state_categories or {}).get((type_name, state)),
        priority=str(fields.get("Microsoft.VSTS.Common.Priority") or ""),
        assignee=person(fields.get("System.AssignedTo")),
        reporter=creator,
        created_by=creator,
        created_at=parse_datetime(fields.get("System.CreatedDate")),
        updated_at=parse_datetime(fields.get("System.ChangedDate")),
        resolved_at=parse_datetime(fields.get("Microsoft.VSTS.Common.ResolvedDate")
                                   or fields.get("Microsoft.VSTS.Common.ClosedDate")),
        parent_id=str(fields.get("System.Parent") or ""),
        iteration_id=str(fields.get("System.IterationId") or ""),
        area_id=str(fields.get("System.AreaId") or ""),
        labels=tags,
        story_points=_number(fields.get("Microsoft.VSTS.Scheduling.StoryPoints")
                             or fields.get("Microsoft.VSTS.Scheduling.Effort")
                             or fields.get("Microsoft.VSTS.Scheduling.Size")),
        revision=int(body.get("rev") or fields.get("System.Rev") or 0),
        fields=fields,
        link_ids=tuple(link.source_id for link in links),
        comment_count=int(fields.get("System.CommentCount") or 0),
        attachment_count=len(attachments),
    )
    return record, links, attachments


def people_in_fields(fields: dict) -> list[records.Person]:
    """Everyone an item's identity fields name (assigned to, created/changed by, custom identity fields)."""
    out = []
    for value in fields.values():
        if isinstance(value, dict) and ("uniqueName" in value or "descriptor" in value) and "displayName" in value:
            found = person(value)
            if found and found.source_id:
                out.append(found)
    return out


def comment(body: dict, work_item_id: str) -> records.Comment:
    fmt = str(body.get("format") or "html").lower()
    return records.Comment(
        source_id=str(body.get("id", "")),
        work_item_id=work_item_id,
        author=person(body.get("createdBy")),
        created_at=parse_datetime(body.get("createdDate")),
        body=str(body.get("text") or ""),
        body_format=TextFormat.MARKDOWN if fmt == "markdown" else TextFormat.HTML,
        updated_at=parse_datetime(body.get("modifiedDate")),
        updated_by=person(body.get("modifiedBy")),
        is_deleted=bool(body.get("isDeleted")),
    )


def revision(body: dict, work_item_id: str) -> records.Revision:
    """One entry of `workItems/{id}/updates` (the fields it changed) as a Revision."""
    changes = [records.FieldChange(ref, change.get("oldValue"), change.get("newValue"))
               for ref, change in (body.get("fields") or {}).items() if isinstance(change, dict)]
    for kind, relations in (body.get("relations") or {}).items():
        for relation in relations or []:
            value = {"rel": relation.get("rel"), "url": relation.get("url")}
            changes.append(records.FieldChange(f"relations.{kind}", None if kind == "added" else value,
                                               value if kind == "added" else None))
    revised = body.get("fields", {}).get("System.ChangedDate", {}).get("newValue") if body.get("fields") else None
    return records.Revision(
        source_id=f"{work_item_id}:{body.get('rev', body.get('id'))}",
        work_item_id=work_item_id,
        number=int(body.get("rev") or body.get("id") or 0),
        author=person(body.get("revisedBy")),
        changed_at=parse_datetime(revised) or parse_datetime(body.get("revisedDate")),
        changes=tuple(changes),
    )
