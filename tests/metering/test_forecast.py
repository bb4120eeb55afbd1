"""Usage forecasts: the method on synthetic histories (the quota date checked to the day), the
hard cap, unlimited plans, too little history, and the usage API's `forecast` with its bill
priced like `estimated_bill`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.utils import timezone

from accounts.models import Customer
from core.periods import current_period, month_period
from metering.forecast import WINDOW_DAYS, daily_rate, usage_forecast
from tests.factories import UsageRecordFactory

NOVEMBER = month_period(2026, 11)


def steady(days: int, units: int, until: datetime) -> dict:
    """`units` on each of the `days` days before `until`'s day."""
    today = until.date()
    return {today - timedelta(days=n): units for n in range(1, days + 1)}


def test_a_steady_customer_passes_its_quota_on_the_day_the_rate_says():
    # 400 units a day since October 1st; on November 10th at noon: 9 days × 400 + 200 today.
    now = datetime(2026, 11, 10, 12, tzinfo=UTC)
    forecast = usage_forecast(
        now=now,
        period=NOVEMBER,
        used=3_800,
        included=10_000,
        hard_cap=True,
        history_start=datetime(2026, 10, 1, 9, tzinfo=UTC),
        daily_units=steady(40, 400, now),
    )
    assert forecast.sufficient_history
    assert forecast.daily_units == 400
    # 6,200 units left at 400 a day: 15.5 days after Nov 10 12:00 is Nov 26 00:00.
    assert forecast.quota_exhausted_at == datetime(2026, 11, 26, 0, tzinfo=UTC)
    assert forecast.quota_exhausted_at.date().day == 26
    # Hard-capped: the period ends at the quota, not at 3,800 + 400 × 20.5.
    assert forecast.units_at_period_end == 10_000
    assert f"last {WINDOW_DAYS} complete days" in forecast.method


def test_the_rate_is_the_mean_of_recent_days_idle_days_included():
    now = datetime(2026, 11, 20, 6, tzinfo=UTC)
    history = steady(WINDOW_DAYS, 0, now)
    for n in range(1, WINDOW_DAYS + 1, 2):  # every other day 1,000 units: a mean of 500
        history[now.date() - timedelta(days=n)] = 1_000
    history[now.date() - timedelta(days=WINDOW_DAYS + 3)] = 999_999  # outside the window
    forecast = usage_forecast(
        now=now,
        period=NOVEMBER,
        used=9_000,
        included=50_000,
        hard_cap=False,
        history_start=datetime(2026, 9, 1, tzinfo=UTC),
        daily_units=history,
    )
    assert forecast.daily_units == 500
    # 10.75 days left at 500 a day.
    assert forecast.units_at_period_end == 9_000 + 5_375
    assert forecast.quota_exhausted_at is None  # the quota holds
    assert daily_rate([3, 5, 7]) == 5


def test_billed_overage_is_projected_past_the_quota_and_unlimited_plans_have_no_date():
    now = datetime(2026, 11, 16, 0, tzinfo=UTC)
    kwargs = {
        "now": now,
        "period": NOVEMBER,
        "used": 45_000,
        "history_start": datetime(2026, 10, 1, tzinfo=UTC),
        "daily_units": steady(30, 3_000, now),
    }
    billed = usage_forecast(included=50_000, hard_cap=False, **kwargs)
    assert billed.units_at_period_end == 45_000 + 15 * 3_000
    assert billed.quota_exhausted_at == datetime(2026, 11, 17, 16, tzinfo=UTC)
    unlimited = usage_forecast(included=None, hard_cap=False, **kwargs)
    assert unlimited.quota_exhausted_at is None
    assert unlimited.units_at_period_end == 90_000


def test_an_exhausted_quota_reports_when_it_ran_out():
    now = datetime(2026, 11, 16, 0, tzinfo=UTC)
    when = datetime(2026, 11, 12, 14, tzinfo=UTC)
    forecast = usage_forecast(
        now=now,
        period=NOVEMBER,
        used=10_000,
        included=10_000,
        hard_cap=True,
        history_start=datetime(2026, 10, 1, tzinfo=UTC),
        daily_units=steady(20, 800, now),
        exhausted_at=when,
    )
    assert forecast.quota_exhausted_at == when
    assert forecast.units_at_period_end == 10_000


