from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from apps.billing import selectors, services
from apps.billing.models import Checkout
from apps.core.exceptions import ApplicationError


def _organisation(request):
    if request.organisation is None:
        raise Http404("Choose or create an organisation first.")
    return request.organisation


def _preview_and_quote(organisation, preview_id):
    """The preview the customer came from (if any) and the quote of its source project: the latest quote of
    the mapping's source scan, else of the latest finished scan of the same project."""
    from apps.catalog.models import Quote, Scan
    from apps.runs.models import Run

    preview = None
    if preview_id and not str(preview_id).isdigit():
        raise Http404("No such preview in this organisation.")
    if preview_id:
        preview = Run.objects.for_organisation(organisation).filter(pk=preview_id, kind=Run.Kind.PREVIEW).first()
        if preview is None:
            raise Http404("No such preview in this organisation.")
    quotes = Quote.objects.for_organisation(organisation).select_related("scan").filter(
        scan__role=Scan.Role.SOURCE)
    if preview is not None:
        quotes = quotes.filter(scan__connection_id=preview.source_connection_id,
                               scan__project_key__iexact=preview.source_project)
        return preview, list(quotes.order_by("-created_at", "-id")[:1])
    latest = {}
    for quote in quotes.order_by("-created_at", "-id")[:200]:
        latest.setdefault((quote.scan.connection_id, quote.scan.project_key.lower()), quote)
    return None, list(latest.values())[:20]


@login_required
def checkout_page(request):
    organisation = _organisation(request)
    preview, quotes = _preview_and_quote(organisation, request.GET.get("preview"))
    from apps.catalog.quote import duration_words

    for quote in quotes:
        quote.duration_words = duration_words(quote.estimate_seconds)
    allowed, why = selectors.billing_live_run_allowed(organisation=organisation)
    return render(request, "billing/checkout.html", {
        "billing_enabled": services.billing_enabled(), "preview": preview, "quotes": quotes,
        "live_runs_allowed": allowed, "live_runs_message": why,
        "account": selectors.billing_account_get(organisation=organisation),
        "can_pay": bool(request.membership and request.membership.is_admin),
        "checkouts": selectors.checkout_list(organisation=organisation)[:5],
    })


@login_required
@require_POST
def checkout_start(request, quote_id: int):
    from apps.catalog.models import Quote

    organisation = _organisation(request)
    if not (request.membership and request.membership.is_admin):
        messages.error(request, "Only an owner or admin of this organisation can check out.")
        return redirect("billing:checkout")
    quote = Quote.objects.for_organisation(organisation).filter(pk=quote_id).first()
    if quote is None:
        raise Http404("No such quote in this organisation.")
    try:
        checkout = services.billing_checkout_create(organisation=organisation, actor=request.user, quote=quote)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("billing:checkout")
    # Stripe's hosted page; the run unlocks on Stripe's signed event, not on the way back.
    return redirect(checkout.stripe_url, permanent=False)


def _checkout_or_404(request, checkout_uid) -> Checkout:
    try:
        return selectors.checkout_get(organisation=_organisation(request), checkout_uid=checkout_uid)
    except Checkout.DoesNotExist:
        raise Http404("No such checkout.") from None


@login_required
def checkout_return(request, checkout_uid):
    checkout = _checkout_or_404(request, checkout_uid)
    cancelled = request.GET.get("cancelled") == "1" and checkout.status == Checkout.Status.OPEN
    return render(request, "billing/return.html", _status_context(request, checkout) | {"cancelled": cancelled})


@login_required
def checkout_status(request, checkout_uid):
    """The htmx fragment the return page polls until Stripe's event has arrived."""
    checkout = _checkout_or_404(request, checkout_uid)
    return render(request, "billing/_checkout_status.html", _status_context(request, checkout))


def _status_context(request, checkout: Checkout) -> dict:
    allowed, why = selectors.billing_live_run_allowed(organisation=checkout.organisation)
    return {"checkout": checkout, "live_runs_allowed": allowed, "live_runs_message": why,
            "waiting": checkout.status == Checkout.Status.OPEN}


@login_required
def usage_page(request):
    organisation = _organisation(request)
    return render(request, "billing/usage.html", {
        "billing_enabled": services.billing_enabled(),
        "usages": selectors.run_usage_list(organisation=organisation)[:100],
        "reports": selectors.usage_report_list(organisation=organisation).order_by("-created_at", "-id")[:200],
    })
