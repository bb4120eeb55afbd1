"""Quotes: what a usage costs on a plan, line by line (the engine proper)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from core.money import money
from pricing.engine.definitions import (
    _EXACT,
    CENT,
    CLASS_LABELS,
    CURRENCY,
    ZERO,
    PlanTerms,
    Tier,
    Usage,
    UsagePricing,
    _discounted,
    _places,
    parse_pricing,
    round_money,
)
from pricing.engine.discounts import Discount, discount_amount, invoice_items

# --- quotes -----------------------------------------------------------------------------------


def format_unit_price(price: Decimal) -> str:
    """Whole cents with two places ("49.00", "0.01"), finer prices as written ("0.001")."""
    if _places(price) <= 2:
        return f"{price:.2f}"
    return format(price.normalize(), "f")


@dataclass(frozen=True)
class Line:
    description: str
    quantity: int
    unit_price: Decimal | None
    amount: Decimal | None  # rounded to the cent; None only on a custom quote
    kind: str  # base | included | usage | tier | flat_fee | cap | custom | discount | trial

    def to_dict(self) -> dict[str, Any]:
        return {
            "description": self.description,
            "quantity": self.quantity,
            "unit_price": None if self.unit_price is None else format_unit_price(self.unit_price),
            "amount": None if self.amount is None else f"{self.amount:.2f}",
            "kind": self.kind,
        }


@dataclass(frozen=True)
class Quote:
    plan: str
    plan_name: str
    lines: tuple[Line, ...]
    total: Decimal | None  # the sum of the rounded lines; None: custom pricing
    custom: bool = False
    capped: bool = False  # part of the usage is above a hard cap (refused, not billed)
    currency: str = CURRENCY

    def to_dict(self) -> dict[str, Any]:
        return {
            "plan": self.plan,
            "plan_name": self.plan_name,
            "currency": self.currency,
            "total": None if self.total is None else f"{self.total:.2f}",
            "lines": [line.to_dict() for line in self.lines],
            "custom": self.custom,
            "capped": self.capped,
        }


def _priced(
    description: str,
    quantity: int,
    unit_price: Decimal,
    kind: str,
    *,
    noun: str = "",
    note: str = "",
) -> Line:
    """A line reading like the pricing page: "Additional calls 78,000 × $0.001 = $78.00"."""
    amount = round_money(_EXACT.multiply(Decimal(quantity), unit_price))
    return _priced_line(description, quantity, unit_price, amount, kind, noun=noun, note=note)


def _priced_line(
    description: str,
    quantity: int,
    unit_price: Decimal,
    amount: Decimal,
    kind: str,
    *,
    noun: str = "",
    note: str = "",
) -> Line:
    price = money(unit_price, exact=True)
    text = f"{description} {quantity:,}{noun} × {price} = {money(amount)}{note}"
    return Line(text, quantity, unit_price, amount, kind)


def _flat_fee(description: str, fee: Decimal) -> Line:
    return Line(f"{description} flat fee {money(fee)}", 1, fee, round_money(fee), "flat_fee")


def _tier_range(tiers: tuple[Tier, ...], index: int) -> tuple[int, int | None]:
    start = 1 if index == 0 else (tiers[index - 1].up_to or 0) + 1
    return start, tiers[index].up_to


def _range_text(start: int, end: int | None) -> str:
    return f"{start:,}+" if end is None else f"{start:,}–{end:,}"


def _graduated_lines(tiers: tuple[Tier, ...], quantity: int, label: str) -> Iterator[Line]:
    # One Stripe line item: the tiers' exact sum is rounded once (see round_money). Each tier
    # line gets its amount in whole cents by the largest-remainder method, so the lines add up
    # to that total and none goes below zero.
    parts: list[tuple[str, int, Decimal, Decimal, str]] = []  # description, qty, price, exact
    for i, tier in enumerate(tiers):
        start, end = _tier_range(tiers, i)
        in_tier = max(0, min(quantity, end if end is not None else quantity) - start + 1)
        if in_tier == 0 and i > 0:
            break
        # Rate shown even at zero usage; a flat fee only once a unit reaches its tier.
        exact = _EXACT.multiply(Decimal(in_tier), tier.unit_price)
        parts.append(
            (f"{label} {_range_text(start, end)}:", in_tier, tier.unit_price, exact, "tier")
        )
        if in_tier and tier.flat_fee:
            parts.append(
                (f"{label} {_range_text(start, end)}", 1, tier.flat_fee, tier.flat_fee, "flat_fee")
            )
    floors = [exact.quantize(CENT, rounding=ROUND_FLOOR) for *_, exact, _ in parts]
    target = round_money(sum((exact for *_, exact, _ in parts), ZERO))
    spare = int((target - sum(floors, ZERO)) / CENT)
    by_remainder = sorted(range(len(parts)), key=lambda i: floors[i] - parts[i][3])
    for i in by_remainder[:spare]:
        floors[i] += CENT
    for (description, in_tier, price, _, kind), amount in zip(parts, floors, strict=True):
        if kind == "flat_fee":
            yield Line(f"{description} flat fee {money(amount)}", 1, price, amount, kind)
        else:
            yield _priced_line(description, in_tier, price, amount, kind)


def _volume_index(bounds: Iterable[int | None], quantity: int) -> int:
    return next(i for i, up_to in enumerate(bounds) if up_to is None or quantity <= up_to)


def _volume_lines(tiers: tuple[Tier, ...], quantity: int, label: str) -> Iterator[Line]:
    i = _volume_index((t.up_to for t in tiers), quantity)
    start, end = _tier_range(tiers, i)
    band = f"{label} at the {_range_text(start, end)} rate:"
    yield _priced(band, quantity, tiers[i].unit_price, "usage")
    if quantity and tiers[i].flat_fee:
        yield _flat_fee(f"{label} {_range_text(start, end)}", tiers[i].flat_fee)


def _class_lines(pricing: UsagePricing, calls: Mapping[str, int]) -> Iterator[Line]:
    # A class without its own price is billed on the default price (the default meter).
    quantities = dict.fromkeys(pricing.class_prices, 0)
    for name, count in calls.items():
        quantities[name if name in pricing.class_prices else "default"] += count
    shown = [name for name, count in quantities.items() if count] or ["default"]
    for name in shown:
        quantity, price = quantities[name], pricing.class_prices[name]
        note = ""
        if pricing.volume_discounts:
            bounds = (band.up_to for band in pricing.volume_discounts)
            discount = pricing.volume_discounts[_volume_index(bounds, quantity)].discount
            if discount:
                percent = format((discount * 100).normalize(_EXACT), "f")
                note = f" ({percent}% volume discount)"
                price = _discounted(price, discount)
        yield _priced(CLASS_LABELS[name], quantity, price, "usage", note=note)


def _usage_lines(pricing: UsagePricing, usage: Usage, quantity: int, label: str) -> Iterator[Line]:
    if pricing.model == "per_unit":
        yield _priced(label, quantity, pricing.unit_price, "usage")
    elif pricing.model == "package":
        packages = -(-quantity // pricing.package_size)  # a partial package is a whole one
        text = f"{label} {quantity:,} in packages of {pricing.package_size:,}:"
        yield _priced(text, packages, pricing.package_price, "usage", noun=" packages")
    elif pricing.model == "graduated":
        yield from _graduated_lines(pricing.tiers, quantity, label)
    elif pricing.model == "volume":
        yield from _volume_lines(pricing.tiers, quantity, label)
    elif pricing.model == "per_class":
        yield from _class_lines(
            pricing, {"default": quantity} if usage.calls is None else usage.calls
        )


def _base_line(terms: PlanTerms, base_fee: Decimal) -> Line:
    text = f"Base plan {money(base_fee)}"
    if terms.included:
        text += f" (includes {terms.included:,} calls)"
    return Line(text, 1, base_fee, round_money(base_fee), "base")


def quote_for_usage(
    terms: PlanTerms, usage: Usage, *, discount: Discount | None = None, trial: bool = False
) -> Quote:
    """Price `usage` for one billing period on a plan: base fee, included units, then the usage
    model on what is above them (or the cap, on a hard-capped plan); then a promotion code's
    `discount` (a line taking it off, priced as Stripe does: pricing.engine.discounts), and on a
    `trial` a line taking off the rest: a trialing period is not billed."""
    if terms.base_fee is None:
        line = Line("Custom pricing: contact sales for a quote", usage.units, None, None, "custom")
        return Quote(terms.slug, terms.name, (line,), None, custom=True)
    included = terms.included
    lines: list[Line] = []
    if terms.base_fee or included:
        lines.append(_base_line(terms, terms.base_fee))
    if included:
        used = min(usage.units, included)
        lines.append(Line(f"Included calls {used:,} of {included:,}", used, ZERO, ZERO, "included"))
    over = max(usage.units - included, 0)
    capped = terms.caps(usage.units)
    if capped:
        text = f"Calls above the {included:,} cap: {over:,} refused (hard cap: upgrade for more)"
        lines.append(Line(text, over, ZERO, ZERO, "cap"))
    else:
        label = "Additional calls" if included else "Calls"
        lines.extend(_usage_lines(terms.pricing, usage, over, label))
    subtotal = sum((line.amount or ZERO for line in lines), ZERO)
    if discount is not None:
        off = discount_amount(discount, invoice_items(lines, terms.pricing.model))
        text = f"Promotion code {discount.code}: {discount.off_text} {discount.duration_text}"
        lines.append(Line(text, 1, None, ZERO - off, "discount"))
        subtotal -= off
    if trial:
        text = "Free trial: nothing is billed during the trial"
        lines.append(Line(text, 1, None, ZERO - subtotal, "trial"))
        subtotal = ZERO
    return Quote(terms.slug, terms.name, tuple(lines), subtotal, capped=capped)


def cheapest_plan(plans: Iterable[PlanTerms], usage: Usage) -> Quote | None:
    """The cheapest self-serve, fixed-price plan that serves all of `usage` (a hard-capped plan
    whose cap is below it is no candidate); the first listed wins a tie."""
    best: Quote | None = None
    for terms in plans:
        if not terms.self_serve or terms.custom or terms.caps(usage.units):
            continue
        candidate = quote_for_usage(terms, usage)
        if best is None or (candidate.total or ZERO) < (best.total or ZERO):
            best = candidate
    return best


# --- adapter: a Plan (accounts.models.Plan, duck-typed so the engine imports no Django) --------


def plan_terms(plan: Any) -> PlanTerms:
    """PlanTerms of a Plan row; raises PricingError when its pricing is invalid."""
    return PlanTerms(
        slug=plan.slug,
        name=plan.name,
        base_fee=plan.monthly_price,
        included_units=plan.included_units,
        overage_policy=plan.overage_policy,
        pricing=parse_pricing(plan.pricing),
        self_serve=plan.self_serve,
    )


def quote_for_plan(
    plan: Any, usage: Usage, *, discount: Discount | None = None, trial: bool = False
) -> Quote:
    return quote_for_usage(plan_terms(plan), usage, discount=discount, trial=trial)
