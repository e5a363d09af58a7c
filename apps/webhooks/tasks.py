from celery import shared_task

from apps.webhooks import services


@shared_task(name="webhooks.delivery_attempt", acks_late=True, ignore_result=True, soft_time_limit=60, time_limit=90)
def webhook_delivery_attempt(*, delivery_id: int, **kwargs):
    """One attempt at one delivery; schedules the next itself. Delivered twice, the second does nothing."""
    return services.webhook_delivery_attempt(delivery_id=delivery_id)
