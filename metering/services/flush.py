"""Flushing Redis counters into the ledger: idempotent, crash-safe, chunked, and shared between
any number of flush workers (docs/operations.md, docs/scaling.md).

A flush works the dirty-set shards one by one (metering/store.py), each under its shard's lock
(flush_locks.py), so workers running at once work disjoint customers. In a shard it goes a chunk
of CHUNK_CUSTOMERS customers at a time, with memory bounded by the chunk:

1. claim: pop the chunk's customers from the dirty set and register their batch names (one
   script, atomic);
2. take: each customer's pending hash becomes the batch `{cus_N}:batch:<chunk id>` (one script
   per customer, pipelined, returning its counters);
3. apply: one transaction inserts the chunk's applied-marker (`FlushedBatch`, key = chunk id),
   upserts the ledger rows and writes `last_used_at` in one statement, after confirming the
   shard's lock;
4. forget: only after the commit, delete the batches and their registrations.

A crash anywhere leaves registered names behind. The next holder of the shard finds them first:
a chunk whose marker exists was applied (every batch of a chunk is taken before its commit), so
its names are only forgotten; a chunk without marker will never be committed by anyone (its
flush lost the lock, which the commit checks), so its batches are adopted into a chunk of the
recovering flush and applied once; a name with no batch means the take never ran, and the
customer is marked dirty again.
"""

from __future__ import annotations

import itertools
import logging
import time
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from django.db import connection, transaction

from accounts.models import ApiKey
from metering import store
from metering.models import REFUSAL_REASONS, FlushedBatch, KeyUsage, RequestVoid, UsageRecord
from metering.selectors import KEY_COUNTERS, key_counter
from metering.services.flush_locks import ShardLock, shard_locked

logger = logging.getLogger(__name__)

# Customers per chunk: one transaction, one pipeline of takes and the rows of their counters in
# memory (bench/flush.py: a chunk of 2,000 customers × 10 buckets holds about 10 MB).
CHUNK_CUSTOMERS = 2000

# A batch of an earlier release (no chunk in its name) is only adopted once it is this old: a
# flush of that release may still be applying it during a rolling deploy.
ORPHAN_BATCH_AGE_SECONDS = 300

# Voids applied per flush at most (each is one script call, pipelined).
VOIDS_PER_FLUSH = 5000


@dataclass
class FlushResult:
    flush_id: str
    batches_taken: int = 0
    batches_applied: int = 0
    rows_upserted: int = 0
    voids_applied: int = 0
    chunks_applied: int = 0
    shards_flushed: int = 0
    shards_busy: int = 0  # held by another flush at the time


def voids_apply(*, limit: int = VOIDS_PER_FLUSH) -> int:
    """Apply the recorded voids in Redis (metering.models.RequestVoid): each gives back a request
    that was admitted, or leaves a tombstone for an admission still to come. The script is
    idempotent per request, so a crash between it and the delete only repeats a no-op."""
    voids = list(RequestVoid.objects.order_by("id")[:limit])
    if not voids:
        return 0
    outcomes = store.run_scripts(
        store.uncount_script(),
        [
            (
                [
                    store.period_key(void.customer_id, void.period_id),
                    store.pending_key(void.customer_id),
                    store.request_key(void.customer_id, void.bucket),
                    store.grant_key(void.customer_id),
                ],
                [
                    void.weight,
                    void.endpoint,
                    void.request_id,
                    store.REQUEST_RECORD_TTL_SECONDS,
                    "v",
                    void.key_digest,
                ],
            )
            for void in voids
        ],
    )
    # Whoever was voided may hold counters whose dirty mark was lost with an answer.
    store.mark_dirty(*{void.customer_id for void in voids})
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


# --- the ledger's side: one transaction per chunk ------------------------------------------------

LEDGER_COUNTERS = ("calls", "units", "errors", "refused", *REFUSAL_REASONS)
Rows = dict[tuple[int, str, int], dict[str, int]]
KeyRows = dict[tuple[int, int, date], dict[str, int]]  # (customer, key, day) → counters


