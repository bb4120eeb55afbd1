"""The public pricing page: every plan of the catalogue, the cost curves and the calculator."""

from __future__ import annotations

import logging
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from accounts.models import Plan
from accounts.selectors import customer_for_user, plan_catalogue
from core.email import sales_email
from pricing import selectors
from pricing.charts import cost_curve_svg
from pricing.display import (
    plan_card,
    quote_display,
)
from pricing.engine import (
    Discount,
    PricingError,
    quote_for_plan,
)
from pricing.forms import CalculatorForm
from pricing.promotions import PromotionCodeInvalid, promotion_code_redeemable

logger = logging.getLogger(__name__)

CALCULATOR_DEFAULT_PLAN = "pro"
CALCULATOR_DEFAULT_CALLS = 100_000


# --- the public pricing page and its calculator -----------------------------------------


def calculator_quote(
    plan: Plan, calls: int, discount: Discount | None = None
) -> dict[str, Any] | None:
    """The calculator's answer, as the quote endpoint gives it (same engine, same suggestion)."""
    usage = selectors.calculator_usage(calls=calls, by_class={})
    try:
        quote = quote_for_plan(plan, usage, discount=discount)
    except PricingError:
        logger.exception("pricing: plan %s has an invalid pricing definition", plan.slug)
        return None
    body = {**quote.to_dict(), "suggestion": selectors.quote_suggestion(quote, usage)}
    return quote_display(body)


def featured_plan(plans: list[Plan]) -> Plan | None:
    """The plan the pricing page highlights and the calculator starts on: Pro when the
    catalogue has it, else the first paid self-serve plan, else the first plan."""
    by_slug = {plan.slug: plan for plan in plans}
    paid = [plan for plan in plans if plan.self_serve and plan.is_paid]
    return by_slug.get(CALCULATOR_DEFAULT_PLAN) or (paid or plans or [None])[0]


@require_GET
def pricing_page(request: HttpRequest) -> HttpResponse:
    plans = list(plan_catalogue())
    by_slug = {plan.slug: plan for plan in plans}
    default_plan = featured_plan(plans)
    form = CalculatorForm(
        request.GET if {"plan", "calls"} & set(request.GET) else None,
        plans=plans,
        initial={
            "plan": default_plan.slug if default_plan else "",
            "calls": CALCULATOR_DEFAULT_CALLS,
        },
    )
    plan, calls, discount, code_error = default_plan, CALCULATOR_DEFAULT_CALLS, None, None
    if form.is_bound and form.is_valid():
        plan, calls = by_slug[form.cleaned_data["plan"]], form.cleaned_data["calls"]
        if code := form.cleaned_data["promotion_code"].strip():
            try:
                discount = promotion_code_redeemable(code).discount
            except PromotionCodeInvalid as exc:
                code_error = exc.message
    quote = calculator_quote(plan, calls, discount) if plan else None
    context = {
        "cards": [plan_card(p) for p in plans],
        "form": form,
        "selected_plan": plan,
        "calls": calls,
        "quote": quote,
        "cost_curve_svg": cost_curve_svg([p for p in plans if p.self_serve]),
        "sales_email": sales_email(),
        "featured": default_plan.slug if default_plan else "",
        "class_weights": selectors.class_unit_weights(),
        "customer": customer_for_user(request.user),
        "code_error": code_error,
    }
    return render(request, "pricing/pricing.html", context)
