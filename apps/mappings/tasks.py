from celery import shared_task

from apps.mappings.services import mapping_set_draft_run


@shared_task(name="mappings.mapping_set_draft", soft_time_limit=240, time_limit=300)
def mapping_set_draft_task(mapping_set_id: int, use_llm: bool = False, **kwargs):
    mapping_set_draft_run(mapping_set_id=mapping_set_id, use_llm=use_llm)
