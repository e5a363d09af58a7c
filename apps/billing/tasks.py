"""Thin, idempotent tasks: ids in, one service call."""

import stripe
from celery import shared_task
from celery.signals import worker_ready

from apps.billing import services

# Failures worth trying again later: Stripe unreachable, rate-limited or failing on its side.
TRANSIENT = (stripe.APIConnectionError, stripe.RateLimitError, stripe.APIError)


@shared_task(name="billing.webhook_process", bind=True, acks_late=True, soft_time_limit=60, time_limit=90,
             max_retries=8)
def billing_webhook_process(self, *, trigger_id: int, **kwargs):
    try:
        return services.billing_webhook_process(trigger_id=trigger_id)
    except TRANSIENT as exc:  # dj-stripe's re-fetch of the object failed: nothing was stored; try again later
        if self.request.is_eager:
            raise
        raise self.retry(exc=exc, countdown=min(600, 15 * 2 ** self.request.retries)) from exc


@shared_task(name="billing.meter_event_send", bind=True, acks_late=True, soft_time_limit=60, time_limit=90,
             max_retries=10)
def billing_meter_event_send(self, *, report_id: int, **kwargs):
    outcome = services.billing_meter_event_send(report_id=report_id)
    if outcome == "retry" and not self.request.is_eager:
        raise self.retry(countdown=min(900, 30 * 2 ** self.request.retries))
    return outcome


@shared_task(name="billing.minimum_top_up", bind=True, acks_late=True, soft_time_limit=60, time_limit=90,
             max_retries=8)
def billing_minimum_top_up(self, *, run_id: int, **kwargs):
    try:
        return services.billing_minimum_top_up(run_id=run_id)
    except services.ApplicationError as exc:
        if self.request.is_eager or exc.status_code != 503:
            raise
        raise self.retry(exc=exc, countdown=min(900, 30 * 2 ** self.request.retries)) from exc


@shared_task(name="billing.usage_send_pending", acks_late=True, soft_time_limit=60, time_limit=90)
def billing_usage_send_pending(**kwargs):
    return services.billing_usage_send_pending()


@worker_ready.connect
def _send_pending_on_worker_start(sender=None, **kwargs):
    # A worker killed after a checkpoint committed but before its meter event was enqueued left it pending.
    billing_usage_send_pending.apply_async(countdown=2)
