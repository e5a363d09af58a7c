"""The sandbox's ADF check: the compiled schema gives jsonschema's verdicts, and a deep document (a history
table inside an expand) is checked in well under a second."""

import time

import pytest

from apps.sandbox.jira import adf

pytestmark = pytest.mark.skipif(adf._compiled() is None, reason="fastjsonschema (a dev requirement) is not installed")


def _cell(text, kind="tableCell"):
    return {"type": kind, "content": [adf.adf_paragraph(adf.adf_text(text, "strong"))]}


def _history(rows: int) -> dict:
    table = {"type": "table", "content": [{"type": "tableRow", "content": [_cell("Field", "tableHeader"),
                                                                          _cell("Old", "tableHeader")]}]
             + [{"type": "tableRow", "content": [_cell(f"field {n}"), _cell(f"value {n}")]} for n in range(rows)]}
    return adf.adf_doc(adf.adf_paragraph("History"), {"type": "expand", "attrs": {"title": "Changes"},
                                                      "content": [table]})


DOCUMENTS = [
    adf.adf_doc(adf.adf_paragraph("plain")),
    adf.adf_doc(adf.adf_paragraph(adf.adf_text("link", href="https://example.com"))),
    _history(3),
    adf.adf_doc({"type": "paragraph", "content": [{"type": "text"}]}),  # text without its text
    adf.adf_doc({"type": "nosuchnode"}),
    {"type": "doc", "version": 2, "content": []},
    adf.adf_doc({"type": "table", "content": [adf.adf_paragraph("a paragraph is not a row")]}),
    adf.adf_doc(adf.adf_paragraph(adf.adf_text("x", "nosuchmark"))),
]


@pytest.mark.parametrize("document", DOCUMENTS)
def test_compiled_check_agrees_with_jsonschema(document):
    expected = adf.INVALID_DOCUMENT if adf.adf_errors(document) else None
    assert adf.adf_problem(document) == expected


def test_a_deep_history_table_is_checked_fast():
    document = _history(150)
    started = time.monotonic()
    assert adf.adf_problem(document) is None
    assert time.monotonic() - started < 2
    broken = _history(150)
    broken["content"][1]["content"][0]["content"][-1]["content"][0]["type"] = "paragraph"
    assert adf.adf_problem(broken) == adf.INVALID_DOCUMENT
