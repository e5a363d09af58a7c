"""Converters over every real Azure DevOps rich-text field of the 8 demo templates (read at test time)."""

import json

import pytest

from apps.mappings.transforms import adf_to_html, html_to_adf, html_to_wiki, wiki_to_html

from .conftest import ADO_TEMPLATES, ado_rich_text_fields, realdata_path
from .text_checks import adf_text, html_text, missing_characters

FIELDS = ado_rich_text_fields()


@pytest.fixture(scope="module")
def corpus():
    realdata_path("azure-devops", "demo-generator-templates")
    return FIELDS


def test_corpus_covers_all_templates_and_the_longest_description(corpus):
    scanned = {path.parent.parent.name for path in ADO_TEMPLATES.glob("*/WorkItems/*.json")}
    assert len(scanned) == 8, sorted(scanned)
    with_text = {name.split("/")[0] for name, _ in corpus}
    # Gen-Tailwind Traders has the fields, all null: the other seven carry the rich text.
    assert scanned - with_text == {"Gen-Tailwind Traders"}
    assert max(len(html) for _, html in corpus) >= 14_000
    assert any(name.endswith("System.History") for name, _ in corpus)
    assert len(corpus) > 300


def test_every_description_and_history_becomes_valid_adf_without_losing_text(corpus, assert_valid_adf):
    for name, html in corpus:
        result = html_to_adf(html)
        assert_valid_adf(result.value)
        assert result.value["content"], f"{name}: nothing converted"
        assert not missing_characters(html_text(html), adf_text(result.value)), name


def test_html_adf_html_round_trip_keeps_text_and_is_stable(corpus, assert_valid_adf):
    for name, html in corpus:
        first = html_to_adf(html).value
        back_to_html = adf_to_html(first)
        assert not missing_characters(html_text(html), html_text(back_to_html.value)), name
        # ADF -> HTML -> ADF gives the same document again: nothing of structure or marks is lost.
        second = html_to_adf(back_to_html.value).value
        assert_valid_adf(second)
        assert second == first, name


def test_every_field_becomes_wiki_markup_without_losing_text(corpus):
    for name, html in corpus:
        source = html_text(html)
        wiki = html_to_wiki(html).value
        assert not missing_characters(source, wiki), name
        # The markup reads back as HTML (Jira -> Azure DevOps) with the same text.
        assert not missing_characters(source, html_text(wiki_to_html(wiki).value)), name


def test_real_structure_survives(corpus):
    """The templates contain tables, lists, links, bold text and mentions: they reach the ADF."""
    kinds: set[str] = set()
    marks: set[str] = set()
    for _, html in corpus:
        stack = [html_to_adf(html).value]
        while stack:
            node = stack.pop()
            kinds.add(node["type"])
            marks.update(m["type"] for m in node.get("marks", []))
            stack.extend(node.get("content", []))
    assert {"table", "tableRow", "tableCell", "bulletList", "orderedList", "listItem", "hardBreak"} <= kinds
    assert {"strong", "link", "underline", "textColor"} <= marks


def test_mentions_in_real_history_map_through_the_person_resolver(corpus, assert_valid_adf):
    from apps.mappings.transforms import PersonTarget

    seen = []

    def people(source_id, name):
        seen.append((source_id, name))
        return PersonTarget(id=f"jira-{source_id[:8]}", display_name=name)

    mentioned = [html for _, html in corpus if "data-vss-mention=\"version:2.0" in html]
    assert mentioned, "the corpus has person mentions"
    for html in mentioned:
        result = html_to_adf(html, person_resolver=people)
        assert_valid_adf(result.value)
        assert not [w for w in result.warnings if w.code == "mention_unmapped"]
    assert ("cb9715f6-e4a0-6958-99d4-f54dba591bb5", "Aakanksha .") in seen


def test_the_longest_description_is_a_faithful_table(assert_valid_adf):
    path = realdata_path("azure-devops", "demo-generator-templates", "AC-SapOnAzure", "WorkItems", "Task.json")
    item = next(i for i in json.loads(path.read_text(encoding="utf-8-sig"))["value"] if i["id"] == 340)
    html = item["fields"]["System.Description"]
    assert len(html) > 14_000
    adf = html_to_adf(html).value
    assert_valid_adf(adf)
    tables = [n for n in adf["content"] if n["type"] == "table"]
    assert tables
    first_row = tables[0]["content"][0]["content"]
    assert adf_text(first_row[0]).strip() == "Database"
    assert first_row[0]["attrs"]["background"] == "#4472c4"  # the header colour travels with the cell
    assert ADO_TEMPLATES.exists()
