"""CSS colour values to the #rrggbb form that ADF's textColor mark and wiki {color} accept."""

from __future__ import annotations

import re

NAMED_COLOURS = {
    "black": "#000000", "white": "#ffffff", "red": "#ff0000", "green": "#008000", "blue": "#0000ff",
    "yellow": "#ffff00", "orange": "#ffa500", "purple": "#800080", "gray": "#808080", "grey": "#808080",
    "silver": "#c0c0c0", "maroon": "#800000", "olive": "#808000", "lime": "#00ff00", "aqua": "#00ffff",
    "cyan": "#00ffff", "teal": "#008080", "navy": "#000080", "fuchsia": "#ff00ff", "magenta": "#ff00ff",
    "brown": "#a52a2a", "pink": "#ffc0cb", "gold": "#ffd700", "darkred": "#8b0000",
    "darkgreen": "#006400", "darkblue": "#00008b", "darkorange": "#ff8c00", "darkgray": "#a9a9a9",
    "darkgrey": "#a9a9a9", "lightgray": "#d3d3d3", "lightgrey": "#d3d3d3", "indigo": "#4b0082",
    "violet": "#ee82ee", "crimson": "#dc143c", "tomato": "#ff6347", "coral": "#ff7f50",
}  # fmt: skip

_HEX = re.compile(r"^#([0-9a-f]{3}|[0-9a-f]{6})$")
_RGB = re.compile(r"^rgba?\(\s*(\d{1,3})\s*,\s*(\d{1,3})\s*,\s*(\d{1,3})\s*(?:,\s*([\d.]+%?)\s*)?\)$")
# Values that mean "no colour of its own": nothing is lost by dropping them.
NEUTRAL_VALUES = {"inherit", "initial", "unset", "currentcolor", "transparent", "windowtext", "auto"}


def colour_to_hex(value: str) -> str | None:
    """'#F00', 'red', 'rgb(255, 0, 0)' -> '#ff0000'; None when the value is not a plain colour."""
    value = value.strip().lower().removesuffix("!important").strip()
    if value in NAMED_COLOURS:
        return NAMED_COLOURS[value]
    if match := _HEX.match(value):
        digits = match.group(1)
        if len(digits) == 3:
            digits = "".join(c * 2 for c in digits)
        return f"#{digits}"
    if match := _RGB.match(value):
        alpha = match.group(4)
        if alpha is not None and alpha.rstrip("%") in {"0", "0.0"}:
            return None
        channels = [min(int(match.group(i)), 255) for i in (1, 2, 3)]
        return "#" + "".join(f"{c:02x}" for c in channels)
    return None


def is_neutral_colour(value: str, *, background: bool = False) -> bool:
    value = value.strip().lower()
    if value in NEUTRAL_VALUES:
        return True
    hex_value = colour_to_hex(value)
    if background:
        return hex_value == "#ffffff" or (value.startswith("rgba") and hex_value is None)
    return hex_value == "#000000"
