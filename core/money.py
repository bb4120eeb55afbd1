"""Money as people read it, in one place: every page, email, admin column, chart axis and quote
line formats amounts with `money`. Amounts are Decimal dollars (or Stripe's integer cents,
converted exactly by `cents_to_dollars`); rounding of amounts owed is the rating engine's
(pricing.engine.round_money), never this module's: `money` only displays.
"""

from __future__ import annotations

from decimal import Decimal

CENT = Decimal("0.01")
MINUS = "−"  # U+2212, the typographic minus: "−$5.00"


def cents_to_dollars(cents: int | None) -> Decimal:
    """Integer cents (Stripe's amounts) → Decimal dollars, exact: 4900 → Decimal('49.00')."""
    return (Decimal(cents or 0) / 100).quantize(CENT)


def money(
    amount: Decimal | int | float | str | None,
    *,
    places: int = 2,
    drop_zero_cents: bool = False,
    exact: bool = False,
    sign: str = "$",
) -> str:
    """'$1,234.50' from a Decimal, an int, a decimal string or (chart axes only) a float; '' for
    None or ''. `places=0` rounds to whole dollars ('$1,235', for axes); `drop_zero_cents` shows
    a whole amount without cents ('$49', but '$49.50'); `exact` shows a unit price with all its
    places, at least two ('$0.001', '$0.25'); `sign=''` leaves the dollar sign out."""
    if amount is None or amount == "":
        return ""
    value = amount if isinstance(amount, Decimal) else Decimal(str(amount))
    if drop_zero_cents and value == value.to_integral_value():
        places = 0
    if exact:
        exponent = value.normalize().as_tuple().exponent
        places = max(places, -exponent if isinstance(exponent, int) else 0)
    digits = f"{abs(value):,.{places}f}"
    negative = value < 0 and any(d not in "0.," for d in digits)  # no "−$0.00"
    return f"{MINUS if negative else ''}{sign}{digits}"
