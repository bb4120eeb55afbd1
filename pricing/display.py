"""Plans and quotes as pages show them: the plan cards of the pricing and billing pages, the
usage pricing in words, and quotes with their amounts formatted (core.money)."""

from __future__ import annotations

import logging
from typing import Any

from accounts.models import Feature, OveragePolicy, Plan
from core.money import money
from pricing.engine import (
    CLASS_LABELS,
    PlanTerms,
    PricingError,
    plan_terms,
)

logger = logging.getLogger(__name__)


def quote_display(quote: dict[str, Any] | None) -> dict[str, Any] | None:
    """A quote dict (the quote endpoint's shape) with its amounts formatted for a page."""
    if quote is None:
        return None
    return {
        **quote,
        "total_display": money(quote["total"]) if quote["total"] is not None else "Custom",
        "lines": [
            {**line, "amount_display": money(line["amount"]) if line["amount"] else ""}
            for line in quote["lines"]
        ],
    }


def _range(start: int, end: int | None) -> str:
    return f"{start:,}+" if end is None else f"{start:,}–{end:,}"


def usage_pricing_lines(terms: PlanTerms) -> list[str]:
    """What the engine charges beyond the base fee, in words, from the plan's pricing terms."""
    pricing = terms.pricing
    then = "then " if terms.included else ""
    if terms.custom:
        return ["Volume pricing by contract"]
    if pricing.model == "none":
        if terms.included and terms.overage_policy == OveragePolicy.BLOCK:
            return [f"Hard cap at {terms.included:,} calls: no overage charges"]
        return ["No usage charges"]
    if pricing.model == "per_unit":
        return [f"{then.capitalize()}{money(pricing.unit_price, exact=True)} per call"]
    if pricing.model == "package":
        price = money(pricing.package_price, exact=True)
        return [f"{then.capitalize()}{price} per {pricing.package_size:,} calls"]
    if pricing.model in ("graduated", "volume"):
        head = (
            "Then per call, by tier:" if pricing.model == "graduated" else "All calls at one rate:"
        )
        lines = [head]
        start = 1
        for tier in pricing.tiers:
            fee = f" + {money(tier.flat_fee, exact=True)}" if tier.flat_fee else ""
            lines.append(f"{_range(start, tier.up_to)}: {money(tier.unit_price, exact=True)}{fee}")
            start = (tier.up_to or 0) + 1
        return lines
    labels = {
        **CLASS_LABELS,
        "default": "Other calls" if len(pricing.class_prices) > 1 else "Calls",
    }
    lines = [
        f"{labels[name]}: {money(price, exact=True)} each"
        for name, price in pricing.class_prices.items()
    ]
    start = 1
    for band in pricing.volume_discounts:
        if band.discount:
            percent = format((band.discount * 100).normalize(), "f")
            lines.append(f"{percent}% off from {start:,} calls")
        start = (band.up_to or 0) + 1
    return lines


def plan_card(plan: Plan) -> dict[str, Any]:
    """A plan as the pricing page and the billing page show it: everything from the Plan row and
    the rating engine's terms (no price is written in a template)."""
    try:
        terms = plan_terms(plan)
        usage_lines = usage_pricing_lines(terms)
    except PricingError:
        logger.exception("pricing: plan %s has an invalid pricing definition", plan.slug)
        usage_lines = ["Pricing being updated: contact us"]
    if plan.overage_policy == OveragePolicy.PREPAID:
        usage_lines.append("Paid from prepaid credits: calls beyond them wait for more credits")
    if plan.monthly_credit:
        usage_lines.append(f"{money(plan.monthly_credit)} of credits free every month")
    if plan.monthly_price is None:
        price, period = "Custom", ""
    else:
        price, period = money(plan.monthly_price, drop_zero_cents=True), "/month"
    if plan.included_units is None:
        included = "Unlimited calls"
    else:
        included = f"{plan.included_units:,} calls a month included"
    return {
        "plan": plan,
        "price": price,
        "price_period": period,
        "included": included,
        "usage_lines": usage_lines,
        "hard_cap": plan.overage_policy == OveragePolicy.BLOCK and plan.included_units is not None,
        "rate_limit": f"{plan.rate_limit_per_minute:,} requests a minute",
        "max_keys": f"{plan.max_keys:,} API key{'s' if plan.max_keys != 1 else ''}",
        "features": [
            {"label": label, "included": plan.allows(value)} for value, label in Feature.choices
        ],
    }
