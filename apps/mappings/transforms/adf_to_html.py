"""Atlassian Document Format -> HTML for Azure DevOps rich-text fields (Jira -> Azure DevOps).

Every ADF node has an HTML rendering; the ones Azure DevOps has no equivalent for (panels, expands,
status lozenges, task lists, layouts, extensions, smart cards) become their nearest readable form
and are reported. The result is sanitised before it is returned.
"""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape

from .colours import colour_to_hex
from .results import Conversion, ImageResolver, PersonResolver, WarningLog
from .sanitise import sanitise_html

PANEL_LABELS = {"info": "Info", "note": "Note", "tip": "Tip", "warning": "Warning", "error": "Error", "success": "Success"}
SIMPLE_MARK_TAGS = {"strong": "strong", "em": "em", "underline": "u", "strike": "s", "code": "code"}
SILENT_MARKS = {"annotation", "dataConsumer", "fragment", "breakout", "border"}
MAX_ADF_DEPTH = 100


def adf_to_html(
    adf: dict | None,
    *,
    image_resolver: ImageResolver | None = None,
    person_resolver: PersonResolver | None = None,
) -> Conversion[str]:
    """Convert an ADF document (a Jira Cloud description or comment body) to sanitised HTML.

    `image_resolver(media_id_or_url, alt)` gives the Azure DevOps URL of an attachment that was
    copied; without it, or when it answers None, an attached image becomes "[image: name]" text.
    `person_resolver(jira_account_id, display_name)` gives the Azure DevOps identity to mention.
    """
    log = WarningLog()
    if adf is None or adf == "":
        return Conversion("", ())
    if isinstance(adf, str):
        log.add("not_adf", "the value was plain text, not an ADF document; it was kept as text")
        return Conversion(sanitise_html("".join(f"<p>{escape(line)}</p>" for line in adf.splitlines())), log.result())
    if not isinstance(adf, dict) or adf.get("type") != "doc":
        log.add("not_adf", "the value is not an ADF document and was left out")
        return Conversion("", log.result())
    renderer = _HtmlRenderer(image_resolver=image_resolver, person_resolver=person_resolver, log=log)
    html = renderer.children(adf)
    return Conversion(sanitise_html(html), log.result())


