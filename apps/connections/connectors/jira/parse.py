"""Jira JSON (Cloud REST v3, Data Center REST v2, agile 1.0) -> the neutral records. Pure functions."""

from datetime import UTC, datetime

from apps.connections.connectors import records
from apps.connections.connectors.records import FieldType, StateCategory, TextFormat

STATUS_CATEGORIES = {"new": StateCategory.PROPOSED, "indeterminate": StateCategory.IN_PROGRESS,
                     "done": StateCategory.DONE}
# By schema type (custom plugin keys first, then the schema's type).
_CUSTOM_TYPES = {
    "com.pyxis.greenhopper.jira:gh-sprint": FieldType.ITERATION,
    "com.pyxis.greenhopper.jira:gh-epic-link": FieldType.LINK,
    "com.atlassian.jira.plugin.system.customfieldtypes:textarea": FieldType.TEXT,
    "com.atlassian.jira.plugin.system.customfieldtypes:select": FieldType.OPTION,
    "com.atlassian.jira.plugin.system.customfieldtypes:radiobuttons": FieldType.OPTION,
    "com.atlassian.jira.plugin.system.customfieldtypes:multiselect": FieldType.OPTIONS,
    "com.atlassian.jira.plugin.system.customfieldtypes:multicheckboxes": FieldType.OPTIONS,
    "com.atlassian.jira.plugin.system.customfieldtypes:labels": FieldType.OPTIONS,
    "com.atlassian.jira.plugin.system.customfieldtypes:cascadingselect": FieldType.OPTION,
}
_SCHEMA_TYPES = {
    "string": FieldType.STRING, "number": FieldType.DECIMAL, "date": FieldType.DATE, "datetime": FieldType.DATETIME,
    "user": FieldType.PERSON, "option": FieldType.OPTION, "priority": FieldType.OPTION,
    "status": FieldType.OPTION, "resolution": FieldType.OPTION, "issuetype": FieldType.OPTION,
    "component": FieldType.AREA, "version": FieldType.OPTIONS, "issuelinks": FieldType.LINK,
    "any": FieldType.OTHER, "boolean": FieldType.BOOLEAN,
}
_TEXT_SYSTEM = {"description", "environment"}
_READ_ONLY_SYSTEM = {"created", "updated", "creator", "resolutiondate", "status", "statuscategorychangedate",
                     "lastViewed", "votes", "watches", "workratio", "aggregateprogress", "progress", "thumbnail",
                     "issuekey", "statusCategory", "subtasks", "aggregatetimespent", "aggregatetimeestimate",
                     "aggregatetimeoriginalestimate"}


def parse_datetime(value) -> datetime | None:
    """Jira's 2026-01-05T10:00:00.000+0000 (or ISO 8601 with a colon in the offset)."""
    if not isinstance(value, str) or not value:
        return None
    text = value.strip().replace("Z", "+00:00")
    if len(text) > 5 and text[-5] in "+-" and text[-4:].isdigit():
        text = text[:-2] + ":" + text[-2:]
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def person(user: dict | None) -> records.Person | None:
    if not isinstance(user, dict):
        return None
    ident = user.get("accountId") or user.get("key") or user.get("name") or ""
    if not ident:
        return None
    name = str(user.get("displayName") or "")
    return records.Person(source_id=str(ident), display_name=name, email=str(user.get("emailAddress") or ""),
                          active=bool(user.get("active", True)),
                          is_deleted=name.lower() in ("former user", "deleted user") or user.get("accountType") == "unknown")


