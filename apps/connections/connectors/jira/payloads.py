"""The JSON Jira expects for writes, built from the destination-shaped records (`records.ItemWrite`).

Pure functions, no HTTP: the writer (`writer.py`) sends what these build, and the preview can call them to
show exactly what would be sent and to warn about what will change on the way (a summary cut at 255
characters, a label whose spaces Jira refuses).

Field values are shaped by the destination field's schema as `GET /rest/api/{2|3}/field` describes it:
options as {"value"}, people as {"accountId"} (Cloud) or {"name"} (Data Center), numbers as numbers, dates
as yyyy-MM-dd, date-times in Jira's form, labels without spaces, components and versions as {"id"} or
{"name"}, priorities as {"id"} or {"name"}, the sprint as its numeric id, Data Center's Epic Link as a key.
"""

import re
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from apps.connections.connectors import records

SOURCE_PROPERTY = "migrayt.source"  # the entity property every created issue carries from its creation on
SUMMARY_MAX = 255
LABEL_MAX = 255
SPRINT_NAME_MAX = 30
PROPERTY_URL_MAX = 2000

SPRINT_CUSTOM_TYPE = "com.pyxis.greenhopper.jira:gh-sprint"
EPIC_LINK_CUSTOM_TYPE = "com.pyxis.greenhopper.jira:gh-epic-link"
TEXTAREA_CUSTOM_TYPE = "com.atlassian.jira.plugin.system.customfieldtypes:textarea"
LABELS_CUSTOM_TYPE = "com.atlassian.jira.plugin.system.customfieldtypes:labels"
RICH_TEXT_SYSTEM_FIELDS = ("description", "environment")


class FieldValueError(ValueError):
    """A value that cannot be shaped for its field; names the field, says why in plain words."""

    def __init__(self, field_id: str, message: str):
        super().__init__(f"{field_id}: {message}")
        self.field_id = field_id
        self.message = message


# --- text ------------------------------------------------------------------------------------------


def summary_fit(text: str) -> tuple[str, bool]:
    """A summary Jira accepts: one line, at most 255 characters. Returns it and whether it was changed
    beyond trimming (for the preview's warning)."""
    one_line = re.sub(r"\s*[\r\n]+\s*", " ", text or "").strip()
    if len(one_line) <= SUMMARY_MAX:
        return one_line, one_line != (text or "").strip()
    return one_line[: SUMMARY_MAX - 1].rstrip() + "…", True


def label_fit(label: str) -> str:
    """Jira labels cannot contain spaces: runs of white space become one underscore."""
    return re.sub(r"\s+", "_", str(label).strip())[:LABEL_MAX]


def labels_fit(labels) -> list[str]:
    out = [label_fit(label) for label in labels if str(label).strip()]
    return list(dict.fromkeys(out))


def sprint_name_fit(name: str) -> str:
    name = (name or "").strip()
    return name if len(name) <= SPRINT_NAME_MAX else name[: SPRINT_NAME_MAX - 1].rstrip() + "…"


def adf_from_plain(text: str) -> dict:
    """A minimal ADF document for plain text: one paragraph per block, line breaks kept."""
    paragraphs = []
    for block in re.split(r"\n\s*\n", (text or "").strip()):
        content = []
        for number, line in enumerate(block.split("\n")):
            if number:
                content.append({"type": "hardBreak"})
            if line:
                content.append({"type": "text", "text": line})
        if content:
            paragraphs.append({"type": "paragraph", "content": content})
    return {"type": "doc", "version": 1, "content": paragraphs}


def _adf_header(header: str) -> dict:
    return {"type": "paragraph", "content": [{"type": "text", "text": header, "marks": [{"type": "em"}]}]}


_WIKI_SPECIAL = re.compile(r"([\\*_{}\[\]|!^~+\-#?])")


def wiki_escape(text: str) -> str:
    return _WIKI_SPECIAL.sub(r"\\\1", text)


def rich_text_with_header(body: Any, header: str, *, cloud: bool) -> Any:
    """A comment (or description) body with an attribution line in italics on top ("Originally written by
    ... on ..."): an ADF document on Cloud, wiki markup on Data Center. `body` is already in the site's
    format; plain text given to a Cloud site is wrapped in ADF."""
    header = (header or "").strip()
    if cloud:
        doc = body if isinstance(body, dict) else adf_from_plain(str(body or ""))
        if doc.get("type") != "doc":
            raise FieldValueError("body", "Jira Cloud needs an Atlassian Document Format document (type doc).")
        if not header:
            return doc
        return {**doc, "content": [_adf_header(header), *doc.get("content", [])]}
    if isinstance(body, dict):
        raise FieldValueError("body", "Jira Data Center takes wiki markup (text), not an ADF document.")
    text = str(body or "")
    if not header:
        return text
    return f"_{wiki_escape(header)}_\n\n{text}" if text else f"_{wiki_escape(header)}_"


