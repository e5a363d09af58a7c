"""A small element tree over sanitised HTML.

nh3 has already run the WHATWG parsing algorithm and re-serialised the fragment, so every tag is
closed and properly nested; the standard library's HTMLParser is then enough to read it back.
The parser still tolerates stray end tags so that it never fails on other input.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html import escape
from html.parser import HTMLParser

VOID_TAGS = {"br", "img", "hr", "col", "wbr", "area"}
# Deeper elements are read as part of their ancestor at this depth (their text is kept): the
# converters recurse over the tree, and no real description nests anywhere near this deep.
MAX_DEPTH = 100
_WHITESPACE = re.compile(r"[ \t\n\r\f]+")


@dataclass
class Element:
    tag: str
    attrs: dict[str, str] = field(default_factory=dict)
    children: list[Element | str] = field(default_factory=list)

    def text(self) -> str:
        """All text below this element, with <br> as a newline."""
        parts: list[str] = []
        _collect_text(self, parts)
        return "".join(parts)

    def style(self) -> dict[str, str]:
        declarations = {}
        for declaration in self.attrs.get("style", "").split(";"):
            name, _, value = declaration.partition(":")
            if name.strip() and value.strip():
                declarations[name.strip().lower()] = value.strip().lower()
        return declarations


def _collect_text(element: Element, parts: list[str]) -> None:
    for child in element.children:
        if isinstance(child, str):
            parts.append(child)
        elif child.tag == "br":
            parts.append("\n")
        else:
            _collect_text(child, parts)


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("#root")
        self.stack = [self.root]
        self.ignored_depth = 0  # open tags below MAX_DEPTH that we read as transparent

    def handle_starttag(self, tag, attrs):
        if len(self.stack) > MAX_DEPTH and tag not in VOID_TAGS:
            self.ignored_depth += 1
            self.root.attrs["data-too-deep"] = "1"
            return
        element = Element(tag, {name: value or "" for name, value in attrs})
        self.stack[-1].children.append(element)
        if tag not in VOID_TAGS:
            self.stack.append(element)

    def handle_startendtag(self, tag, attrs):
        self.stack[-1].children.append(Element(tag, {name: value or "" for name, value in attrs}))

    def handle_endtag(self, tag):
        if self.ignored_depth:
            self.ignored_depth -= 1
            return
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth].tag == tag:
                del self.stack[depth:]
                return
        # A stray end tag closes nothing.

    def handle_data(self, data):
        children = self.stack[-1].children
        if children and isinstance(children[-1], str):
            children[-1] += data
        else:
            children.append(data)


def parse_html(html: str) -> Element:
    builder = _TreeBuilder()
    builder.feed(html)
    builder.close()
    return builder.root


def collapse_whitespace(text: str) -> str:
    return _WHITESPACE.sub(" ", text)


def serialise(node: Element | str) -> str:
    if isinstance(node, str):
        return escape(node, quote=False)
    inner = "".join(serialise(child) for child in node.children)
    if node.tag == "#root":
        return inner
    attrs = "".join(f' {name}="{escape(value)}"' for name, value in node.attrs.items())
    if node.tag in VOID_TAGS:
        return f"<{node.tag}{attrs}>"
    return f"<{node.tag}{attrs}>{inner}</{node.tag}>"
