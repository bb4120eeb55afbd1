"""Backtest of usage forecasts on `seed_demo` history: which method predicts a customer's units
at the end of the month best, and the day its quota runs out.

Seeds a reproducible history (`manage.py seed_demo`) into its own database, then, for every
customer-month with a full month of data and every forecast day (the 2nd, 5th, 8th, 11th, 15th,
20th and 25th, at 00:00 UTC), forecasts from the days before only and compares with what
happened. Each candidate turns the daily units before the forecast day into a daily rate for
each remaining day; the forecast is the units so far plus those rates, capped at the quota on a
hard-capped plan (as metering.forecast does). Printed per candidate:

- WAPE: Σ|forecast − actual| / Σ actual of the month's units (lower is better);
- median APE: the median of |forecast − actual| / actual over customer-months;
- quota day: over the forecasts where the quota ran out after the forecast day, the mean
  |forecast day − actual day| (a missed crossing counts as the days left in the month);
- F1 of "the quota runs out this month" among forecasts made while it still held.

    .venv/bin/python bench/forecast.py [--customers 2000] [--months 7] [--seed 42] [--reseed]

Uses BENCH_FORECAST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/
petstore_bench_forecast; a sqlite:/// URL works too) and BENCH_FORECAST_REDIS_URL (default
db 6 of the local Redis).
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import subprocess
import sys
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

from common import bench_env, ensure_database

DATABASE_URL = os.environ.get(
    "BENCH_FORECAST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/petstore_bench_forecast"
)
REDIS_URL = os.environ.get("BENCH_FORECAST_REDIS_URL", "redis://127.0.0.1:6379/6")
UNTIL = "2026-11-01T00:00"  # a month boundary: every month before it is complete
FORECAST_DAYS = (2, 5, 8, 11, 15, 20, 25)

# --- candidates: daily units before the forecast day (oldest first) → rate of each day left -----

Rates = Callable[[Sequence[int], Sequence[date], Sequence[date]], list[float]]


def mean_of_last(window: int | None) -> Rates:
    def rates(history, history_days, days_left):
        recent = history[-window:] if window else history
        rate = sum(recent) / len(recent)
        return [rate] * len(days_left)

    return rates


def period_to_date(history, history_days, days_left):
    month_start = days_left[0].replace(day=1)
    in_month = [u for u, d in zip(history, history_days, strict=True) if d >= month_start]
    rate = sum(in_month) / len(in_month) if in_month else sum(history) / len(history)
    return [rate] * len(days_left)


def ewma(halflife: float) -> Rates:
    alpha = 1 - 0.5 ** (1 / halflife)

    def rates(history, history_days, days_left):
        level = history[0]
        for units in history[1:]:
            level = alpha * units + (1 - alpha) * level
        return [level] * len(days_left)

    return rates


def weekday_mean(weeks: int) -> Rates:
    """The mean of the same weekday over the last `weeks` weeks (the overall mean of that
    window for a weekday not seen yet)."""

    def rates(history, history_days, days_left):
        recent = list(zip(history[-7 * weeks :], history_days[-7 * weeks :], strict=True))
        overall = sum(u for u, _ in recent) / len(recent)
        by_weekday: dict[int, list[int]] = defaultdict(list)
        for units, day in recent:
            by_weekday[day.weekday()].append(units)
        means = {wd: sum(v) / len(v) for wd, v in by_weekday.items()}
        return [means.get(day.weekday(), overall) for day in days_left]

    return rates


def production(history, history_days, days_left):
    """metering.forecast's own rate, as the usage API computes it."""
    from metering.forecast import daily_rate

    rate = daily_rate(history)
    return [rate] * len(days_left)


CANDIDATES: dict[str, Rates] = {
    "mean of the period so far": period_to_date,
    "mean of the last 7 days": mean_of_last(7),
    "mean of the last 14 days": mean_of_last(14),
    "mean of the last 28 days": mean_of_last(28),
    "mean of all history": mean_of_last(None),
    "EWMA, half-life 7 days": ewma(7),
    "same weekday, last 4 weeks": weekday_mean(4),
    "same weekday, last 8 weeks": weekday_mean(8),
    "production (metering.forecast)": production,
}


def seed(customers: int, months: int, seed_value: int, reseed: bool, env: dict[str, str]) -> None:
    command = [
        sys.executable,
        "manage.py",
        "seed_demo",
        f"--customers={customers}",
        f"--months={months}",
        f"--seed={seed_value}",
        f"--until={UNTIL}",
    ]
    if reseed:
        command.append("--reset")
    subprocess.run(command, cwd=BASE_DIR, env=env, check=True)