def _claim_marker(chunk_id: str) -> bool:
    """Insert the chunk's applied-marker; False when it exists (applied before). A concurrent
    insert of the same marker waits on the unique index, then finds it."""
    qn = connection.ops.quote_name
    table = qn(FlushedBatch._meta.db_table)
    now = connection.ops.adapt_datetimefield_value(datetime.now(UTC))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({qn('key')}, applied_at) VALUES (%s, %s) "  # noqa: S608
            f"ON CONFLICT ({qn('key')}) DO NOTHING RETURNING {qn('key')}",
            [chunk_id, now],
        )
        return cursor.fetchone() is not None


def _aggregate(batches: dict[str, dict[str, str]]) -> tuple[Rows, KeyRows, dict[int, int]]:
    rows: Rows = defaultdict(lambda: defaultdict(int))
    key_rows: KeyRows = defaultdict(lambda: defaultdict(int))
    last_used: dict[int, int] = {}
    for name, fields in batches.items():
        customer_id = store.customer_of_batch(name)
        for field, value in fields.items():
            if field.startswith("lastused|"):
                key_id = int(field[9:])
                last_used[key_id] = max(last_used.get(key_id, 0), int(value))
                continue
            endpoint, hour, counter = field.rsplit("|", 2)
            of_key = key_counter(counter)
            if of_key is not None:  # the key's own counters: the per-key ledger, by day
                day = datetime.fromtimestamp(int(hour), UTC).date()
                key_rows[(customer_id, of_key[0], day)][of_key[1]] += int(value)
                continue
            counters = rows[(customer_id, endpoint, int(hour))]
            counters[counter] += int(value)
            if counter in REFUSAL_REASONS:
                counters["refused"] += int(value)
    return rows, key_rows, last_used


def _upsert_usage(rows: Rows) -> None:
    """Add the counters to the ledger rows (INSERT … ON CONFLICT DO UPDATE SET c = c + new): on
    PostgreSQL one statement per chunk, elsewhere 500 rows a statement."""
    if not rows:
        return
    qn = connection.ops.quote_name
    table = qn(UsageRecord._meta.db_table)
    columns = ", ".join(qn(c) for c in LEDGER_COUNTERS)
    additions = ", ".join(f"{qn(c)} = {table}.{qn(c)} + excluded.{qn(c)}" for c in LEDGER_COUNTERS)
    conflict = f"ON CONFLICT (customer_id, endpoint, hour) DO UPDATE SET {additions}"
    items = list(rows.items())
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # COPY (binary) into a temporary table, then one upsert from it: the cheapest way
            # to hand PostgreSQL many rows (its rows go with the transaction's commit).
            counters_ddl = ", ".join(f"{qn(c)} bigint" for c in LEDGER_COUNTERS)
            cursor.execute(
                "CREATE TEMPORARY TABLE IF NOT EXISTS metering_flush_rows (customer_id bigint, "
                f"endpoint text, hour timestamptz, {counters_ddl}) ON COMMIT DELETE ROWS"
            )
            copy_columns = f"customer_id, endpoint, hour, {columns}"
            with cursor.cursor.copy(
                f"COPY metering_flush_rows ({copy_columns}) FROM STDIN (FORMAT BINARY)"
            ) as copy:
                copy.set_types(["int8", "text", "timestamptz", *["int8"] * len(LEDGER_COUNTERS)])
                for (customer_id, endpoint, hour), counters in items:
                    copy.write_row(
                        (
                            customer_id,
                            endpoint,
                            datetime.fromtimestamp(hour, UTC),
                            *[counters.get(c, 0) for c in LEDGER_COUNTERS],
                        )
                    )
            cursor.execute(
                f"INSERT INTO {table} ({copy_columns}) "  # noqa: S608
                f"SELECT {copy_columns} FROM metering_flush_rows {conflict}"
            )
            cursor.execute("TRUNCATE metering_flush_rows")
            return
        placeholders = "(" + ", ".join(["%s"] * (3 + len(LEDGER_COUNTERS))) + ")"
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
                f"VALUES {', '.join([placeholders] * len(chunk))} {conflict}",
                params,
            )


