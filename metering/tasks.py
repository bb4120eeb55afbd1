"""Metering's Celery tasks: thin, each calls one service (schedule: petstore/settings.py; all of
them run on the `metering` queue, petstore/settings.py's CELERY_TASK_ROUTES)."""

from celery import shared_task

from metering import partitions, services, store


@shared_task(name="metering.tasks.flush_usage", ignore_result=True)
def flush_usage() -> dict:
    """Beat, every USAGE_FLUSH_SECONDS: apply the voids, then one task per dirty-set shard, so
    that every process of every metering worker takes a share (a shard being flushed already
    is skipped at once)."""
    voids = services.voids_apply()
    for shard in range(store.DIRTY_SHARDS):
        flush_usage_shard.delay(shard)
    return {"voids": voids, "shards": store.DIRTY_SHARDS}


@shared_task(name="metering.tasks.flush_usage_shard", ignore_result=True)
def flush_usage_shard(shard: int) -> dict:
    result = services.usage_flush(shards=[shard], voids=False)
    return {
        "flush_id": result.flush_id,
        "shard": shard,
        "busy": bool(result.shards_busy),
        "batches": result.batches_applied,
        "rows": result.rows_upserted,
    }


@shared_task(name="metering.tasks.prune_flushed_batches", ignore_result=True)
def prune_flushed_batches() -> int:
    return services.flushed_batches_prune()


@shared_task(name="metering.tasks.ledger_partitions_ensure", ignore_result=True)
def ledger_partitions_ensure() -> list[str]:
    return partitions.ledger_partitions_ensure()
