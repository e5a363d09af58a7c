"""Jira wiki markup (Data Center, REST v2) -> HTML for Azure DevOps.

jira2markdown (a pyparsing grammar of Jira's markup) turns the markup into Markdown, mistune renders
the Markdown, and nh3 sanitises the result. Around that chain we keep what Markdown would otherwise
misread (a literal "<b>" or "> " in a comment, indented lines), map mentions and attachment
references through the caller's resolvers, and report the macros that have no HTML equivalent.
"""

from __future__ import annotations

import functools
import re
import threading
import time
from html import escape

import jira2markdown.parser  # noqa: F401 - sets pyparsing's whitespace default the grammar relies on
import mistune
from jira2markdown.elements import MarkupElements
from jira2markdown.markup.links import Mention
from pyparsing import Forward, MatchFirst, ParseException, ParserElement, Regex, Token

from .html_tree import Element, parse_html, serialise
from .results import Conversion, ImageResolver, PersonResolver, WarningLog
from .sanitise import sanitise_html

# Private-use characters stand in for text that Markdown must not interpret; they never occur in
# real Jira text in practice, and any that do are removed before conversion.
_LT, _GT, _MENTION = "\ue000", "\ue001", "\ue002"
# "\*" and friends are escaped characters in Jira; jira2markdown does not honour all of them.
_ESCAPABLE = "-*_+^~?!{}[]|#"
_ESCAPED = re.compile(r"(?<!\\)\\([" + re.escape(_ESCAPABLE) + "])")
_ESCAPE_SLOT = {char: chr(0xE010 + index) for index, char in enumerate(_ESCAPABLE)}
_UNESCAPE = {slot: char for char, slot in _ESCAPE_SLOT.items()}
_PRIVATE = re.compile("[\ue000-\ue002\ue010-\ue01f]")
_MENTION_TOKEN = re.compile(f"{_MENTION}(\\d+){_MENTION}")
_CODE_FENCE = re.compile(r"\{(code|noformat)(?::[^}]*)?\}", re.IGNORECASE)
_INLINE_QUOTE = re.compile(r"[ \t]*\{quote\}[ \t]*", re.IGNORECASE)
_MACRO = re.compile(r"\{([a-zA-Z][\w-]{0,30})(?::[^}]*)?\}")
KNOWN_MACROS = {"code", "noformat", "quote", "panel", "color"}
ABSOLUTE_URL = re.compile(r"^(?:https?://|mailto:)", re.IGNORECASE)

_markdown = mistune.create_markdown(escape=False, hard_wrap=True, plugins=["strikethrough", "table", "url"])


def wiki_to_html(
    wiki: str | None,
    *,
    image_resolver: ImageResolver | None = None,
    person_resolver: PersonResolver | None = None,
) -> Conversion[str]:
    """Convert Jira wiki markup to sanitised HTML.

    `image_resolver(reference, alt)` maps an attachment name ("!screen.png!", "[^log.txt]") or image
    URL to its Azure DevOps URL; `person_resolver(jira_user, display_name)` maps "[~user]" mentions.
    """
    if not wiki or not wiki.strip():
        return Conversion("", ())
    log = WarningLog()
    _report_lossy_markup(wiki, log)
    wiki = wiki.replace("\r\n", "\n").replace("\r", "\n")
    source = _protect(wiki)
    _state.mentions = mentions = []
    _state.deadline = time.thread_time() + WIKI_TIME_BUDGET_SECONDS
    try:
        markdown = _wiki_grammar().transform_string(source)
    except _OutOfTime:
        log.add("too_complex", "the markup was too complex to convert in time and was kept as plain text")
        return Conversion(_plain_text_html(wiki), log.result())
    root = parse_html(_markdown(markdown))
    _resolve_references(root, image_resolver, log)
    html = serialise(root).replace(_LT, "&lt;").replace(_GT, "&gt;")
    html = html.translate({ord(slot): char for slot, char in _UNESCAPE.items()})
    html = _MENTION_TOKEN.sub(lambda m: _mention_html(mentions[int(m.group(1))], person_resolver, log), html)
    return Conversion(sanitise_html(html), log.result())


_state = threading.local()
# jira2markdown's grammar is quadratic on some inputs (thousands of unclosed "["): past this budget
# the text is shown as plain paragraphs instead of hanging a migration. CPU time of this thread, so a
# busy machine does not turn ordinary comments into plain text.
WIKI_TIME_BUDGET_SECONDS = 3.0


class _OutOfTime(Exception):
    pass


class _Deadline(Token):
    """Never matches; tried first at every position, it stops the scan once the budget is spent."""

    def parseImpl(self, instring, loc, do_actions=True):
        if time.thread_time() > _state.deadline:
            raise _OutOfTime
        raise ParseException(instring, loc, "within the time budget", self)


def _plain_text_html(wiki: str) -> str:
    paragraphs = [p for p in re.split(r"\n[ \t]*\n", wiki) if p.strip()]
    return sanitise_html("".join(f"<p>{escape(p.strip()).replace(chr(10), '<br>')}</p>" for p in paragraphs))


