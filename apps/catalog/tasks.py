"""Scans run as a chain of short steps: each step reads for a while, saves its checkpoint, and enqueues
the next. A worker that starts looks for scans whose worker died and enqueues them again."""

import logging

from celery import shared_task
from celery.signals import worker_ready

from apps.catalog import services

logger = logging.getLogger(__name__)


@shared_task(name="catalog.scan_step", soft_time_limit=240, time_limit=300, acks_late=True)
def scan_step_task(scan_id: int, **kwargs):
    after = services.scan_step(scan_id=scan_id)
    if after is not None:
        scan_step_task.apply_async(kwargs={"scan_id": scan_id}, countdown=after or None)


@shared_task(name="catalog.scans_recover", soft_time_limit=60, time_limit=90)
def scans_recover_task(**kwargs):
    count = services.scans_recover()
    if count:
        logger.info("re-enqueued %d stalled scan(s)", count)


@worker_ready.connect
def _recover_on_worker_start(sender=None, **kwargs):
    # Runs in the worker's main process: hand the work to the pool rather than touch the database here.
    scans_recover_task.delay()
