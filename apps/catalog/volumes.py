"""Counting what a read yields, keeping no content: titles, descriptions and comments are looked at (for
inline images), counted, and dropped with the record. Pure Python over the neutral records.

What is counted, and from what:
* items, items per type and per state category: WorkItem records.
* comments: WorkItem.comment_count (ADO System.CommentCount; Jira's comment total), so no request per item
  is needed; Comment records when a comments stream is read instead.
* revisions: WorkItem.revision (ADO: the item's rev, every revision counts; Jira: changelog entries).
* links by type: Link records that are not mirrors (each link once), external links under their type.
* attachments and their bytes: Attachment records (size from the relation / attachment metadata).
* inline images: images shown inside the rich text of items (HTML <img>, ADF media nodes, wiki !image!)
  in their current text, and in comments when those are read.
* oldest / newest item: WorkItem.created_at.
* people seen: Person records and the people on items (ids, names, e-mails: what a people mapping needs).
* observed values of list fields the vendor did not give values for (capped), for value mappings.
"""

import json
import re
from dataclasses import dataclass, field

from apps.catalog.models import empty_volumes
from apps.connections.connectors import records
from apps.connections.connectors.records import FieldType, TextFormat

MAX_VALUES_SEEN = 200
_HTML_IMG = re.compile(r"<img\b", re.IGNORECASE)
_WIKI_IMG = re.compile(r"![^!\s|][^!\n|]*\.(?:png|jpe?g|gif|bmp|svg|webp)(?:\|[^!\n]*)?!", re.IGNORECASE)


def inline_images_in(value, fmt: TextFormat | None = None) -> int:
    if value is None or value == "":
        return 0
    if isinstance(value, dict | list):  # an ADF document
        return json.dumps(value).count('"type": "media"')
    text = str(value)
    if fmt == TextFormat.WIKI:
        return len(_WIKI_IMG.findall(text))
    return len(_HTML_IMG.findall(text))


@dataclass
class VolumeCounter:
    """Adds records to a `Scan.volumes` dict (a copy is made; `result()` gives it back)."""

    volumes: dict
    state_categories: dict = field(default_factory=dict)  # (type id, state name) -> category value
    text_fields: dict = field(default_factory=dict)  # field id -> TextFormat for rich text fields
    list_fields: set = field(default_factory=set)  # fields whose observed values are collected
    people: dict = field(default_factory=dict)  # source id -> Person as a dict

    def __post_init__(self):
        base = empty_volumes()
        base.update(json.loads(json.dumps(self.volumes or {})))
        self.volumes = base
        self.volumes.setdefault("values_seen", {})

    @classmethod
    def for_catalog(cls, volumes: dict, catalog, people: dict | None = None) -> "VolumeCounter":
        categories = {}
        if catalog is not None:
            for wit in catalog.work_item_types:
                for state in wit.states:
                    categories[(wit.source_id, state.name)] = state.category.value
                    categories.setdefault((wit.name, state.name), state.category.value)
        text_fields, list_fields = {}, set()
        for definition in catalog.fields if catalog is not None else []:
            if definition.type == FieldType.TEXT:
                text_fields[definition.source_id] = (
                    TextFormat.WIKI if definition.vendor_type == "wiki" else TextFormat.HTML)
            if definition.type in (FieldType.OPTION, FieldType.OPTIONS) and not definition.allowed_values \
                    and definition.source_id not in ("System.Tags", "labels"):
                list_fields.add(definition.source_id)
        return cls(volumes=volumes, state_categories=categories, text_fields=text_fields, list_fields=list_fields,
                   people=dict(people or {}))

    def result(self) -> dict:
        return self.volumes

    def _bump(self, key: str, sub: str, n: int = 1) -> None:
        bucket = self.volumes.setdefault(key, {})
        bucket[sub] = bucket.get(sub, 0) + n

    def _person(self, someone: records.Person | None) -> None:
        if someone is None or not someone.source_id:
            return
        known = self.people.get(someone.source_id)
        if known is None or (not known.get("email") and someone.email):
            self.people[someone.source_id] = {"source_id": someone.source_id, "display_name": someone.display_name,
                                              "email": someone.email, "active": someone.active,
                                              "is_deleted": someone.is_deleted}

    def add(self, record) -> None:
        v = self.volumes
        if isinstance(record, records.WorkItem):
            v["items"] += 1
            self._bump("items_by_type", record.type_id or "?")
            category = (record.state_category.value if record.state_category else
                        self.state_categories.get((record.type_id, record.state), "unknown"))
            self._bump("items_by_state_category", category)
            v["comments"] += int(record.comment_count or 0)
            v["revisions"] += int(record.revision or 0)
            images = inline_images_in(record.description, record.description_format)
            for field_id, fmt in self.text_fields.items():
                if field_id in record.fields and field_id not in ("System.Description", "description"):
                    images += inline_images_in(record.fields[field_id], fmt)
            v["inline_images"] += images
            if record.created_at is not None:
                stamp = record.created_at.isoformat()
                if v["oldest_item_at"] is None or stamp < v["oldest_item_at"]:
                    v["oldest_item_at"] = stamp
                if v["newest_item_at"] is None or stamp > v["newest_item_at"]:
                    v["newest_item_at"] = stamp
            for someone in (record.assignee, record.reporter, record.created_by):
                self._person(someone)
            self._observe_values(record.fields)
        elif isinstance(record, records.Link):
            if not record.is_mirror:
                v["links"] += 1
                self._bump("links_by_type", record.link_type_id or "?")
        elif isinstance(record, records.Attachment):
            v["attachments"] += 1
            v["attachment_bytes"] += int(record.size_bytes or 0)
            self._person(record.author)
        elif isinstance(record, records.Comment):
            v["comments_read"] = v.get("comments_read", 0) + 1
            v["inline_images"] += inline_images_in(record.body, record.body_format)
            self._person(record.author)
        elif isinstance(record, records.Revision):
            v["revisions_read"] = v.get("revisions_read", 0) + 1
            self._person(record.author)
        elif isinstance(record, records.Person):
            self._person(record)

    def _observe_values(self, fields: dict) -> None:
        seen = self.volumes["values_seen"]
        for field_id in self.list_fields:
            value = fields.get(field_id)
            if value in (None, "", []):
                continue
            for one in value if isinstance(value, list) else [value]:
                text = _option_text(one)
                if not text:
                    continue
                values = seen.setdefault(field_id, [])
                if text not in values and len(values) < MAX_VALUES_SEEN:
                    values.append(text)


def _option_text(value) -> str:
    if isinstance(value, dict):  # Jira options: {"value": ...} or {"name": ...}
        return str(value.get("value") or value.get("name") or "")[:200]
    return str(value)[:200]