def _upsert_key_usage(key_rows: KeyRows) -> None:
    """Add the keys' counters to the per-key ledger (metering.models.KeyUsage), 500 rows a
    statement."""
    if not key_rows:
        return
    qn = connection.ops.quote_name
    table = qn(KeyUsage._meta.db_table)
    columns = ", ".join(qn(c) for c in KEY_COUNTERS)
    additions = ", ".join(f"{qn(c)} = {table}.{qn(c)} + excluded.{qn(c)}" for c in KEY_COUNTERS)
    placeholders = "(" + ", ".join(["%s"] * (3 + len(KEY_COUNTERS))) + ")"
    items = sorted(key_rows.items())
    with connection.cursor() as cursor:
        for i in range(0, len(items), 500):
            chunk = items[i : i + 500]
            params: list = []
            for (customer_id, key_id, day), counters in chunk:
                params += [
                    customer_id,
                    key_id,
                    connection.ops.adapt_datefield_value(day),
                    *(counters.get(c, 0) for c in KEY_COUNTERS),
                ]
            cursor.execute(
                f"INSERT INTO {table} (customer_id, key_id, day, {columns}) "  # noqa: S608
                f"VALUES {', '.join([placeholders] * len(chunk))} "
                f"ON CONFLICT (key_id, day) DO UPDATE SET {additions}",
                params,
            )


# At most one write per key per minute, whatever the request rate.
LAST_USED_RESOLUTION = timedelta(seconds=60)


def _apply_last_used(last_used: dict[int, int]) -> None:
    """Every key's `last_used_at` of the chunk in one UPDATE (on SQLite, 500 keys a statement),
    skipping keys written less than LAST_USED_RESOLUTION before."""
    if not last_used:
        return
    qn = connection.ops.quote_name
    table = qn(ApiKey._meta.db_table)
    items = sorted(last_used.items())
    stale = f"({table}.last_used_at IS NULL OR {table}.last_used_at < v.stale)"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            moments = [datetime.fromtimestamp(epoch, UTC) for _, epoch in items]
            cursor.execute(
                f"UPDATE {table} SET last_used_at = v.t FROM unnest(%s::bigint[], "  # noqa: S608
                f"%s::timestamptz[], %s::timestamptz[]) AS v(id, t, stale) "
                f"WHERE {table}.id = v.id AND {stale}",
                [
                    [key_id for key_id, _ in items],
                    moments,
                    [m - LAST_USED_RESOLUTION for m in moments],
                ],
            )
            return
        adapt = connection.ops.adapt_datetimefield_value
        for i in range(0, len(items), 500):
            chunk = items[i : i + 500]
            params: list = []
            for key_id, epoch in chunk:
                moment = datetime.fromtimestamp(epoch, UTC)
                params += [key_id, adapt(moment), adapt(moment - LAST_USED_RESOLUTION)]
            values = ", ".join(["(%s, %s, %s)"] * len(chunk))
            cursor.execute(
                f"WITH v(id, t, stale) AS (VALUES {values}) "  # noqa: S608
                f"UPDATE {table} SET last_used_at = v.t FROM v "
                f"WHERE {table}.id = v.id AND {stale}",
                params,
            )


def _apply_chunk(chunk_id: str, batches: dict[str, dict[str, str]], lock: ShardLock) -> int:
    """Apply a chunk's batches with its marker, in one transaction; returns the rows upserted
    (0 when the marker says it was applied before)."""
    with transaction.atomic():
        lock.confirm()
        if not _claim_marker(chunk_id):
            return 0
        rows, key_rows, last_used = _aggregate(batches)
        _upsert_usage(rows)
        _upsert_key_usage(key_rows)
        _apply_last_used(last_used)
    return len(rows)


# --- Redis's side -----------------------------------------------------------------------------


def _pairs(flat: list[str]) -> dict[str, str]:
    return dict(zip(flat[0::2], flat[1::2], strict=True))