def rich_text(value: Any, *, cloud: bool, field_id: str) -> Any:
    if value is None:
        return None
    if cloud:
        if isinstance(value, str):
            return adf_from_plain(value)
        if not isinstance(value, dict) or value.get("type") != "doc":
            raise FieldValueError(field_id, "Jira Cloud needs an Atlassian Document Format document (type doc).")
        return value
    if isinstance(value, dict):
        raise FieldValueError(field_id, "Jira Data Center takes wiki markup (text), not an ADF document.")
    return str(value)


# --- values ----------------------------------------------------------------------------------------


def jira_datetime(value: datetime) -> str:
    """Jira's timestamp form: 2024-01-15T10:30:00.000+0000 (UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}+0000"


def _parse_datetime(value, field_id: str) -> datetime:
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if isinstance(value, str):
        text = value.strip().replace("Z", "+00:00")
        match = re.fullmatch(r"(.*[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)([+-]\d{2})(\d{2})", text)
        if match:
            text = f"{match.group(1)}{match.group(2)}:{match.group(3)}"
        try:
            return datetime.fromisoformat(text)
        except ValueError:
            pass
    raise FieldValueError(field_id, f"{value!r} is not a date and time.")


def _date(value, field_id: str) -> str:
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        text = value.strip()
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            try:
                return date.fromisoformat(text).isoformat()
            except ValueError:
                pass
        else:
            return _parse_datetime(text, field_id).date().isoformat()
    raise FieldValueError(field_id, f"{value!r} is not a date (yyyy-MM-dd).")


def _number(value, field_id: str) -> int | float:
    if isinstance(value, bool):
        raise FieldValueError(field_id, "a yes/no value is not a number.")
    if isinstance(value, int | float):
        return value
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, str):
        try:
            number = Decimal(value.strip().replace(",", "."))
        except InvalidOperation:
            raise FieldValueError(field_id, f"{value!r} is not a number.") from None
        return int(number) if number == number.to_integral_value() and "." not in value else float(number)
    raise FieldValueError(field_id, f"{value!r} is not a number.")


def _by_id_or_name(value, field_id: str, what: str) -> dict:
    if isinstance(value, dict):
        if value.get("id") or value.get("name"):
            return {k: str(value[k]) for k in ("id", "name") if value.get(k)}
        raise FieldValueError(field_id, f"a {what} needs an id or a name.")
    text = str(value).strip()
    if not text:
        raise FieldValueError(field_id, f"an empty {what}.")
    return {"id": text} if text.isdigit() else {"name": text}


def _option(value, field_id: str) -> dict:
    if isinstance(value, dict):
        if value.get("id") or value.get("value"):
            return {k: str(value[k]) for k in ("id", "value") if value.get(k)}
        raise FieldValueError(field_id, "an option needs a value or an id.")
    text = str(value).strip()
    if not text:
        raise FieldValueError(field_id, "an empty option.")
    return {"value": text}


def user_ref(value, *, cloud: bool, field_id: str) -> dict:
    """A person as Jira's write API names them: {"accountId"} on Cloud, {"name"} on Data Center."""
    if isinstance(value, dict):
        wanted = ("accountId",) if cloud else ("name", "key")
        found = {k: value[k] for k in wanted if value.get(k)}
        if not found:
            raise FieldValueError(field_id, "a person needs an accountId (Cloud) or a user name (Data Center).")
        return found
    text = str(value).strip()
    if not text:
        raise FieldValueError(field_id, "an empty person.")
    return {"accountId": text} if cloud else {"name": text}


def _listed(value) -> list:
    if value is None:
        return []
    if isinstance(value, list | tuple | set | frozenset):
        return list(value)
    return [value]


