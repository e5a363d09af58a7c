"""Billing's hooks into runs, without runs having to know billing:

- a NEW live run is refused (ApplicationError, HTTP 402) unless `billing_live_run_allowed` says yes; resuming,
  retrying or finishing a run is never stopped by billing;
- every checkpoint of a live run (the engine writes one RunSample per checkpoint, in the checkpoint's own
  transaction) records the usage it added, in a savepoint: if billing fails there, the checkpoint still
  commits and the next checkpoint (or the run's end) bills what was missed, from the id map;
- a finished live run billed below the pricing table's minimum charge gets the difference as an invoice item.
"""

import logging

from django.db import transaction
from django.db.models.signals import post_save, pre_save
from django.dispatch import receiver

from apps.billing import services
from apps.core.exceptions import ApplicationError

logger = logging.getLogger(__name__)


@receiver(pre_save, sender="runs.Run")
def live_run_needs_payment(sender, instance, raw=False, **kwargs):
    from apps.billing.selectors import billing_live_run_allowed

    if raw or instance.pk is not None or instance.kind != "live" or not services.billing_enabled():
        return
    allowed, message = billing_live_run_allowed(organisation=instance.organisation, run=instance)
    if not allowed:
        raise ApplicationError(message, extra={"billing": "checkout_required"}, status_code=402)


def _record(run, checkpoint: str) -> None:
    try:
        with transaction.atomic():
            services.billing_usage_record(run=run, checkpoint=checkpoint)
    except Exception:
        logger.exception("billing: usage of run %s at %s not recorded; the next checkpoint catches up", run.pk,
                         checkpoint)


@receiver(post_save, sender="runs.RunSample")
def usage_after_checkpoint(sender, instance, created, raw=False, **kwargs):
    from apps.runs.models import Run

    if raw or not created or not services.billing_enabled():
        return
    run = Run.unscoped.filter(pk=instance.run_id, kind="live").select_related("source_connection").first()
    if run is not None:
        _record(run, f"{instance.phase}:{instance.pk}")


@receiver(post_save, sender="runs.Run")
def usage_when_run_stops(sender, instance, created, raw=False, **kwargs):
    if raw or created or instance.kind != "live" or not services.billing_enabled():
        return
    if instance.state in ("finished", "failed", "paused", "cancelled"):
        _record(instance, f"run-{instance.state}")
    if instance.state == "finished":
        from apps.billing.tasks import billing_minimum_top_up

        billing_minimum_top_up.delay_on_commit(run_id=instance.pk)