def load():
    """Daily units per demo customer, plan history, first calls."""
    from django.db.models import Sum
    from django.db.models.functions import TruncDate

    from accounts.models import Customer, PlanChange

    customers = {
        c.pk: c.first_call_at
        for c in Customer.objects.filter(
            email__endswith="@demo.example.com", first_call_at__isnull=False
        )
    }
    daily: dict[int, dict[date, int]] = defaultdict(dict)
    from metering.models import UsageRecord

    rows = (
        UsageRecord.objects.filter(customer_id__in=list(customers))
        .annotate(day=TruncDate("hour", tzinfo=UTC))
        .values("customer_id", "day")
        .annotate(units=Sum("units"))
    )
    for row in rows.iterator(chunk_size=20_000):
        daily[row["customer_id"]][row["day"]] = row["units"]
    plans: dict[int, list[tuple[datetime, int | None, bool]]] = defaultdict(list)
    changes = PlanChange.objects.filter(customer_id__in=list(customers)).select_related("to_plan")
    for change in changes.order_by("changed_at"):
        plan = change.to_plan
        plans[change.customer_id].append(
            (change.changed_at, plan.included_units, plan.overage_policy == "block")
        )
    return customers, daily, plans


def plan_at(history: list[tuple[datetime, int | None, bool]], moment: datetime):
    current = history[0]
    for entry in history:
        if entry[0] <= moment:
            current = entry
    return current[1], current[2]


def month_starts(until: datetime, months: int) -> list[date]:
    starts = []
    year, month = until.year, until.month
    for _ in range(months - 1):  # the first month is history only
        month -= 1
        if month == 0:
            year, month = year - 1, 12
        starts.append(date(year, month, 1))
    return sorted(starts)[1:]


def evaluate(customers, daily, plans, months: int) -> dict[str, dict[str, float]]:
    until = datetime.fromisoformat(UNTIL).replace(tzinfo=UTC)
    results = {}
    for name, rates in CANDIDATES.items():
        abs_err = actual_sum = 0.0
        apes: list[float] = []
        day_errors: list[float] = []
        tp = fp = fn = 0
        for customer_id, first_call in customers.items():
            series = daily.get(customer_id, {})
            first_day = first_call.date()
            for start in month_starts(until, months):
                end = (start + timedelta(days=32)).replace(day=1)
                days = [start + timedelta(days=n) for n in range((end - start).days)]
                actual_days = [series.get(d, 0) for d in days]
                actual = sum(actual_days)
                for forecast_day in FORECAST_DAYS:
                    cut = start + timedelta(days=forecast_day - 1)
                    if (cut - first_day).days < 1:
                        continue  # under a day of history: no forecast (as in production)
                    history_days = [
                        first_day + timedelta(days=n) for n in range((cut - first_day).days)
                    ]
                    history = [series.get(d, 0) for d in history_days]
                    days_left = [d for d in days if d >= cut]
                    used = sum(series.get(d, 0) for d in days if d < cut)
                    moment = datetime.combine(cut, datetime.min.time(), UTC)
                    included, hard_cap = plan_at(plans[customer_id], moment)
                    projected_days = rates(history, history_days, days_left)
                    forecast = used + sum(projected_days)
                    if hard_cap and included is not None:
                        forecast = min(forecast, max(included, used))
                    abs_err += abs(forecast - actual)
                    actual_sum += actual
                    if actual:
                        apes.append(abs(forecast - actual) / actual)
                    if not included or used >= included:
                        continue
                    predicted_cross = _crossing(used, projected_days, days_left, included)
                    actual_cross = _crossing(
                        used, [series.get(d, 0) for d in days_left], days_left, included
                    )
                    if actual_cross is not None:
                        if predicted_cross is None:
                            day_errors.append((end - actual_cross).days)
                            fn += 1
                        else:
                            day_errors.append(abs((predicted_cross - actual_cross).days))
                            tp += 1
                    elif predicted_cross is not None:
                        fp += 1
        f1 = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
        results[name] = {
            "wape": abs_err / actual_sum if actual_sum else math.nan,
            "median_ape": statistics.median(apes) if apes else math.nan,
            "quota_day_mae": statistics.mean(day_errors) if day_errors else math.nan,
            "crossings": tp + fn,
            "f1": f1,
            "forecasts": len(apes),
        }
    return results


def _crossing(used: int, per_day: Sequence[float], days: Sequence[date], included: int):
    total = used
    for units, day in zip(per_day, days, strict=True):
        total += units
        if total >= included:
            return day
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--months", type=int, default=7)
    parser.add_argument("--seed", type=int, default=42, help="seed_demo's --seed")
    parser.add_argument("--reseed", action="store_true", help="replace the seeded history")
    args = parser.parse_args()
    env = bench_env(DATABASE_URL, REDIS_URL)
    ensure_database(DATABASE_URL, env)
    seed(args.customers, args.months, args.seed, args.reseed, env)
    os.environ.update(env)
    import django

    django.setup()
    customers, daily, plans = load()
    results = evaluate(customers, daily, plans, args.months)
    first = next(iter(results.values()))
    print(
        f"\n{len(customers)} active demo customers, {first['forecasts']:,} forecasts "
        f"(days {', '.join(map(str, FORECAST_DAYS))} of each full month), "
        f"{first['crossings']:,} quota crossings after the forecast day\n"
    )
    print(f"{'method':34} {'WAPE':>7} {'med APE':>8} {'quota day MAE':>14} {'F1':>6}")
    for name, r in sorted(results.items(), key=lambda item: item[1]["wape"]):
        print(
            f"{name:34} {r['wape']:7.1%} {r['median_ape']:8.1%} "
            f"{r['quota_day_mae']:11.2f} d {r['f1']:6.3f}"
        )


if __name__ == "__main__":
    main()
