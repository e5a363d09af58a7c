"""Azure DevOps HTML -> Jira wiki markup, for Jira Data Center (REST v2 takes wiki text).

The HTML is first read by the same builder as html_to_adf, so both destinations get the same
structure and the same warnings; this module then writes that structure as wiki markup. Wiki
markup cannot put blocks inside list items or table cells, so extra paragraphs there are joined
with forced line breaks (\\\\).
"""

from __future__ import annotations

import re

from .html_to_adf import _AdfBuilder, code_as_inline, report_depth_limit
from .html_tree import parse_html
from .results import Conversion, ImageResolver, ImageTarget, PersonResolver, WarningLog
from .sanitise import sanitise_html

# Media ids of this collection are attachment file names (see _wiki_images).
_ATTACHMENT_COLLECTION = "\0wiki-attachment"
_LINE_BREAK = " \\\\ "  # wiki's forced line break, for places where a newline would end the structure
_ALWAYS_ESCAPED = set("{}[]|")
_EFFECT_CHARS = set("*_+^~-!?")
_LINE_START_MARKUP = re.compile(r"^(?:[*#-]+\s|----|h[1-6]\.\s|bq\.\s)")
MARK_WRAP = {"strong": ("*", "*"), "em": ("_", "_"), "underline": ("+", "+"), "strike": ("-", "-"),
             "code": ("{{", "}}")}  # fmt: skip


def html_to_wiki(
    html: str | None,
    *,
    image_resolver: ImageResolver | None = None,
    person_resolver: PersonResolver | None = None,
) -> Conversion[str]:
    """Convert an Azure DevOps rich-text field to Jira wiki markup.

    `image_resolver(src, alt)` should answer ImageTarget(filename=...) for an image copied as an
    attachment of the issue ("!name.png!"), or ImageTarget(url=...) for an external image.
    `person_resolver(ado_identity_id, display_name)` answers the Jira username to mention ("[~name]").
    """
    log = WarningLog()
    builder = _AdfBuilder(image_resolver=_wiki_images(image_resolver), person_resolver=person_resolver, log=log)
    root = parse_html(sanitise_html(html))
    blocks = builder.fit(builder.blocks(root, {}), "doc")
    report_depth_limit(root, log)
    writer = _WikiWriter(log)
    text = "\n\n".join(chunk for chunk in (writer.block(node) for node in blocks) if chunk)
    return Conversion(text, log.result())


def _wiki_images(resolver: ImageResolver | None) -> ImageResolver | None:
    if resolver is None:
        return None

    def resolve(src: str, alt: str) -> ImageTarget | None:
        target = resolver(src, alt)
        if target and target.filename:
            return ImageTarget(media_id=target.filename, collection=_ATTACHMENT_COLLECTION)
        if target and target.url:
            return ImageTarget(url=target.url)
        return None

    return resolve


