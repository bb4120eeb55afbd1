"""Metering's Celery tasks: thin, each calls one service (schedule: petstore/settings.py; all of
them run on the `metering` queue, petstore/settings.py's CELERY_TASK_ROUTES)."""

from celery import shared_task
from django.conf import settings

from metering import partitions, services, store


@shared_task(name="metering.tasks.flush_usage", ignore_result=True)
def flush_usage() -> dict:
    """Beat, every USAGE_FLUSH_SECONDS: apply the voids, then USAGE_FLUSH_TASKS flush tasks, each
    going round every dirty-set shard from its own starting shard and skipping those another is
    working: as many metering worker processes as there are tasks share the work."""
    voids = services.voids_apply()
    tasks = settings.USAGE_FLUSH_TASKS
    for n in range(tasks):
        flush_usage_shards.delay(n * store.DIRTY_SHARDS // tasks)
    return {"voids": voids, "tasks": tasks}


@shared_task(name="metering.tasks.flush_usage_shards", ignore_result=True)
def flush_usage_shards(first: int = 0) -> dict:
    shards = [(first + n) % store.DIRTY_SHARDS for n in range(store.DIRTY_SHARDS)]
    result = services.usage_flush(shards=shards, voids=False)
    return {
        "flush_id": result.flush_id,
        "shards": result.shards_flushed,
        "busy": result.shards_busy,
        "batches": result.batches_applied,
        "rows": result.rows_upserted,
    }


@shared_task(name="metering.tasks.prune_flushed_batches", ignore_result=True)
def prune_flushed_batches() -> int:
    return services.flushed_batches_prune()


@shared_task(name="metering.tasks.ledger_partitions_ensure", ignore_result=True)
def ledger_partitions_ensure() -> list[str]:
    return partitions.ledger_partitions_ensure()
