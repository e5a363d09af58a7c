"""Rich text as Jira keeps it: ADF documents on Cloud (validated against Atlassian's published JSON schema,
the fixture apps/mappings/tests/fixtures/adf_full_schema.json), wiki markup strings on Data Center."""

from functools import lru_cache
from pathlib import Path

from django.conf import settings

ADF_SCHEMA_PATH = Path(settings.BASE_DIR) / "apps" / "mappings" / "tests" / "fixtures" / "adf_full_schema.json"
NOT_A_DOCUMENT = "Operation value must be an Atlassian Document (see the Atlassian Document Format)"
INVALID_DOCUMENT = "INVALID_INPUT"


@lru_cache(maxsize=1)
def _validator():
    import json

    import jsonschema

    schema = json.loads(ADF_SCHEMA_PATH.read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema)


@lru_cache(maxsize=1)
def _compiled():
    """The schema compiled to Python by fastjsonschema (a dev requirement), or None without it. jsonschema
    walks every branch of ADF's nested anyOf again at each level: a 30 kB history table takes it 20 s, the
    compiled check 20 ms. Same verdicts: formats are not checked by either, and defaults are not filled in."""
    try:
        import fastjsonschema
    except ImportError:  # pragma: no cover - production images leave out the dev requirements
        return None
    import json

    schema = json.loads(ADF_SCHEMA_PATH.read_text(encoding="utf-8"))
    return fastjsonschema.compile(schema, use_default=False, use_formats=False, detailed_exceptions=False)


def adf_problem(value) -> str | None:
    """None if `value` is a valid ADF document, else Jira's word for what is wrong with it."""
    if not isinstance(value, dict) or value.get("type") != "doc":
        return NOT_A_DOCUMENT
    check = _compiled()
    if check is not None:
        import fastjsonschema

        try:
            check(value)
        except fastjsonschema.JsonSchemaException:
            return INVALID_DOCUMENT
        return None
    if next(_validator().iter_errors(value), None) is not None:
        return INVALID_DOCUMENT
    return None


def adf_errors(value) -> list[str]:
    """Every schema error of a document, for tests and the read-only page."""
    return [f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}" for e in _validator().iter_errors(value)]


def adf_doc(*blocks) -> dict:
    return {"type": "doc", "version": 1, "content": list(blocks)}


def adf_paragraph(*inline) -> dict:
    return {"type": "paragraph", "content": [adf_text(i) if isinstance(i, str) else i for i in inline if i]}


def adf_text(text: str, *marks: str, href: str | None = None) -> dict:
    node = {"type": "text", "text": text}
    mark_nodes = [{"type": m} for m in marks]
    if href:
        mark_nodes.append({"type": "link", "attrs": {"href": href}})
    if mark_nodes:
        node["marks"] = mark_nodes
    return node


def adf_plain_text(value) -> str:
    """The text of a document (for the read-only page, JQL text search and summaries of imports)."""
    if isinstance(value, str):
        return value
    parts: list[str] = []

    def walk(node):
        if isinstance(node, dict):
            if node.get("type") == "text":
                parts.append(node.get("text", ""))
            elif node.get("type") == "mention":
                parts.append(str(node.get("attrs", {}).get("text", "")))
            for child in node.get("content", []) or []:
                walk(child)
            if node.get("type") in ("paragraph", "heading", "listItem", "codeBlock"):
                parts.append("\n")

    walk(value)
    return "".join(parts).strip()


def wiki_to_adf(text: str | None) -> dict | None:
    if not text:
        return None
    from apps.mappings.transforms import html_to_adf, wiki_to_html

    doc = html_to_adf(wiki_to_html(text).value).value
    return doc if adf_problem(doc) is None else adf_doc(adf_paragraph(text))


def adf_to_wiki(doc) -> str | None:
    if not doc:
        return None
    if isinstance(doc, str):
        return doc
    from apps.mappings.transforms import adf_to_html, html_to_wiki

    return html_to_wiki(adf_to_html(doc).value).value
