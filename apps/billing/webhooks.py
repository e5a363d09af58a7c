"""Stripe webhooks: dj-stripe verifies the signature (Stripe-Signature, the endpoint's secret) and stores
the delivery, and a Celery task (after commit) lets dj-stripe store the event and fire the receivers below. dj-stripe keeps one Event per Stripe event id, so a delivery seen
before fires nothing; the services are idempotent on top of that."""

import logging

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db import transaction
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt
from djstripe.event_handlers import djstripe_receiver
from djstripe.models import WebhookEndpoint
from djstripe.models.webhooks import get_remote_ip

from apps.billing import services

logger = logging.getLogger(__name__)
# Never stored with a delivery: dj-stripe's debug secret override, and credentials a caller may have sent.
DROPPED_HEADERS = {"x-djstripe-webhook-secret", "authorization", "cookie", "proxy-authorization"}


class StripeWebhookView(View):
    """dj-stripe's webhook address, verified the dj-stripe way (its WebhookEventTrigger, Stripe-Signature
    against the endpoint's secret, with the endpoint's tolerance), with three differences: the secret comes
    from STRIPE_WEBHOOK_SECRET (the environment, never the database); the debug-only
    `X-Djstripe-Webhook-Secret` header, which would let a caller choose the secret, is ignored; and the event
    is processed by a Celery task after commit, so Stripe gets its answer at once."""

    @method_decorator(csrf_exempt)
    @method_decorator(login_not_required)
    @method_decorator(transaction.non_atomic_requests)
    def dispatch(self, request, *args, **kwargs):
        return super().dispatch(request, *args, **kwargs)

    def post(self, request, uuid):
        if "stripe-signature" not in request.headers:
            return HttpResponseBadRequest("Missing Stripe-Signature header.")
        endpoint = get_object_or_404(WebhookEndpoint, djstripe_uuid=uuid)
        if not settings.STRIPE_WEBHOOK_SECRET or not settings.STRIPE_SECRET_KEY:
            logger.error("stripe webhook refused: billing is off or STRIPE_WEBHOOK_SECRET is not set")
            return HttpResponseBadRequest("Billing is not configured on this server.")
        trigger = services.billing_webhook_accept(
            endpoint=endpoint, body=request.body.decode("utf-8", errors="replace"), remote_ip=get_remote_ip(request),
            headers={k: v for k, v in request.headers.items() if k.lower() not in DROPPED_HEADERS})
        if not trigger.valid:
            return HttpResponseBadRequest("The signature does not match this endpoint's secret.")
        return HttpResponse(str(trigger.pk))


def _object(event) -> dict:
    return dict((event.data or {}).get("object") or {})


@djstripe_receiver(["checkout.session.completed", "checkout.session.async_payment_succeeded"])
def on_checkout_completed(sender, event, **kwargs):
    services.billing_checkout_confirm(session=_object(event), event_id=event.id)


@djstripe_receiver(["checkout.session.expired", "checkout.session.async_payment_failed"])
def on_checkout_closed(sender, event, **kwargs):
    services.billing_checkout_close(session=_object(event), event_id=event.id,
                                    failed=event.type.endswith("async_payment_failed"))


@djstripe_receiver(["invoice.payment_failed", "invoice.marked_uncollectible"])
def on_invoice_unpaid(sender, event, **kwargs):
    services.billing_invoice_unpaid(invoice=_object(event), event_id=event.id)


@djstripe_receiver(["invoice.paid", "invoice.voided"])
def on_invoice_settled(sender, event, **kwargs):
    services.billing_invoice_settled(invoice=_object(event), event_id=event.id)


@djstripe_receiver(["customer.subscription.created", "customer.subscription.updated", "customer.subscription.deleted",
                    "customer.subscription.paused", "customer.subscription.resumed"])
def on_subscription_changed(sender, event, **kwargs):
    created = int(event.created.timestamp()) if event.created else 0
    services.billing_subscription_changed(subscription=_object(event), event_id=event.id, event_created=created)
