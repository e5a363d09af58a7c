"""The flow a customer follows, in order. A step whose pages are not built yet is shown, greyed, without
a link, so the navigation never promises a page that is not there."""

from django.urls import NoReverseMatch, reverse

FLOW = [
    ("connect", "Connect", "connections:list"),
    ("catalog", "Catalog", "catalog:list"),
    ("map", "Map", "mappings:list"),
    ("preview", "Preview", "runs:previews"),
    ("checkout", "Checkout", "billing:checkout"),
    ("run", "Run", "runs:list"),
    ("report", "Report", "runs:reports"),
]


def flow_steps(current_path: str = "") -> list[dict]:
    steps = []
    for key, label, url_name in FLOW:
        try:
            url = reverse(url_name)
        except NoReverseMatch:
            url = None
        steps.append(
            {"key": key, "label": label, "url": url, "active": bool(url and current_path.startswith(url))}
        )
    return steps
