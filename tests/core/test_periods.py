"""Billing periods: calendar months in UTC, and the one place that does month arithmetic."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from core.periods import month_period, parse_month, period_containing, period_from_id


def test_a_period_is_a_calendar_month_in_utc():
    period = month_period(2026, 12)
    assert period.start == datetime(2026, 12, 1, tzinfo=UTC)
    assert period.end == datetime(2027, 1, 1, tzinfo=UTC)
    assert (period.id, period.label) == ("202612", "2026-12")
    # 23:30 on Nov 30 in UTC-5 is already December in UTC.
    late = datetime(2026, 11, 30, 23, 30, tzinfo=timezone(timedelta(hours=-5)))
    assert period_containing(late) == period


def test_months_shift_across_year_ends_and_month_lengths():
    january = month_period(2026, 1)
    assert january.previous() == month_period(2025, 12)
    assert january.next() == month_period(2026, 2)
    assert january.shifted(-11) == month_period(2025, 2)
    assert january.shifted(14) == month_period(2027, 3)
    assert month_period(2024, 2).end == datetime(2024, 3, 1, tzinfo=UTC)  # a leap February
    assert [p.label for p in january.back(3)] == ["2026-01", "2025-12", "2025-11"]


def test_parsing_months_and_period_ids():
    assert parse_month("2026-07") == month_period(2026, 7)
    assert period_from_id("202607") == month_period(2026, 7)
    for bad in ("2026-13", "26-07", "", "2026/07"):
        with pytest.raises(ValueError):
            parse_month(bad)
