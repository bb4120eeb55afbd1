"""Demo data for the operator console: a reproducible history of customers, plan changes and
usage, so that /admin/metrics/ has months to show.

    manage.py seed_demo [--customers 300] [--months 6] [--seed 42] [--until 2026-11-20] [--reset]

Sign-ups spread over the months (more recent months busier), most customers make a first call
within minutes (some within days, some never), free customers convert, paying ones upgrade,
downgrade and cancel at monthly rates; every change is a PlanChange row at its past instant and
each customer's plan is the end of its history. Activated customers get one ledger row per
endpoint per active day. The same --seed and --until give the same data.

Demo customers have emails at @demo.example.com: the command does nothing when they exist
(`make run` calls it on every start) unless --reset, which deletes them first. Rows go in by
bulk inserts (COPY on PostgreSQL): 100,000 customers × 12 months take a few minutes.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from accounts.models import ApiKey, Customer, Plan, PlanChange
from accounts.selectors import plan_mrr
from alerts.models import AlertSettings, UsageAlert
from billing.models import PaymentFailure, Trial
from console import metrics
from core.periods import period_containing
from metering import store
from metering.models import UsageRecord
from metering.services import PERIOD_KEY_GRACE

ZERO_MRR = Decimal("0.00")

DOMAIN = "demo.example.com"
DAY = timedelta(days=1)
MONTH_DAYS = 30.44
# Monthly rates of each move (competing exponential clocks).
CONVERT = 0.07  # free (activated) → the cheapest paid plan
RECONVERT = 0.02  # a customer who cancelled comes back
UPGRADE = 0.04  # paid → the next plan up
DOWNGRADE = 0.025  # paid → the next plan down
CANCEL = 0.03  # paid → free
TO_ENTERPRISE = 0.01  # top self-serve plan → a sales-led plan
ACTIVATION = 0.62  # share of sign-ups that ever make a successful call
TRIAL = 0.6  # a first conversion to a plan with a free trial starts with the trial
TRIAL_CONVERTS = 0.55  # trials that go on into a paid subscription (a card was added)
READ, WRITE, IMAGE = "GET /api/v1/pets", "POST /api/v1/pets", "POST /api/v1/pets/{pk}/image"


@dataclass
class Demo:
    email: str
    created_at: datetime
    first_call_at: datetime | None
    changes: list[tuple[datetime, Plan | None, Plan, str]] = field(default_factory=list)
    activity: float = 0.5  # share of days with calls
    intensity: float = 0.5  # share of the plan's included units used in a month
    hour: int = 12

    @property
    def plan(self) -> Plan:
        return self.changes[-1][2]


class Catalogue:
    def __init__(self) -> None:
        plans = list(Plan.objects.all())
        try:
            self.free = next(p for p in plans if p.slug == "free")
        except StopIteration:
            raise CommandError("no 'free' plan: run manage.py seed_plans first") from None
        self.ladder = sorted(
            (p for p in plans if p.is_active and p.self_serve and p.monthly_price),
            key=lambda p: p.monthly_price,
        )
        self.sales = [p for p in plans if p.is_active and not p.self_serve]
        if not self.ladder:
            raise CommandError("no paid self-serve plan to convert to")

    def moves(self, plan: Plan) -> list[tuple[float, Plan, str]]:
        if plan.pk == self.free.pk:
            return [(CONVERT, self.ladder[0], "upgrade")]
        if plan in self.ladder:
            i = self.ladder.index(plan)
            moves = [(CANCEL, self.free, "cancel")]
            if i + 1 < len(self.ladder):
                moves.append((UPGRADE, self.ladder[i + 1], "upgrade"))
            elif self.sales:
                moves.append((TO_ENTERPRISE, self.sales[0], "sales"))
            if i > 0:
                moves.append((DOWNGRADE, self.ladder[i - 1], "downgrade"))
            return moves
        return [(CANCEL / 3, self.ladder[-1], "downgrade")]  # sales-led: rarely leaves


def build(rng: random.Random, catalogue: Catalogue, n: int, start: datetime, until: datetime):
    span = (until - start).total_seconds()
    for i in range(n):
        # Growth: u^0.7 puts more sign-ups in recent months.
        created = start + timedelta(seconds=span * rng.random() ** 0.7)
        created = created.replace(microsecond=0)
        first_call = None
        if rng.random() < ACTIVATION:
            delay = min(math.exp(rng.gauss(math.log(150), 1.7)), 20 * 86400)
            if created + timedelta(seconds=delay) < until:
                first_call = created + timedelta(seconds=round(delay))
        demo = Demo(
            email=f"dev{i:06d}@{DOMAIN}",
            created_at=created,
            first_call_at=first_call,
            activity=rng.uniform(0.25, 0.95),
            intensity=rng.lognormvariate(math.log(0.35), 0.8),
            hour=rng.randrange(6, 22),
        )
        demo.changes.append((created, None, catalogue.free, "signup"))
        moment, plan, cancelled, trialed = first_call, catalogue.free, False, False
        while moment is not None:
            moves = catalogue.moves(plan)
            if plan.pk == catalogue.free.pk and cancelled:
                moves = [(RECONVERT, catalogue.ladder[0], "upgrade")]
            waits = [
                (rng.expovariate(rate) * MONTH_DAYS * 86400, to, why) for rate, to, why in moves
            ]
            wait, to, why = min(waits, key=lambda w: w[0])
            moment = moment + timedelta(seconds=round(wait))
            if moment >= until:
                break
            # (A database of the layout before trials has no trial_days: not loaded, not asked.)
            trial_days = to.__dict__.get("trial_days", 0)
            if plan.pk == catalogue.free.pk and trial_days and not trialed:
                trialed = True  # one trial per customer
                if rng.random() < TRIAL:
                    demo.changes.append((moment, plan, to, "trial"))
                    moment = moment + timedelta(days=trial_days)
                    if moment >= until:
                        break
                    if rng.random() < TRIAL_CONVERTS:
                        demo.changes.append((moment, to, to, "trial_converted"))
                        plan = to
                    else:
                        demo.changes.append((moment, to, catalogue.free, "trial_ended"))
                    continue
            demo.changes.append((moment, plan, to, why))
            cancelled = cancelled or why == "cancel"
            plan = to
        yield demo


def daily_usage(rng: random.Random, demo: Demo, until: datetime) -> Iterator[tuple]:
    """(endpoint, hour, calls, units) rows: one per endpoint per active day from the first call;
    a hard-capped plan stops at its quota."""
    if demo.first_call_at is None:
        return
    changes = demo.changes
    c = 0
    day = demo.first_call_at.replace(hour=0, minute=0, second=0, microsecond=0)
    month, used = None, 0
    while day < until:
        while c + 1 < len(changes) and changes[c + 1][0] < day + DAY:
            c += 1
        plan = changes[c][2]
        if day.month != month:
            month, used = day.month, 0
        if day <= demo.first_call_at:
            hour = demo.first_call_at.replace(minute=0, second=0, microsecond=0)
        else:
            hour = day + timedelta(hours=demo.hour)
        if hour < until and (day <= demo.first_call_at or rng.random() < demo.activity):
            included = plan.included_units or 2_000_000
            units = max(1, round(demo.intensity * included / MONTH_DAYS * rng.uniform(0.4, 1.6)))
            if plan.overage_policy == "block" and plan.included_units is not None:
                units = min(units, max(plan.included_units - used, 0))
            used += units
            if units:
                writes = units // 20  # a tenth of the units, at 2 units a call
                images = units // 500 if "images" in plan.features else 0
                reads = units - writes * 2 - images * 10
                for endpoint, calls, weight in (
                    (READ, reads, 1),
                    (WRITE, writes, 2),
                    (IMAGE, images, 10),
                ):
                    if calls > 0:
                        yield endpoint, hour, calls, calls * weight
        day += DAY


def bulk_insert(table: str, columns: list[str], rows: Iterable[tuple]) -> int:
    """COPY on PostgreSQL, batched multi-row INSERTs elsewhere. Returns the rows written."""
    count = 0
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            quoted = ", ".join(connection.ops.quote_name(c) for c in columns)
            with cursor.cursor.copy(f"COPY {table} ({quoted}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
                    count += 1
            return count
        placeholders = "(" + ", ".join(["%s"] * len(columns)) + ")"
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES {placeholders}"  # noqa: S608
        batch: list[tuple] = []
        for row in rows:
            batch.append(tuple(_adapt(v) for v in row))
            if len(batch) >= 2000:
                cursor.executemany(sql, batch)
                count += len(batch)
                batch = []
        if batch:
            cursor.executemany(sql, batch)
            count += len(batch)
    return count


def _adapt(value):
    if isinstance(value, datetime):
        return connection.ops.adapt_datetimefield_value(value)
    if isinstance(value, Decimal):
        return str(value)
    return value


class Command(BaseCommand):
    help = "Seed a reproducible demo history (customers, plan changes, usage) for the console."

    def add_arguments(self, parser):
        parser.add_argument("--customers", type=int, default=300)
        parser.add_argument("--months", type=int, default=6)
        parser.add_argument("--seed", type=int, default=42)
        parser.add_argument(
            "--until",
            help="End of the history, YYYY-MM-DD[THH:MM] UTC (default: now, to the hour)",
        )
        parser.add_argument("--reset", action="store_true", help="delete demo customers first")

    def handle(self, *args, customers, months, seed, until, reset, **options):
        if customers < 1 or not 1 <= months <= 36:
            raise CommandError("give --customers ≥ 1 and --months between 1 and 36")
        now = datetime.now(UTC)
        if until:
            try:
                until_at = datetime.fromisoformat(until).replace(tzinfo=UTC)
            except ValueError:
                raise CommandError(
                    "--until must look like 2026-11-20 or 2026-11-20T15:00"
                ) from None
            if until_at > now:
                raise CommandError("--until cannot be in the future")
        else:
            until_at = now.replace(minute=0, second=0, microsecond=0)
        existing = Customer.objects.filter(email__endswith=f"@{DOMAIN}")
        if existing.exists():
            if not reset:
                self.stdout.write(
                    f"demo data present ({existing.count()} customers): nothing to do "
                    "(--reset replaces it)"
                )
                return
            started = time.monotonic()
            deleted = self.delete_demo()
            self.stdout.write(
                f"deleted {deleted} demo customers in {time.monotonic() - started:.1f}s"
            )
        started = time.monotonic()
        periods = period_containing(until_at).back(months)
        start = periods[-1].start
        totals = self.seed(customers, start, until_at, seed)
        metrics.metrics_cache_clear(periods)
        self.stdout.write(
            f"seeded {totals['customers']} customers, {totals['changes']} plan changes, "
            f"{totals['usage']} usage rows from {start:%Y-%m-%d} to {until_at:%Y-%m-%d %H:%M} "
            f"in {time.monotonic() - started:.1f}s"
        )

    def delete_demo(self) -> int:
        ids = Customer.objects.filter(email__endswith=f"@{DOMAIN}").values("pk")
        count = ids.count()
        with transaction.atomic():
            # The big tables first, in SQL: Django's cascade would load every row.
            for model in (UsageRecord, PlanChange, ApiKey):
                model._base_manager.filter(customer__in=ids)._raw_delete(connection.alias)
            get_user_model().objects.filter(customer__email__endswith=f"@{DOMAIN}").delete()
        return count

    @transaction.atomic
    def seed(self, n: int, start: datetime, until: datetime, seed: int) -> dict[str, int]:
        rng = random.Random(seed)
        catalogue = Catalogue()
        demos = list(build(rng, catalogue, n, start, until))
        users = get_user_model().objects.bulk_create(
            [get_user_model()(username=d.email, email=d.email, password="!demo") for d in demos],
            batch_size=5000,
        )
        rows = Customer.objects.bulk_create(
            [
                Customer(
                    user=user,
                    email=d.email,
                    name=f"Demo developer {i}",
                    plan=d.plan,
                    created_at=d.created_at,
                    first_call_at=d.first_call_at,
                    plan_changed_at=d.changes[-1][0],
                )
                for i, (user, d) in enumerate(zip(users, demos, strict=True))
            ],
            batch_size=5000,
        )
        ids = [c.pk for c in rows]
        bulk_insert(
            ApiKey._meta.db_table,
            ["customer_id", "name", "prefix", "key_hash", "created_at", "revoked_at"],
            (
                (
                    cid,
                    "default",
                    f"ps_live_D{i:07d}",  # unique lookup prefix; the key is unknown
                    hashlib.sha256(f"demo:{seed}:{d.email}".encode()).hexdigest(),
                    d.created_at,
                    None,
                )
                for i, (cid, d) in enumerate(zip(ids, demos, strict=True))
            ),
        )
        changes = bulk_insert(
            PlanChange._meta.db_table,
            [
                "customer_id",
                "from_plan_id",
                "to_plan_id",
                "from_mrr",
                "to_mrr",
                "reason",
                "changed_at",
            ],
            (
                (
                    cid,
                    before.pk if before else None,
                    after.pk,
                    # A trial brings no MRR; its conversion or end starts from none.
                    ZERO_MRR if why in ("trial_converted", "trial_ended") else plan_mrr(before),
                    ZERO_MRR if why == "trial" else plan_mrr(after),
                    why,
                    when,
                )
                for cid, d in zip(ids, demos, strict=True)
                for when, before, after, why in d.changes
            ),
        )
        Trial.objects.bulk_create(
            [
                Trial(
                    customer_id=cid,
                    plan=after,
                    started_at=when,
                    ends_at=when + timedelta(days=after.trial_days),
                    reminder_sent_at=when + timedelta(days=after.trial_days - 3),
                )
                for cid, d in zip(ids, demos, strict=True)
                for when, _before, after, why in d.changes
                if why == "trial"
            ],
            batch_size=5000,
        )
        current = period_containing(until)
        period_units: dict[int, int] = {}

        def usage_rows():
            usage_rng = random.Random(seed + 1)
            for cid, d in zip(ids, demos, strict=True):
                for endpoint, hour, calls, units in daily_usage(usage_rng, d, until):
                    if hour >= current.start:
                        period_units[cid] = period_units.get(cid, 0) + units
                    yield cid, endpoint, hour, calls, units, 0, 0

        usage = bulk_insert(
            UsageRecord._meta.db_table,
            ["customer_id", "endpoint", "hour", "calls", "units", "errors", "refused"],
            usage_rows(),
        )
        self.seed_extras(rng, ids, demos, period_units, current, until)
        return {"customers": len(ids), "changes": changes, "usage": usage}

    def seed_extras(self, rng, ids, demos, period_units, current, until) -> None:
        """Alerts already sent this period (so the alert task does not email demo addresses),
        the quota counters the hot path would hold, a few alert settings and payment failures."""
        alerts = []
        for cid, d in zip(ids, demos, strict=True):
            included = d.plan.included_units
            units = period_units.get(cid, 0)
            if not included:
                continue
            for threshold in (80, 100):
                if units * 100 >= included * threshold:
                    alerts.append(
                        UsageAlert(
                            customer_id=cid,
                            period=current.id,
                            threshold=threshold,
                            units_used=units,
                            included_units=included,
                            created_at=until,
                            emailed_at=until,
                        )
                    )
        UsageAlert.objects.bulk_create(alerts, batch_size=5000, ignore_conflicts=True)
        # The columns every layout has (forecast settings take their database defaults), so that
        # a database of an earlier layout can be seeded too (tests/test_migration_from_main.py).
        bulk_insert(
            AlertSettings._meta.db_table,
            ["customer_id", "thresholds", "email_enabled", "updated_at"],
            [
                (cid, json.dumps([50, 90]), rng.random() < 0.8, until)
                for cid in ids
                if rng.random() < 0.05
            ],
        )
        paying = [
            (cid, d)
            for cid, d in zip(ids, demos, strict=True)
            if d.plan.monthly_price and d.changes[-1][3] != "trial"
        ]
        failures = rng.sample(paying, k=min(len(paying), max(1, len(paying) // 50)))
        PaymentFailure.objects.bulk_create(
            [
                PaymentFailure(
                    customer_id=cid,
                    stripe_invoice_id=f"in_demo_{cid}",
                    amount_due=int(d.plan.monthly_price * 100),
                    first_failed_at=until - timedelta(days=rng.randrange(1, 6)),
                    last_failed_at=until - timedelta(days=1),
                    attempt_count=rng.randrange(1, 4),
                    grace_ends_at=until + timedelta(days=rng.randrange(1, 10)),
                )
                for cid, d in failures
            ],
            batch_size=5000,
        )
        try:
            pipe = store.client().pipeline(transaction=False)
            for cid, units in period_units.items():
                key = store.period_key(cid, current.id)
                pipe.hsetnx(key, "units", units)
                pipe.expireat(key, current.end + PERIOD_KEY_GRACE)
            pipe.execute()
        except Exception as exc:  # the hot path re-seeds counters from the ledger anyway
            self.stderr.write(f"quota counters not seeded in Redis: {exc}")