class _RecordedMention(Mention):
    """Leaves a token in place of "[~user]", resolved after rendering (Markdown has no mentions)."""

    def action(self, tokens) -> str:
        _state.mentions.append(tokens.accountid)
        return f"{_MENTION}{len(_state.mentions) - 1}{_MENTION}"


# A run of plain words that no markup can start inside of (markup needs a non-letter before it, or is
# a URL or a "h1." / "bq." line): matched first, so pyparsing does not try ~28 rules at every letter.
# Output is identical to jira2markdown's own grammar over the real corpus, ~8 times faster.
_PLAIN_WORDS = Regex(r"(?:(?!(?:https?|ftp)://|h[1-6]\.|bq\.)[^\W_]+[ \t]*)+")


@functools.cache
def _wiki_grammar() -> ParserElement:
    # What jira2markdown.convert() builds on every call (~0.1 s), built once.
    elements = MarkupElements()
    elements.replace(Mention, _RecordedMention)
    inline_markup, markup = Forward(), Forward()
    inline_rules = elements.expr(inline_markup, markup, {}, [e for e in elements if e.is_inline_element])
    rules = elements.expr(inline_markup, markup, {}, elements)
    inline_markup <<= MatchFirst([_Deadline(), _PLAIN_WORDS, *inline_rules.exprs])
    markup <<= MatchFirst([_Deadline(), _PLAIN_WORDS, *rules.exprs])
    return markup


def _protect(text: str) -> str:
    """Hide literal angle brackets, and the indentation Markdown would read as code, outside code blocks."""
    text = _PRIVATE.sub("", text)
    lines = []
    in_code = None
    for line in text.split("\n"):
        if in_code is None:
            line = _ESCAPED.sub(lambda m: _ESCAPE_SLOT[m.group(1)], line.lstrip(" \t"))
            # Jira draws {quote} as a block even mid-line ("...:{quote}text{quote}"); Markdown needs lines.
            line = _INLINE_QUOTE.sub("\n{quote}\n", line).strip("\n")
        line = line.replace("<", _LT).replace(">", _GT)
        for match in _CODE_FENCE.finditer(line):
            kind = match.group(1).lower()
            if in_code is None:
                in_code = kind
            elif in_code == kind and match.group(0).lower() == "{" + kind + "}":
                in_code = None
        lines.append(line)
    return "\n".join(lines)


def _report_lossy_markup(wiki: str, log: WarningLog) -> None:
    outside_code = re.sub(r"\{(code|noformat)[^}]*\}.*?\{\1\}", "", wiki, flags=re.DOTALL | re.IGNORECASE)
    outside_code = re.sub(r"\{\{.*?\}\}", "", outside_code)  # {{monospace}} is not a macro
    names = {match.group(1).lower() for match in _MACRO.finditer(outside_code)}
    if "panel" in names:
        log.add("panel", "a {panel} became a block quote")
    for name in sorted(names - KNOWN_MACROS)[:20]:
        log.add("macro", f"the {{{name}}} macro has no HTML equivalent and was kept as text")
    first_table_line = re.search(r"^[ \t]*\|.*$", wiki, flags=re.MULTILINE)
    if first_table_line and not first_table_line.group(0).lstrip().startswith("||"):
        log.add("table_header", "a table without a header row got its first row as header")


def _resolve_references(root: Element, resolver: ImageResolver | None, log: WarningLog) -> None:
    """Attachment names and relative links mean nothing in Azure DevOps: map them or unlink them."""
    for parent, index, element in list(_elements_with_parent(root)):
        if element.tag == "img":
            src = element.attrs.get("src", "")
            alt = element.attrs.get("alt", "")
            target = resolver(src, alt) if resolver else None
            if target and target.url:
                element.attrs["src"] = target.url
            elif not ABSOLUTE_URL.match(src):
                log.add("attachment_unresolved", "an attached image could not be shown and became a text note")
                parent.children[index] = f"[image: {src}]"
        elif element.tag == "a":
            href = element.attrs.get("href", "")
            if ABSOLUTE_URL.match(href):
                continue
            target = resolver(href, element.text()) if resolver else None
            if target and target.url:
                element.attrs["href"] = target.url
            else:
                log.add("link_unresolved", "a link to an attachment or page could not be resolved and became text")
                element.attrs.pop("href", None)


def _elements_with_parent(element: Element):
    for index, child in enumerate(element.children):
        if isinstance(child, Element):
            yield element, index, child
            yield from _elements_with_parent(child)


def _mention_html(user: str, resolver: PersonResolver | None, log: WarningLog) -> str:
    name = user.removeprefix("accountid:")
    target = resolver(name, name) if resolver else None
    if target and target.id:
        return f'<a href="#" data-vss-mention="version:2.0,{escape(target.id)}">@{escape(target.display_name)}</a>'
    log.add("mention_unmapped", "a mention was kept as plain text (no matching user)")
    return f"@{escape(target.display_name if target and target.display_name else name)}"
