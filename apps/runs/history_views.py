from django.contrib import messages
from django.shortcuts import redirect

from apps.accounts.decorators import organisation_required
from apps.core.exceptions import ApplicationError
from apps.runs import history
from apps.runs.views import _run_or_404


@organisation_required
def run_history_csv(request, run_id: int):
    """The items' change history as CSV, read from the source when asked for (nothing of it is stored)."""
    run = _run_or_404(request, run_id)
    try:
        return history.run_history_csv_response(run=run, items=request.GET.get("items", ""))
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("runs:detail", run_id=run.pk)
