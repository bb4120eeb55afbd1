"""Billing periods are calendar months in UTC, for quotas, the usage API, invoices and metrics
(paid subscriptions are anchored to the 1st of the month so that Stripe agrees)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime


@dataclass(frozen=True)
class Period:
    start: datetime
    end: datetime  # exclusive

    @property
    def id(self) -> str:
        return self.start.strftime("%Y%m")

    @property
    def label(self) -> str:
        return self.start.strftime("%Y-%m")

    def previous(self) -> Period:
        prev_end = self.start
        year, month = (
            (prev_end.year, prev_end.month - 1) if prev_end.month > 1 else (prev_end.year - 1, 12)
        )
        return month_period(year, month)

    def next(self) -> Period:
        return period_containing(self.end)


def month_period(year: int, month: int) -> Period:
    start = datetime(year, month, 1, tzinfo=UTC)
    end = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=UTC)
    return Period(start, end)


def period_containing(moment: datetime) -> Period:
    moment = moment.astimezone(UTC)
    return month_period(moment.year, moment.month)


_current: Period | None = None


def current_period() -> Period:
    """The period containing now (memoised: it is asked for on every metered request)."""
    global _current
    now = datetime.now(UTC)
    period = _current
    if period is None or not period.start <= now < period.end:
        period = _current = period_containing(now)
    return period


def parse_month(text: str) -> Period:
    """'YYYY-MM' → Period; ValueError on anything else."""
    try:
        parsed = datetime.strptime(text, "%Y-%m")
    except (TypeError, ValueError) as exc:
        raise ValueError(f"month must look like 2026-11, not {text!r}") from exc
    return month_period(parsed.year, parsed.month)
