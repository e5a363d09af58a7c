"""HTML -> ADF -> HTML keeps text, structure (headings, lists, tables, links) and marks."""

import pytest

from apps.mappings.transforms import adf_to_html, html_to_adf

from .conftest import ado_rich_text_fields, realdata_path
from .structure import html_structure
from .text_checks import html_text, missing_characters

LOSSY = {"table_flattened", "list_flattened", "heading_flattened", "code_flattened", "quote_flattened",
         "rule_dropped", "image_as_link", "image_dropped", "image_in_heading"}  # fmt: skip

HARD_CASES = {
    "everything": (
        "<h1>Release <i>plan</i></h1><h4>Scope</h4><p>Text with <b>bold</b>, <i>italic</i>, <u>under</u>, <s>strike</s>, "
        "<code>code()</code>, <a href='https://example.com/x'>a <b>bold</b> link</a>, H<sub>2</sub>O, e=mc<sup>2</sup>.</p>"
        "<ul><li>one<ul><li>one.a<ol><li>deep</li></ol></li></ul></li><li>two</li></ul>"
        "<table><tr><th>Key</th><th>Value</th></tr><tr><td>a</td><td><ul><li>in cell</li></ul></td></tr></table>"
        "<pre class='language-sql'>SELECT *\n  FROM t;</pre><blockquote><p>quoted <b>text</b></p></blockquote>"
    ),
    "ado div soup": "<div><span style='font-size:11pt'><b>Title</b></span></div><div><br></div><div>line&nbsp;two<br>three</div>",
    "entities": "<p>&lt;b&gt; &amp;amp; &quot;quoted&quot; &#39;single&#39; &copy; &euro; &#x2603; &hellip;</p>",
    "emoji": "<p>👍 ship it 🚀 — 👩‍👩‍👧 🇯🇵 ✔︎</p>",
    "right to left": '<p dir="rtl">مرحبا <b>بالعالم</b></p><p dir="rtl">שלום <i>עולם</i></p><p>mixed English עברית عربى</p>',
    "empty paragraphs": "<p></p><p>a</p><p> </p><div><br></div><p>b</p><p>&nbsp;</p>",
    "nested lists": "<ol><li>1<ol><li>1.1<ol><li>1.1.1<ul><li>bullet</li></ul></li></ol></li></ol></li><li>2</li></ol>",
    "malformed": "<p>unclosed <b>bold<p>next <i>it</b> x</i></p></div></span><table><td>no row",
    "whitespace": "<p>  lots   of\n\n spaces\tand\ttabs  </p><p>a<b> b </b>c</p>",
    "links": "<p><a href='https://x.test/?q=a&amp;b=c#frag'>query</a> <a href='mailto:a@b.test'>mail</a> <a href='https://x.test'><code>code link</code></a></p>",
}
NOT_REPRESENTABLE = {
    "nested table": "<table><tr><td><table><tr><td>inner</td></tr></table></td></tr></table>",
    "list in quote": "<blockquote><ul><li>item</li></ul></blockquote>",
    "heading in list": "<ul><li><h2>head</h2></li></ul>",
}


@pytest.mark.parametrize("name", sorted(HARD_CASES))
def test_hard_cases_round_trip_exactly(name, assert_valid_adf):
    html = HARD_CASES[name]
    first = html_to_adf(html)
    assert_valid_adf(first.value)
    back = adf_to_html(first.value).value
    assert not missing_characters(html_text(html), html_text(back))
    assert html_structure(back) == html_structure(html)
    assert html_to_adf(back).value == first.value


@pytest.mark.parametrize("name", sorted(NOT_REPRESENTABLE))
def test_what_adf_cannot_hold_keeps_its_text_and_says_so(name, assert_valid_adf):
    html = NOT_REPRESENTABLE[name]
    first = html_to_adf(html)
    assert_valid_adf(first.value)
    assert {w.code for w in first.warnings} & LOSSY
    back = adf_to_html(first.value).value
    assert not missing_characters(html_text(html), html_text(back))
    assert html_structure(back) != html_structure(html)  # the structure did change, as announced


def test_real_fields_keep_structure_and_marks_unless_a_warning_says_otherwise():
    realdata_path("azure-devops", "demo-generator-templates")
    checked = announced = 0
    for name, html in ado_rich_text_fields():
        result = html_to_adf(html)
        if {w.code for w in result.warnings} & LOSSY:
            announced += 1
            continue
        checked += 1
        back = adf_to_html(result.value).value
        assert html_structure(back) == html_structure(html), name
    assert checked > 400
    assert announced < 10
