"""Benchmark: server time of the portal's usage pages for a customer with a year of usage.

Creates a throwaway database (tables straight from the models, as the test suite does), a Pro
customer and a year of hourly ledger rows for five endpoints (8,760 × 5 rows), then renders the
dashboard and the usage pages with the Django test client and a logged-in session, and prints
milliseconds per page: median and 95th percentile over the runs, and the same with the chart
cache cleared before each request (pygal renders every time). Target: under 100 ms.

    .venv/bin/python bench/portal.py [--runs 30]

Uses DATABASE_URL and REDIS_URL like the app (default: SQLite and an embedded Redis); the
benchmark database is created next to the configured one and dropped at the end. Exit status 1
if a median is over the target.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "petstore.settings")
os.environ.setdefault("LOG_LEVEL", "WARNING")

TARGET_MS = 100.0
ENDPOINTS = [
    ("GET /api/v1/pets", 1, 40),
    ("GET /api/v1/pets/{pk}", 1, 25),
    ("POST /api/v1/pets", 2, 8),
    ("PATCH /api/v1/pets/{pk}", 2, 4),
    ("POST /api/v1/pets/{pk}/image", 10, 1),
]


class _NoMigrations:
    """Build tables from the models (dj-stripe's migrations take a minute), like --no-migrations."""

    def __contains__(self, item: str) -> bool:
        return True

    def __getitem__(self, item: str) -> None:
        return None


def _configure() -> None:
    from django.conf import settings

    database = settings.DATABASES["default"]
    if database["ENGINE"].endswith("sqlite3"):
        (BASE_DIR / ".run").mkdir(exist_ok=True)
        database["TEST"] = {"NAME": str(BASE_DIR / ".run" / "bench-portal.sqlite3")}
    else:
        database["TEST"] = {"NAME": "petstore_bench_portal"}
    settings.MIGRATION_MODULES = _NoMigrations()

    import django

    django.setup()


def seed(now: datetime):
    """A Pro customer with one year of hourly usage, ending at the current hour."""
    from accounts import services
    from accounts.demo_plans import seed_plans
    from accounts.models import Plan
    from metering.defaults import seed_endpoints
    from metering.models import Endpoint, UsageRecord

    seed_plans(Plan)
    seed_endpoints(Endpoint)
    customer, _ = services.customer_register(
        email="bench-portal@example.com", password="bench-portal-password-1"
    )
    services.customer_change_plan(customer=customer, plan=Plan.objects.get(slug="pro"))
    customer.refresh_from_db()
    customer.created_at = now - timedelta(days=366)
    customer.first_call_at = customer.created_at
    customer.save(update_fields=["created_at", "first_call_at"])

    hour = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=8759)
    rows = []
    for n in range(8760):
        at = hour + timedelta(hours=n)
        daytime = 1 + (8 <= at.hour < 20)
        for index, (endpoint, weight, base) in enumerate(ENDPOINTS):
            calls = base * daytime + (n * 7 + index * 13) % 11
            rows.append(
                UsageRecord(
                    customer=customer,
                    endpoint=endpoint,
                    hour=at,
                    calls=calls,
                    units=calls * weight,
                    errors=(n + index) % 5 == 0,
                    refused=(n + index) % 97 == 0,
                )
            )
    UsageRecord.objects.bulk_create(rows, batch_size=2000)
    return customer, len(rows)


def measure(client, url: str, runs: int, *, cold_charts: bool) -> tuple[list[float], int]:
    from django.core.cache import cache
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    timings = []
    queries = 0
    for _ in range(runs):
        if cold_charts:
            cache.delete_pattern("portal:chart:*")
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get(url)
            elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            raise SystemExit(f"{url} answered {response.status_code}")
        timings.append(elapsed)
        queries = len(captured)
    return timings, queries


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()

    _configure()
    from django.db import connection
    from django.test import Client
    from django.test.utils import (
        setup_databases,
        setup_test_environment,
        teardown_databases,
        teardown_test_environment,
    )

    from core.periods import current_period

    setup_test_environment()
    print("creating the benchmark database...", flush=True)
    old_config = setup_databases(verbosity=0, interactive=False)
    try:
        now = datetime.now(UTC)
        started = time.perf_counter()
        customer, count = seed(now)
        print(
            f"seeded {count:,} hourly ledger rows (a year, {len(ENDPOINTS)} endpoints) "
            f"in {time.perf_counter() - started:.1f} s on {connection.vendor}",
            flush=True,
        )
        client = Client()
        client.force_login(customer.user)
        previous = current_period().previous().label
        pages = [
            ("dashboard", "/dashboard/"),
            ("usage", "/dashboard/usage/"),
            ("usage, last month", f"/dashboard/usage/?month={previous}"),
            ("usage panel", "/dashboard/usage/panel/"),
        ]
        for _, url in pages:  # warm-up: template compilation, plan and endpoint caches
            client.get(url)

        print(f"\n{'page':<20}{'median':>10}{'p95':>10}{'cold chart':>13}{'queries':>9}")
        failed = False
        for name, url in pages:
            warm, queries = measure(client, url, args.runs, cold_charts=False)
            cold, _ = measure(client, url, max(5, args.runs // 3), cold_charts=True)
            median = statistics.median(warm)
            p95 = statistics.quantiles(warm, n=20)[-1] if len(warm) >= 2 else warm[0]
            cold_median = statistics.median(cold)
            failed |= median > TARGET_MS or cold_median > TARGET_MS
            print(
                f"{name:<20}{median:>8.1f}ms{p95:>8.1f}ms{cold_median:>11.1f}ms{queries:>9}",
                flush=True,
            )
        verdict = "over" if failed else "under"
        print(f"\nmedians {verdict} the {TARGET_MS:.0f} ms target (cold chart: pygal renders)")
        return 1 if failed else 0
    finally:
        teardown_databases(old_config, verbosity=0)
        teardown_test_environment()


if __name__ == "__main__":
    sys.exit(main())
