"""Metering writes: admitting and counting requests (Redis), and flushing counters into the
ledger (PostgreSQL). See metering/store.py for the Redis layout."""

from __future__ import annotations

import itertools
import logging
import math
import os
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import connection, transaction
from django.db.models import Q

from accounts.models import ApiKey
from metering import selectors, store
from metering.catalogue import UNLIMITED, EndpointRule, PlanRules, catalogue
from metering.errors import FeatureNotInPlan, InvalidApiKey, QuotaExceeded, RateLimited, upgrade_url
from metering.grants import Grant, grant_for_key, record_first_call
from metering.models import REFUSAL_REASONS, Endpoint, FlushedBatch, UsageRecord
from metering.periods import Period, current_period

logger = logging.getLogger(__name__)

WINDOW_MS = 60_000
PERIOD_KEY_GRACE = timedelta(days=40)  # period counters outlive their month for late refunds
ORPHAN_BATCH_AGE_SECONDS = 300


_process_token = uuid.uuid4().hex[:12]
_sequence = itertools.count()


def _new_process_token() -> None:
    global _process_token, _sequence
    _process_token, _sequence = uuid.uuid4().hex[:12], itertools.count()


os.register_at_fork(after_in_child=_new_process_token)  # forked workers must not share it


def _request_member() -> str:
    """A unique member for the rate-limit window: a per-process random token + a counter."""
    return f"{_process_token}:{next(_sequence)}"


@dataclass
class Admission:
    grant: Grant
    rule: EndpointRule
    plan: PlanRules
    period: Period
    hour: int
    remaining: int
    reset_ms: int
    period_units: int


def _mark_dirty(customer_id: int) -> None:
    store.client().sadd(store.DIRTY_SET, customer_id)


def _count_refusal(customer_id: int, label: str, reason: str) -> None:
    fresh = store.refuse_script()(keys=[store.pending_key(customer_id)], args=[label, reason])
    if fresh:
        _mark_dirty(customer_id)


def rate_headers(plan: PlanRules, remaining: int, reset_ms: int) -> dict[str, str]:
    return {
        "X-RateLimit-Limit": str(plan.rate_limit),
        "X-RateLimit-Remaining": str(max(remaining, 0)),
        "X-RateLimit-Reset": str(max(math.ceil(reset_ms / 1000), 0)),
    }


def quota_remaining(plan: PlanRules, period_units: int) -> str:
    return "unlimited" if plan.included == UNLIMITED else str(max(plan.included - period_units, 0))


def period_seed(*, customer_id: int, period: Period) -> None:
    """Create the period's quota counter from the exact usage so far (cold path: first call of
    a period, or after Redis lost its data)."""
    units = selectors.customer_period_units(customer_id=customer_id, period=period)
    key = store.period_key(customer_id, period.id)
    pipe = store.client().pipeline(transaction=False)
    pipe.hsetnx(key, "units", units)
    pipe.expireat(key, period.end + PERIOD_KEY_GRACE)
    pipe.execute()


def _token_is_current(grant: Grant) -> bool:
    return store.client().get(store.cfg_key(grant.customer_id)) == grant.token