@pytest.mark.parametrize("history", [None, timedelta(hours=23, minutes=59)])
def test_under_a_day_of_history_says_so_and_guesses_nothing(history):
    now = datetime(2026, 11, 10, 12, tzinfo=UTC)
    forecast = usage_forecast(
        now=now,
        period=NOVEMBER,
        used=5_000,
        included=10_000,
        hard_cap=True,
        history_start=None if history is None else now - history,
        daily_units={now.date(): 5_000},
    )
    assert not forecast.sufficient_history
    assert "insufficient history" in forecast.method
    assert forecast.units_at_period_end is None and forecast.quota_exhausted_at is None


def test_a_second_day_uses_the_one_day_there_is():
    now = datetime(2026, 11, 10, 12, tzinfo=UTC)
    forecast = usage_forecast(
        now=now,
        period=NOVEMBER,
        used=1_500,
        included=None,
        hard_cap=False,
        history_start=datetime(2026, 11, 9, 8, tzinfo=UTC),
        daily_units={datetime(2026, 11, 9).date(): 1_000, now.date(): 500},
    )
    assert forecast.daily_units == 1_000
    assert "1 complete day of history" in forecast.method


# --- the usage API ---------------------------------------------------------------------------


def backdate_history(customer, days: int, units_per_day: int) -> int:
    """Ledger rows of `units_per_day` for each of the `days` days before today (first call at
    the first of them). Returns the units in the current period."""
    today = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)
    period = current_period()
    in_period = 0
    for n in range(1, days + 1):
        hour = today - timedelta(days=n) + timedelta(hours=10)
        UsageRecordFactory(customer=customer, hour=hour, calls=units_per_day, units=units_per_day)
        in_period += units_per_day if hour >= period.start else 0
    Customer.objects.filter(pk=customer.pk).update(first_call_at=today - timedelta(days=days))
    return in_period


@pytest.mark.django_db
def test_the_usage_api_answers_the_forecast_and_its_bill(make_customer):
    from tests.conftest import KeyClient

    customer, raw = make_customer("pro")
    in_period = backdate_history(customer, WINDOW_DAYS + 2, 4_000)
    body = KeyClient(raw, customer).get("/api/v1/usage").json()
    forecast = body["forecast"]
    assert set(forecast) == {
        "method",
        "sufficient_history",
        "daily_units",
        "units_at_period_end",
        "bill_at_period_end",
        "quota_exhausted_at",
    }
    assert forecast["sufficient_history"] and forecast["daily_units"] == 4_000
    now = timezone.now()
    left = (current_period().end - now) / timedelta(days=1)
    expected_units = in_period + 4_000 * left
    assert abs(forecast["units_at_period_end"] - expected_units) <= 4_000 * 5 / 86_400 + 1
    # Priced as estimated_bill is: Pro, $49 + $0.001 per unit past the 50,000 included.
    bill = forecast["bill_at_period_end"]
    assert set(bill) == set(body["estimated_bill"])
    overage = max(forecast["units_at_period_end"] - 50_000, 0)
    # Rounded as the engine rounds a line (half up, like Stripe's line items).
    expected = Decimal("49.00") + (Decimal(overage) * Decimal("0.001")).quantize(
        Decimal("0.01"), rounding=ROUND_HALF_UP
    )
    assert Decimal(bill["total"]) == expected
    if in_period + 4_000 * left >= 50_000:
        exhausted = datetime.fromisoformat(forecast["quota_exhausted_at"])
        if in_period < 50_000:
            expected_day = now + (50_000 - in_period) / 4_000 * timedelta(days=1)
            assert exhausted.date() == expected_day.date()
    else:
        assert forecast["quota_exhausted_at"] is None


@pytest.mark.django_db
def test_a_new_customer_gets_no_forecast_yet(owner):
    assert owner.get("/api/v1/pets").status_code == 200
    body = owner.get("/api/v1/usage").json()
    forecast = body["forecast"]
    assert not forecast["sufficient_history"]
    assert "insufficient history" in forecast["method"]
    assert forecast["units_at_period_end"] is None
    assert forecast["bill_at_period_end"] is None and forecast["quota_exhausted_at"] is None
