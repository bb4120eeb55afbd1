"""Metering reads. Usage is exact to the last request: the ledger plus what Redis holds and
the ledger does not yet (pending counters and batches taken by a flush but not yet applied)."""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from django.conf import settings
from django.db.models import Sum
from django.db.models.functions import TruncDate
from django.urls import URLPattern, URLResolver, get_resolver
from redis.exceptions import RedisError

from core.periods import Period, current_period
from metering import store
from metering.models import REFUSAL_REASONS, FlushedBatch, KeyUsage, UsageRecord
from metering.rules import route_template

logger = logging.getLogger(__name__)

COUNTERS = ("calls", "units", "errors", "refused", *REFUSAL_REASONS)


@dataclass
class Counts:
    calls: int = 0
    units: int = 0
    errors: int = 0
    refused: int = 0
    refused_rate_limit: int = 0
    refused_quota: int = 0
    refused_feature: int = 0
    refused_key: int = 0
    refused_key_cap: int = 0

    def add(self, counter: str, value: int) -> None:
        setattr(self, counter, getattr(self, counter) + value)

    def as_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in COUNTERS}


@dataclass
class KeyCounts:
    calls: int = 0
    units: int = 0
    refused_key_cap: int = 0

    def add(self, counter: str, value: int) -> None:
        if counter in KEY_COUNTERS:
            setattr(self, counter, getattr(self, counter) + value)


KEY_COUNTERS = ("calls", "units", "refused_key_cap")
KEY_COUNTER_PREFIX = "key:"


def key_counter(counter: str) -> tuple[int, str] | None:
    """(key id, counter) of a key's pending counter (`key:<id>:<counter>`), else None."""
    if not counter.startswith(KEY_COUNTER_PREFIX):
        return None
    key_id, _, name = counter[len(KEY_COUNTER_PREFIX) :].partition(":")
    return int(key_id), name


@dataclass
class UsageBreakdown:
    start: datetime
    end: datetime
    total: Counts = field(default_factory=Counts)
    by_endpoint: dict[str, Counts] = field(default_factory=lambda: defaultdict(Counts))
    by_day: dict[date, Counts] = field(default_factory=lambda: defaultdict(Counts))
    by_day_endpoint: dict[tuple[date, str], Counts] = field(
        default_factory=lambda: defaultdict(Counts)
    )
    # Per API key (metering.models.KeyUsage, and the keys' pending counters): calls, units and
    # refused_key_cap only.
    by_key: dict[int, KeyCounts] = field(default_factory=lambda: defaultdict(KeyCounts))
    # False when Redis could not be read: the ledger alone, behind by what was not yet flushed.
    live: bool = True

    def add(self, endpoint: str, day: date, counter: str, value: int) -> None:
        if not value:
            return
        self.total.add(counter, value)
        self.by_endpoint[endpoint].add(counter, value)
        self.by_day[day].add(counter, value)
        self.by_day_endpoint[(day, endpoint)].add(counter, value)


def _unapplied_in_redis(customer_id: int) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    """The pending counters and every batch not yet forgotten, as one snapshot (one script in
    the customer's slot: a flush moves one into the other atomically, so nothing is seen twice
    or missed between them)."""
    flat = store.unapplied_script()(
        keys=[store.pending_key(customer_id), store.batches_key(customer_id)]
    )

    def pairs(fields: list[str]) -> dict[str, str]:
        return dict(zip(fields[0::2], fields[1::2], strict=True))

    batches = {flat[i]: pairs(flat[i + 1]) for i in range(1, len(flat), 2)}
    return pairs(flat[0]), batches


def _batch_names(customer_id: int) -> set[str]:
    return store.client().smembers(store.batches_key(customer_id))


def _applied(names: list[str]) -> set[str]:
    """The batches among `names` whose chunk's applied-marker exists."""
    if not names:
        return set()
    chunks = {name: store.chunk_of_batch(name) for name in names}
    applied = set(
        FlushedBatch.objects.filter(key__in=set(chunks.values())).values_list("key", flat=True)
    )
    return {name for name, chunk in chunks.items() if chunk in applied}


