"""Azure DevOps HTML -> Atlassian Document Format (ADF), always valid against the ADF v1 schema.

The input is sanitised first (nh3). The converter then walks the tree once, collecting inline
content into a pending paragraph and emitting block nodes as it meets block elements at any depth.
Where ADF forbids a construct in a place (a table inside a table cell, a list inside a block quote,
a heading inside a list item, an image inside a heading), the content is turned into the nearest
valid form and a warning says so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, unquote, urlsplit

from .colours import colour_to_hex, is_neutral_colour
from .html_tree import MAX_DEPTH, Element, collapse_whitespace, parse_html
from .results import Conversion, ImageResolver, PersonResolver, WarningLog
from .sanitise import sanitise_html

BLOCK_TAGS = {
    "p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "table", "pre", "blockquote", "hr",
    "section", "article", "header", "footer", "aside", "nav", "main", "address", "center", "figure",
    "figcaption", "details", "summary", "dl", "dt", "dd", "caption", "thead", "tbody", "tfoot", "tr",
    "td", "th",
}  # fmt: skip
HEADING_LEVELS = {f"h{n}": n for n in range(1, 7)}
SIMPLE_MARKS = {
    "b": "strong", "strong": "strong", "i": "em", "em": "em", "cite": "em", "dfn": "em", "var": "em",
    "u": "underline", "ins": "underline", "s": "strike", "strike": "strike", "del": "strike",
    "code": "code", "kbd": "code", "samp": "code", "tt": "code",
}  # fmt: skip
MARK_ORDER = ["link", "strong", "em", "underline", "strike", "subsup", "textColor", "code"]
ABSOLUTE_URL = re.compile(r"^(?:https?://|mailto:)", re.IGNORECASE)
MENTION_ID = re.compile(r"version:[\d.]+,\s*\{?([0-9A-Fa-f-]{8,})\}?")

# What each container accepts, beyond which content is flattened (see _fit).
CONTAINER_ALLOWS = {
    "doc": None,  # everything we produce
    "tableCell": {"paragraph", "heading", "bulletList", "orderedList", "codeBlock", "blockquote", "rule",
                  "mediaSingle"},
    "listItem": {"paragraph", "codeBlock", "mediaSingle", "bulletList", "orderedList"},
    "blockquote": {"paragraph"},
}
CONTAINER_NAMES = {"tableCell": "table cell", "listItem": "list item", "blockquote": "block quote"}


def html_to_adf(
    html: str | None,
    *,
    image_resolver: ImageResolver | None = None,
    person_resolver: PersonResolver | None = None,
) -> Conversion[dict]:
    """Convert an Azure DevOps rich-text field to an ADF document.

    `image_resolver(src, alt)` maps a source image to an uploaded attachment or an external URL;
    without one (or when it answers None) an image becomes a link to its source.
    `person_resolver(ado_identity_id, display_name)` maps a mention to a Jira account; without a
    match the mention stays as "@Name" text.
    """
    log = WarningLog()
    root = parse_html(sanitise_html(html))
    builder = _AdfBuilder(image_resolver=image_resolver, person_resolver=person_resolver, log=log)
    content = builder.fit(builder.blocks(root, {}), "doc")
    report_depth_limit(root, log)
    return Conversion({"version": 1, "type": "doc", "content": content}, log.result())


@dataclass
class _Flow:
    """Blocks produced so far inside one container, and the inline content not yet in a paragraph."""

    builder: _AdfBuilder
    heading_level: int | None = None
    out: list[dict] = field(default_factory=list)
    inline: list[dict] = field(default_factory=list)

    def flush(self) -> None:
        segment: list[dict] = []
        for node in self.inline:
            if node["type"] == "mediaSingle":
                self._emit(segment)
                segment = []
                self.out.append(node)
            else:
                segment.append(node)
        self._emit(segment)
        self.inline = []

    def _emit(self, segment: list[dict]) -> None:
        content = normalise_inline(segment)
        if not content:
            return
        if self.heading_level:
            self.out.append({"type": "heading", "attrs": {"level": self.heading_level}, "content": content})
        else:
            self.out.append({"type": "paragraph", "content": content})


class _AdfBuilder:
    def __init__(self, *, image_resolver, person_resolver, log: WarningLog):
        self.image_resolver = image_resolver
        self.person_resolver = person_resolver
        self.log = log
        self.fallbacks: dict[int, list[dict]] = {}

    # -- walking ---------------------------------------------------------------------------------

    def blocks(self, element: Element, marks: dict, heading_level: int | None = None) -> list[dict]:
        flow = _Flow(self, heading_level=heading_level)
        self.walk(element, marks, flow)
        flow.flush()
        return flow.out

    def walk(self, element: Element, marks: dict, flow: _Flow) -> None:
        for child in element.children:
            self.walk_child(child, marks, flow)

    def walk_child(self, child: Element | str, marks: dict, flow: _Flow) -> None:
        if isinstance(child, str):
            if child:
                flow.inline.append(_text(child, marks))
        elif child.tag in BLOCK_TAGS:
            flow.flush()
            flow.out.extend(self.block(child, marks))
        else:
            self.inline_element(child, marks, flow)

    def inline_element(self, element: Element, marks: dict, flow: _Flow) -> None:
        tag = element.tag
        if tag == "br":
            flow.inline.append({"type": "hardBreak"})
            return
        if tag == "img":
            flow.inline.extend(self.image(element, marks, allow_block=flow.heading_level is None))
            return
        if tag == "a" and MENTION_ID.search(element.attrs.get("data-vss-mention", "")):
            # version:2.0,<identity id> is a person; version:1.0 (a work item #id) is an ordinary link.
            flow.inline.append(self.mention(element, marks))
            return
        if tag == "q":
            flow.inline.append(_text("\u201c", marks))
            self.walk(element, self.marks_for(element, marks), flow)
            flow.inline.append(_text("\u201d", marks))
            return
        self.walk(element, self.marks_for(element, marks), flow)

    def marks_for(self, element: Element, marks: dict) -> dict:
        tag = element.tag
        marks = dict(marks)
        if tag in SIMPLE_MARKS:
            marks[SIMPLE_MARKS[tag]] = {"type": SIMPLE_MARKS[tag]}
        elif tag in {"sub", "sup"}:
            marks["subsup"] = {"type": "subsup", "attrs": {"type": tag}}
        elif tag == "a":
            href = element.attrs.get("href", "").strip()
            if ABSOLUTE_URL.match(href):
                marks["link"] = {"type": "link", "attrs": {"href": href}}
            elif href and href != "#":
                self.log.add("relative_link", "a link to a relative address was kept as text")
        elif tag == "mark":
            self.log.add("highlight", "text highlighting was dropped")
        colour = element.attrs.get("color") if tag == "font" else None
        style = element.style()
        colour = style.get("color", colour)
        if colour and not is_neutral_colour(colour):
            hex_colour = colour_to_hex(colour)
            if hex_colour:
                marks["textColor"] = {"type": "textColor", "attrs": {"color": hex_colour}}
            else:
                self.log.add("text_colour", "a text colour that is not a plain colour value was dropped")
        background = style.get("background-color") or style.get("background")
        if background and not is_neutral_colour(background, background=True):
            self.log.add("highlight", "text highlighting was dropped")
        return marks

    # -- blocks ----------------------------------------------------------------------------------

    def block(self, element: Element, marks: dict) -> list[dict]:
        tag = element.tag
        if tag in HEADING_LEVELS:
            return self.blocks(element, marks, heading_level=HEADING_LEVELS[tag])
        if tag in {"ul", "ol"}:
            return self.list_block(element, marks)
        if tag == "table":
            return self.table(element, marks)
        if tag == "pre":
            return self.code_block(element)
        if tag == "blockquote":
            content = self.fit(self.blocks(element, marks), "blockquote")
            return [{"type": "blockquote", "content": content}] if content else []
        if tag == "hr":
            return [{"type": "rule"}]
        if tag in {"dt", "summary"}:
            marks = {**marks, "strong": {"type": "strong"}}
        if element.style().get("text-align") in {"center", "right", "justify", "end"}:
            self.log.add("alignment", "text alignment was dropped")
        content = self.blocks(element, marks)
        if not content and tag in {"p", "div"} and _is_blank_line(element):
            # Azure DevOps writes an empty line as <div><br></div>: keep the spacing.
            return [{"type": "paragraph", "content": []}]
        return content

    def list_block(self, element: Element, marks: dict) -> list[dict]:
        items: list[dict] = []
        stray = _Flow(self)

        def flush_stray() -> None:
            stray.flush()
            if stray.out:
                items.append({"type": "listItem", "content": self.fit(stray.out, "listItem")})
                stray.out = []

        for child in element.children:
            if isinstance(child, Element) and child.tag == "li":
                flush_stray()
                content = self.fit(self.blocks(child, marks), "listItem")
                items.append({"type": "listItem", "content": content})
            elif isinstance(child, Element) and child.tag in {"ul", "ol"}:
                # <ul><li>a</li><ul>...</ul></ul>: the nested list belongs to the previous item.
                flush_stray()
                nested = self.list_block(child, marks)
                if items:
                    items[-1]["content"] = self.fit(items[-1]["content"] + nested, "listItem")
                elif nested:
                    items.append({"type": "listItem", "content": self.fit(nested, "listItem")})
            else:
                # Text or other elements directly in a list (malformed): gathered into their own item.
                self.walk_child(child, marks, stray)
        flush_stray()
        if not items:
            return []
        node: dict = {"type": "orderedList" if element.tag == "ol" else "bulletList", "content": items}
        if element.tag == "ol" and element.attrs.get("start", "").isdigit() and int(element.attrs["start"]) > 1:
            node["attrs"] = {"order": int(element.attrs["start"])}
        return [node]

    def table(self, element: Element, marks: dict) -> list[dict]:
        before: list[dict] = []
        rows: list[dict] = []
        for row in _table_rows(element):
            if row.tag == "caption":
                before.extend(self.fit(self.blocks(row, {**marks, "strong": {"type": "strong"}}), "doc"))
                continue
            cells = []
            for cell in row.children:
                if isinstance(cell, str):
                    if cell.strip():
                        cells.append(self._cell(Element("td", children=[cell]), marks))
                    continue
                cells.append(self._cell(cell, marks))
            if cells:
                rows.append({"type": "tableRow", "content": cells})
        if not rows:
            return before
        return [*before, {"type": "table", "content": rows}]

    def _cell(self, cell: Element, marks: dict) -> dict:
        content = self.fit(self.blocks(cell, marks), "tableCell") or [{"type": "paragraph", "content": []}]
        node: dict = {"type": "tableHeader" if cell.tag == "th" else "tableCell", "content": content}
        attrs: dict = {}
        style = cell.style()
        background = style.get("background-color") or style.get("background", "").split(" ")[0]
        if background and not is_neutral_colour(background, background=True) and colour_to_hex(background):
            attrs["background"] = colour_to_hex(background)
        for name in ("colspan", "rowspan"):
            value = cell.attrs.get(name, "")
            if value.isdigit() and int(value) > 1:
                attrs[name] = int(value)
        if attrs:
            node["attrs"] = attrs
        return node

    def code_block(self, element: Element) -> list[dict]:
        text = element.text()
        text = text.removeprefix("\n").rstrip("\n")
        if not text.strip():
            return []
        node: dict = {"type": "codeBlock", "content": [{"type": "text", "text": text}]}
        language = _code_language(element)
        if language:
            node["attrs"] = {"language": language}
        return [node]

    # -- inline specials -------------------------------------------------------------------------

    def mention(self, element: Element, marks: dict) -> dict:
        display = collapse_whitespace(element.text()).strip().lstrip("@").strip()
        match = MENTION_ID.search(element.attrs.get("data-vss-mention", ""))
        source_id = match.group(1).lower() if match else ""
        target = self.person_resolver(source_id, display) if (self.person_resolver and source_id) else None
        if target and target.id:
            return {"type": "mention", "attrs": {"id": target.id, "text": f"@{target.display_name}"}}
        self.log.add("mention_unmapped", "a mention was kept as plain text (no matching user)")
        return _text(f"@{display}" if display else "@", marks)

    def image(self, element: Element, marks: dict, *, allow_block: bool) -> list[dict]:
        src = element.attrs.get("src", "").strip()
        alt = collapse_whitespace(element.attrs.get("alt", "")).strip()
        if not src:
            self.log.add("image_dropped", "an image without a usable address was dropped")
            return [_text(f"[image: {alt}]", marks)] if alt else []
        label = alt or _file_name(src) or "image"
        fallback = [_text(label, {**marks, "link": {"type": "link", "attrs": {"href": src}}})]
        target = self.image_resolver(src, alt) if self.image_resolver else None
        if target is None or not (target.media_id or target.url):
            self.log.add("image_as_link", "an image was kept as a link to its source (not copied)")
            return fallback
        if not allow_block:
            self.log.add("image_in_heading", "an image inside a heading was kept as a link")
            return fallback
        if target.media_id:
            attrs: dict = {"type": "file", "id": target.media_id, "collection": target.collection}
        else:
            attrs = {"type": "external", "url": target.url}
        width, height = target.width or _int(element.attrs.get("width")), target.height or _int(element.attrs.get("height"))
        if width and height:
            attrs.update(width=width, height=height)
        if alt:
            attrs["alt"] = alt
        node = {"type": "mediaSingle", "attrs": {"layout": "center"}, "content": [{"type": "media", "attrs": attrs}]}
        self.fallbacks[id(node)] = fallback
        return [node]

    # -- fitting content into what a container accepts --------------------------------------------

    def fit(self, blocks: list[dict], container: str) -> list[dict]:
        allowed = CONTAINER_ALLOWS[container]
        where = CONTAINER_NAMES.get(container, "document")
        fitted: list[dict] = []
        for node in blocks:
            kind = node["type"]
            if allowed is None or kind in allowed:
                fitted.append(node)
                continue
            if kind == "table":
                what = "a nested table" if container == "tableCell" else f"a table inside a {where}"
                self.log.add("table_flattened", f"{what} was flattened into text")
            elif kind == "heading":
                self.log.add("heading_flattened", f"a heading inside a {where} became a plain paragraph")
            elif kind in {"bulletList", "orderedList"}:
                self.log.add("list_flattened", f"a list inside a {where} became plain paragraphs")
            elif kind == "codeBlock":
                self.log.add("code_flattened", f"a code block inside a {where} became monospaced text")
            elif kind == "blockquote":
                self.log.add("quote_flattened", f"a block quote inside a {where} became plain paragraphs")
            elif kind == "rule":
                self.log.add("rule_dropped", f"a horizontal rule inside a {where} was dropped")
            elif kind == "mediaSingle":
                self.log.add("image_as_link", f"an image inside a {where} was kept as a link")
            fitted.extend(self.flatten(node))
        if container == "listItem":
            if not fitted or fitted[0]["type"] not in {"paragraph", "codeBlock", "mediaSingle"}:
                fitted.insert(0, {"type": "paragraph", "content": []})
        return fitted

    def flatten(self, node: dict, depth: int = 0) -> list[dict]:
        """Any block as a list of plain paragraphs, keeping all its text."""
        kind = node["type"]
        if kind == "paragraph":
            return [node]
        if kind == "heading":
            return [{"type": "paragraph", "content": node.get("content", [])}]
        if kind == "blockquote":
            return [p for child in node["content"] for p in self.flatten(child, depth)]
        if kind == "rule":
            return []
        if kind == "mediaSingle":
            return [{"type": "paragraph", "content": self.fallbacks.get(id(node), [])}]
        if kind == "codeBlock":
            return [{"type": "paragraph", "content": code_as_inline(node)}]
        if kind in {"bulletList", "orderedList"}:
            paragraphs: list[dict] = []
            start = node.get("attrs", {}).get("order", 1)
            for index, item in enumerate(node["content"]):
                bullet = "\u2022 " if kind == "bulletList" else f"{start + index}. "
                inner = [p for child in item["content"] for p in self.flatten(child, depth + 1)]
                inner = [p for p in inner if p.get("content")] or [{"type": "paragraph", "content": []}]
                first = inner[0]
                inner[0] = {"type": "paragraph", "content": [{"type": "text", "text": "  " * depth + bullet}, *first.get("content", [])]}
                paragraphs.extend(inner)
            return paragraphs
        if kind == "table":
            paragraphs = []
            for row in node["content"]:
                content = []
                for index, cell in enumerate(row["content"]):
                    if index:
                        content.append({"type": "text", "text": " | "})
                    cell_paragraphs = [p for child in cell["content"] for p in self.flatten(child, depth)]
                    for p_index, paragraph in enumerate(p for p in cell_paragraphs if p.get("content")):
                        if p_index:
                            content.append({"type": "hardBreak"})
                        content.extend(paragraph["content"])
                paragraphs.append({"type": "paragraph", "content": normalise_inline(content)})
            return paragraphs
        return [p for child in node.get("content", []) for p in self.flatten(child, depth)]


# -- inline normalisation ------------------------------------------------------------------------


def _text(text: str, marks: dict) -> dict:
    node: dict = {"type": "text", "text": text}
    if marks:
        node["marks"] = [marks[name] for name in MARK_ORDER if name in marks]
    return node


def report_depth_limit(root: Element, log: WarningLog) -> None:
    if root.attrs.get("data-too-deep"):
        log.add("too_deep", f"markup nested more than {MAX_DEPTH} levels deep was flattened (its text is kept)")


def code_as_inline(code_block: dict) -> list[dict]:
    """A code block's lines as monospaced text separated by line breaks."""
    content: list[dict] = []
    for index, line in enumerate(code_block["content"][0]["text"].split("\n")):
        if index:
            content.append({"type": "hardBreak"})
        if line:
            content.append({"type": "text", "text": line, "marks": [{"type": "code"}]})
    return content