class _HtmlRenderer:
    def __init__(self, *, image_resolver, person_resolver, log: WarningLog):
        self.image_resolver = image_resolver
        self.person_resolver = person_resolver
        self.log = log
        self.depth = 0

    def children(self, node: dict) -> str:
        content = node.get("content")
        if not isinstance(content, list):
            return ""
        if self.depth >= MAX_ADF_DEPTH:
            self.log.add("too_deep", f"content nested more than {MAX_ADF_DEPTH} levels deep was reduced to its text")
            return escape(" ".join(_texts(node)), quote=False)
        self.depth += 1
        try:
            return "".join(self.node(child) for child in content if isinstance(child, dict))
        finally:
            self.depth -= 1

    def node(self, node: dict) -> str:  # noqa: C901 - one branch per ADF node type reads best
        kind = node.get("type")
        attrs = node.get("attrs") if isinstance(node.get("attrs"), dict) else {}
        inner = self.children(node)
        style = _block_style(node, self.log)
        if kind == "text":
            return self.text(node)
        if kind == "paragraph":
            return f"<p{style}>{inner or '<br>'}</p>"
        if kind == "heading":
            level = attrs.get("level") if attrs.get("level") in range(1, 7) else 2
            return f"<h{level}{style}>{inner}</h{level}>"
        if kind == "bulletList":
            return f"<ul>{inner}</ul>"
        if kind == "orderedList":
            order = attrs.get("order")
            start = f' start="{int(order)}"' if isinstance(order, int | float) and order > 1 else ""
            return f"<ol{start}>{inner}</ol>"
        if kind == "listItem":
            return f"<li>{inner}</li>"
        if kind == "codeBlock":
            text = "".join(c.get("text", "") for c in node.get("content", []) if isinstance(c, dict))
            language = attrs.get("language")
            css = f' class="language-{escape(str(language))}"' if language else ""
            return f"<pre><code{css}>{escape(text, quote=False)}</code></pre>"
        if kind == "blockquote":
            return f"<blockquote>{inner}</blockquote>"
        if kind == "rule":
            return "<hr>"
        if kind == "hardBreak":
            return "<br>"
        if kind == "table":
            return f"<table><tbody>{inner}</tbody></table>"
        if kind == "tableRow":
            return f"<tr>{inner}</tr>"
        if kind in {"tableCell", "tableHeader"}:
            return self.cell(node, attrs, inner)
        if kind == "panel":
            label = PANEL_LABELS.get(attrs.get("panelType"), "Note")
            self.log.add("panel", "an information panel became a block quote")
            return f"<blockquote><p><strong>{label}:</strong></p>{inner}</blockquote>"
        if kind in {"expand", "nestedExpand"}:
            self.log.add("expand", "a collapsible section was expanded into plain content")
            title = escape(str(attrs.get("title") or ""))
            return f"<div><p><strong>{title}</strong></p>{inner}</div>" if title else f"<div>{inner}</div>"
        if kind == "mediaSingle":
            return f"<div>{inner}</div>"
        if kind == "mediaGroup":
            return f"<p>{inner}</p>"
        if kind == "media":
            return self.media(attrs)
        if kind == "mediaInline":
            return self.media(attrs)
        if kind == "mention":
            return self.mention(attrs)
        if kind == "emoji":
            return escape(str(attrs.get("text") or attrs.get("shortName") or ""))
        if kind in {"inlineCard", "blockCard", "embedCard"}:
            url = attrs.get("url")
            if isinstance(url, str) and url:
                link = f'<a href="{escape(url)}">{escape(url)}</a>'
                return link if kind == "inlineCard" else f"<p>{link}</p>"
            self.log.add("smart_card", "a smart link without an address was dropped")
            return ""
        if kind == "status":
            self.log.add("status", "a status lozenge became bold text")
            return f"<strong>[{escape(str(attrs.get('text', '')))}]</strong>"
        if kind == "date":
            return escape(_date_text(attrs.get("timestamp")))
        if kind == "placeholder":
            return ""
        if kind in {"taskList", "decisionList"}:
            self.log.add(kind, "a task or decision list became a bulleted list")
            return f"<ul>{inner}</ul>"
        if kind == "taskItem":
            box = "\u2611" if attrs.get("state") == "DONE" else "\u2610"
            return f"<li>{box} {inner}</li>"
        if kind == "decisionItem":
            return f"<li>\u25c6 {inner}</li>"
        if kind in {"layoutSection", "layoutColumn"}:
            self.log.add("layout", "side-by-side columns were placed one after another")
            return f"<div>{inner}</div>"
        if kind in {"extension", "bodiedExtension", "inlineExtension", "multiBodiedExtension", "extensionFrame"}:
            key = attrs.get("extensionKey", "unknown")
            if inner:
                self.log.add("extension", f"the app macro {key!r} was replaced by its content")
                return f"<div>{inner}</div>"
            self.log.add("extension", f"the app macro {key!r} has no HTML equivalent and was dropped")
            return ""
        self.log.add("unknown_node", f"an unknown ADF node {kind!r} was reduced to its text")
        return inner or escape(str(node.get("text") or ""))

    def text(self, node: dict) -> str:
        html = escape(str(node.get("text", "")), quote=False)
        marks = node.get("marks") if isinstance(node.get("marks"), list) else []
        # Links outermost, then formatting, so "<a><strong>x</strong></a>" reads naturally.
        for mark in sorted((m for m in marks if isinstance(m, dict)), key=lambda m: m.get("type") == "link"):
            kind = mark.get("type")
            attrs = mark.get("attrs") if isinstance(mark.get("attrs"), dict) else {}
            if kind in SIMPLE_MARK_TAGS:
                tag = SIMPLE_MARK_TAGS[kind]
                html = f"<{tag}>{html}</{tag}>"
            elif kind == "link":
                html = f'<a href="{escape(str(attrs.get("href", "")))}">{html}</a>'
            elif kind == "subsup":
                tag = "sup" if attrs.get("type") == "sup" else "sub"
                html = f"<{tag}>{html}</{tag}>"
            elif kind in {"textColor", "backgroundColor"}:
                colour = colour_to_hex(str(attrs.get("color", "")))
                prop = "color" if kind == "textColor" else "background-color"
                if colour:
                    html = f'<span style="{prop}:{colour}">{html}</span>'
            elif kind not in SILENT_MARKS:
                self.log.add("unknown_mark", f"the text format {kind!r} was dropped")
        return html

    def cell(self, node: dict, attrs: dict, inner: str) -> str:
        tag = "th" if node["type"] == "tableHeader" else "td"
        extra = ""
        for name in ("colspan", "rowspan"):
            value = attrs.get(name)
            if isinstance(value, int | float) and value > 1:
                extra += f' {name}="{int(value)}"'
        background = colour_to_hex(str(attrs.get("background") or ""))
        if background:
            extra += f' style="background-color:{background}"'
        return f"<{tag}{extra}>{inner}</{tag}>"

    def media(self, attrs: dict) -> str:
        alt = str(attrs.get("alt") or "")
        if attrs.get("type") == "external" and isinstance(attrs.get("url"), str):
            target_url = attrs["url"]
            if self.image_resolver and (target := self.image_resolver(target_url, alt)) and target.url:
                target_url = target.url
            return f'<img src="{escape(target_url)}" alt="{escape(alt)}">'
        reference = str(attrs.get("id") or "")
        target = self.image_resolver(reference, alt) if (self.image_resolver and reference) else None
        if target and target.url:
            size = ""
            if isinstance(attrs.get("width"), int | float) and isinstance(attrs.get("height"), int | float):
                size = f' width="{int(attrs["width"])}" height="{int(attrs["height"])}"'
            return f'<img src="{escape(target.url)}" alt="{escape(alt)}"{size}>'
        self.log.add("attachment_unresolved", "an attached image or file could not be shown and became a text note")
        return f"[attachment: {escape(alt or reference or 'file')}]"

    def mention(self, attrs: dict) -> str:
        text = str(attrs.get("text") or "").lstrip("@") or str(attrs.get("id") or "someone")
        source_id = str(attrs.get("id") or "")
        target = self.person_resolver(source_id, text) if (self.person_resolver and source_id) else None
        if target and target.id:
            return (
                f'<a href="#" data-vss-mention="version:2.0,{escape(target.id)}">@{escape(target.display_name)}</a>'
            )
        self.log.add("mention_unmapped", "a mention was kept as plain text (no matching user)")
        return f"@{escape(target.display_name if target and target.display_name else text)}"


def _block_style(node: dict, log: WarningLog) -> str:
    for mark in node.get("marks") or []:
        if not isinstance(mark, dict):
            continue
        if mark.get("type") == "alignment":
            align = {"center": "center", "end": "right"}.get((mark.get("attrs") or {}).get("align"))
            if align:
                return f' style="text-align:{align}"'
        elif mark.get("type") == "indentation":
            log.add("indentation", "paragraph indentation was dropped")
    return ""


def _texts(node: dict) -> list[str]:
    """All text below a node, without recursion (the node may be nested arbitrarily deep)."""
    texts, stack = [], [node]
    while stack:
        current = stack.pop()
        if isinstance(current, dict):
            if isinstance(current.get("text"), str):
                texts.append(current["text"])
            if isinstance(current.get("content"), list):
                stack.extend(reversed(current["content"]))
    return texts


def _date_text(timestamp) -> str:
    try:
        return datetime.fromtimestamp(int(timestamp) / 1000, tz=UTC).date().isoformat()
    except (TypeError, ValueError, OverflowError, OSError):
        return str(timestamp or "")