def _forget(shard: int, names: list[str], with_data: Iterable[str]) -> None:
    """After the commit: delete the batches and drop their names from the registry."""
    store.run_scripts(
        store.forget_batch_script(),
        [([name, store.batches_key(store.customer_of_batch(name))], []) for name in with_data],
    )
    registry = store.batch_registry_key(shard)
    pipe = store.client().pipeline(transaction=False)
    for i in range(0, len(names), 1000):
        pipe.srem(registry, *names[i : i + 1000])
    pipe.execute()


def _flush_chunk(
    shard: int,
    chunk_id: str,
    names: list[str],
    batches: dict[str, dict[str, str]],
    lock: ShardLock,
    result: FlushResult,
) -> None:
    if batches:
        result.rows_upserted += _apply_chunk(chunk_id, batches, lock)
        result.batches_applied += len(batches)
        result.chunks_applied += 1
    _forget(shard, names, batches)


def _take_chunk(
    shard: int, chunk_id: str, chunk_size: int, lock: ShardLock, result: FlushResult
) -> int:
    """Claim, take, apply and forget one chunk of dirty customers; returns how many were
    claimed (0: the shard is clean)."""
    claimed = store.claim_dirty_script()(
        keys=[store.dirty_key(shard), store.batch_registry_key(shard)], args=[chunk_size, chunk_id]
    )
    if not claimed:
        return 0
    ids = [int(c) for c in claimed]
    names = [store.batch_key(c, chunk_id) for c in ids]
    taken = store.run_scripts(
        store.take_pending_script(),
        [
            ([store.pending_key(c), name, store.batches_key(c), store.adopted_key(name)], [])
            for c, name in zip(ids, names, strict=True)
        ],
    )
    batches = {name: _pairs(flat) for name, flat in zip(names, taken, strict=True) if flat}
    result.batches_taken += len(batches)
    _flush_chunk(shard, chunk_id, names, batches, lock, result)
    return len(ids)


def _batch_age_seconds(name: str) -> float:
    flush_id = name.rsplit(":", 1)[1]
    try:
        return time.time() - int(flush_id.split("-", 1)[0])
    except ValueError:
        return float("inf")


def _recover(shard: int, next_chunk, chunk_size: int, lock: ShardLock, result: FlushResult) -> None:
    """Finish what crashed flushes left registered in this shard (see the module docstring)."""
    r = store.client()
    registry = store.batch_registry_key(shard)
    names = sorted(r.smembers(registry))
    if not names:
        return
    by_chunk: dict[str, list[str]] = defaultdict(list)
    for name in names:
        chunk = store.chunk_of_batch(name)
        if chunk == name and _batch_age_seconds(name) < ORPHAN_BATCH_AGE_SECONDS:
            continue  # an earlier release's flush may be applying it right now
        by_chunk[chunk].append(name)
    applied = set(FlushedBatch.objects.filter(key__in=list(by_chunk)).values_list("key", flat=True))
    done = [name for chunk in applied for name in by_chunk[chunk]]
    if done:
        present = [n for n, e in zip(done, _exist(done), strict=True) if e]
        _forget(shard, done, present)
    orphans = [name for chunk, group in by_chunk.items() if chunk not in applied for name in group]
    for i in range(0, len(orphans), chunk_size):
        _adopt(shard, next_chunk(), orphans[i : i + chunk_size], lock, result)


def _exist(names: list[str]) -> list[int]:
    pipe = store.client().pipeline(transaction=False)
    for name in names:
        pipe.exists(name)
    return pipe.execute()


