"""A mapping as a JSON document: what export writes, import reads, and an approved version freezes.

    {"format": "migrayt.mapping", "version": 1, "name": ...,
     "source": {"kind", "project"}, "destination": {"kind", "project"},
     "options": {"default_person", "areas_as_labels", "comments", "attachments", "links", "history"},
     "workflows": {destination type id: {"initial": status, "transitions": [[from, to], ...]}},
     "rows": [{"kind", "scope", "source", "source_label", "target", "target_label", "transform",
               "options", "decision", "confidence", "layer", "reason"}]}

Names and ids of schema elements only: no ticket content, no secrets.
"""

import hashlib
import json

import jsonschema

from apps.mappings.drafting.proposals import Kind, Transform

DOCUMENT_FORMAT = "migrayt.mapping"
DOCUMENT_VERSION = 1
MAX_ROWS = 20_000
MAX_DOCUMENT_BYTES = 5 * 1024 * 1024

_TEXT = {"type": "string", "maxLength": 255}
_OPTIONAL_TEXT = {"type": ["string", "null"], "maxLength": 255}
DOCUMENT_SCHEMA = {
    "type": "object",
    "required": ["format", "version", "source", "destination", "rows"],
    "properties": {
        "format": {"const": DOCUMENT_FORMAT},
        "version": {"type": "integer", "minimum": 1, "maximum": DOCUMENT_VERSION},
        "name": {"type": "string", "maxLength": 120},
        "source": {"type": "object", "required": ["kind"],
                   "properties": {"kind": {"type": "string"}, "project": {"type": "string"}}},
        "destination": {"type": "object", "required": ["kind"],
                        "properties": {"kind": {"type": "string"}, "project": {"type": "string"}}},
        "options": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "default_person": {"type": "string", "maxLength": 255},
                "areas_as_labels": {"type": "boolean"},
                "comments": {"type": "boolean"},
                "attachments": {"type": "boolean"},
                "links": {"type": "boolean"},
                "history": {"type": "boolean"},
            },
        },
        "workflows": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "required": ["initial", "transitions"],
                "additionalProperties": False,
                "properties": {
                    "initial": _TEXT,
                    "transitions": {"type": "array", "maxItems": 2000,
                                    "items": {"type": "array", "minItems": 2, "maxItems": 2, "items": _TEXT}},
                },
            },
        },
        "rows": {
            "type": "array",
            "maxItems": MAX_ROWS,
            "items": {
                "type": "object",
                "required": ["kind", "source"],
                "properties": {
                    "kind": {"enum": [k.value for k in Kind]},
                    "scope": _TEXT,
                    "source": {"type": "string", "minLength": 1, "maxLength": 255},
                    "source_label": _TEXT,
                    "target": _OPTIONAL_TEXT,
                    "target_label": _TEXT,
                    "transform": {"enum": ["", None] + [t.value for t in Transform]},
                    "options": {"type": "object"},
                    "decision": {"enum": ["pending", "accepted", "edited", "rejected"]},
                    "confidence": {"type": "number", "minimum": 0, "maximum": 1},
                    "layer": {"type": "string", "maxLength": 20},
                    "reason": {"type": "string", "maxLength": 2000},
                },
            },
        },
    },
}


class DocumentInvalid(ValueError):
    """The document cannot be read; the message says where and why."""


def row_entry(row) -> dict:
    return {
        "kind": str(row.kind), "scope": row.scope, "source": row.source, "source_label": row.source_label,
        "target": row.effective_target, "target_label": row.target_label if row.effective_target else "",
        "transform": row.transform or "", "options": row.options or {}, "decision": row.decision,
        "confidence": round(float(row.confidence), 3), "layer": row.layer, "reason": row.reason,
    }


def mapping_document(mapping_set, rows) -> dict:
    return {
        "format": DOCUMENT_FORMAT,
        "version": DOCUMENT_VERSION,
        "name": mapping_set.name,
        "source": {"kind": mapping_set.source_kind, "project": mapping_set.source_project},
        "destination": {"kind": mapping_set.destination_kind, "project": mapping_set.destination_project},
        "options": {
            "default_person": mapping_set.default_person, "areas_as_labels": mapping_set.areas_as_labels,
            "comments": mapping_set.comments, "attachments": mapping_set.attachments, "links": mapping_set.links,
            "history": mapping_set.history,
        },
        "workflows": mapping_set.destination_workflows or {},
        "rows": [row_entry(r) for r in rows],
    }


def document_sha256(document: dict) -> str:
    return hashlib.sha256(json.dumps(document, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def document_check(data) -> dict:
    """The document, checked against the schema; DocumentInvalid names the first problem and its place."""
    if not isinstance(data, dict):
        raise DocumentInvalid("A mapping document is a JSON object with format, version, source, destination "
                              "and rows.")
    if data.get("format") != DOCUMENT_FORMAT:
        raise DocumentInvalid(f"This is not a Migrayt mapping (format should be {DOCUMENT_FORMAT!r}).")
    version = data.get("version")
    if isinstance(version, int) and version > DOCUMENT_VERSION:
        raise DocumentInvalid(f"This mapping was written by a newer Migrayt (format version {version}); this one "
                              f"reads up to version {DOCUMENT_VERSION}.")
    errors = sorted(jsonschema.Draft202012Validator(DOCUMENT_SCHEMA).iter_errors(data),
                    key=lambda e: list(e.absolute_path))
    if errors:
        error = errors[0]
        where = "/".join(str(p) for p in error.absolute_path) or "the top level"
        raise DocumentInvalid(f"The mapping document is not valid at {where}: {error.message[:300]}")
    return data


def document_loads(text: str | bytes) -> dict:
    if len(text) > MAX_DOCUMENT_BYTES:
        raise DocumentInvalid(f"The file is larger than {MAX_DOCUMENT_BYTES // (1024 * 1024)} MB; a mapping is "
                              "far smaller.")
    try:
        data = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise DocumentInvalid(f"The file is not JSON: {exc}.") from None
    return document_check(data)
