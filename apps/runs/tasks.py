from celery import shared_task
from celery.signals import worker_ready

from apps.runs import services


@shared_task(name="runs.run_step", acks_late=True, ignore_result=True)
def run_step(*, run_id: int, step: int, **kwargs):
    """One slice of a run; enqueues the next itself. Safe to deliver twice: the step number and the lease
    let only one delivery work."""
    return services.run_step_execute(run_id=run_id, step=step)


@shared_task(name="runs.kick_stalled", acks_late=True, ignore_result=True)
def runs_kick_stalled(**kwargs):
    return services.runs_kick_stalled()


@worker_ready.connect
def _kick_on_worker_start(sender=None, **kwargs):
    # A worker that starts (after a crash, a deploy) picks up the runs nobody is working on.
    runs_kick_stalled.apply_async(countdown=1)


@shared_task(name="runs.purge_expired_previews", acks_late=True, ignore_result=True)
def runs_purge_expired_previews(**kwargs):
    return services.runs_purge_expired_previews()