def customer_usage(
    *, customer_id: int, start: datetime, end: datetime, ledger_if_redis_down: bool = False
) -> UsageBreakdown:
    """Usage between `start` and `end`. Redis unreachable raises a RedisError, unless
    `ledger_if_redis_down` (pages): then the ledger alone, with `live` False."""
    breakdown = UsageBreakdown(start, end)
    ledger_rows: list[dict] = []
    unapplied: list[dict[str, str]] = []
    for _ in range(5):
        try:
            pending, batches = _unapplied_in_redis(customer_id)
        except RedisError:
            if not ledger_if_redis_down:
                raise
            logger.warning(
                "metering: Redis unreachable; usage of customer %s from the ledger only",
                customer_id,
            )
            breakdown.live = False
            pending, batches = {}, {}
        names = list(batches)
        applied = _applied(names)
        ledger_rows = list(
            UsageRecord.objects.filter(customer_id=customer_id, hour__gte=start, hour__lt=end)
            .annotate(day=TruncDate("hour", tzinfo=UTC))
            .values("endpoint", "day")
            .annotate(**{counter: Sum(counter) for counter in COUNTERS})
        )
        # Per key and day: a period starts at midnight UTC (core.periods), so days fall wholly
        # inside or outside it.
        key_rows = list(
            KeyUsage.objects.filter(
                customer_id=customer_id, day__gte=start.date(), day__lt=end.date()
            )
            .values("key_id")
            .annotate(**{counter: Sum(counter) for counter in KEY_COUNTERS})
        )
        # A batch applied between the two marker reads, or taken (or adopted) from the pending
        # counters meanwhile, would be counted twice or not at all: read again.
        if breakdown.live is False or (
            _applied(names) == applied and _batch_names(customer_id) == set(names)
        ):
            unapplied = [pending] + [c for n, c in batches.items() if n not in applied]
            break
    for row in ledger_rows:
        for counter in COUNTERS:
            breakdown.add(row["endpoint"], row["day"], counter, row[counter] or 0)
    for row in key_rows:
        for counter in KEY_COUNTERS:
            breakdown.by_key[row["key_id"]].add(counter, row[counter] or 0)
    start_ts, end_ts = start.timestamp(), end.timestamp()
    for counters in unapplied:
        for name, value in counters.items():
            if name.startswith("lastused|"):
                continue
            endpoint, hour, counter = name.rsplit("|", 2)
            hour_ts = int(hour)
            if not start_ts <= hour_ts < end_ts:
                continue
            of_key = key_counter(counter)
            if of_key is not None:
                breakdown.by_key[of_key[0]].add(of_key[1], int(value))
            else:
                day = datetime.fromtimestamp(hour_ts, UTC).date()
                breakdown.add(endpoint, day, counter, int(value))
                if counter in REFUSAL_REASONS:  # Redis counts by reason; `refused` is the sum
                    breakdown.add(endpoint, day, "refused", int(value))
    return breakdown


def keys_period_usage(customer_id: int) -> dict[int, KeyCounts]:
    """Each key's usage this period, exact to the last request (the ledger alone when Redis
    cannot be read): settings.ACCOUNTS_KEYS_USAGE, for the keys API and pages."""
    period = current_period()
    usage = customer_usage(
        customer_id=customer_id, start=period.start, end=period.end, ledger_if_redis_down=True
    )
    return dict(usage.by_key)


def customer_period_units(*, customer_id: int, period: Period) -> int:
    return customer_usage(customer_id=customer_id, start=period.start, end=period.end).total.units


def api_routes() -> list[tuple[str, str]]:
    """(method, route template) of every metered DRF operation in the URLconf."""

    def walk(patterns, prefix: str):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                yield prefix + str(pattern.pattern), pattern

    found: set[tuple[str, str]] = set()
    for route, pattern in walk(get_resolver().url_patterns, ""):
        path = route_template(route)
        if not path.startswith(settings.METERING_PATH_PREFIX.rstrip("/")):
            continue
        if pattern.name in settings.METERING_PUBLIC_ROUTES:
            continue
        view = pattern.callback
        actions = getattr(view, "actions", None)
        cls = getattr(view, "cls", None)
        if actions:
            methods = {m.upper() for m in actions}
        elif cls is not None:
            methods = {
                m.upper()
                for m in cls.http_method_names
                if m not in ("options", "head", "trace") and hasattr(cls, m)
            }
        else:
            continue
        found.update((method, path) for method in methods)
    return sorted(found, key=lambda item: (item[1], item[0]))
