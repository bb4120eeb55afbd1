"""Prepaid credits in the engine: what credits pay of a quote, and how many units a balance buys.

Credits are Stripe billing credits scoped to metered prices (billing/credits.py says why), so on
an invoice they pay the usage lines only, never the base fee, up to the balance. The engine
mirrors that: `metered_charge` is the part of a quote credits can pay (its usage, tier and
tier flat-fee lines, each already rounded to the cent as Stripe rounds each invoice line),
`quote_with_credits` adds the credits line, and `credit_allowance` is the largest number of
units a period may use before its usage costs more than the balance: the cap the hot path
enforces on the `prepaid` overage policy (metering/grants.py, METER_LUA).
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from core.money import money
from pricing.engine.definitions import ZERO, PlanTerms, Usage, round_money
from pricing.engine.quotes import Line, Quote, quote_for_usage

# The quote lines billing credits pay for: the metered prices' lines.
METERED_KINDS = frozenset({"usage", "tier", "flat_fee"})
# Above this many units in a period the search stops: a balance that pays for more is
# unlimited for every practical purpose (and a free usage price makes any balance unlimited).
ALLOWANCE_CEILING = 10**13


def metered_charge(quote: Quote) -> Decimal:
    """What billing credits can pay of `quote`: its metered lines (not the base fee)."""
    return sum((line.amount or ZERO for line in quote.lines if line.kind in METERED_KINDS), ZERO)


def credits_applied(quote: Quote, balance: Decimal) -> Decimal:
    """What a credit balance takes from the invoice `quote` prices: up to its metered part."""
    if quote.total is None or balance <= ZERO:
        return ZERO
    return min(round_money(balance), metered_charge(quote))


def quote_with_credits(quote: Quote, balance: Decimal) -> Quote:
    """`quote` with a credits line taking what the balance pays, and the total left to pay by
    card. A quote unchanged when there is no balance (or a custom quote)."""
    applied = credits_applied(quote, balance)
    if not applied:
        return quote
    left = round_money(balance) - applied
    text = f"Prepaid credits applied −{money(applied)} (balance left {money(left)})"
    line = Line(text, 1, -applied, -applied, "credits")
    return replace(quote, lines=(*quote.lines, line), total=(quote.total or ZERO) - applied)


def _charge(terms: PlanTerms, units: int) -> Decimal:
    # Priced as on the bill policy: on `prepaid`, usage above the included units is billed.
    return metered_charge(quote_for_usage(replace(terms, overage_policy="bill"), Usage(units)))


def _last_fitting(terms: PlanTerms, lo: int, hi: int, balance: Decimal) -> int:
    """The largest u in [lo, hi) with charge(u) <= balance, given charge(lo) fits and charge(hi)
    does not, the charge being non-decreasing on [lo, hi]."""
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if _charge(terms, mid) <= balance:
            lo = mid
        else:
            hi = mid
    return lo


def credit_allowance(terms: PlanTerms, balance: Decimal) -> int | None:
    """The largest number of units a period may use so that the usage price of every count up
    to it fits in the included units plus `balance` dollars of credits. None: no limit (custom
    pricing, or a usage price that the balance pays however far it goes).

    Exact for every model: the charge is non-decreasing in the units except across a volume
    band's boundary (a cheaper band may price more units lower), so bands are searched in order
    and the first count that no longer fits ends the allowance."""
    if terms.custom:
        return None
    balance = max(round_money(balance), ZERO)
    included = terms.included
    segments: list[int] = []  # upper ends of the monotone segments, last one open
    if terms.pricing.model == "volume":
        segments = [t.up_to + included for t in terms.pricing.tiers if t.up_to is not None]
    lo = included
    if _charge(terms, lo) > balance:  # only with no included units: nothing fits
        return 0
    for end in [*segments, None]:
        if end is not None:
            if end <= lo:
                continue
            if _charge(terms, end) > balance:
                return _last_fitting(terms, lo, end, balance)
            lo = end
            continue
        step = 1
        while True:
            hi = lo + step
            if hi > ALLOWANCE_CEILING:
                return None
            if _charge(terms, hi) > balance:
                return _last_fitting(terms, lo, hi, balance)
            lo, step = hi, step * 2
    return lo  # pragma: no cover (the open segment always returns)