def request_admit(*, raw_key: str | None, method: str, route: str) -> Admission:
    """Authenticate, gate, rate-limit, check the quota and count a request: one Redis round trip
    when caches are warm. Raises an ApplicationError refusal."""
    if not raw_key:
        raise InvalidApiKey(
            "Missing API key: send it in the X-API-Key header (or Authorization: Bearer)."
        )
    grant = grant_for_key(raw_key)
    rule = catalogue.endpoint(method, route)
    for _ in range(4):
        plan = catalogue.plan(grant.plan_id)
        if grant.revoked or not plan.allows(rule.feature):
            # Refusals are rare: confirm against the current token before refusing.
            if not _token_is_current(grant):
                grant = grant_for_key(raw_key, refresh=True)
                continue
            _count_refusal(
                grant.customer_id, rule.label, "refused_key" if grant.revoked else "refused_feature"
            )
            if grant.revoked:
                raise InvalidApiKey("This API key has been revoked.")
            raise FeatureNotInPlan(
                f"{rule.label} needs the '{rule.feature}' feature, which the {plan.name} plan "
                "does not include. Upgrade to use it.",
                extra={"feature": rule.feature, "plan": plan.slug, "upgrade_url": upgrade_url()},
            )
        period = current_period()
        result = store.meter(
            [
                store.cfg_key(grant.customer_id),
                store.rate_key(grant.customer_id),
                store.period_key(grant.customer_id, period.id),
                store.pending_key(grant.customer_id),
            ],
            [
                grant.token,
                plan.rate_limit,
                WINDOW_MS,
                rule.weight,
                plan.included,
                "1" if plan.block_over_quota else "0",
                rule.label,
                grant.key_id,
                _request_member(),
            ],
        )
        status = int(result[0])
        if status == -1:
            grant = grant_for_key(raw_key, refresh=True)
            continue
        if status == -2:
            period_seed(customer_id=grant.customer_id, period=period)
            continue
        _, remaining, wait_or_reset, period_units, hour, fresh = (int(v) for v in result)
        if fresh:
            _mark_dirty(grant.customer_id)
        if status == 1:
            retry_after = max(math.ceil(wait_or_reset / 1000), 1)
            raise RateLimited(
                f"Rate limit of {plan.rate_limit} requests per minute exceeded on the "
                f"{plan.name} plan. Retry in {retry_after} s, or upgrade for a higher limit.",
                extra={
                    "limit": plan.rate_limit,
                    "window": "60s",
                    "retry_after": retry_after,
                    "upgrade_url": upgrade_url(),
                },
                headers={"Retry-After": str(retry_after), **rate_headers(plan, 0, wait_or_reset)},
            )
        if status == 2:
            resets_in = int((period.end - datetime.now(UTC)).total_seconds()) + 1
            raise QuotaExceeded(
                f"The {plan.name} plan includes {plan.included} units a month and "
                f"{period_units} are used; this call costs {rule.weight}. The quota renews "
                f"on {period.end:%Y-%m-%d}; upgrade to keep going now.",
                extra={
                    "included": plan.included,
                    "used": period_units,
                    "cost": rule.weight,
                    "period_end": period.end.isoformat(),
                    "upgrade_url": upgrade_url(),
                },
                headers={
                    "Retry-After": str(resets_in),
                    "X-Quota-Remaining": "0",
                    **rate_headers(plan, remaining, 0),
                },
            )
        return Admission(grant, rule, plan, period, hour, remaining, wait_or_reset, period_units)
    raise InvalidApiKey("The API key could not be verified. Retry.")


def request_finish(admission: Admission, status_code: int) -> dict[str, str]:
    """Settle an admitted request: a 4xx/5xx answer gives back its units. Returns the headers
    every metered response carries."""
    billable = 200 <= status_code < 400
    grant, rule = admission.grant, admission.rule
    if billable:
        if not grant.first_call_recorded:
            record_first_call(grant)
    else:
        fresh = store.refund_script()(
            keys=[
                store.period_key(grant.customer_id, admission.period.id),
                store.pending_key(grant.customer_id),
            ],
            args=[rule.weight, f"{rule.label}|{admission.hour}|"],
        )
        if fresh:
            _mark_dirty(grant.customer_id)
        admission.period_units -= rule.weight
    return {
        **rate_headers(admission.plan, admission.remaining, admission.reset_ms),
        "X-Usage-Cost": str(rule.weight if billable else 0),
        "X-Quota-Remaining": quota_remaining(admission.plan, admission.period_units),
    }


# --- Flushing Redis counters into the ledger ---------------------------------------------------


@dataclass
class FlushResult:
    flush_id: str
    batches_taken: int
    batches_applied: int
    rows_upserted: int


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
    """Move Redis counters into the ledger. Idempotent and crash-safe: every batch is applied in
    a transaction that also inserts its applied-marker, and is deleted from Redis only after;
    any batch left behind by a crashed flush is picked up by the next one."""
    flush_id = f"{int(time.time())}-{uuid.uuid4().hex[:12]}"
    taken = _take_dirty(flush_id, chunk_size)
    batches, gone = _collect_batches(taken)
    applied, rows = _apply_batches(batches)
    _forget_batches(batches, gone)
    return FlushResult(flush_id, len(taken), len(applied), rows)


def flushed_batches_prune(*, older_than: timedelta = timedelta(days=7)) -> int:
    """Markers only need to outlive any batch that could still be retried."""
    cutoff = datetime.now(UTC) - older_than
    deleted, _ = FlushedBatch.objects.filter(applied_at__lt=cutoff).delete()
    return deleted


def endpoints_sync() -> list[Endpoint]:
    """Create a row (weight 1) for every metered route the table does not know yet."""
    existing = set(Endpoint.objects.values_list("method", "path"))
    created = []
    for method, path in selectors.api_routes():
        if (method, path) not in existing:
            created.append(
                Endpoint.objects.create(
                    method=method,
                    path=path,
                    weight=1,
                    billable_class="read" if method == "GET" else "write",
                    description="added by sync_endpoints",
                )
            )
    return created
