from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from apps.accounts.decorators import organisation_admin_required
from apps.core.exceptions import ApplicationError
from apps.webhooks import services
from apps.webhooks.forms import WebhookEndpointForm
from apps.webhooks.models import WebhookEndpoint


def _endpoint_or_404(request, endpoint_id: int) -> WebhookEndpoint:
    endpoint = WebhookEndpoint.objects.for_organisation(request.organisation).filter(pk=endpoint_id).first()
    if endpoint is None:
        raise Http404("No such webhook endpoint.")
    return endpoint


@organisation_admin_required
def webhook_list(request):
    form = WebhookEndpointForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            endpoint, secret = services.webhook_endpoint_create(organisation=request.organisation, actor=request.user,
                                                                **form.cleaned_data)
        except ApplicationError as exc:
            field = exc.extra.get("field")
            form.add_error(field if field in form.fields else None, exc.message)
        else:
            # Shown on the next page only, once; never stored in clear.
            return render(request, "webhooks/secret.html", {"endpoint": endpoint, "secret": secret})
    endpoints = WebhookEndpoint.objects.for_organisation(request.organisation)
    return render(request, "webhooks/list.html", {"form": form, "endpoints": endpoints})


@organisation_admin_required
def webhook_detail(request, endpoint_id: int):
    endpoint = _endpoint_or_404(request, endpoint_id)
    return render(request, "webhooks/detail.html", {"endpoint": endpoint, "deliveries": endpoint.deliveries.all()[:100]})


@organisation_admin_required
@require_POST
def webhook_rotate(request, endpoint_id: int):
    endpoint = _endpoint_or_404(request, endpoint_id)
    secret = services.webhook_secret_rotate(endpoint=endpoint, actor=request.user)
    return render(request, "webhooks/secret.html", {"endpoint": endpoint, "secret": secret})


@organisation_admin_required
@require_POST
def webhook_delete(request, endpoint_id: int):
    services.webhook_endpoint_delete(endpoint=_endpoint_or_404(request, endpoint_id), actor=request.user)
    messages.success(request, "Webhook endpoint deleted.")
    return redirect("webhooks:list")


@organisation_admin_required
@require_POST
def webhook_redeliver(request, endpoint_id: int, delivery_id: int):
    delivery = _endpoint_or_404(request, endpoint_id).deliveries.filter(pk=delivery_id).first()
    if delivery is None:
        raise Http404("No such delivery.")
    services.webhook_redeliver(delivery=delivery, actor=request.user)
    messages.success(request, "Queued for delivery again.")
    return redirect("webhooks:detail", endpoint_id)
