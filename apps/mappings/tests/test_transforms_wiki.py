"""Jira wiki markup (Data Center): HTML -> wiki and wiki -> HTML, over real comments and hard cases."""

import importlib
import json
import re
import time

import pytest

from apps.mappings.transforms import ImageTarget, PersonTarget, html_to_wiki, wiki_to_html
from apps.mappings.transforms.html_tree import Element, parse_html

from .conftest import realdata_path
from .text_checks import html_text, missing_characters


def _bodies(value):
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "body" and isinstance(item, str):
                yield item
            else:
                yield from _bodies(item)
    elif isinstance(value, list):
        for item in value:
            yield from _bodies(item)


@pytest.fixture(scope="module")
def zulip_comments():
    data = json.loads(realdata_path("jira", "zulip-jira-webhooks", "commented_markup_v2.json").read_text(encoding="utf-8"))
    return [comment["body"] for comment in data["issue"]["fields"]["comment"]["comments"]]


@pytest.fixture(scope="module")
def devlake_comments():
    folder = realdata_path("jira", "devlake-raw")
    bodies = []
    for name in ("_raw_jira_api_issues.json", "_raw_jira_api_issue_relationships.json"):
        bodies.extend(_bodies(json.loads((folder / name).read_text(encoding="utf-8"))))
    return bodies


def _tags(html):
    stack, found = [parse_html(html)], []
    while stack:
        for child in stack.pop().children:
            if isinstance(child, Element):
                found.append(child)
                stack.append(child)
    return found


def _visible_wiki_text(wiki: str) -> str:
    """What a reader sees of the markup's text: escapes and markup characters aside."""
    return "".join(ch for ch in wiki if ch.isalnum())


def _wiki_words(wiki: str) -> str:
    """The words of wiki markup without macro names, link targets and mention ids."""
    wiki = re.sub(r"\{[a-zA-Z]+(?::[^}]*)?\}", " ", wiki)
    wiki = re.sub(r"\|[^\]|]*\]", "]", wiki)
    wiki = re.sub(r"\[~[^\]]*\]", " ", wiki)
    wiki = re.sub(r"^(?:h[1-6]|bq)\.", " ", wiki, flags=re.MULTILINE)
    return _visible_wiki_text(wiki)


# -- wiki -> HTML ---------------------------------------------------------------------------------


def test_real_zulip_comments_render_every_construct(zulip_comments):
    html = "".join(wiki_to_html(body).value for body in zulip_comments)
    found = {element.tag for element in _tags(html)}
    assert {"strong", "em", "h2", "blockquote", "code", "pre", "a"} <= found
    assert '<code class="language-python">' in html
    assert '<a href="http://www.google.com">Google</a>' in html
    for body in zulip_comments:
        assert not missing_characters(_wiki_words(body), _visible_wiki_text(html_text(wiki_to_html(body).value)))


def test_real_devlake_comments_keep_links_quotes_chinese_text_and_mentions(devlake_comments):
    assert len(devlake_comments) >= 20
    for body in devlake_comments:
        result = wiki_to_html(body)
        assert not missing_characters(_wiki_words(body), _visible_wiki_text(html_text(result.value))), body[:80]
    commit = wiki_to_html(devlake_comments[0]).value
    assert '<a href="https://gitlab.com/zhangdingding">Dingding Zhang</a>' in commit
    # "...release/2.7]:{quote}Feat(EE-1)...{quote}" is a block quote in Jira, mid-line or not.
    assert "<blockquote>\n<p>Feat(EE-1): add modularity metric chart</p>\n</blockquote>" in commit
    mention = next(b for b in devlake_comments if "[~accountid:" in b)
    resolved = wiki_to_html(mention, person_resolver=lambda user, name: PersonTarget(id="0b7e-guid", display_name="Wang Li"))
    assert '<a href="#" data-vss-mention="version:2.0,0b7e-guid">@Wang Li</a>' in resolved.value
    assert "这个应该已经做完了吧" in resolved.value
    unresolved = wiki_to_html(mention)
    assert "@5e9711ba34f7b90c0fbc37d3" in unresolved.value and [w.code for w in unresolved.warnings] == ["mention_unmapped"]


