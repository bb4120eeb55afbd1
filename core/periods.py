"""Billing periods are calendar months in UTC, for quotas, the usage API, invoices and metrics
(paid subscriptions are anchored to the 1st of the month so that Stripe agrees).

All month arithmetic is here, through dateutil's relativedelta: nothing else adds or subtracts
months by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property

from dateutil.relativedelta import relativedelta

MONTH = relativedelta(months=1)


@dataclass(frozen=True)
class Period:
    start: datetime
    end: datetime  # exclusive

    @cached_property
    def id(self) -> str:
        """'202611': names the period in Redis keys and in `UsageAlert.period` (cached: the
        current period's is asked for on every metered request)."""
        return self.start.strftime("%Y%m")

    @property
    def label(self) -> str:
        return self.start.strftime("%Y-%m")

    def shifted(self, months: int) -> Period:
        """The period `months` months later (earlier when negative)."""
        return period_containing(self.start + relativedelta(months=months))

    def previous(self) -> Period:
        return self.shifted(-1)

    def next(self) -> Period:
        return self.shifted(1)

    def back(self, count: int) -> list[Period]:
        """This period and the `count - 1` before it, newest first."""
        return [self.shifted(-n) for n in range(count)]


def month_period(year: int, month: int) -> Period:
    start = datetime(year, month, 1, tzinfo=UTC)
    return Period(start, start + MONTH)


def months_after(moment: datetime, months: int) -> datetime:
    """The same instant `months` calendar months later (a repeating discount's end)."""
    return moment + relativedelta(months=months)


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


def period_from_id(period_id: str) -> Period:
    """'202611' (a `Period.id`) → Period; ValueError on anything else."""
    return parse_month(f"{period_id[:4]}-{period_id[4:]}")