def field_value(schema: dict, value: Any, *, cloud: bool, field_id: str) -> Any:
    """`value` shaped for a field with this schema (`{"type", "items", "custom", "system"}`)."""
    if value is None:
        return None
    schema = schema or {}
    kind, items, custom = schema.get("type", ""), schema.get("items", ""), schema.get("custom", "")
    if custom == SPRINT_CUSTOM_TYPE:
        sprint = _listed(value)
        if len(sprint) != 1:
            raise FieldValueError(field_id, "an item goes into exactly one open sprint at creation.")
        number = _number(sprint[0], field_id)
        if not isinstance(number, int):
            raise FieldValueError(field_id, "the sprint is given by its numeric id.")
        return number
    if custom == EPIC_LINK_CUSTOM_TYPE:
        return str(value).strip()
    if custom == TEXTAREA_CUSTOM_TYPE or schema.get("system") in RICH_TEXT_SYSTEM_FIELDS:
        return rich_text(value, cloud=cloud, field_id=field_id)
    if kind == "array":
        values = _listed(value)
        if items == "option":
            return [_option(v, field_id) for v in values]
        if items == "user":
            return [user_ref(v, cloud=cloud, field_id=field_id) for v in values]
        if items in ("component", "version", "group"):
            return [_by_id_or_name(v, field_id, items) for v in values]
        if items == "string":
            if custom == LABELS_CUSTOM_TYPE or schema.get("system") == "labels":
                return labels_fit(values)
            return [str(v) for v in values]
        return values
    if kind == "option":
        return _option(value, field_id)
    if kind == "option-with-child":
        parts = _listed(value)
        if isinstance(value, dict):
            return value
        if not 1 <= len(parts) <= 2:
            raise FieldValueError(field_id, "a cascading option is a value and, optionally, a child value.")
        shaped = {"value": str(parts[0])}
        if len(parts) == 2 and parts[1] not in (None, ""):
            shaped["child"] = {"value": str(parts[1])}
        return shaped
    if kind == "user":
        return user_ref(value, cloud=cloud, field_id=field_id)
    if kind == "number":
        return _number(value, field_id)
    if kind == "date":
        return _date(value, field_id)
    if kind == "datetime":
        return jira_datetime(_parse_datetime(value, field_id))
    if kind in ("priority", "version", "group", "component", "resolution"):
        return _by_id_or_name(value, field_id, kind)
    if kind == "string":
        if isinstance(value, dict | list):
            raise FieldValueError(field_id, "this field takes text.")
        return str(value)
    return value


# --- issues ----------------------------------------------------------------------------------------


def _issue_ref(id_or_key: str) -> dict:
    ref = str(id_or_key).strip()
    return {"id": ref} if ref.isdigit() else {"key": ref}


def source_property(item: records.ItemWrite, *, run_id: str = "") -> dict:
    value = {"source_id": item.source_id, "source_url": item.source_url[:PROPERTY_URL_MAX]}
    if item.source_key:
        value["source_key"] = item.source_key
    if run_id:
        value["run_id"] = str(run_id)
    return {"key": SOURCE_PROPERTY, "value": value}


def issue_create_payload(item: records.ItemWrite, *, project: str, cloud: bool, fields_schema: dict[str, dict],
                         issue_type: dict, epic_link_field: str = "", run_id: str = "") -> dict:
    """The IssueUpdateDetails body that creates `item` in `project`, its source id inside as an entity
    property. `fields_schema` is {field id: schema}; `issue_type` the destination type (id, subtask,
    hierarchyLevel). Raises FieldValueError for a value that cannot be shaped."""
    if not str(item.source_id or "").strip():
        raise FieldValueError("source_id", "every item to write needs its source id.")
    summary, _ = summary_fit(item.summary)
    if not summary:
        raise FieldValueError("summary", "Jira needs a summary; this item's title is empty.")
    project_ref = {"id": project} if str(project).isdigit() else {"key": project}
    fields: dict[str, Any] = {"project": project_ref, "issuetype": {"id": str(issue_type["id"])}, "summary": summary}
    if item.description not in (None, "", {}):
        fields["description"] = rich_text(item.description, cloud=cloud, field_id="description")
    if item.labels:
        fields["labels"] = labels_fit(item.labels)
    if item.component_ids:
        fields["components"] = [_by_id_or_name(c, "components", "component") for c in item.component_ids]
    if item.priority:
        fields["priority"] = _by_id_or_name(item.priority, "priority", "priority")
    if item.assignee:
        fields["assignee"] = user_ref(item.assignee, cloud=cloud, field_id="assignee")
    if item.reporter:
        fields["reporter"] = user_ref(item.reporter, cloud=cloud, field_id="reporter")
    parent = item.parent_id or item.parent_key
    if parent:
        if cloud or issue_type.get("subtask"):
            fields["parent"] = _issue_ref(item.parent_id) if item.parent_id else _issue_ref(item.parent_key)
        elif epic_link_field:
            # Data Center links a standard issue to its epic through the Epic Link field, by key.
            fields[epic_link_field] = item.parent_key or item.parent_id
        else:
            raise FieldValueError("parent", "this Jira Data Center site has no Epic Link field to set the parent with.")
    for field_id, value in item.fields.items():
        if field_id in fields and field_id not in ("labels",):
            raise FieldValueError(field_id, "given twice (as a field and as an item attribute).")
        if field_id not in fields_schema:
            raise FieldValueError(field_id, "this Jira site has no such field.")
        shaped = field_value(fields_schema[field_id], value, cloud=cloud, field_id=field_id)
        if field_id == "labels" and "labels" in fields:
            shaped = list(dict.fromkeys([*fields["labels"], *shaped]))
        if shaped is not None:
            fields[field_id] = shaped
    return {"fields": fields, "properties": [source_property(item, run_id=run_id)]}


# --- search ----------------------------------------------------------------------------------------


def jql_string(value: str) -> str:
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def jql_minute(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M")
