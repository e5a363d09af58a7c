"""ADF -> HTML (Jira Cloud -> Azure DevOps), over the real ADF document and Atlassian's own examples."""

import json

import pytest

from apps.mappings.transforms import ImageTarget, PersonTarget, adf_to_html, html_to_adf
from apps.mappings.transforms.html_tree import Element, parse_html

from .conftest import realdata_path, walk_adf
from .text_checks import adf_text, html_text, missing_characters


@pytest.fixture(scope="module")
def real_adf():
    return json.loads(realdata_path("jira", "jira-cli", "adf-md.json").read_text(encoding="utf-8"))


def tags(html: str) -> list[str]:
    found = []
    stack = [parse_html(html)]
    while stack:
        element = stack.pop()
        for child in element.children:
            if isinstance(child, Element):
                found.append(child.tag)
                stack.append(child)
    return found


def test_the_real_document_keeps_every_character_and_its_structure(real_adf, assert_valid_adf):
    assert_valid_adf(real_adf)
    result = adf_to_html(real_adf)
    html = result.value
    assert not missing_characters(adf_text(real_adf), html_text(html))
    found = tags(html)
    for tag in ("h1", "h2", "blockquote", "ul", "ol", "li", "table", "th", "td", "pre", "code", "strong", "em", "u", "s", "a", "br"):
        assert tag in found, tag
    assert '<code class="language-go">' in html
    # Deeply nested ordered lists stay nested: ol > li > ol > li > ol ...
    assert html.count("<ol>") >= 5
    # What Azure DevOps cannot show is reported, not silently dropped.
    assert {w.code for w in result.warnings} == {"panel", "mention_unmapped"}


def test_the_real_document_round_trips_through_html_back_to_valid_adf(real_adf, assert_valid_adf):
    html = adf_to_html(real_adf).value
    back = html_to_adf(html)
    assert_valid_adf(back.value)
    assert not missing_characters(adf_text(real_adf), adf_text(back.value))
    original_kinds = {n["type"] for n in walk_adf(real_adf)}
    round_trip_kinds = {n["type"] for n in walk_adf(back.value)}
    # Panels became quotes and the smart link a plain link; everything else comes back as itself.
    assert original_kinds - round_trip_kinds == {"panel", "inlineCard", "mention"}
    assert {"table", "tableHeader", "codeBlock", "blockquote", "orderedList", "bulletList", "hardBreak"} <= round_trip_kinds


def test_atlassian_example_documents_convert(assert_valid_adf):
    examples = json.loads(
        realdata_path("jira", "atlassian-openapi-examples", "platform-v3.examples.json").read_text(encoding="utf-8")
    )
    documents = []
    stack = [examples]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            if value.get("type") == "doc" and isinstance(value.get("content"), list):
                documents.append(value)
            else:
                stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    assert len(documents) >= 5
    for document in documents:
        html = adf_to_html(document).value
        assert not missing_characters(adf_text(document), html_text(html))
        assert_valid_adf(html_to_adf(html).value)


def test_mentions_and_media_use_the_resolvers():
    document = {"version": 1, "type": "doc", "content": [
        {"type": "paragraph", "content": [
            {"type": "mention", "attrs": {"id": "5b10ac8d82e05b22cc7d4ef5", "text": "@Jane Doe"}},
            {"type": "text", "text": " see below"},
        ]},
        {"type": "mediaSingle", "attrs": {"layout": "center"}, "content": [
            {"type": "media", "attrs": {"type": "file", "id": "a1b2", "collection": "", "alt": "shot.png", "width": 10, "height": 20}},
        ]},
        {"type": "mediaSingle", "attrs": {"layout": "center"}, "content": [
            {"type": "media", "attrs": {"type": "file", "id": "missing", "collection": ""}},
        ]},
    ]}  # fmt: skip
    urls = {"a1b2": "https://dev.azure.com/org/_apis/wit/attachments/9?fileName=shot.png"}
    result = adf_to_html(
        document,
        person_resolver=lambda account, name: PersonTarget(id="1f2e-guid", display_name=name),
        image_resolver=lambda ref, alt: ImageTarget(url=urls[ref]) if ref in urls else None,
    )
    html = result.value
    assert '<a href="#" data-vss-mention="version:2.0,1f2e-guid">@Jane Doe</a>' in html
    assert '<img src="https://dev.azure.com/org/_apis/wit/attachments/9?fileName=shot.png" alt="shot.png" width="10" height="20">' in html
    assert "[attachment: missing]" in html
    assert [w.code for w in result.warnings] == ["attachment_unresolved"]


