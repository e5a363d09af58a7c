"""HTML sanitising with nh3 (ammonia, html5ever's WHATWG parser).

Used twice: on Azure DevOps HTML before conversion, and on the HTML we produce from ADF or wiki
markup before it is written to Azure DevOps. The allow-list is what the converters understand and
what Azure DevOps renders; everything else keeps its text and loses the tag. Script, style and
similar elements are removed with their content; event handlers, `javascript:` URLs and inline
styles other than colours and alignment never survive.
"""

from __future__ import annotations

import re

import nh3

ALLOWED_TAGS = {
    "a", "abbr", "b", "big", "blockquote", "br", "caption", "center", "cite", "code", "col", "colgroup",
    "dd", "del", "details", "dfn", "div", "dl", "dt", "em", "figcaption", "figure", "font", "h1", "h2",
    "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li", "mark", "ol", "p", "pre", "q", "s",
    "samp", "small", "span", "strike", "strong", "sub", "summary", "sup", "table", "tbody", "td", "tfoot",
    "th", "thead", "tr", "tt", "u", "ul", "var", "section", "article", "header", "footer", "aside", "nav",
    "main", "address",
}  # fmt: skip

# Removed together with everything inside them.
CONTENT_DROPPED_TAGS = {
    "script", "style", "noscript", "template", "iframe", "object", "embed", "frame", "frameset",
    "applet", "title", "head", "math", "svg", "canvas", "audio", "video", "select", "textarea", "button",
}  # fmt: skip

ALLOWED_ATTRIBUTES = {
    "*": {"style", "title", "dir", "lang"},
    "a": {"href", "data-vss-mention"},
    "img": {"src", "alt", "width", "height"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
    "ol": {"start"},
    "font": {"color"},
    "code": {"class", "data-language"},
    "pre": {"class", "data-language"},
}

STYLE_PROPERTIES = {"color", "background-color", "background", "text-align"}
URL_SCHEMES = {"http", "https", "mailto"}
_UNSAFE_STYLE = re.compile(r"url\s*\(|expression\s*\(|javascript:|@import|\\", re.IGNORECASE)
_LANGUAGE_CLASS = re.compile(r"^(?:language|lang|brush:?)-?([A-Za-z0-9_+#.-]{1,40})$")


def _keep_attribute(tag: str, attribute: str, value: str) -> str | None:
    if attribute == "class":
        # Only the code-language hint survives, e.g. class="language-python".
        languages = [m.group(1) for part in value.split() if (m := _LANGUAGE_CLASS.match(part))]
        return f"language-{languages[0]}" if languages else None
    if attribute in {"colspan", "rowspan", "start", "width", "height"}:
        digits = value.strip().removesuffix("px")
        return digits if digits.isdigit() and 0 < int(digits) < 100_000 else None
    if attribute == "style":
        # Only colours and alignment are kept, and never anything that loads or runs something.
        kept = [d for d in value.split(";") if d.strip() and not _UNSAFE_STYLE.search(d)]
        return ";".join(kept) or None
    return value


_CLEANER = nh3.Cleaner(
    tags=ALLOWED_TAGS,
    clean_content_tags=CONTENT_DROPPED_TAGS,
    attributes=ALLOWED_ATTRIBUTES,
    attribute_filter=_keep_attribute,
    url_schemes=URL_SCHEMES,
    filter_style_properties=STYLE_PROPERTIES,
    strip_comments=True,
    link_rel=None,
)


def sanitise_html(html: str | None) -> str:
    """Return a safe, well-formed HTML fragment (every tag closed, properly nested)."""
    if not html:
        return ""
    return _CLEANER.clean(html)