def _allowed_marks(marks: list[dict]) -> list[dict]:
    """ADF allows `code` only together with `link`."""
    if any(mark["type"] == "code" for mark in marks):
        return [mark for mark in marks if mark["type"] in {"code", "link"}]
    return marks


def normalise_inline(nodes: list[dict]) -> list[dict]:
    """Collapse HTML whitespace, trim line ends, drop empty text, merge neighbours with equal marks."""
    result: list[dict] = []
    at_line_start = True
    for node in nodes:
        if node["type"] != "text":
            if node["type"] == "hardBreak":
                _trim_trailing_space(result)
                at_line_start = True
            else:
                at_line_start = False
            result.append(node)
            continue
        text = collapse_whitespace(node["text"])
        if at_line_start or (result and result[-1]["type"] == "text" and result[-1]["text"].endswith(" ")):
            text = text.lstrip(" ")
        if not text:
            continue
        marks = _allowed_marks(node.get("marks", []))
        previous = result[-1] if result else None
        if previous and previous["type"] == "text" and previous.get("marks", []) == marks:
            previous["text"] += text
        else:
            new = {"type": "text", "text": text}
            if marks:
                new["marks"] = marks
            result.append(new)
        at_line_start = False
    _trim_trailing_space(result)
    while result and result[-1]["type"] == "hardBreak":
        result.pop()
        _trim_trailing_space(result)
    return result


