"""Shared helpers for the rich-text converter tests: the ADF schema and the real documents."""

import json
from pathlib import Path

import fastjsonschema
import jsonschema
import pytest

FIXTURES = Path(__file__).parent / "fixtures"
REALDATA = Path(__file__).resolve().parents[3].parent / "shared" / "realdata"
ADO_TEMPLATES = REALDATA / "azure-devops" / "demo-generator-templates"


# jsonschema (the reference implementation) explores every anyOf branch: its time grows steeply with
# nesting (a 700-row table of lists takes minutes). Above this many nodes only the compiled validator runs.
REFERENCE_VALIDATOR_MAX_NODES = 3_000


@pytest.fixture(scope="session")
def adf_schema():
    schema = json.loads((FIXTURES / "adf_full_schema.json").read_text(encoding="utf-8"))
    jsonschema.Draft4Validator.check_schema(schema)
    return schema


@pytest.fixture(scope="session")
def adf_validators(adf_schema):
    return jsonschema.Draft4Validator(adf_schema), fastjsonschema.compile(adf_schema)


@pytest.fixture(scope="session")
def assert_valid_adf(adf_validators):
    reference, compiled = adf_validators

    def check(document: dict) -> None:
        try:
            compiled(document)
        except fastjsonschema.JsonSchemaException as error:
            raise AssertionError(f"invalid ADF: {error.message[:500]}") from None
        nodes = list(walk_adf(document))
        if len(nodes) <= REFERENCE_VALIDATOR_MAX_NODES:
            errors = sorted(reference.iter_errors(document), key=lambda e: list(e.absolute_path))
            assert not errors, f"invalid ADF at {list(errors[0].absolute_path)}: {errors[0].message[:500]}"
        for node in nodes:
            if node.get("type") == "text":
                assert node["text"], "empty text node"

    return check


def walk_adf(node):
    yield node
    for child in node.get("content", []) or []:
        yield from walk_adf(child)


def realdata_path(*parts: str) -> Path:
    path = REALDATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real data not present at {path} (../shared/realdata is only on developer machines and CI)")
    return path


def ado_rich_text_fields() -> list[tuple[str, str]]:
    """Every System.Description and System.History of the 8 Azure DevOps demo templates, with an id."""
    if not ADO_TEMPLATES.exists():
        return []
    fields = []
    for path in sorted(ADO_TEMPLATES.glob("*/WorkItems/*.json")):
        data = json.loads(path.read_text(encoding="utf-8-sig"))
        for item in data.get("value", []):
            for name in ("System.Description", "System.History"):
                value = item.get("fields", {}).get(name)
                if value:
                    fields.append((f"{path.parent.parent.name}/{path.stem}/{item['id']}/{name}", value))
    return fields