def field_definition(body: dict, allowed_values: tuple[str, ...] = ()) -> records.FieldDefinition:
    schema = body.get("schema") or {}
    field_id = str(body.get("id") or body.get("key") or "")
    custom = schema.get("custom")
    vendor_type = str(custom or schema.get("system") or schema.get("type") or "")
    schema_type = schema.get("type")
    if custom in _CUSTOM_TYPES:
        kind = _CUSTOM_TYPES[custom]
    elif field_id in _TEXT_SYSTEM or (schema_type == "string" and field_id == "environment"):
        kind = FieldType.TEXT
    elif field_id == "labels":
        kind = FieldType.OPTIONS
    elif field_id == "parent":
        kind = FieldType.LINK
    elif schema_type == "array":
        items = schema.get("items")
        kind = {"user": FieldType.PERSON, "component": FieldType.AREA}.get(items, FieldType.OPTIONS)
    else:
        kind = _SCHEMA_TYPES.get(schema_type, FieldType.OTHER)
    if custom and custom.endswith(":float"):
        kind = FieldType.DECIMAL
    return records.FieldDefinition(
        source_id=field_id,
        name=str(body.get("name") or field_id),
        type=kind,
        is_custom=bool(body.get("custom", bool(custom))),
        is_multi_value=schema_type == "array",
        allowed_values=tuple(allowed_values),
        read_only=field_id in _READ_ONLY_SYSTEM,
        vendor_type=vendor_type,
    )


def allowed_value_text(value) -> str:
    if isinstance(value, dict):
        return str(value.get("value") or value.get("name") or value.get("key") or value.get("id") or "")
    return str(value)


def state_category(status: dict) -> StateCategory:
    key = str(((status or {}).get("statusCategory") or {}).get("key") or "")
    return STATUS_CATEGORIES.get(key, StateCategory.IN_PROGRESS)


def work_item_type(body: dict, statuses: list[dict], field_ids=(), required=()) -> records.WorkItemType:
    level = body.get("hierarchyLevel")
    subtask = bool(body.get("subtask"))
    if level is None:
        level = -1 if subtask else 0
    return records.WorkItemType(
        source_id=str(body.get("id", "")),
        name=str(body.get("name", "")),
        description=str(body.get("description") or ""),
        is_subtask=subtask,
        hierarchy_level=int(level),
        states=tuple(records.State(name=str(s.get("name", "")), category=state_category(s), source_id=str(s.get("id", "")),
                                   color=str((s.get("statusCategory") or {}).get("colorName") or ""))
                     for s in statuses),
        field_ids=tuple(field_ids),
        required_field_ids=tuple(required),
    )


def link_type(body: dict) -> records.LinkType:
    return records.LinkType(source_id=str(body.get("id", "")), name=str(body.get("name", "")),
                            outward=str(body.get("outward") or ""), inward=str(body.get("inward") or ""))


def sprint(body: dict, board_id) -> records.Iteration:
    return records.Iteration(
        source_id=str(body.get("id", "")),
        name=str(body.get("name", "")),
        start=parse_datetime(body.get("startDate")),
        finish=parse_datetime(body.get("endDate") or body.get("completeDate")),
        state=str(body.get("state") or ""),
        goal=str(body.get("goal") or ""),
        board_id=str(board_id),
    )


def component(body: dict) -> records.Area:
    return records.Area(source_id=str(body.get("id", "")), name=str(body.get("name", "")),
                        description=str(body.get("description") or ""), lead=person(body.get("lead")))


