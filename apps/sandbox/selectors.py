"""Reads on the shared sandbox state."""

from django.db.models import Count, Max, Sum

from apps.sandbox.models import SandboxRequest, SandboxSite


def site_list():
    return SandboxSite.objects.all()


def site_get(*, slug: str) -> SandboxSite | None:
    return SandboxSite.objects.filter(slug=slug).first()


def site_controls(*, site: SandboxSite) -> dict:
    from apps.sandbox.services import CONTROL_FIELDS

    return {name: getattr(site, name) for name in CONTROL_FIELDS}


def request_log_summary(*, site: SandboxSite, since_id: int = 0) -> dict:
    """Requests, bytes and time per endpoint and status, and totals, for tests and benchmarks. `since_id`
    (a log row id, e.g. `last_id` of an earlier summary) limits it to later requests."""
    rows = (
        SandboxRequest.objects.filter(site=site, id__gt=since_id)
        .values("endpoint", "status")
        .annotate(
            requests=Count("id"),
            request_bytes=Sum("request_bytes"),
            response_bytes=Sum("response_bytes"),
            max_duration_ms=Max("duration_ms"),
        )
        .order_by("endpoint", "status")
    )
    by_endpoint: dict[str, dict] = {}
    by_status: dict[str, int] = {}
    totals = {"requests": 0, "request_bytes": 0, "response_bytes": 0}
    for row in rows:
        entry = by_endpoint.setdefault(row["endpoint"], {"requests": 0, "request_bytes": 0, "response_bytes": 0, "statuses": {}})
        for key in ("requests", "request_bytes", "response_bytes"):
            entry[key] += row[key] or 0
            totals[key] += row[key] or 0
        entry["statuses"][str(row["status"])] = row["requests"]
        by_status[str(row["status"])] = by_status.get(str(row["status"]), 0) + row["requests"]
    faults = dict(
        SandboxRequest.objects.filter(site=site, id__gt=since_id).exclude(fault="")
        .values_list("fault").annotate(n=Count("id")).values_list("fault", "n")
    )
    last_id = SandboxRequest.objects.filter(site=site).order_by("-id").values_list("id", flat=True).first() or 0
    return {"site": site.slug, "last_id": last_id, "totals": totals, "by_status": by_status, "by_endpoint": by_endpoint, "faults": faults}


def request_log_recent(*, site: SandboxSite, limit: int = 50):
    return SandboxRequest.objects.filter(site=site).order_by("-id")[:limit]
