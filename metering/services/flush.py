"""Flushing Redis counters into the ledger: idempotent and crash-safe (docs/operations.md)."""

from __future__ import annotations

import logging
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import connection, transaction
from django.db.models import Q

from accounts.models import ApiKey
from metering import store
from metering.models import REFUSAL_REASONS, FlushedBatch, RequestVoid, UsageRecord

logger = logging.getLogger(__name__)

# A registered batch name with no data is forgotten once it is this old (its flush died before
# moving anything, or another flush applied it).
ORPHAN_BATCH_AGE_SECONDS = 300


# Voids applied per flush at most (each is one script call, pipelined).
VOIDS_PER_FLUSH = 5000


@dataclass
class FlushResult:
    flush_id: str
    batches_taken: int
    batches_applied: int
    rows_upserted: int
    voids_applied: int = 0


def voids_apply(*, limit: int = VOIDS_PER_FLUSH) -> int:
    """Apply the recorded voids in Redis (metering.models.RequestVoid): each gives back a request
    that was admitted, or leaves a tombstone for an admission still to come. The script is
    idempotent per request, so a crash between it and the delete only repeats a no-op."""
    voids = list(RequestVoid.objects.order_by("id")[:limit])
    if not voids:
        return 0
    uncount = store.uncount_script()
    pipe = store.client().pipeline(transaction=False)
    for void in voids:
        uncount(
            keys=[
                store.period_key(void.customer_id, void.period_id),
                store.pending_key(void.customer_id),
                store.request_key(void.customer_id, void.bucket),
            ],
            args=[
                void.weight,
                void.endpoint,
                void.request_id,
                store.REQUEST_RECORD_TTL_SECONDS,
                "v",
            ],
            client=pipe,
        )
    outcomes = pipe.execute()
    # Whoever was voided may hold counters whose dirty mark was lost with an answer.
    store.client().sadd(store.DIRTY_SET, *{void.customer_id for void in voids})
    now = time.time()
    for void, (outcome, _) in zip(voids, outcomes, strict=True):
        age = now - void.created_at.timestamp()
        if outcome == 0 and age > store.REQUEST_RECORD_TTL_SECONDS:
            # Redis was out of reach longer than it keeps request records: if the admission
            # had run before the outage, its units stay counted.
            logger.warning(
                "metering: void of request %s (customer %s) applied %.0f s late; whether it "
                "had been counted is no longer known",
                void.request_id,
                void.customer_id,
                age,
            )
    RequestVoid.objects.filter(pk__in=[void.pk for void in voids]).delete()
    return len(voids)


def _take_pending(flush_id: str, customer_ids: list[int]) -> list[str]:
    """Move each customer's pending hash into a named batch; returns the batches created."""
    r = store.client()
    names = [store.batch_key(c, flush_id) for c in customer_ids]
    # Register the names before the moves, so a crash right after a move leaves it findable.
    r.sadd(store.BATCH_REGISTRY, *names)
    take = store.take_pending_script()
    pipe = r.pipeline(transaction=False)
    for customer_id, name in zip(customer_ids, names, strict=True):
        take(
            keys=[store.pending_key(customer_id), name, store.batches_key(customer_id)], client=pipe
        )
    moved = pipe.execute()
    # Clear the dirty marks only after the moves, then re-mark anyone whose pending hash was
    # re-created in between (their `fresh` SADD may have landed before our SREM).
    pipe = r.pipeline(transaction=False)
    pipe.srem(store.DIRTY_SET, *customer_ids)
    for customer_id in customer_ids:
        pipe.exists(store.pending_key(customer_id))
    exists = pipe.execute()[1:]
    pipe = r.pipeline(transaction=False)
    for customer_id, present in zip(customer_ids, exists, strict=True):
        if present:
            pipe.sadd(store.DIRTY_SET, customer_id)
    empty = [name for name, ok in zip(names, moved, strict=True) if not ok]
    if empty:
        pipe.srem(store.BATCH_REGISTRY, *empty)
    pipe.execute()
    return [name for name, ok in zip(names, moved, strict=True) if ok]


def _batch_age_seconds(name: str) -> float:
    flush_id = name.rsplit(":", 1)[1]
    try:
        return time.time() - int(flush_id.split("-", 1)[0])
    except ValueError:
        return float("inf")


def _claim_batches(names: list[str]) -> set[str]:
    """Insert applied-markers; returns the names this transaction claimed (not applied before).
    A concurrent claimer of the same name waits on the unique index, then skips it."""
    qn = connection.ops.quote_name
    table = qn(FlushedBatch._meta.db_table)
    claimed: set[str] = set()
    now = connection.ops.adapt_datetimefield_value(datetime.now(UTC))
    with connection.cursor() as cursor:
        for i in range(0, len(names), 500):
            chunk = names[i : i + 500]
            values = ", ".join(["(%s, %s)"] * len(chunk))
            params: list = []
            for name in chunk:
                params += [name, now]
            cursor.execute(
                f"INSERT INTO {table} ({qn('key')}, applied_at) VALUES {values} "  # noqa: S608
                f"ON CONFLICT ({qn('key')}) DO NOTHING RETURNING {qn('key')}",
                params,
            )
            claimed.update(row[0] for row in cursor.fetchall())
    return claimed


LEDGER_COUNTERS = ("calls", "units", "errors", "refused", *REFUSAL_REASONS)