def test_text_is_escaped_and_output_sanitised():
    document = {"version": 1, "type": "doc", "content": [
        {"type": "paragraph", "content": [
            {"type": "text", "text": "<script>alert(1)</script> & <b>"},
            {"type": "text", "text": "evil", "marks": [{"type": "link", "attrs": {"href": "javascript:alert(2)"}}]},
            {"type": "text", "text": "ok", "marks": [{"type": "link", "attrs": {"href": "https://x.test/\"onmouseover=\"y"}}]},
        ]},
        {"type": "codeBlock", "attrs": {"language": "html\" onclick=\"z"}, "content": [{"type": "text", "text": "</code><img src=x onerror=alert(3)>"}]},
    ]}  # fmt: skip
    html = adf_to_html(document).value
    elements = list(_elements(parse_html(html)))
    assert "script" not in {e.tag for e in elements} and "img" not in {e.tag for e in elements}
    for element in elements:
        assert not [name for name in element.attrs if name.startswith("on")], element
        assert not element.attrs.get("href", "").lower().startswith("javascript"), element
        assert "onclick" not in element.attrs.get("class", "")
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;" in html
    assert html_text(html).count("</code><img src=x onerror=alert(3)>") == 1  # shown as text, never run


def _elements(root):
    for child in root.children:
        if isinstance(child, Element):
            yield child
            yield from _elements(child)


def test_every_other_node_type_has_a_readable_form():
    document = {"version": 1, "type": "doc", "content": [
        {"type": "panel", "attrs": {"panelType": "warning"}, "content": [{"type": "paragraph", "content": [{"type": "text", "text": "careful"}]}]},
        {"type": "expand", "attrs": {"title": "More"}, "content": [{"type": "paragraph", "content": [{"type": "text", "text": "hidden"}]}]},
        {"type": "taskList", "attrs": {"localId": "t"}, "content": [
            {"type": "taskItem", "attrs": {"localId": "1", "state": "DONE"}, "content": [{"type": "text", "text": "done"}]},
            {"type": "taskItem", "attrs": {"localId": "2", "state": "TODO"}, "content": [{"type": "text", "text": "todo"}]},
        ]},
        {"type": "paragraph", "content": [
            {"type": "status", "attrs": {"text": "IN PROGRESS", "color": "blue"}},
            {"type": "date", "attrs": {"timestamp": "1700000000000"}},
            {"type": "emoji", "attrs": {"shortName": ":smile:", "text": "😄"}},
            {"type": "inlineCard", "attrs": {"url": "https://x.atlassian.net/browse/P-1"}},
            {"type": "text", "text": "red", "marks": [{"type": "textColor", "attrs": {"color": "#ff0000"}}]},
        ]},
        {"type": "layoutSection", "content": [
            {"type": "layoutColumn", "attrs": {"width": 50}, "content": [{"type": "paragraph", "content": [{"type": "text", "text": "left"}]}]},
            {"type": "layoutColumn", "attrs": {"width": 50}, "content": [{"type": "paragraph", "content": [{"type": "text", "text": "right"}]}]},
        ]},
        {"type": "extension", "attrs": {"extensionKey": "jira-chart", "extensionType": "com.atlassian"}},
        {"type": "futureNode", "content": [{"type": "text", "text": "kept"}]},
    ]}  # fmt: skip
    result = adf_to_html(document)
    text = html_text(result.value)
    for expected in ("Warning:", "careful", "More", "hidden", "\u2611 done", "\u2610 todo", "[IN PROGRESS]", "2023-11-14", "😄", "https://x.atlassian.net/browse/P-1", "left", "right", "kept"):
        assert expected in text, expected
    assert '<span style="color:#ff0000">red</span>' in result.value
    assert {"panel", "expand", "taskList", "status", "layout", "extension", "unknown_node"} <= {w.code for w in result.warnings}


@pytest.mark.parametrize("bad", [None, "", "plain text\nsecond line", {"type": "paragraph"}, ["not", "a", "doc"], 42])
def test_bad_input_gets_a_clear_answer_not_an_exception(bad):
    result = adf_to_html(bad)
    assert isinstance(result.value, str)
    if bad not in (None, ""):
        assert [w.code for w in result.warnings] == ["not_adf"]
    if isinstance(bad, str) and bad:
        assert "plain text" in result.value and "second line" in result.value


def test_malformed_nodes_inside_a_document_do_not_raise():
    document = {"type": "doc", "version": 1, "content": [
        {"type": "paragraph", "content": "not a list"},
        {"type": "text"},
        {"type": "heading", "attrs": {"level": 99}, "content": [{"type": "text", "text": "odd level"}]},
        "stray string",
        {"type": "orderedList", "attrs": {"order": "x"}, "content": [{"type": "listItem", "content": [{"type": "paragraph", "content": [{"type": "text", "text": "i", "marks": ["bad", {"type": "link"}]}]}]}]},
    ]}  # fmt: skip
    html = adf_to_html(document).value
    assert "<h2>odd level</h2>" in html and "<ol><li><p>" in html


def test_absurdly_deep_adf_is_reduced_to_text_not_a_crash():
    node = {"type": "paragraph", "content": [{"type": "text", "text": "bottom"}]}
    for _ in range(2000):
        node = {"type": "bulletList", "content": [{"type": "listItem", "content": [node]}]}
    result = adf_to_html({"type": "doc", "version": 1, "content": [node]})
    assert "bottom" in result.value
    assert [w.code for w in result.warnings] == ["too_deep"]
