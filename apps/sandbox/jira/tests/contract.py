"""Atlassian's OpenAPI files (../shared/specs/jira: platform REST v3 and Jira Software agile 1.0) as the
checker of every answer the Cloud sandbox gives, and of every request body it accepts.

The files live outside the project and are read at test time. OpenAPI 3.0 schemas are validated with
openapi-schema-validator: answers with its read validator (readOnly allowed), accepted request bodies
with its write validator (readOnly refused), `$ref`s resolved inside each file.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from django.conf import settings

SPECS = Path(settings.BASE_DIR).parent / "shared" / "specs" / "jira"
PLATFORM = "swagger-v3.v3.json"
AGILE = "software-swagger.v3.json"

# Answers the specification leaves undeclared (the agile file has no schema for several operations) are
# checked against the component the documentation names for them.
AGILE_UNDECLARED = {
    ("get", "/rest/agile/1.0/sprint/{sprintId}"): {"$ref": "#/components/schemas/SprintBean"},
    ("post", "/rest/agile/1.0/sprint/{sprintId}"): {"$ref": "#/components/schemas/SprintBean"},
    ("put", "/rest/agile/1.0/sprint/{sprintId}"): {"$ref": "#/components/schemas/SprintBean"},
    ("post", "/rest/agile/1.0/sprint"): {"$ref": "#/components/schemas/SprintBean"},
    ("get", "/rest/agile/1.0/board/{boardId}/sprint"): {
        "type": "object", "additionalProperties": False, "required": ["values"],
        "properties": {"maxResults": {"type": "integer"}, "startAt": {"type": "integer"}, "total": {"type": "integer"},
                       "isLast": {"type": "boolean"}, "values": {"type": "array", "items": {"$ref": "#/components/schemas/SprintBean"}}}},
    ("get", "/rest/agile/1.0/sprint/{sprintId}/issue"): {"$ref": "#/components/schemas/SearchResults"},
    ("get", "/rest/agile/1.0/epic/{epicIdOrKey}/issue"): {"$ref": "#/components/schemas/SearchResults"},
}


# Where the schema contradicts the specification's own example and Jira's answers, the example wins.
AS_SERVED = {
    # The schema says one RemoteIssueLink; the operation's example (and Jira) answer a list of them.
    ("get", "/rest/api/3/issue/{issueIdOrKey}/remotelink", False): {
        "type": "array", "items": {"$ref": "#/components/schemas/RemoteIssueLink"}},
}


def specs_available() -> bool:
    return (SPECS / PLATFORM).exists() and (SPECS / AGILE).exists()


@dataclass(frozen=True)
class Operation:
    spec: str
    method: str
    template: str
    pattern: re.Pattern
    params: int
    operation: dict


# Properties the schema marks not nullable but Atlassian's own examples (and Jira) send as null:
# getChangeLogs' example has `"from": null, "to": null` in a change item.
NULLABLE_AS_SERVED = {"ChangeDetails": ("from", "fromString", "to", "toString")}


@cache
def _spec(name: str) -> dict:
    spec = json.loads((SPECS / name).read_text(encoding="utf-8"))
    for component, names in NULLABLE_AS_SERVED.items():
        properties = spec.get("components", {}).get("schemas", {}).get(component, {}).get("properties", {})
        for prop in names:
            if prop in properties:
                properties[prop]["nullable"] = True
    return spec


@cache
def _operations() -> list[Operation]:
    out = []
    for name in (PLATFORM, AGILE):
        for template, methods in _spec(name)["paths"].items():
            regex = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "/?$"
            for method, operation in methods.items():
                if method in ("get", "post", "put", "delete", "patch"):
                    out.append(Operation(name, method, template, re.compile(regex), template.count("{"), operation))
    # A literal segment wins over a parameter (/issue/bulk before /issue/{issueIdOrKey}).
    return sorted(out, key=lambda o: o.params)


def operation_for(method: str, path: str) -> Operation | None:
    for op in _operations():
        if op.method == method.lower() and op.pattern.match(path):
            return op
    return None


@cache
def _validator(name: str, mode: str):
    from openapi_schema_validator import OAS30ReadValidator, OAS30WriteValidator

    cls = OAS30ReadValidator if mode == "read" else OAS30WriteValidator
    return cls(_spec(name))


def _errors(name: str, mode: str, schema: dict, instance) -> list[str]:
    validator = _validator(name, mode).evolve(schema=schema)
    return [f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message[:300]}" for e in validator.iter_errors(instance)][:10]


def _json_schema(content: dict | None):
    if not content:
        return None
    for media, body in content.items():
        if "json" in media or media == "*/*":
            return body.get("schema")
    return None


def response_problems(method: str, path: str, status: int, body, query: str = "") -> list[str]:
    """What is wrong with an answer, by the specification. [] when it conforms."""
    op = operation_for(method, path)
    if op is None:
        return [f"{method} {path} is not an operation of the specifications"]
    responses = op.operation.get("responses", {})
    declared = responses.get(str(status)) or responses.get("default")
    schema = _json_schema(declared.get("content")) if declared else None
    if (op.method, op.template, "globalId=" in query) in AS_SERVED and 200 <= status < 300:
        schema = AS_SERVED[(op.method, op.template, "globalId=" in query)]
    if not schema and (op.method, op.template) in AGILE_UNDECLARED and 200 <= status < 300:
        schema = AGILE_UNDECLARED[(op.method, op.template)]
    if not schema and status >= 400:
        schema = {"$ref": "#/components/schemas/ErrorCollection"} if op.spec == PLATFORM else None
    if declared is None and 200 <= status < 300:
        return [f"{method} {op.template} does not declare the status {status}"]
    if not schema or schema == {}:
        return []
    return _errors(op.spec, "read", schema, body)


def request_problems(method: str, path: str, body) -> list[str]:
    op = operation_for(method, path)
    if op is None:
        return [f"{method} {path} is not an operation of the specifications"]
    schema = _json_schema((op.operation.get("requestBody") or {}).get("content"))
    if not schema:
        return []
    return _errors(op.spec, "write", schema, body)


def schema_problems(component: str, instance, *, spec: str = PLATFORM) -> list[str]:
    return _errors(spec, "read", {"$ref": f"#/components/schemas/{component}"}, instance)