def _upsert_usage(rows: dict[tuple[int, str, int], dict[str, int]]) -> None:
    """Add the counters to the ledger rows (INSERT … ON CONFLICT DO UPDATE SET c = c + new)."""
    qn = connection.ops.quote_name
    table = qn(UsageRecord._meta.db_table)
    columns = ", ".join(qn(c) for c in LEDGER_COUNTERS)
    additions = ", ".join(f"{qn(c)} = {table}.{qn(c)} + excluded.{qn(c)}" for c in LEDGER_COUNTERS)
    placeholders = "(" + ", ".join(["%s"] * (3 + len(LEDGER_COUNTERS))) + ")"
    items = list(rows.items())
    with connection.cursor() as cursor:
        for i in range(0, len(items), 500):
            chunk = items[i : i + 500]
            params: list = []
            for (customer_id, endpoint, hour), counters in chunk:
                moment = connection.ops.adapt_datetimefield_value(datetime.fromtimestamp(hour, UTC))
                params += [
                    customer_id,
                    endpoint,
                    moment,
                    *(counters.get(c, 0) for c in LEDGER_COUNTERS),
                ]
            cursor.execute(
                f"INSERT INTO {table} (customer_id, endpoint, hour, {columns}) "  # noqa: S608
                f"VALUES {', '.join([placeholders] * len(chunk))} "
                f"ON CONFLICT (customer_id, endpoint, hour) DO UPDATE SET {additions}",
                params,
            )


def _apply_last_used(last_used: dict[int, int]) -> None:
    # At most one write per key per minute, whatever the request rate.
    for key_id, epoch in last_used.items():
        moment = datetime.fromtimestamp(epoch, UTC)
        stale = Q(last_used_at__isnull=True) | Q(last_used_at__lt=moment - timedelta(seconds=60))
        ApiKey.objects.filter(stale, pk=key_id).update(last_used_at=moment)


def _take_dirty(flush_id: str, chunk_size: int) -> list[str]:
    r = store.client()
    taken: list[str] = []
    cursor = 0
    while True:
        cursor, members = r.sscan(store.DIRTY_SET, cursor=cursor, count=chunk_size)
        if members:
            taken += _take_pending(flush_id, sorted({int(m) for m in members}))
        if cursor == 0:
            return taken


def _collect_batches(taken: list[str]) -> tuple[dict[str, dict[str, str]], list[str]]:
    """Every registered batch with its counters: ours plus anything a crashed or concurrent
    flush left behind (markers make overlap harmless). Also names safe to forget."""
    r = store.client()
    registered = sorted(r.smembers(store.BATCH_REGISTRY))
    pipe = r.pipeline(transaction=False)
    for name in registered:
        pipe.hgetall(name)
    contents = dict(zip(registered, pipe.execute(), strict=True))
    gone = [
        n
        for n, c in contents.items()
        if not c and n not in taken and _batch_age_seconds(n) > ORPHAN_BATCH_AGE_SECONDS
    ]
    return {n: c for n, c in contents.items() if c}, gone


def _apply_batches(batches: dict[str, dict[str, str]]) -> tuple[set[str], int]:
    """Apply the batches not applied before, in one transaction with their markers."""
    if not batches:
        return set(), 0
    rows: dict[tuple[int, str, int], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    last_used: dict[int, int] = {}
    with transaction.atomic():
        applied = _claim_batches(sorted(batches))
        for name in applied:
            customer_id = store.customer_of_batch(name)
            for field, value in batches[name].items():
                if field.startswith("lastused|"):
                    key_id = int(field.split("|", 1)[1])
                    last_used[key_id] = max(last_used.get(key_id, 0), int(value))
                    continue
                endpoint, hour, counter = field.rsplit("|", 2)
                counters = rows[(customer_id, endpoint, int(hour))]
                counters[counter] += int(value)
                if counter in REFUSAL_REASONS:
                    counters["refused"] += int(value)
        _upsert_usage(rows)
        _apply_last_used(last_used)
    return applied, len(rows)


def _forget_batches(batches: dict[str, dict[str, str]], gone: list[str]) -> None:
    """Only after the commit may Redis forget the batches (applied now or, as the markers
    say, before)."""
    done = [*batches, *gone]
    if not done:
        return
    pipe = store.client().pipeline(transaction=False)
    for name in batches:
        pipe.delete(name)
        pipe.srem(store.batches_key(store.customer_of_batch(name)), name)
    pipe.srem(store.BATCH_REGISTRY, *done)
    pipe.execute()


def usage_flush(*, chunk_size: int = 500) -> FlushResult:
    """Apply pending voids, then move Redis counters into the ledger. Idempotent and crash-safe:
    every batch is applied in a transaction that also inserts its applied-marker, and is deleted
    from Redis only after; any batch left behind by a crashed flush is picked up by the next
    one."""
    flush_id = f"{int(time.time())}-{uuid.uuid4().hex[:12]}"
    # Voids first: what they give back lands in the pending counters this flush takes.
    voids = voids_apply()
    taken = _take_dirty(flush_id, chunk_size)
    batches, gone = _collect_batches(taken)
    applied, rows = _apply_batches(batches)
    _forget_batches(batches, gone)
    return FlushResult(flush_id, len(taken), len(applied), rows, voids)


def flushed_batches_prune(*, older_than: timedelta = timedelta(days=7)) -> int:
    """Markers only need to outlive any batch that could still be retried."""
    cutoff = datetime.now(UTC) - older_than
    deleted, _ = FlushedBatch.objects.filter(applied_at__lt=cutoff).delete()
    return deleted
