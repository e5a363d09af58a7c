from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from apps.core.selectors import audit_events_for_organisation, health_check

# What each step of the flow does, in a sentence, for the home page.
STEP_SUMMARIES = {
    "connect": "Add the source and destination: Azure DevOps or Jira, with credentials kept encrypted.",
    "catalog": "Scan a project's schema and volumes, and get a price from its real size.",
    "map": "Match types, fields, states, people and sprints; a person approves the mapping.",
    "preview": "A dry run that shows exactly what will be written, with every warning.",
    "checkout": "Pay for the usage the catalog measured.",
    "run": "The migration itself: checkpointed, resumable, never duplicating.",
    "report": "Verify what arrived, and keep the audit trail.",
}


@login_required
def home(request):
    events = audit_events_for_organisation(organisation=request.organisation, limit=10) if request.organisation else []
    return render(request, "core/home.html", {"recent_events": events, "step_summaries": STEP_SUMMARIES})


@never_cache
@require_GET
def healthz(request):
    report = health_check()
    return JsonResponse(report.as_dict(), status=200 if report.ok else 503)


def _wants_json(request) -> bool:
    return request.path.startswith("/api/") or "application/json" in request.headers.get("Accept", "")


def page_not_found(request, exception=None):
    if _wants_json(request):
        return JsonResponse({"message": "Not found.", "extra": {}}, status=404)
    return render(request, "404.html", status=404)


def server_error(request):
    if _wants_json(request):
        return JsonResponse(
            {"message": "Something went wrong on our side. It has been logged.", "extra": {}}, status=500
        )
    return render(request, "500.html", status=500)