def test_literal_html_and_markdown_lookalikes_stay_text():
    result = wiki_to_html("x <b>not bold</b> & <script>alert(1)</script>\n> not a quote\n    not code\n1. not a list")
    html = result.value
    assert "<b>" not in html and "<script" not in html
    text = html_text(html)
    for expected in ("<b>not bold</b>", "<script>alert(1)</script>", "> not a quote", "not code"):
        assert expected in text, expected
    assert "<pre>" not in html and "<blockquote>" not in html


def test_code_blocks_are_verbatim():
    html = wiki_to_html("{code:java}\nif (a < b && c) { *not bold* }\n{code}\n{noformat}\n<tag> _x_\n{noformat}").value
    assert '<pre><code class="language-java">if (a &lt; b &amp;&amp; c) { *not bold* }' in html
    assert "&lt;tag&gt; _x_" in html


def test_attachments_images_and_unknown_macros():
    result = wiki_to_html(
        "!screen.png|thumbnail! see [^report.pdf] and !https://cdn.test/x.png! {toc} {status:colour=Green}done{status}",
        image_resolver=lambda ref, alt: ImageTarget(url=f"https://dev.azure.com/o/_apis/wit/attachments/{ref}") if ref == "screen.png" else None,
    )
    html = result.value
    assert '<img src="https://dev.azure.com/o/_apis/wit/attachments/screen.png"' in html
    assert '<img src="https://cdn.test/x.png"' in html
    assert "report.pdf" in html_text(html) and 'href="report.pdf"' not in html
    codes = {w.code for w in result.warnings}
    assert {"link_unresolved", "macro"} <= codes
    assert any("{toc}" in w.message for w in result.warnings) and any("{status}" in w.message for w in result.warnings)


def test_tables_lists_and_effects():
    html = wiki_to_html("||Name||Value||\n|a|*b*|\n\n* one\n** one.a\n# first\n+under+ -strike- {color:red}red{color} ^sup^").value
    tags = [e.tag for e in _tags(html)]
    for tag in ("table", "th", "td", "ul", "ol", "li", "u", "del", "font", "sup", "strong"):
        assert tag in tags, tag


def test_empty_and_hostile_wiki_input():
    assert wiki_to_html(None).value == "" and wiki_to_html("   ").value == ""
    html = wiki_to_html('[click|javascript:alert(1)] !javascript:alert(2)! {color:red" onmouseover="x}t{color}').value
    for element in _tags(html):
        assert not element.attrs.get("href", "").lower().startswith("javascript")
        assert not element.attrs.get("src", "").lower().startswith("javascript")
        assert not [name for name in element.attrs if name.startswith("on")]


def test_long_wiki_converts_in_reasonable_time():
    wiki = "h2. Section\nSome *bold* text with a [link|https://x.test] and plain words to fill the line.\n" * 150
    assert len(wiki) > 12_000
    started = time.process_time()
    html = wiki_to_html(wiki).value
    assert time.process_time() - started < 2.5
    assert html.count("<h2>") == 150


# -- HTML -> wiki ---------------------------------------------------------------------------------


def test_html_to_wiki_writes_each_construct():
    result = html_to_wiki(
        "<h2>Title</h2><p>Plain <b>bold</b> <i>it</i> <u>u</u> <s>s</s> <code>c</code> x<sup>2</sup> "
        '<a href="https://x.test/a">link</a> <span style="color:#ff0000">red</span></p>'
        "<ul><li>one<ul><li>one.a</li></ul></li></ul><ol><li>first</li></ol>"
        "<table><tr><th>H1</th><th>H2</th></tr><tr><td>a<br>b</td><td></td></tr></table>"
        '<pre class="language-python">def f():\n    pass</pre><pre>raw {code}</pre><blockquote><p>quoted</p></blockquote><hr>'
    )
    wiki = result.value
    for expected in (
        "h2. Title", "*bold*", "_it_", "+u+", "-s-", "{{c}}", "^2^", "[link|https://x.test/a]",
        "{color:#ff0000}red{color}", "* one\n** one.a", "# first", "||H1||H2||", "|a \\\\ b| |",
        "{code:python}\ndef f():\n    pass\n{code}", "{noformat}\nraw {code}\n{noformat}", "{quote}\nquoted\n{quote}", "----",
    ):  # fmt: skip
        assert expected in wiki, expected
    assert not result.warnings


