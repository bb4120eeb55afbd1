"""Discounts and trials in a quote: what a promotion code takes off a period's bill, and a
trial period's bill (nothing), priced as Stripe invoices them.

A discount is data (`Discount`): the engine knows no coupon table and no Stripe. Stripe takes a
`percent_off` coupon off each invoice line item, rounding half up there
(https://docs.stripe.com/billing/subscriptions/decimal-amounts): a plan's base fee is one line
item and its usage another (one per class on a class-priced plan; a tiered price's tiers are one
line item), so the percentage is taken per item, not per quote line. An `amount_off` coupon takes
at most what there is to discount. Usage during a trial is not billed, and neither is the base fee.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from core.money import money
from pricing.engine.definitions import _EXACT, ZERO, round_money

DURATIONS = ("once", "repeating", "forever")
# Quote lines that carry no money of their own.
_NOT_BILLED = ("included", "cap", "custom", "discount", "trial")


@dataclass(frozen=True)
class Discount:
    """A coupon's terms: exactly one of `percent_off` (0 < p ≤ 100) or `amount_off` (dollars)."""

    code: str
    percent_off: Decimal | None = None
    amount_off: Decimal | None = None
    duration: str = "once"
    duration_in_months: int | None = None

    def __post_init__(self) -> None:
        if (self.percent_off is None) == (self.amount_off is None):
            raise ValueError("a discount has exactly one of percent_off and amount_off")
        if self.percent_off is not None and not ZERO < self.percent_off <= 100:
            raise ValueError("percent_off must be above 0 and at most 100")
        if self.amount_off is not None and self.amount_off <= ZERO:
            raise ValueError("amount_off must be above 0")
        if self.duration not in DURATIONS:
            raise ValueError(f"duration must be one of {', '.join(DURATIONS)}")

    @property
    def off_text(self) -> str:
        if self.percent_off is not None:
            return f"{format(self.percent_off.normalize(), 'f')}% off"
        return f"{money(self.amount_off)} off"

    @property
    def duration_text(self) -> str:
        if self.duration == "forever":
            return "every month"
        if self.duration == "repeating":
            months = self.duration_in_months or 1
            return f"for {months} month{'s' if months != 1 else ''}"
        return "on the first invoice"

    def to_dict(self) -> dict[str, str | int | None]:
        return {
            "code": self.code,
            "percent_off": (
                None if self.percent_off is None else format(self.percent_off.normalize(), "f")
            ),
            "amount_off": None if self.amount_off is None else f"{self.amount_off:.2f}",
            "duration": self.duration,
            "duration_in_months": self.duration_in_months,
            "description": f"{self.off_text} {self.duration_text}",
        }


def invoice_items(lines: Iterable, model: str) -> list[Decimal]:
    """The amounts of the invoice line items a quote's lines become: the base fee, then the usage
    (one item, or one per class on a class-priced plan)."""
    items: list[Decimal] = []
    usage: list[Decimal] = []
    for line in lines:
        if line.kind in _NOT_BILLED or line.amount is None:
            continue
        if line.kind == "base" or model == "per_class":
            items.append(line.amount)
        else:
            usage.append(line.amount)
    if usage:
        items.append(sum(usage, ZERO))
    return items


def discount_amount(discount: Discount, items: list[Decimal]) -> Decimal:
    """What `discount` takes off invoice line items of these amounts (a positive amount)."""
    subtotal = sum(items, ZERO)
    if discount.percent_off is not None:
        share = discount.percent_off / 100
        return sum((round_money(_EXACT.multiply(item, share)) for item in items), ZERO)
    return min(round_money(discount.amount_off), subtotal)
