"""Structure of an HTML fragment as a reader sees it, for round-trip comparisons."""

from collections import Counter

from apps.mappings.transforms.html_tree import Element, parse_html
from apps.mappings.transforms.sanitise import sanitise_html

CATEGORIES = {
    "h1": "heading", "h2": "heading", "h3": "heading", "h4": "heading", "h5": "heading", "h6": "heading",
    "li": "list item", "ul": "bullet list", "ol": "numbered list", "td": "cell", "th": "header cell",
    "table": "table", "blockquote": "quote", "pre": "code block",
    "b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline", "ins": "underline",
    "s": "strike", "del": "strike", "strike": "strike", "code": "code", "sub": "subscript", "sup": "superscript",
}  # fmt: skip
MARKS = {"bold", "italic", "underline", "strike", "code", "subscript", "superscript"}


def html_structure(html: str) -> Counter:
    """Counts of headings, lists, items, cells, quotes and code blocks; formatted and linked words."""
    counts: Counter = Counter()
    _walk(parse_html(sanitise_html(html)), frozenset(), counts)
    return counts


def _walk(element: Element, marks: frozenset, counts: Counter) -> None:
    for child in element.children:
        if isinstance(child, str):
            for word in child.split():
                for mark in marks:
                    counts[(mark, word)] += 1
            continue
        category = CATEGORIES.get(child.tag)
        inner = marks
        if category in MARKS:
            inner = marks | {category}
        elif category == "code block":
            counts[category] += 1
            continue  # text in a code block has no formatting of its own (<pre><code> or <pre> alike)
        elif category and child.text().strip():
            counts[category] += 1
        elif category in {"cell", "header cell", "list item"}:
            counts[category] += 1
        if child.tag == "a" and child.attrs.get("href", "").startswith(("http://", "https://", "mailto:")):
            inner = inner | {"link " + child.attrs["href"]}  # counted per word: split or merged anchors are equal
        _walk(child, inner, counts)
