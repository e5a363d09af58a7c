from celery import shared_task

from apps.core.services import worker_probe_answer


@shared_task(name="core.worker_probe_answer", soft_time_limit=10, time_limit=20, bind=True)
def worker_probe_answer_task(self, probe_id: int, **kwargs):
    worker_probe_answer(probe_id=probe_id, hostname=self.request.hostname or "unknown")