class _WikiWriter:
    def __init__(self, log: WarningLog):
        self.log = log

    def block(self, node: dict, *, compact: bool = False) -> str:
        kind = node["type"]
        if kind == "paragraph":
            return self.inline(node.get("content", []), compact=compact)
        if kind == "heading":
            return f"h{node['attrs']['level']}. {self.inline(node.get('content', []), compact=True)}"
        if kind in {"bulletList", "orderedList"}:
            return "\n".join(self.list_lines(node, ""))
        if kind == "codeBlock":
            text = node["content"][0]["text"] if node.get("content") else ""
            language = node.get("attrs", {}).get("language")
            if language and re.fullmatch(r"[\w#+.-]+", language) and "{code}" not in text:
                return f"{{code:{language}}}\n{text}\n{{code}}"
            return f"{{noformat}}\n{text.replace('{noformat}', '{ noformat}')}\n{{noformat}}"
        if kind == "blockquote":
            inner = "\n\n".join(self.block(child) for child in node["content"])
            return f"{{quote}}\n{inner}\n{{quote}}"
        if kind == "rule":
            return "----"
        if kind == "table":
            return "\n".join(self.table_row(row) for row in node["content"])
        if kind == "mediaSingle":
            return self.media(node["content"][0]["attrs"])
        return self.inline(node.get("content", []), compact=compact)

    def list_lines(self, node: dict, prefix: str) -> list[str]:
        bullet = prefix + ("*" if node["type"] == "bulletList" else "#")
        lines: list[str] = []
        for item in node["content"]:
            texts: list[str] = []
            nested: list[str] = []
            for child in item["content"]:
                if child["type"] in {"bulletList", "orderedList"}:
                    nested.extend(self.list_lines(child, bullet))
                else:
                    if child["type"] == "codeBlock":
                        self.log.add("code_in_list", "a code block inside a list item became monospaced text")
                        child = {"type": "paragraph", "content": code_as_inline(child)}
                    texts.append(self.block(child, compact=True))
            lines.append(f"{bullet} {_LINE_BREAK.join(t for t in texts if t)}".rstrip())
            lines.extend(nested)
        return lines

    def table_row(self, row: dict) -> str:
        parts = []
        for cell in row["content"]:
            delimiter = "||" if cell["type"] == "tableHeader" else "|"
            texts = []
            for child in cell["content"]:
                if child["type"] in {"bulletList", "orderedList", "codeBlock", "table", "blockquote"}:
                    self.log.add("cell_block", "a list, quote or code block inside a table cell became lines of text")
                    child_text = _LINE_BREAK.join(
                        self.block(p, compact=True) for p in _paragraphs_of(child)
                    )
                else:
                    child_text = self.block(child, compact=True)
                if child_text:
                    texts.append(child_text)
            parts.append(delimiter + (_LINE_BREAK.join(texts) or " "))
        closing = "||" if row["content"] and row["content"][-1]["type"] == "tableHeader" else "|"
        return "".join(parts) + closing

    def inline(self, nodes: list[dict], *, compact: bool) -> str:
        out: list[str] = []
        for node in nodes:
            kind = node["type"]
            if kind == "text":
                out.append(self.text(node))
            elif kind == "hardBreak":
                out.append(_LINE_BREAK if compact else "\n")
            elif kind == "mention":
                out.append(f"[~{node['attrs']['id']}]")
            elif kind == "mediaSingle":
                out.append(self.media(node["content"][0]["attrs"]))
        text = "".join(out)
        # A line that happens to start like list or heading markup must stay text.
        return "\n".join("\\" + line if _LINE_START_MARKUP.match(line) else line for line in text.split("\n"))

    def text(self, node: dict) -> str:
        marks = {mark["type"]: mark for mark in node.get("marks", [])}
        raw = node["text"]
        body = _escape(raw)
        # Wiki effects must hug the text: keep surrounding spaces outside the markers.
        leading = body[: len(body) - len(body.lstrip(" "))]
        trailing = body[len(body.rstrip(" ")) :]
        core = body.strip(" ")
        if not core:
            return body
        for name in ("code", "strike", "underline", "em", "strong"):
            if name in marks:
                start, end = MARK_WRAP[name]
                core = f"{start}{core}{end}"
        if "subsup" in marks:
            marker = "^" if marks["subsup"]["attrs"]["type"] == "sup" else "~"
            core = f"{marker}{core}{marker}"
        if "textColor" in marks:
            core = f"{{color:{marks['textColor']['attrs']['color']}}}{core}{{color}}"
        if "link" in marks:
            href = marks["link"]["attrs"]["href"].replace("|", "%7C").replace("]", "%5D")
            core = f"[{href}]" if raw.strip() == href else f"[{core}|{href}]"
        return leading + core + trailing

    def media(self, attrs: dict) -> str:
        if attrs.get("collection") == _ATTACHMENT_COLLECTION:
            return f"!{attrs['id']}!"
        return f"!{attrs.get('url', '')}!"


def _escape(text: str) -> str:
    out = []
    for index, char in enumerate(text):
        if char in _ALWAYS_ESCAPED:
            out.append("\\" + char)
            continue
        if char in _EFFECT_CHARS:
            before = text[index - 1] if index else " "
            after = text[index + 1] if index + 1 < len(text) else " "
            # An effect opens after a non-word character and closes before one; between two
            # letters ("well-known") or two spaces (" - ") it is plain text.
            could_open = not before.isalnum() and not after.isspace()
            could_close = not after.isalnum() and not before.isspace()
            if could_open or could_close:
                out.append("\\" + char)
                continue
        out.append(char)
    return "".join(out)


def _paragraphs_of(node: dict) -> list[dict]:
    return _AdfBuilder(image_resolver=None, person_resolver=None, log=WarningLog()).flatten(node)