def test_html_to_wiki_escapes_text_that_looks_like_markup():
    wiki = html_to_wiki("<p>[not a link] {not a macro} a|b *not bold* well-known - dash</p><p>- not a list</p><p># nor this</p>").value
    assert "\\[not a link\\]" in wiki and "\\{not a macro\\}" in wiki and "a\\|b" in wiki
    assert "\\*not bold\\*" in wiki and "well-known - dash" in wiki
    assert "\\- not a list" in wiki and "\\# nor this" in wiki
    # and Jira's reader (our wiki -> HTML) shows the text as it was
    text = html_text(wiki_to_html(wiki).value)
    for expected in ("[not a link]", "{not a macro}", "a|b", "*not bold*", "well-known - dash", "- not a list", "# nor this"):
        assert expected in text, expected


def test_html_to_wiki_mentions_images_and_flattening():
    result = html_to_wiki(
        '<p><a href="#" data-vss-mention="version:2.0,{ab12cd34-0000-0000-0000-000000000000}">@Ann</a> look '
        '<img src="https://dev.azure.com/o/_apis/wit/attachments/1?fileName=a.png"></p>'
        "<table><tr><td><table><tr><td>inner</td></tr></table></td></tr></table>",
        person_resolver=lambda guid, name: PersonTarget(id="ann.smith", display_name=name),
        image_resolver=lambda src, alt: ImageTarget(filename="a.png"),
    )
    assert "[~ann.smith] look" in result.value and "!a.png!" in result.value
    assert "|inner|" in result.value
    assert [w.code for w in result.warnings] == ["table_flattened"]
    unresolved = html_to_wiki('<p><img src="https://dev.azure.com/o/_apis/wit/attachments/1?fileName=a.png"></p>')
    assert "[a.png|https://dev.azure.com/o/_apis/wit/attachments/1?fileName=a.png]" in unresolved.value


def test_html_to_wiki_hard_cases_keep_their_text():
    cases = [
        "<p>&lt;tag&gt; &amp; &copy; &#x1F600; שלום مرحبا 👩‍💻</p>",
        "<p>open <b>bold <i>both</p><p>after</b> tail</div><li>stray",
        "<script>alert(1)</script><p onclick='x()'>safe</p>",
        "<div><br></div><p></p><p>only</p>",
    ]
    for html in cases:
        wiki = html_to_wiki(html).value
        assert "alert" not in wiki and "onclick" not in wiki
        assert not missing_characters(_visible_wiki_text(html_text(html)), _visible_wiki_text(wiki)), html


def test_pathological_markup_falls_back_to_plain_text_instead_of_hanging(monkeypatch):
    # the package exports a function of the same name as the module
    wiki_module = importlib.import_module("apps.mappings.transforms.wiki_to_html")
    monkeypatch.setattr(wiki_module, "WIKI_TIME_BUDGET_SECONDS", 0.3)
    wiki = "[" * 4000 + " <b>after</b>\n\nsecond paragraph"
    started = time.process_time()
    result = wiki_to_html(wiki)
    assert time.process_time() - started < 2
    assert [w.code for w in result.warnings] == ["too_complex"]
    assert "[" * 4000 in html_text(result.value) and "<b>after</b>" in html_text(result.value)
    assert "<p>second paragraph</p>" in result.value
    # the budget is per conversion: the next ordinary comment converts normally
    assert "<strong>fine</strong>" in wiki_to_html("*fine*").value
