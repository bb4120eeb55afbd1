"""Benchmark: the business metrics of /admin/metrics/ on a realistic volume.

Seeds 100,000 customers and 12 months of daily usage with `manage.py seed_demo` into its own
PostgreSQL database (created and migrated if missing; reused when already seeded), then times,
for each of the last 12 months: the metrics selectors (uncached), each of their queries, and the
JSON view; then the HTML page (12-month trend) cold and warm. Target: under 1 s per month.

    .venv/bin/python bench/metrics.py [--customers 100000] [--months 12] [--reseed]

Uses BENCH_METRICS_DATABASE_URL (default: postgres://postgres@127.0.0.1:5432/
petstore_bench_metrics) and BENCH_METRICS_REDIS_URL (default db 11 of the local Redis).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

from common import (
    bench_env,
    psql,
)
from common import ensure_database as common_ensure_database

DATABASE_URL = os.environ.get(
    "BENCH_METRICS_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/petstore_bench_metrics"
)
REDIS_URL = os.environ.get("BENCH_METRICS_REDIS_URL", "redis://127.0.0.1:6379/11")


def env() -> dict[str, str]:
    return bench_env(DATABASE_URL, REDIS_URL)


def ensure_database() -> None:
    common_ensure_database(DATABASE_URL, env())


def seed(customers: int, months: int, reseed: bool) -> None:
    command = [
        sys.executable,
        "manage.py",
        "seed_demo",
        "--customers",
        str(customers),
        "--months",
        str(months),
        "--seed",
        "1",
    ]
    if reseed:
        command.append("--reset")
    started = time.monotonic()
    subprocess.run(command, cwd=BASE_DIR, env=env(), check=True)
    print(f"seed_demo: {time.monotonic() - started:.1f}s wall", flush=True)
    name = DATABASE_URL.rsplit("/", 1)[1]
    # seed_demo writes the ledger customer by customer; production appends it hour by hour
    # (flush_usage), so a month's rows sit together. Lay the table out that way (once).
    hour_index = psql(
        "-d",
        name,
        "-c",
        "SELECT indexname FROM pg_indexes WHERE tablename = 'metering_usagerecord' "
        "AND indexdef LIKE '%(hour)'",
    )
    clustered = psql(
        "-d",
        name,
        "-c",
        "SELECT count(*) FROM pg_index WHERE indisclustered "
        "AND indrelid = 'metering_usagerecord'::regclass",
    )
    if hour_index and clustered == "0":
        print("clustering the ledger by hour, as production writes it...", flush=True)
        psql("-d", name, "-c", f"CLUSTER metering_usagerecord USING {hour_index}")
    psql("-d", name, "-c", "VACUUM ANALYZE")


def timed(fn, *args, **kwargs):
    started = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - started


def measure() -> None:
    os.environ.update(env())
    import django

    django.setup()
    from datetime import UTC, datetime

    from django.contrib.auth import get_user_model
    from django.test import Client

    from accounts.models import Customer, Plan, PlanChange
    from console import metrics
    from metering.models import UsageRecord

    now = datetime.now(UTC)
    paid = [p.pk for p in Plan.objects.all() if metrics.plan_is_paid(p)]
    print(
        f"data: {Customer.objects.count():,} customers, {PlanChange.objects.count():,} plan "
        f"changes, {UsageRecord.objects.count():,} usage rows",
        flush=True,
    )
    user, _ = get_user_model().objects.get_or_create(
        username="bench-staff", defaults={"is_staff": True, "is_superuser": True}
    )
    client = Client()
    client.force_login(user)
    periods = metrics.current_month(now).back(12)[::-1]

    header = (
        f"{'month':8} {'signups':>7} {'act.':>6} {'conv.':>6} {'MRR':>11} {'NRR':>6} | "
        f"{'activ.':>6} {'nohist':>6} {'states':>6} {'moves':>6} {'usage$':>6} | "
        f"{'total':>6} {'JSON':>6}"
    )
    print(header)
    print("-" * len(header))
    totals, views = [], []
    for period in periods:
        as_of = min(period.end, now)
        start_12 = period.shifted(-11).start
        _, t_act = timed(metrics._activation, period.start, period.end, as_of)
        legacy, t_legacy = timed(metrics._without_history)
        with metrics._tuned():
            _, t_states = timed(metrics._transitions, start_12, period.start, as_of, paid, legacy)
        _, t_moves = timed(metrics._movement, period.start, as_of, paid)
        with metrics._tuned():
            _, t_usage = timed(metrics._usage_revenue, period.start, period.end, as_of, legacy)
        figures, t_total = timed(metrics.compute_month_metrics, period, now=now)
        metrics.metrics_cache_clear(periods)
        response, t_view = timed(client.get, "/admin/metrics.json", {"month": period.label})
        assert response.status_code == 200, response.content
        totals.append(t_total)
        views.append(t_view)
        rate = figures["activation_rate"]
        conversion = figures["conversion_rate"]
        nrr = figures["nrr"]
        print(
            f"{period.label:8} {figures['signups']:>7} "
            f"{'-' if rate is None else f'{rate:.0%}':>6} "
            f"{'-' if conversion is None else f'{conversion:.1%}':>6} "
            f"{figures['mrr']:>11} {'-' if nrr is None else f'{nrr:.0%}':>6} | "
            f"{t_act:6.3f} {t_legacy:6.3f} {t_states:6.3f} {t_moves:6.3f} {t_usage:6.3f} | "
            f"{t_total:6.3f} {t_view:6.3f}",
            flush=True,
        )
    print(
        f"per month, selectors: median {statistics.median(totals):.3f}s, max {max(totals):.3f}s;"
        f" JSON view: median {statistics.median(views):.3f}s, max {max(views):.3f}s "
        f"(target < 1 s: {'met' if max(views) < 1 else 'NOT met'})"
    )
    metrics.metrics_cache_clear(periods)
    _, cold = timed(client.get, "/admin/metrics/")
    _, warm = timed(client.get, "/admin/metrics/")
    print(
        f"page /admin/metrics/ (12-month trend): cold {cold:.2f}s, warm {warm:.2f}s "
        "(closed months cached)"
    )
    _, changelist = timed(client.get, "/admin/accounts/customer/")
    _, ledger = timed(client.get, "/admin/metering/usagerecord/")
    print(f"admin changelists: customers {changelist:.2f}s, usage records {ledger:.2f}s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--reseed", action="store_true", help="delete and seed again")
    parser.add_argument("--skip-seed", action="store_true")
    args = parser.parse_args()
    if not DATABASE_URL.startswith("postgres"):
        print("bench/metrics.py needs PostgreSQL (BENCH_METRICS_DATABASE_URL)")
        return 2
    ensure_database()
    if not args.skip_seed:
        seed(args.customers, args.months, args.reseed)
    measure()
    return 0


if __name__ == "__main__":
    sys.exit(main())
