"""Billing pages of the portal: the dashboard overview, plans and subscription, payment method,
invoices, usage alerts and the public pricing page with its calculator.

Every write goes through billing.services / billing.alerts; their ApplicationErrors are shown
to the customer (their `.message`), never turned into a 500.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from email.utils import parseaddr
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import Customer, Feature, OveragePolicy, Plan
from accounts.selectors import customer_for_user, plan_catalogue
from accounts.views import api_base_url, customer_required, new_key_pop
from billing import alerts, selectors, services
from billing.charts import cost_curve_svg
from billing.forms import (
    AlertSettingsForm,
    CalculatorForm,
    PaymentMethodForm,
    PlanChangeForm,
)
from billing.pricing import (
    CLASS_LABELS,
    PlanTerms,
    PricingError,
    Usage,
    format_unit_price,
    plan_terms,
    quote_for_plan,
)
from metering.periods import current_period
from metering.selectors import customer_usage
from metering.views import period_usage
from petstore.errors import ApplicationError

logger = logging.getLogger(__name__)

CALCULATOR_DEFAULT_PLAN = "pro"
CALCULATOR_DEFAULT_CALLS = 100_000


# --- presentation helpers -----------------------------------------------------------------


def money(amount: Decimal | str | None) -> str:
    """'$1,234.50' from the engine's Decimal or decimal string."""
    if amount is None or amount == "":
        return ""
    return f"${Decimal(amount):,.2f}"


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
        return [f"{then.capitalize()}${format_unit_price(pricing.unit_price)} per call"]
    if pricing.model == "package":
        price = format_unit_price(pricing.package_price)
        return [f"{then.capitalize()}${price} per {pricing.package_size:,} calls"]
    if pricing.model in ("graduated", "volume"):
        head = (
            "Then per call, by tier:" if pricing.model == "graduated" else "All calls at one rate:"
        )
        lines = [head]
        start = 1
        for tier in pricing.tiers:
            fee = f" + ${format_unit_price(tier.flat_fee)}" if tier.flat_fee else ""
            lines.append(f"{_range(start, tier.up_to)}: ${format_unit_price(tier.unit_price)}{fee}")
            start = (tier.up_to or 0) + 1
        return lines
    labels = {
        **CLASS_LABELS,
        "default": "Other calls" if len(pricing.class_prices) > 1 else "Calls",
    }
    lines = [
        f"{labels[name]}: ${format_unit_price(price)} each"
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
        logger.exception("billing: plan %s has an invalid pricing definition", plan.slug)
        usage_lines = ["Pricing being updated: contact us"]
    if plan.monthly_price is None:
        price, period = "Custom", ""
    else:
        price = (
            f"${plan.monthly_price:,.0f}"
            if plan.monthly_price % 1 == 0
            else money(plan.monthly_price)
        )
        period = "/month"
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


def _read(selector, customer: Customer) -> tuple[Any, str | None]:
    """A billing read that may fail (Stripe down): its value, or None and the message to show."""
    try:
        return selector(customer), None
    except ApplicationError as exc:
        return None, exc.message


def _card_text(info) -> str | None:
    if info is None:
        return None
    return f"{info.brand.title()} •••• {info.last4}"


def sales_email() -> str:
    return parseaddr(settings.DEFAULT_FROM_EMAIL)[1]


# --- dashboard overview -----------------------------------------------------------------


@customer_required
@require_GET
def overview(request: HttpRequest, customer: Customer) -> HttpResponse:
    period = current_period()
    breakdown, usage = period_usage(customer, period)
    estimate = quote_display(selectors.usage_estimate(customer, breakdown))
    failure = selectors.customer_open_payment_failure(customer)
    current = alerts.current_alerts(customer)
    new_key = new_key_pop(request)
    context = {
        "customer": customer,
        "plan": customer.plan,
        "plan_card": plan_card(customer.plan),
        "usage": usage,
        "estimate": estimate,
        "alert": current[0] if current else None,
        "failure": failure,
        "failure_amount": money(Decimal(failure.amount_due) / 100) if failure else "",
        "new_key": new_key,
        "api_base": api_base_url(request),
        "poll_ms": settings.PORTAL_FIRST_CALL_POLL_MS,
        "recent_refusals": usage["refusals"][:8],
    }
    return render(request, "billing/overview.html", context)


# --- plans, subscription, payment method, invoices -------------------------------------


def _plan_rows(customer: Customer) -> list[dict[str, Any]]:
    current = customer.plan
    rows = []
    for plan in plan_catalogue(self_serve_only=True):
        card = plan_card(plan)
        if plan.pk == current.pk:
            card["action"] = None
        else:
            dearer = (plan.base_fee, plan.sort_order) > (current.base_fee, current.sort_order)
            card["action"] = "Upgrade" if dearer else "Downgrade"
        rows.append(card)
    return rows


@customer_required
@require_GET
def billing_page(request: HttpRequest, customer: Customer) -> HttpResponse:
    subscription, subscription_error = _read(selectors.customer_subscription, customer)
    invoices, invoices_error = _read(selectors.customer_invoices, customer)
    for invoice in invoices or []:
        invoice["total_display"] = money(invoice.get("total"))
        invoice["amount_due_display"] = money(invoice.get("amount_due"))
    context = {
        "customer": customer,
        "plan": customer.plan,
        "plan_card": plan_card(customer.plan),
        "subscription": subscription,
        "subscription_error": subscription_error,
        "card_on_file": _card_text(subscription.payment_method) if subscription else None,
        "invoices": invoices or [],
        "invoices_error": invoices_error,
        "plans": _plan_rows(customer),
        "payment_form": PaymentMethodForm(),
        "failure": selectors.customer_open_payment_failure(customer),
    }
    return render(request, "billing/billing.html", context)


@customer_required
@require_POST
def payment_method(request: HttpRequest, customer: Customer) -> HttpResponse:
    form = PaymentMethodForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose one of the test cards.")
        return redirect("dashboard-billing")
    try:
        info = services.payment_method_set(
            customer=customer, payment_method=form.cleaned_data["payment_method"]
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"{_card_text(info)} is now your default card.")
    return redirect("dashboard-billing")


@customer_required
@require_http_methods(["GET", "POST"])
def plan_change(request: HttpRequest, customer: Customer, slug: str) -> HttpResponse:
    plan = get_object_or_404(plan_catalogue(self_serve_only=True), slug=slug)
    if plan.pk == customer.plan_id:
        messages.info(request, f"You are already on the {plan.name} plan.")
        return redirect("dashboard-billing")
    subscription, read_error = (None, None)
    if plan.is_paid:
        subscription, read_error = _read(selectors.customer_subscription, customer)
    card_on_file = _card_text(subscription.payment_method) if subscription else None
    form = PlanChangeForm(
        request.POST if request.method == "POST" else None, card_on_file=card_on_file
    )
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            method = (form.cleaned_data["payment_method"] or None) if plan.is_paid else None
            try:
                state = services.subscription_change(
                    customer=customer, plan=plan, payment_method=method
                )
            except ApplicationError as exc:
                form.add_error(None, exc.message)
                status = exc.status_code
            else:
                if state is None or not plan.is_paid:
                    when = (
                        f" on {state.current_period_end:%B %-d, %Y}"
                        if state and state.current_period_end
                        else " at the end of the billing period"
                    )
                    messages.success(
                        request, f"Your paid subscription ends{when}; then you are on {plan.name}."
                    )
                else:
                    messages.success(request, f"You are now on the {plan.name} plan.")
                return redirect("dashboard-billing")
    period = current_period()
    used = customer_usage(customer_id=customer.pk, start=period.start, end=period.end).total.units
    quotes = {}
    for key, target in (("current", customer.plan), ("new", plan)):
        try:
            quotes[key] = quote_display(quote_for_plan(target, Usage(units=used)).to_dict())
        except PricingError:
            quotes[key] = None
    context = {
        "customer": customer,
        "plan": customer.plan,
        "target": plan,
        "target_card": plan_card(plan),
        "form": form,
        "units_used": used,
        "quotes": quotes,
        "read_error": read_error,
        "card_on_file": card_on_file,
        "upgrade": (plan.base_fee, plan.sort_order)
        > (customer.plan.base_fee, customer.plan.sort_order),
    }
    return render(request, "billing/plan_change.html", context, status=status)


@customer_required
@require_http_methods(["GET", "POST"])
def subscription_cancel(request: HttpRequest, customer: Customer) -> HttpResponse:
    error = None
    status = 200
    if request.method == "POST":
        try:
            state = services.subscription_cancel(customer=customer)
        except ApplicationError as exc:
            error = exc.message
            status = exc.status_code
        else:
            when = (
                f"{state.current_period_end:%B %-d, %Y}"
                if state.current_period_end
                else "the end of the billing period"
            )
            messages.success(
                request,
                f"Your {state.plan_name} subscription is cancelled. It stays active until "
                f"{when}, then you move to the Free plan.",
            )
            return redirect("dashboard-billing")
    subscription, read_error = _read(selectors.customer_subscription, customer)
    context = {
        "customer": customer,
        "plan": customer.plan,
        "subscription": subscription,
        "error": error or read_error,
    }
    return render(request, "billing/cancel.html", context, status=status)


# --- usage alerts -------------------------------------------------------------------------


@customer_required
@require_http_methods(["GET", "POST"])
def alerts_page(request: HttpRequest, customer: Customer) -> HttpResponse:
    current_settings = alerts.alert_settings(customer)
    initial = {
        "thresholds": ", ".join(str(t) for t in current_settings.thresholds),
        "email_enabled": current_settings.email_enabled,
    }
    form = AlertSettingsForm(request.POST if request.method == "POST" else None, initial=initial)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                alerts.alert_settings_update(
                    customer=customer,
                    thresholds=form.cleaned_data["thresholds"],
                    email_enabled=form.cleaned_data["email_enabled"],
                )
            except ApplicationError as exc:
                form.add_error("thresholds", exc.message)
                status = exc.status_code
            else:
                messages.success(request, "Alert settings saved.")
                return redirect("dashboard-alerts")
    plan = customer.plan
    period = current_period()
    used = customer_usage(customer_id=customer.pk, start=period.start, end=period.end).total.units
    included = plan.included_units
    thresholds = [
        {"percent": t, "units": None if not included else included * t // 100}
        for t in current_settings.thresholds
    ]
    context = {
        "customer": customer,
        "plan": plan,
        "form": form,
        "settings": current_settings,
        "thresholds": thresholds,
        "units_used": used,
        "included_units": included,
        "percent_used": None if not included else used * 100 / included,
        "alerts": alerts.current_alerts(customer),
        "period": period,
    }
    return render(request, "billing/alerts.html", context, status=status)


# --- the public pricing page and its calculator -----------------------------------------


def calculator_quote(plan: Plan, calls: int) -> dict[str, Any] | None:
    """The calculator's answer, as the quote endpoint gives it (same engine, same suggestion)."""
    usage = selectors.calculator_usage(calls=calls, by_class={})
    try:
        quote = quote_for_plan(plan, usage)
    except PricingError:
        logger.exception("billing: plan %s has an invalid pricing definition", plan.slug)
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
    plan, calls = default_plan, CALCULATOR_DEFAULT_CALLS
    if form.is_bound and form.is_valid():
        plan, calls = by_slug[form.cleaned_data["plan"]], form.cleaned_data["calls"]
    quote = calculator_quote(plan, calls) if plan else None
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
    }
    return render(request, "billing/pricing.html", context)