def issue(body: dict, *, text_format: TextFormat, project_key: str):
    """One issue (search or bulk fetch, with comment, attachment and issuelinks fields and, where asked,
    the changelog) as (WorkItem, links, attachments, people)."""
    fields = dict(body.get("fields") or {})
    issue_id = str(body.get("id"))
    status = fields.get("status") or {}
    comment = fields.get("comment") or {}
    changelog = body.get("changelog") or {}
    links = []
    for entry in fields.get("issuelinks") or []:
        far_inward = entry.get("inwardIssue")
        other = entry.get("outwardIssue") or far_inward or {}
        # Each link shows on both issues; the end that names the inward issue is the mirror, unless that
        # issue lives in another project (its own end will not be read).
        other_key = str(other.get("key") or "")
        in_project = other_key.rsplit("-", 1)[0] == project_key
        links.append(records.Link(
            source_id=str(entry.get("id", "")),
            link_type_id=str((entry.get("type") or {}).get("id", "")),
            from_item_id=issue_id,
            to_item_id=str(other.get("id", "")),
            is_mirror=bool(far_inward) and in_project,
        ))
    attachments = [records.Attachment(
        source_id=str(a.get("id", "")), work_item_id=issue_id, filename=str(a.get("filename") or ""),
        size_bytes=int(a["size"]) if isinstance(a.get("size"), int | float) else None,
        mime_type=str(a.get("mimeType") or ""), author=person(a.get("author")),
        created_at=parse_datetime(a.get("created")), download_url=str(a.get("content") or ""),
    ) for a in fields.get("attachment") or []]
    people = [p for p in (person(fields.get(role)) for role in ("assignee", "reporter", "creator")) if p]
    for value in fields.values():
        if isinstance(value, dict) and "displayName" in value and (value.get("accountId") or value.get("key")):
            found = person(value)
            if found:
                people.append(found)
    parent = fields.get("parent") or {}
    record = records.WorkItem(
        source_id=issue_id,
        key=str(body.get("key", "")),
        project_id=str((fields.get("project") or {}).get("id", "")),
        type_id=str((fields.get("issuetype") or {}).get("id", "")),
        title=str(fields.get("summary") or ""),
        description=fields.get("description") or "",
        description_format=text_format,
        state=str(status.get("name") or ""),
        state_category=state_category(status) if status else None,
        priority=str((fields.get("priority") or {}).get("name") or ""),
        assignee=person(fields.get("assignee")),
        reporter=person(fields.get("reporter")),
        created_by=person(fields.get("creator")),
        created_at=parse_datetime(fields.get("created")),
        updated_at=parse_datetime(fields.get("updated")),
        resolved_at=parse_datetime(fields.get("resolutiondate")),
        parent_id=str(parent.get("id") or ""),
        labels=tuple(str(label) for label in fields.get("labels") or []),
        revision=int(changelog.get("total") or len(changelog.get("histories") or [])),
        fields=fields,
        link_ids=tuple(link.source_id for link in links),
        comment_count=int(comment.get("total") or len(comment.get("comments") or [])) if comment else 0,
        attachment_count=len(attachments),
    )
    return record, links, attachments, people


def comment(body: dict, issue_id: str, text_format: TextFormat) -> records.Comment:
    visibility = body.get("visibility") or {}
    return records.Comment(
        source_id=str(body.get("id", "")),
        work_item_id=issue_id,
        author=person(body.get("author")),
        created_at=parse_datetime(body.get("created")),
        body=body.get("body") or "",
        body_format=text_format,
        updated_at=parse_datetime(body.get("updated")),
        updated_by=person(body.get("updateAuthor")),
        visibility=f"{visibility.get('type')}:{visibility.get('value')}" if visibility else "",
    )


def worklog(body: dict, issue_id: str, text_format: TextFormat) -> records.Worklog:
    seconds = body.get("timeSpentSeconds")
    return records.Worklog(
        source_id=str(body.get("id", "")),
        work_item_id=issue_id,
        author=person(body.get("author")),
        started_at=parse_datetime(body.get("started")),
        seconds=int(seconds) if isinstance(seconds, int | float) else 0,
        comment=body.get("comment") or "",
        comment_format=text_format,
    )


def remote_link(body: dict, issue_id: str) -> records.Link:
    """One of the issue's remote links (`GET /issue/{id}/remotelink`: a web link, a commit, a Confluence
    page), a link out of the tracker: its `object` holds the URL and the title."""
    target = body.get("object") if isinstance(body.get("object"), dict) else {}
    return records.Link(source_id=str(body.get("id", "")), link_type_id=str(body.get("relationship") or ""),
                        from_item_id=str(issue_id), url=str(target.get("url") or ""),
                        comment=str(target.get("title") or ""), is_external=True)


# The version fields by the name a changelog item gives them, for items with no fieldId (Jira Server's, and
# older Data Center exports: Apache's histories name only "Fix Version" and "Version").
CHANGELOG_FIELD_IDS = {"Fix Version": "fixVersions", "Version": "versions"}


def revision(body: dict, issue_id: str, number: int) -> records.Revision:
    return records.Revision(
        source_id=str(body.get("id", "")),
        work_item_id=issue_id,
        number=number,
        author=person(body.get("author")),
        changed_at=parse_datetime(body.get("created")),
        changes=tuple(records.FieldChange(str(item.get("fieldId") or CHANGELOG_FIELD_IDS.get(item.get("field"))
                                              or item.get("field") or ""),
                                          item.get("fromString", item.get("from")),
                                          item.get("toString", item.get("to")), str(item.get("field") or ""))
                      for item in body.get("items") or []),
    )