def _trim_trailing_space(result: list[dict]) -> None:
    if result and result[-1]["type"] == "text":
        result[-1]["text"] = result[-1]["text"].rstrip(" ")
        if not result[-1]["text"]:
            result.pop()


# -- helpers -------------------------------------------------------------------------------------


def _table_rows(table: Element):
    for child in table.children:
        if isinstance(child, str):
            continue
        if child.tag in {"thead", "tbody", "tfoot"}:
            yield from (row for row in child.children if isinstance(row, Element) and row.tag == "tr")
        elif child.tag in {"tr", "caption"}:
            yield child


def _code_language(element: Element) -> str | None:
    candidates = [element] + [c for c in element.children if isinstance(c, Element) and c.tag == "code"]
    for candidate in candidates:
        if candidate.attrs.get("data-language"):
            return candidate.attrs["data-language"].strip()[:40] or None
        for part in candidate.attrs.get("class", "").split():
            if part.startswith("language-"):
                return part.removeprefix("language-")
    return None


def _is_blank_line(element: Element) -> bool:
    """<div><br></div> or <p>&nbsp;</p>: an intentionally empty line."""
    has_break = any(isinstance(c, Element) and c.tag == "br" for c in _descendants(element))
    text = element.text()
    return (has_break or "\xa0" in text) and not text.replace("\xa0", " ").strip()


def _descendants(element: Element):
    for child in element.children:
        if isinstance(child, Element):
            yield child
            yield from _descendants(child)


def _file_name(url: str) -> str:
    """shot.png from ".../_apis/wit/attachments/<id>?fileName=shot.png" or from the path."""
    parts = urlsplit(url)
    for name, value in parse_qsl(parts.query):
        if name.lower() == "filename" and value.strip():
            return value.strip()
    path = parts.path.rstrip("/")
    return unquote(path.rsplit("/", 1)[-1]) if path else ""


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None
