"""Pricing reads: what usage costs, through the rating engine (pricing.engine): the usage
estimate, the calculator's usage and its plan advice, and the billable class of each endpoint."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable
from typing import Any

from accounts.models import Customer, Plan
from accounts.selectors import customer_on_trial
from core.periods import current_period
from metering.models import Endpoint
from metering.selectors import UsageBreakdown
from pricing.engine import (
    BILLABLE_CLASSES,
    PricingError,
    Quote,
    Usage,
    cheapest_plan,
    plan_terms,
    quote_for_plan,
)
from pricing.promotions import customer_discount

logger = logging.getLogger(__name__)


def billing_classes() -> dict[str, str | None]:
    """Endpoint label → the billable class its calls are priced in; None for a free endpoint
    (weight 0: keys, usage, billing), whose calls are not billed per call either. A label the
    table does not know is "default" (see `calls_per_class`)."""
    return {
        f"{method} {path}": (billable_class if weight else None)
        for method, path, weight, billable_class in Endpoint.objects.values_list(
            "method", "path", "weight", "billable_class"
        )
    }


def calls_per_class(
    calls: Iterable[tuple[str, int]], classes: dict[str, str | None]
) -> dict[str, int]:
    """Billable calls (endpoint label, count) summed by billable class."""
    result: dict[str, int] = {}
    for label, count in calls:
        billable_class = classes.get(label, "default")
        if count and billable_class is not None:
            result[billable_class] = result.get(billable_class, 0) + count
    return result


def calls_by_class(breakdown: UsageBreakdown) -> dict[str, int]:
    """Billable calls of a usage breakdown by billable class, through the Endpoint table."""
    return calls_per_class(
        ((label, counts.calls) for label, counts in breakdown.by_endpoint.items()),
        billing_classes(),
    )


def class_unit_weights() -> dict[str, int]:
    """Usage units of one call of each class, for pricing class counts on a unit-priced plan:
    the most common non-zero weight of the class in the Endpoint table (reads 1, writes 2,
    images 10 by default), the lower on a tie; 1 for "default" or a class with no endpoint."""
    weights: dict[str, Counter[int]] = {name: Counter() for name in BILLABLE_CLASSES}
    for billable_class, weight in Endpoint.objects.filter(weight__gt=0).values_list(
        "billable_class", "weight"
    ):
        weights.setdefault(billable_class, Counter())[weight] += 1
    result = {"default": 1}
    for name, counter in weights.items():
        if name != "default":
            result[name] = min(counter, key=lambda w: (-counter[w], w)) if counter else 1
    return result


def calculator_usage(*, calls: int | None, by_class: dict[str, int]) -> Usage:
    """The usage the pricing calculator asks about. `calls` are plain calls (one unit each);
    class counts add their weight in units, for unit-priced plans, and are priced per class on
    class-priced plans (where plain calls are "default" calls)."""
    if not by_class:
        return Usage(units=calls or 0)
    weights = class_unit_weights()
    units = (calls or 0) + sum(count * weights[name] for name, count in by_class.items())
    return Usage(units=units, calls={"default": calls or 0, **by_class})


def suggested_plan(usage: Usage) -> Quote | None:
    """The cheapest active self-serve plan for this usage (plans with a bad pricing definition
    are skipped and logged, so one misconfigured row does not break the calculator)."""
    terms = []
    for plan in Plan.objects.filter(is_active=True, self_serve=True):
        try:
            terms.append(plan_terms(plan))
        except PricingError:
            logger.exception("pricing: plan %s has an invalid pricing definition", plan.slug)
    return cheapest_plan(terms, usage)


def quote_suggestion(quote: Quote, usage: Usage) -> dict[str, str] | None:
    """The cheapest self-serve plan for `usage`, when it is another one and the quoted plan is
    dearer, refuses part of the usage, or has no public price (the calculator's hint)."""
    best = suggested_plan(usage)
    if best is None or best.total is None or best.plan == quote.plan:
        return None
    if quote.total is not None and not quote.capped and best.total >= quote.total:
        return None
    return {"plan": best.plan, "plan_name": best.plan_name, "total": f"{best.total:.2f}"}


def customer_quote(customer: Customer, usage: Usage) -> Quote | None:
    """The customer's plan quoted for `usage` in the current period as it will be invoiced: on a
    free trial nothing is billed (a `trial` line says so), and a promotion code's discount still
    running is priced as Stripe will take it off. None when the plan's pricing is invalid (the
    error is logged)."""
    discount = customer_discount(customer, invoiced_at=current_period().end)
    try:
        return quote_for_plan(
            customer.plan, usage, discount=discount, trial=customer_on_trial(customer)
        )
    except PricingError:
        logger.exception("pricing: plan %s has an invalid pricing definition", customer.plan.slug)
        return None


def usage_estimate(customer: Customer, breakdown: UsageBreakdown) -> dict[str, Any] | None:
    """The estimated bill of the period so far: the customer's plan quoted for its usage (the
    quote endpoint's shape, customer_quote). None when the plan's pricing is invalid: the usage
    page still answers."""
    quote = customer_quote(
        customer, Usage(units=breakdown.total.units, calls=calls_by_class(breakdown))
    )
    return None if quote is None else {**quote.to_dict(), "suggestion": None}
