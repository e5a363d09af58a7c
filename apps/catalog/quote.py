"""The price of a migration from a scan's volumes, and how long it will take. Pure functions; the
assumptions are data here, shown to the customer next to the estimate.

Price: items x price per work item + attachment GB (10^9 bytes) x price per GB; when that is below the
minimum, a line brings it up to the minimum. Amounts are rounded half-up to cents at the end of each line.

Duration: the writes a migration needs at the destination (table WRITES, per destination kind), divided
by the rate that destination sustains (RATES), plus the source reads it needs (READS at READ_RATES);
reading and writing overlap, so the slower of the two sets the pace, and OVERHEAD covers retries, pacing
near the limits and the verification pass.
"""

import math
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

GB = Decimal(10**9)
CENT = Decimal("0.01")

# Requests the destination is sent, per thing migrated.
WRITES = {
    "azure_devops": {
        "per_item": 1,  # create with fields, by JSON Patch (bypassRules keeps dates and authors)
        "per_revision_after_first": 1,  # history replayed as updates, one per revision
        "per_comment": 1,
        "per_link": 1,  # each link added once (the service keeps both ends)
        "per_attachment": 2,  # upload, then attach to the item
        "per_inline_image": 1,  # upload; the rich text then points at it
    },
    "jira_cloud": {
        "per_item": 1.0 / 50 + 1,  # bulk create, 50 per request, then one transition to the right status
        "per_revision_after_first": 0,  # Jira's history cannot be written; a history comment per item instead
        "per_item_with_history": 1,
        "per_comment": 1,
        "per_link": 1,
        "per_attachment": 1,  # multipart upload straight onto the issue
        "per_inline_image": 1,
    },
    "jira_data_center": {
        "per_item": 1.0 / 50 + 1,
        "per_revision_after_first": 0,
        "per_item_with_history": 1,
        "per_comment": 1,
        "per_link": 1,
        "per_attachment": 1,
        "per_inline_image": 1,
    },
}
# Requests per second a destination sustains for writes, without being throttled.
RATES = {
    # Azure DevOps: 200 TSTUs per user in a sliding 5-minute window; light writes cost well under one TSTU,
    # so a single identity sustains about 5 writes a second before delays start.
    "azure_devops": 5.0,
    # Jira Cloud: a points-based budget per app and site; writes cost more than reads. About 5 a second
    # keeps clear of the 429s on an ordinary plan.
    "jira_cloud": 5.0,
    # Jira Data Center: no limit unless an admin sets one; 10 a second is the token bucket admins commonly
    # choose (and what keeps a shared server responsive).
    "jira_data_center": 10.0,
}
# Source reads per thing (what the engine reads beyond the scan: comments, history and files per item).
READS = {"per_item": 1.0 / 200 + 2, "per_attachment": 1}
READ_RATES = {"azure_devops": 10.0, "jira_cloud": 10.0, "jira_data_center": 15.0}
OVERHEAD = 1.2

KIND_LABELS = {"azure_devops": "Azure DevOps", "jira_cloud": "Jira Cloud", "jira_data_center": "Jira Data Center"}


@dataclass(frozen=True)
class Prices:
    currency: str
    per_work_item: Decimal
    per_gb_attachments: Decimal
    minimum: Decimal


def _money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def price_lines(volumes: dict, prices: Prices) -> tuple[list[dict], Decimal]:
    items = int(volumes.get("items") or 0)
    gigabytes = (Decimal(int(volumes.get("attachment_bytes") or 0)) / GB).quantize(Decimal("0.001"),
                                                                                  rounding=ROUND_HALF_UP)
    lines = [
        {"label": "Work items", "quantity": str(items), "unit": "item", "unit_price": str(prices.per_work_item),
         "amount": str(_money(items * prices.per_work_item))},
        {"label": "Attachments", "quantity": str(gigabytes), "unit": "GB", "unit_price": str(prices.per_gb_attachments),
         "amount": str(_money(gigabytes * prices.per_gb_attachments))},
    ]
    subtotal = sum(Decimal(line["amount"]) for line in lines)
    if subtotal < prices.minimum:
        lines.append({"label": "Minimum charge", "quantity": "1", "unit": "", "unit_price": str(prices.minimum),
                      "amount": str(_money(prices.minimum - subtotal))})
    total = _money(sum(Decimal(line["amount"]) for line in lines))
    return lines, total


def duration_estimate(volumes: dict, *, destination_kind: str, source_kind: str) -> dict:
    writes_per = WRITES[destination_kind]
    items = int(volumes.get("items") or 0)
    revisions = int(volumes.get("revisions") or 0)
    with_history = min(items, max(0, revisions - items))
    writes = {
        "items": items * writes_per["per_item"],
        "history": max(0, revisions - items) * writes_per["per_revision_after_first"]
        + with_history * writes_per.get("per_item_with_history", 0),
        "comments": int(volumes.get("comments") or 0) * writes_per["per_comment"],
        "links": int(volumes.get("links") or 0) * writes_per["per_link"],
        "attachments": int(volumes.get("attachments") or 0) * writes_per["per_attachment"],
        "inline_images": int(volumes.get("inline_images") or 0) * writes_per["per_inline_image"],
    }
    writes = {k: math.ceil(v) for k, v in writes.items()}
    reads = math.ceil(items * READS["per_item"] + int(volumes.get("attachments") or 0) * READS["per_attachment"])
    write_rate = RATES[destination_kind]
    read_rate = READ_RATES.get(source_kind, 10.0)
    write_seconds = sum(writes.values()) / write_rate
    read_seconds = reads / read_rate
    seconds = math.ceil(max(write_seconds, read_seconds) * OVERHEAD)
    return {
        "destination_kind": destination_kind,
        "source_kind": source_kind,
        "writes": writes,
        "write_requests": sum(writes.values()),
        "write_rate_per_second": write_rate,
        "read_requests": reads,
        "read_rate_per_second": read_rate,
        "seconds": seconds,
        "assumptions": assumptions(destination_kind, source_kind),
    }


def assumptions(destination_kind: str, source_kind: str) -> list[str]:
    w = WRITES[destination_kind]
    label = KIND_LABELS[destination_kind]
    out = [
        f"{label} accepts about {RATES[destination_kind]:g} write requests a second without throttling.",
        f"{KIND_LABELS.get(source_kind, source_kind)} answers about {READ_RATES.get(source_kind, 10.0):g} read "
        "requests a second; reading and writing overlap, the slower sets the pace.",
    ]
    if destination_kind == "azure_devops":
        out.append("Each item is created once and each later revision replayed as one update, keeping history.")
    else:
        out.append("Items are created 50 to a request, then moved to their status by one transition; Jira "
                   "cannot take history, so each item with history gets one history comment.")
    out += [
        f"Each comment and each link is one request; each attachment {w['per_attachment']}, each inline image 1.",
        f"{int((OVERHEAD - 1) * 100)} % is added for retries, pacing near the limits and the verification pass.",
    ]
    return out


def default_destination_kind(source_kind: str) -> str:
    return "jira_cloud" if source_kind == "azure_devops" else "azure_devops"


def duration_words(seconds: int) -> str:
    if seconds < 90:
        return f"about {max(1, seconds)} seconds"
    minutes = seconds / 60
    if minutes < 90:
        return f"about {math.ceil(minutes)} minutes"
    hours = minutes / 60
    if hours < 36:
        return f"about {hours:.1f} hours"
    return f"about {hours / 24:.1f} days"
