"""Shared helpers for the rich-text converter tests: the ADF schema and the real documents."""

import json
from pathlib import Path

import jsonschema
import pytest

FIXTURES = Path(__file__).parent / "fixtures"
REALDATA = Path(__file__).resolve().parents[3].parent / "shared" / "realdata"
ADO_TEMPLATES = REALDATA / "azure-devops" / "demo-generator-templates"


@pytest.fixture(scope="session")
def adf_validator():
    schema = json.loads((FIXTURES / "adf_full_schema.json").read_text(encoding="utf-8"))
    jsonschema.Draft4Validator.check_schema(schema)
    return jsonschema.Draft4Validator(schema)


@pytest.fixture(scope="session")
def assert_valid_adf(adf_validator):
    def check(document: dict) -> None:
        errors = sorted(adf_validator.iter_errors(document), key=lambda e: list(e.absolute_path))
        assert not errors, f"invalid ADF at {list(errors[0].absolute_path)}: {errors[0].message[:500]}"
        for node in walk_adf(document):
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
