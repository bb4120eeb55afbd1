"""Usage forecasts: the units a customer will have used when the period ends, and when its quota
runs out, from its own daily usage. Units only: metering knows no money (the usage API prices
the forecast through METERING_USAGE_ESTIMATOR, as it prices the usage so far).

The method, chosen by backtest on `seed_demo` history (bench/forecast.py, figures in
docs/operations.md): the daily rate is the mean of the customer's last WINDOW_DAYS complete
UTC days (days without calls count as zero; fewer days when the history is shorter), and the
rest of the period is assumed to go at that rate. Weekday-aware means and exponential smoothing
did no better there. On a hard-capped plan the forecast stops at the quota (calls past it are
refused). With under a day of history (since the first successful call) there is no forecast:
the method says so and the numbers are null.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from django.db.models import Sum

from core.periods import Period
from metering.models import UsageRecord
from metering.selectors import UsageBreakdown, customer_usage

WINDOW_DAYS = 28
MIN_HISTORY = timedelta(days=1)
DAY = timedelta(days=1)


@dataclass(frozen=True)
class Forecast:
    method: str
    sufficient_history: bool
    daily_units: float | None = None
    units_at_period_end: int | None = None
    quota_exhausted_at: datetime | None = None

    def scale(self, used: int) -> float | None:
        """units_at_period_end / used: how much the period's usage grows by its end."""
        if self.units_at_period_end is None or not used:
            return None
        return self.units_at_period_end / used


def daily_rate(daily_units: Sequence[int]) -> float:
    """The mean of the last WINDOW_DAYS days' units (oldest first; zeros for idle days)."""
    recent = list(daily_units)[-WINDOW_DAYS:]
    return sum(recent) / len(recent) if recent else 0.0


def _method(days: int) -> str:
    plural = "s" if days != 1 else ""
    if days >= WINDOW_DAYS:
        return f"mean daily units of the last {WINDOW_DAYS} complete days, projected to period end"
    return (
        f"mean daily units of the {days} complete day{plural} of history so far, "
        "projected to period end"
    )


def usage_forecast(
    *,
    now: datetime,
    period: Period,
    used: int,
    included: int | None,
    hard_cap: bool,
    history_start: datetime | None,
    daily_units: dict[date, int],
    exhausted_at: datetime | None = None,
) -> Forecast:
    """The forecast at `now` for a period whose usage so far is `used`. `daily_units` holds the
    units of each UTC day (at least the WINDOW_DAYS before today; missing days are idle);
    `history_start` is the first successful call (None: none yet); `exhausted_at` is when the
    quota ran out, if it already has."""
    if history_start is None or now - history_start < MIN_HISTORY:
        return Forecast(
            method="insufficient history: under a day of usage, so no forecast yet",
            sufficient_history=False,
        )
    today = now.astimezone(UTC).date()
    first = max(history_start.astimezone(UTC).date(), today - timedelta(days=WINDOW_DAYS))
    days = [first + timedelta(days=n) for n in range((today - first).days)]
    if not days:  # the first call was yesterday: that (partial) day is the history
        days = [today - DAY]
    rate = daily_rate([daily_units.get(day, 0) for day in days])
    remaining_days = max((period.end - now) / DAY, 0.0)
    projected = used + rate * remaining_days
    if hard_cap and included is not None:
        projected = min(projected, max(included, used))
    exhausted = None
    if included is not None:
        if used >= included:
            exhausted = exhausted_at or now
        elif rate > 0:
            moment = now + (included - used) / rate * DAY
            exhausted = moment if moment < period.end else None
    return Forecast(
        method=_method(len(days)),
        sufficient_history=True,
        daily_units=round(rate, 2),
        units_at_period_end=round(projected),
        quota_exhausted_at=exhausted,
    )


def history_daily_units(
    *, customer_id: int, period: Period, breakdown: UsageBreakdown, now: datetime
) -> dict[date, int]:
    """Units per UTC day over the forecast window: the period's from `breakdown` (exact, Redis
    included), the days before the period's start from the usage of those days."""
    units = {day: counts.units for day, counts in breakdown.by_day.items()}
    window_start = datetime.combine(
        now.astimezone(UTC).date() - timedelta(days=WINDOW_DAYS), datetime.min.time(), UTC
    )
    if window_start < period.start:
        before = customer_usage(
            customer_id=customer_id,
            start=window_start,
            end=period.start,
            ledger_if_redis_down=not breakdown.live,
        )
        units.update({day: counts.units for day, counts in before.by_day.items()})
    return units


def quota_exhausted_at(*, customer_id: int, period: Period, included: int) -> datetime | None:
    """The hour in which the period's usage reached `included`, from the ledger (None when the
    ledger has not reached it yet: it happened since the last flush)."""
    total = 0
    hourly = (
        UsageRecord.objects.filter(
            customer_id=customer_id, hour__gte=period.start, hour__lt=period.end
        )
        .values("hour")
        .annotate(units=Sum("units"))
        .order_by("hour")
    )
    for row in hourly:
        total += row["units"] or 0
        if total >= included:
            return row["hour"]
    return None


def customer_forecast(
    customer, breakdown: UsageBreakdown, period: Period, now: datetime
) -> Forecast:
    """The forecast of a customer's current period, whose usage so far is `breakdown`."""
    plan = customer.plan
    used = breakdown.total.units
    included = plan.included_units
    history_start = customer.first_call_at
    if history_start is None and used:
        history_start = customer.created_at
    if history_start is None or now - history_start < MIN_HISTORY:
        return usage_forecast(
            now=now,
            period=period,
            used=used,
            included=included,
            hard_cap=False,
            history_start=history_start,
            daily_units={},
        )
    exhausted = None
    if included is not None and used >= included:
        exhausted = quota_exhausted_at(customer_id=customer.pk, period=period, included=included)
    return usage_forecast(
        now=now,
        period=period,
        used=used,
        included=included,
        hard_cap=plan.overage_policy == "block",
        history_start=history_start,
        daily_units=history_daily_units(
            customer_id=customer.pk, period=period, breakdown=breakdown, now=now
        ),
        exhausted_at=exhausted,
    )


def projected_breakdown(breakdown: UsageBreakdown, units: int) -> UsageBreakdown:
    """The period's usage grown to `units` in the same mix of endpoints (each endpoint's calls
    and units scaled alike), for pricing the forecast as the usage so far is priced. With no
    usage yet this period, the projected units are plain calls of one unit."""
    projected = UsageBreakdown(breakdown.start, breakdown.end)
    used = breakdown.total.units
    if not used:
        if units:
            projected.add("forecast", breakdown.start.date(), "calls", units)
            projected.add("forecast", breakdown.start.date(), "units", units)
        return projected
    factor = units / used
    day = breakdown.start.date()
    for endpoint, counts in breakdown.by_endpoint.items():
        projected.add(endpoint, day, "calls", round(counts.calls * factor))
        projected.add(endpoint, day, "units", round(counts.units * factor))
    projected.total.units = units
    return projected