def _adopt(
    shard: int, chunk_id: str, orphans: list[str], lock: ShardLock, result: FlushResult
) -> None:
    """Fold orphan batches into this flush's chunk `chunk_id` and apply it."""
    r = store.client()
    registry = store.batch_registry_key(shard)
    customers = sorted({store.customer_of_batch(name) for name in orphans})
    names = [store.batch_key(c, chunk_id) for c in customers]
    r.sadd(registry, *names)  # registered before anything moves into them
    calls = []
    for name in orphans:
        customer_id = store.customer_of_batch(name)
        new = store.batch_key(customer_id, chunk_id)
        keys = [name, new, store.batches_key(customer_id)]
        calls.append(([*keys, store.adopted_key(name), store.adopted_key(new)], []))
    moved = store.run_scripts(store.adopt_batch_script(), calls)
    # A name without a batch: its take never ran, and the pending counters wait under a dirty
    # mark that the claim removed. Mark again (harmless when nothing is pending).
    untaken = {store.customer_of_batch(n) for n, m in zip(orphans, moved, strict=True) if m == 0}
    if untaken:
        store.mark_dirty(*untaken)
    # -1: this very flush was overtaken (its batch was adopted by another): leave those names.
    settled = [name for name, m in zip(orphans, moved, strict=True) if m != -1]
    pipe = r.pipeline(transaction=False)
    for i in range(0, len(settled), 1000):
        pipe.srem(registry, *settled[i : i + 1000])
    for name in names:
        pipe.hgetall(name)
    contents = pipe.execute()[-len(names) :]
    batches = {name: fields for name, fields in zip(names, contents, strict=True) if fields}
    if batches:
        logger.warning(
            "metering: flush %s adopted %d batches left by an interrupted flush",
            chunk_id,
            len(batches),
        )
    _flush_chunk(shard, chunk_id, names, batches, lock, result)


def _drain_legacy_keys() -> None:
    """Move the marks and names an earlier release left in the unsharded keys into the shards
    (added to a shard before removed from the old key: a crash in between repeats a no-op)."""
    r = store.client()
    for legacy, key_of in (
        (store.LEGACY_DIRTY_SET, lambda m: store.dirty_key(store.dirty_shard(int(m)))),
        (
            store.LEGACY_BATCH_REGISTRY,
            lambda m: store.batch_registry_key(store.dirty_shard(store.customer_of_batch(m))),
        ),
    ):
        members = r.srandmember(legacy, 10_000)
        while members:
            pipe = r.pipeline(transaction=False)
            for member in members:
                pipe.sadd(key_of(member), member)
            pipe.execute()
            r.srem(legacy, *members)
            members = r.srandmember(legacy, 10_000)


def _flush_shard(
    shard: int, flush_id: str, chunk_size: int, lock: ShardLock, result: FlushResult
) -> None:
    sequence = itertools.count()

    def next_chunk() -> str:
        return f"{flush_id}.{shard}-{next(sequence)}"

    _recover(shard, next_chunk, chunk_size, lock, result)
    # Bounded: what was dirty when the shard was reached (plus one chunk of newcomers); anything
    # marked later waits for the next flush.
    budget = store.client().scard(store.dirty_key(shard)) + chunk_size
    while budget > 0:
        claimed = _take_chunk(shard, next_chunk(), chunk_size, lock, result)
        if not claimed:
            break
        budget -= claimed


def usage_flush(
    *, shards: Iterable[int] | None = None, chunk_size: int = CHUNK_CUSTOMERS, voids: bool = True
) -> FlushResult:
    """Apply pending voids, then move Redis counters into the ledger, shard by shard (all of
    them unless `shards` says which), skipping a shard another flush is working. Idempotent and
    crash-safe: see the module's docstring."""
    flush_id = f"{int(time.time())}-{uuid.uuid4().hex[:12]}"
    result = FlushResult(flush_id)
    if voids:
        # Voids first: what they give back lands in the pending counters this flush takes.
        result.voids_applied = voids_apply()
    _drain_legacy_keys()
    for shard in range(store.DIRTY_SHARDS) if shards is None else shards:
        with shard_locked(shard) as lock:
            if lock is None:
                result.shards_busy += 1
                continue
            _flush_shard(shard, flush_id, chunk_size, lock, result)
            result.shards_flushed += 1
    return result


def flushed_batches_prune(*, older_than: timedelta = timedelta(days=7)) -> int:
    """Markers only need to outlive any batch that could still be retried."""
    cutoff = datetime.now(UTC) - older_than
    deleted, _ = FlushedBatch.objects.filter(applied_at__lt=cutoff).delete()
    return deleted
