"""Text comparison used by the converter tests: no character of the source may be lost."""

import re

from apps.mappings.transforms.html_to_adf import BLOCK_TAGS
from apps.mappings.transforms.html_tree import Element, parse_html
from apps.mappings.transforms.sanitise import sanitise_html

_SPACE = re.compile(r"\s+")


def html_text(html: str) -> str:
    """The visible text of HTML, with a line break between blocks (so "a</p><p>b" is two words)."""
    parts: list[str] = []
    _collect(parse_html(sanitise_html(html)), parts)
    return "".join(parts)


def _collect(element: Element, parts: list[str]) -> None:
    for child in element.children:
        if isinstance(child, str):
            parts.append(child)
        elif child.tag in {"br", "img", "hr"} or child.tag in BLOCK_TAGS:
            parts.append("\n")
            _collect(child, parts)
            parts.append("\n")
        else:
            _collect(child, parts)


def adf_text(node: dict) -> str:
    parts = []
    if node.get("type") == "text":
        parts.append(node["text"])
    elif node.get("type") == "mention":
        parts.append(node["attrs"].get("text", ""))
    elif node.get("type") == "hardBreak":
        parts.append("\n")
    for child in node.get("content", []) or []:
        parts.append(adf_text(child))
    return "".join(parts) + (" " if node.get("type") in {"paragraph", "heading", "codeBlock"} else "")


def missing_characters(source: str, converted: str) -> str:
    """The part of `source` (whitespace ignored) that is not found, in order, in `converted`.

    Converters may add text (a bullet, "@", a link label) but never drop any: the source's characters
    must be a subsequence of the result's. Returns "" when nothing is missing, else the text from the
    first missing character on, for the failure message.
    """
    wanted = _SPACE.sub("", source)
    have = _SPACE.sub("", converted)
    position = 0
    for index, char in enumerate(wanted):
        found = have.find(char, position)
        if found < 0:
            return wanted[index : index + 80]
        position = found + 1
    return ""
