from celery import shared_task

from metering import services


@shared_task(name="metering.tasks.flush_usage", ignore_result=True)
def flush_usage() -> dict:
    result = services.usage_flush()
    return {
        "flush_id": result.flush_id,
        "batches": result.batches_applied,
        "rows": result.rows_upserted,
        "voids": result.voids_applied,
    }


@shared_task(name="metering.tasks.prune_flushed_batches", ignore_result=True)
def prune_flushed_batches() -> int:
    return services.flushed_batches_prune()
