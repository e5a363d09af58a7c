"""What the catalog page shows: the schema as rows, the volumes as bars (an SVG drawn on the server)."""

from dataclasses import dataclass

from apps.catalog.quote import KIND_LABELS, duration_words  # noqa: F401 - duration_words is used by apis
from apps.connections.connectors.base import Catalog

BAR_HEIGHT = 22
BAR_GAP = 6
LABEL_WIDTH = 190
CHART_WIDTH = 640


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    y: int
    width: int
    text_y: int


@dataclass(frozen=True)
class Chart:
    title: str
    bars: list
    height: int
    label_width: int = LABEL_WIDTH
    width: int = CHART_WIDTH

    @property
    def value_x(self) -> int:
        return self.label_width + 8


def bar_chart(title: str, counts: dict[str, int], *, limit: int = 15) -> Chart | None:
    rows = sorted(((str(k), int(v)) for k, v in (counts or {}).items() if v), key=lambda kv: (-kv[1], kv[0]))
    if not rows:
        return None
    if len(rows) > limit:
        rest = sum(v for _, v in rows[limit - 1:])
        rows = rows[:limit - 1] + [("(others)", rest)]
    top = max(v for _, v in rows)
    room = CHART_WIDTH - LABEL_WIDTH - 80
    bars = []
    for i, (label, value) in enumerate(rows):
        y = i * (BAR_HEIGHT + BAR_GAP)
        bars.append(Bar(label=label[:32], value=value, y=y, width=max(2, round(room * value / top)),
                        text_y=y + BAR_HEIGHT - 6))
    return Chart(title=title, bars=bars, height=len(rows) * (BAR_HEIGHT + BAR_GAP))


def volume_charts(volumes: dict, catalog: Catalog | None) -> list[Chart]:
    type_names = {t.source_id: t.name for t in catalog.work_item_types} if catalog else {}
    link_names = {lt.source_id: lt.name for lt in catalog.link_types} if catalog else {}
    items = {type_names.get(k, k): v for k, v in (volumes.get("items_by_type") or {}).items()}
    links = {link_names.get(k, k): v for k, v in (volumes.get("links_by_type") or {}).items()}
    states = {k.replace("_", " "): v for k, v in (volumes.get("items_by_state_category") or {}).items()}
    overview = {"Work items": volumes.get("items", 0), "Revisions": volumes.get("revisions", 0),
                "Comments": volumes.get("comments", 0), "Links": volumes.get("links", 0),
                "Attachments": volumes.get("attachments", 0), "Inline images": volumes.get("inline_images", 0)}
    charts = [bar_chart("Overview", overview), bar_chart("Work items by type", items),
              bar_chart("Work items by state", states), bar_chart("Links by type", links)]
    return [c for c in charts if c is not None]


def human_bytes(n: int) -> str:
    value = float(n or 0)
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} TB"


def schema_tables(catalog: Catalog, volumes: dict) -> dict:
    per_type = volumes.get("items_by_type") or {}
    types = [{
        "name": t.name, "id": t.source_id,
        "level": {2: "portfolio (top)", 1: "epic / portfolio", 0: "standard", -1: "task / sub-task"}.get(
            t.hierarchy_level, str(t.hierarchy_level)),
        "subtask": t.is_subtask,
        "states": [(s.name, s.category.value) for s in t.states],
        "required": len(t.required_field_ids), "fields": len(t.field_ids),
        "items": per_type.get(t.source_id, per_type.get(t.name, 0)),
    } for t in sorted(catalog.work_item_types, key=lambda t: (-t.hierarchy_level, t.name))]
    fields = [{
        "name": f.name, "id": f.source_id, "type": f.type.value, "vendor_type": f.vendor_type, "custom": f.is_custom,
        "read_only": f.read_only, "values": list(f.allowed_values[:12]), "more_values": max(0, len(f.allowed_values) - 12),
    } for f in sorted(catalog.fields, key=lambda f: (not f.is_custom, f.name.lower()))]
    links = volumes.get("links_by_type") or {}
    link_types = [{"name": lt.name, "id": lt.source_id, "inward": lt.inward, "hierarchy": lt.is_hierarchy,
                   "count": links.get(lt.source_id, 0)} for lt in catalog.link_types]
    return {
        "types": types, "fields": fields, "link_types": link_types,
        "iterations": catalog.iterations, "areas": catalog.areas,
        "people": sorted(catalog.people, key=lambda p: p.display_name.lower())[:200],
        "people_total": len(catalog.people),
        "people_inactive": sum(1 for p in catalog.people if not p.active or p.is_deleted),
    }


def kind_label(kind: str) -> str:
    return KIND_LABELS.get(kind, kind)
