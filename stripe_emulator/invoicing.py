"""Amount math and billing-period arithmetic, following Stripe's documented semantics.

Rounding: Stripe rounds "on the line item level": the quantity is multiplied by the
(possibly sub-cent) decimal unit amount, tier slices and flat amounts are summed, and only the
line item's total is rounded to the nearest minor unit; each line is rounded before the
invoice total is summed. Stripe's own example is 0.05 cents x 30 = 1.5, "rounded up to 2
cents", i.e. halves round up (away from zero for the negative amounts of proration credits):
``ROUND_HALF_UP``. Source: https://stripe.com/docs/billing/subscriptions/decimal-amounts
("Rounding occurs on the line item level of your invoices ... If you have multiple line items,
each will be rounded before summing up the total amount for the invoice").

Tiers (https://docs.stripe.com/products-prices/pricing-models#tiered-pricing): a tier covers
the units above the previous tier's ``up_to`` up to and including its own. ``graduated`` sums
each tier's slice (plus the flat amount of every tier the quantity reaches); ``volume`` prices
the whole quantity at the tier it falls into (plus that tier's flat amount).
``transform_quantity`` divides the quantity and rounds it ``up`` or ``down`` before pricing.
"""

from __future__ import annotations

import calendar
from datetime import UTC, datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Any

INF = "inf"


def fmt_decimal(value: Decimal) -> str:
    """Stripe renders decimal strings without exponent or trailing zeros: "0.1", "4900"."""
    text = format(value.normalize(), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


def round_amount(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def transformed_quantity(quantity: int, transform: dict[str, Any] | None) -> int:
    if not transform:
        return quantity
    divided = Decimal(quantity) / Decimal(int(transform["divide_by"]))
    rounding = ROUND_CEILING if transform.get("round") == "up" else ROUND_FLOOR
    return int(divided.to_integral_value(rounding=rounding))


def _tier_unit(tier: dict[str, Any]) -> Decimal:
    value = tier.get("unit_amount_decimal")
    return Decimal(value) if value is not None else Decimal(0)


def _tier_flat(tier: dict[str, Any]) -> Decimal:
    value = tier.get("flat_amount_decimal")
    return Decimal(value) if value is not None else Decimal(0)


def _graduated(tiers: list[dict[str, Any]], quantity: int) -> Decimal:
    total = Decimal(0)
    lower = 0
    for tier in tiers:
        upper = tier["up_to"]
        if quantity <= lower:
            break
        top = quantity if upper in (None, INF) else min(quantity, int(upper))
        units = top - lower
        if units > 0:
            total += units * _tier_unit(tier) + _tier_flat(tier)
        if upper in (None, INF):
            break
        lower = int(upper)
    return total


def _volume(tiers: list[dict[str, Any]], quantity: int) -> Decimal:
    if quantity <= 0:
        return Decimal(0)
    for tier in tiers:
        upper = tier["up_to"]
        if upper in (None, INF) or quantity <= int(upper):
            return quantity * _tier_unit(tier) + _tier_flat(tier)
    return Decimal(0)  # unreachable: the last tier is always "inf"


def exact_amount(price: dict[str, Any], quantity: int) -> Decimal:
    """The unrounded amount, in minor units, for ``quantity`` units of ``price``."""
    if price.get("billing_scheme") == "tiered":
        tiers = price.get("_tiers") or []
        if price.get("tiers_mode") == "volume":
            return _volume(tiers, quantity)
        return _graduated(tiers, quantity)
    units = transformed_quantity(quantity, price.get("transform_quantity"))
    unit = price.get("unit_amount_decimal")
    return units * (Decimal(unit) if unit is not None else Decimal(0))


def line_amount(price: dict[str, Any], quantity: int, fraction: Decimal = Decimal(1)) -> int:
    """A line item's amount: exact amount times the proration fraction, rounded once."""
    return round_amount(exact_amount(price, quantity) * fraction)


def proration_fraction(start: int, end: int, period_start: int, period_end: int) -> Decimal:
    """The share of the period ``[period_start, period_end)`` that ``[start, end)`` covers,
    by seconds (Stripe prorates to the second)."""
    length = period_end - period_start
    if length <= 0:
        return Decimal(0)
    covered = max(0, min(end, period_end) - max(start, period_start))
    return Decimal(covered) / Decimal(length)


# -- billing periods -------------------------------------------------------------------------
def _add_months(anchor: datetime, months: int) -> datetime:
    month_index = anchor.month - 1 + months
    year, month = anchor.year + month_index // 12, month_index % 12 + 1
    # Stripe keeps the anchor's day and clamps it to short months (Jan 31 -> Feb 28 -> Mar 31).
    day = min(anchor.day, calendar.monthrange(year, month)[1])
    return anchor.replace(year=year, month=month, day=day)


def boundary(anchor: int, interval: str, count: int, k: int) -> int:
    """The ``k``-th period boundary from ``anchor`` (k may be negative)."""
    if interval == "day":
        return anchor + k * count * 86400
    if interval == "week":
        return anchor + k * count * 7 * 86400
    start = datetime.fromtimestamp(anchor, UTC)
    months = k * count * (12 if interval == "year" else 1)
    return int(_add_months(start, months).timestamp())


def next_boundary_after(anchor: int, interval: str, count: int, t: int) -> int:
    """The first boundary aligned with ``anchor`` strictly after ``t``."""
    k = 0
    if t >= anchor:
        # Jump close first (cheap for long-lived subscriptions), then walk.
        approx = {"day": 86400, "week": 7 * 86400, "month": 28 * 86400, "year": 365 * 86400}
        k = max(0, (t - anchor) // (approx[interval] * count) - 1)
        while boundary(anchor, interval, count, k) <= t:
            k += 1
        return boundary(anchor, interval, count, k)
    while boundary(anchor, interval, count, k - 1) > t:
        k -= 1
    return boundary(anchor, interval, count, k)


def anchor_from_config(now: int, config: dict[str, int | None], interval: str) -> int:
    """``billing_cycle_anchor_config``: the next occurrence (not before ``now``) of
    ``day_of_month`` (clamped to short months) at ``hour:minute:second`` UTC; unspecified time
    fields take the current time's (assumption: Stripe documents the fields, not defaults)."""
    current = datetime.fromtimestamp(now, UTC)
    hour = current.hour if config.get("hour") is None else int(config["hour"] or 0)
    minute = current.minute if config.get("minute") is None else int(config["minute"] or 0)
    second = current.second if config.get("second") is None else int(config["second"] or 0)
    day = int(config["day_of_month"] or 1)
    month_filter = config.get("month") if interval == "year" else None
    year, month = current.year, current.month
    for _ in range(24):
        if month_filter is None or month == month_filter:
            last = calendar.monthrange(year, month)[1]
            candidate = datetime(year, month, min(day, last), hour, minute, second, tzinfo=UTC)
            if candidate.timestamp() >= now:
                return int(candidate.timestamp())
        month += 1
        if month > 12:
            year, month = year + 1, 1
    raise ValueError("no anchor within two years")
