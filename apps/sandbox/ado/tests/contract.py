"""Microsoft's REST specification (vsts-rest-api-specs 7.1) as a checker for the sandbox's answers.

The specs live outside the project (../shared/specs/azure-devops) and are read at test time.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

from django.conf import settings
from jsonschema import Draft4Validator

SPECS = Path(settings.BASE_DIR).parent / "shared" / "specs" / "azure-devops"
SPEC_FILES = ["wit/7.1/workItemTracking.json", "core/7.1/core.json", "ims/7.1/identities.json"]


def specs_available() -> bool:
    return all((SPECS / f).exists() for f in SPEC_FILES)


def load_json(path: Path):
    # The specification files start with a UTF-8 byte order mark.
    return json.loads(path.read_text(encoding="utf-8-sig"))


def _any_object_is_any(node):
    """The generator maps C#'s `object` to a bare `{"type": "object"}`; the service puts any JSON value
    there (Microsoft's examples show strings and booleans), so a bare object schema accepts anything."""
    if isinstance(node, dict):
        if node.get("type") == "object" and not ({"properties", "additionalProperties", "$ref", "allOf"} & set(node)):
            return {k: v for k, v in node.items() if k not in ("type",)}
        return {k: _any_object_is_any(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_any_object_is_any(v) for v in node]
    return node


# Where the service (and Microsoft's own recorded examples) answer differently from the generated schema.
SPEC_AS_SERVED = {
    # Descriptors travel as "type;identifier" strings (see ims/7.1/httpExamples/Identities/*.json).
    "IdentityDescriptor": {"type": ["object", "string"]},
}


@cache
def operations() -> list[dict]:
    out = []
    for name in SPEC_FILES:
        spec = _any_object_is_any(load_json(SPECS / name))
        for definition, replacement in SPEC_AS_SERVED.items():
            if definition in spec.get("definitions", {}):
                spec["definitions"][definition] = replacement
        for template, methods in spec["paths"].items():
            for method, operation in methods.items():
                if method not in ("get", "post", "put", "patch", "delete"):
                    continue
                ok = [code for code in operation["responses"] if code.startswith("2")]
                schema = operation["responses"][ok[0]].get("schema") if ok else None
                for variant in _variants(template):
                    out.append({"method": method.upper(), "template": template, "regex": variant, "schema": schema,
                                "definitions": spec.get("definitions", {}), "operationId": operation.get("operationId"),
                                "weight": len(re.sub(r"\{[^}]+\}", "", template))})
    return out


def _variants(template: str) -> list[re.Pattern]:
    """The template, and (for project-scoped work item resources) the same without the project, which
    the service also answers."""
    templates = [template]
    if template.endswith("/{path}"):
        templates.append(template[: -len("/{path}")])
    if "/{project}/_apis/wit/" in template and "/{team}/" not in template:
        templates.append(template.replace("/{project}", "", 1))
    if "/{project}/{team}/" in template:
        templates += [template.replace("/{team}", "", 1), template.replace("/{project}/{team}", "", 1)]
    patterns = []
    for t in templates:
        regex = re.escape(t)
        regex = re.sub(r"\\\{path\\\}", r".+", regex)
        regex = re.sub(r"\\\{[^}]+\\\}", r"[^/]+", regex)
        patterns.append(re.compile("^" + regex + "/?$", re.IGNORECASE))
    return patterns


def operation_for(method: str, path: str) -> dict | None:
    """The most specific operation of the spec matching a sandbox path (`/{organization}/...`)."""
    candidates = [op for op in operations() if op["method"] == method and op["regex"].match(path)]
    return max(candidates, key=lambda op: op["weight"]) if candidates else None


def _without_nulls(value):
    # Swagger 2.0 cannot say "nullable", yet the service answers null for empty values (as in Microsoft's
    # own examples): a null property is checked as if absent.
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


def schema_errors(operation: dict, body) -> list[str]:
    body = _without_nulls(body) if not isinstance(body, dict) or "value" not in body else \
        {**body, "value": [None if v is None else _without_nulls(v) for v in body["value"]]}
    schema = operation["schema"]
    if schema is None:
        return []
    definitions = operation["definitions"]
    if schema.get("type") == "array":
        # The service wraps collections as {count, value}; the spec describes the items.
        if not isinstance(body, dict) or "value" not in body or "count" not in body:
            return ["a collection must be {count, value}"]
        validator = Draft4Validator({**schema["items"], "definitions": definitions})
        return [f"value[{i}]: {e.message} at {list(e.absolute_path)}" for i, item in enumerate(body["value"])
                if item is not None for e in validator.iter_errors(item)]
    validator = Draft4Validator({**schema, "definitions": definitions})
    return [f"{e.message} at {list(e.absolute_path)}" for e in validator.iter_errors(body)]


# Keys the recorded examples carry that the sandbox leaves out, with the reason.
ALLOWED_ABSENT = {
    "_links": "links are returned with $expand=links/all, as 7.1 does; older examples always had them",
    "commentVersionRef": "present only on items with comments in the service",
    "imageUrl": "identity images are not served",
    "isIdentity": "older field shape",
    "commentId": "the 5.1-preview name of what the 7.1 comments API calls `id`",
}
# Maps whose keys depend on the data (field values, link attributes, identity properties): only their type
# is compared.
FREE_FORM = {"fields", "attributes", "properties"}


def shape_mismatches(example, ours, where="$") -> list[str]:
    if example is None:
        return []
    if isinstance(example, list) and isinstance(ours, dict) and "value" in ours:
        ours = ours["value"]  # pre-7.1 examples return bare arrays
    if isinstance(example, dict):
        if not isinstance(ours, dict):
            return [f"{where}: expected an object, got {type(ours).__name__}"]
        problems = []
        for key, value in example.items():
            if value is None or key in ALLOWED_ABSENT:
                continue
            if key not in ours:
                problems.append(f"{where}.{key}: missing")
            elif key in FREE_FORM:
                if type(ours[key]) is not type(value):
                    problems.append(f"{where}.{key}: expected {type(value).__name__}, got {type(ours[key]).__name__}")
            else:
                problems += shape_mismatches(value, ours[key], f"{where}.{key}")
        return problems
    if isinstance(example, list):
        if not isinstance(ours, list):
            return [f"{where}: expected a list, got {type(ours).__name__}"]
        if example and ours:
            return shape_mismatches(example[0], ours[0], f"{where}[0]")
        return []
    kinds = {bool: "bool", int: "number", float: "number", str: "string"}
    if ours is None or kinds.get(type(example)) != kinds.get(type(ours)):
        if isinstance(example, str) and isinstance(ours, int | float) and example.isdigit():
            return []  # recycle bin ids were strings in the oldest examples
        return [f"{where}: expected {kinds.get(type(example))}, got {type(ours).__name__}"]
    return []
