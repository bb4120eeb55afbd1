"""The rating engine: what a usage costs on a plan, line by line, in Decimal dollars.

Pure Python (no Django, no I/O) so the calculator, the usage estimate, alerts and invoices all
price with the same code, and so it can be property-tested. `definitions` parses and validates
a plan's pricing; `quotes` prices usage. The only Plan-aware code is the duck-typed adapter
`plan_terms`. The pricing JSON schema and its Stripe mapping are in docs/pricing.md.
"""

from pricing.engine.definitions import (
    BILLABLE_CLASSES,
    CENT,
    CLASS_LABELS,
    CURRENCY,
    MODELS_WITH_INCLUDED,
    ZERO,
    DiscountBand,
    PlanTerms,
    PricingError,
    Tier,
    Usage,
    UsagePricing,
    parse_pricing,
    round_money,
)
from pricing.engine.discounts import DURATIONS, Discount
from pricing.engine.quotes import (
    Line,
    Quote,
    cheapest_plan,
    format_unit_price,
    plan_terms,
    quote_for_plan,
    quote_for_usage,
)

__all__ = [
    "BILLABLE_CLASSES",
    "CENT",
    "CLASS_LABELS",
    "CURRENCY",
    "DURATIONS",
    "MODELS_WITH_INCLUDED",
    "ZERO",
    "Discount",
    "DiscountBand",
    "Line",
    "PlanTerms",
    "PricingError",
    "Quote",
    "Tier",
    "Usage",
    "UsagePricing",
    "cheapest_plan",
    "format_unit_price",
    "parse_pricing",
    "plan_terms",
    "quote_for_plan",
    "quote_for_usage",
    "round_money",
]
