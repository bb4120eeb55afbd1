"""The customer dashboard's home page (/dashboard/): the first call, usage of the period and its
forecast, the estimated bill so far and at the period's end, the plan, and banners for usage
alerts and payment failures. Each part comes from the app that owns it; the other tabs are those
apps' own pages."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from accounts.models import Customer
from accounts.views import api_base_url, customer_required, new_key_pop
from alerts.selectors import current_alerts
from billing import credits
from billing import selectors as billing_selectors
from core.money import cents_to_dollars, money
from core.periods import current_period
from metering.forecast import projected_breakdown
from metering.views import period_usage
from pricing.display import plan_card, quote_display


def _credits(customer: Customer) -> dict | None:
    """The prepaid credits' card: the balance and the day it runs out (the billing page has the
    burn-down)."""
    if not credits.customer_has_credits(customer):
        return None
    summary = credits.credits_summary(customer)
    return {"summary": summary, "balance": money(summary.balance)}


@customer_required
@require_GET
def dashboard(request: HttpRequest, customer: Customer) -> HttpResponse:
    period = current_period()
    breakdown, usage = period_usage(customer, period)
    # The engine's estimate, with the credits line of a customer with prepaid credits.
    estimate = quote_display(credits.usage_estimate(customer, breakdown))
    forecast = usage["forecast"]
    projected_bill = None
    if forecast is not None and forecast.units_at_period_end is not None:
        projected = projected_breakdown(breakdown, forecast.units_at_period_end)
        projected_bill = quote_display(credits.usage_estimate(customer, projected))
    failure = billing_selectors.customer_open_payment_failure(customer)
    current = current_alerts(customer)
    new_key = new_key_pop(request)
    context = {
        "customer": customer,
        "plan": customer.plan,
        "plan_card": plan_card(customer.plan),
        "usage": usage,
        "estimate": estimate,
        "projected_bill": projected_bill,
        "alert": current[0] if current else None,
        "failure": failure,
        "failure_amount": money(cents_to_dollars(failure.amount_due)) if failure else "",
        "new_key": new_key,
        "api_base": api_base_url(request),
        "poll_ms": settings.PORTAL_FIRST_CALL_POLL_MS,
        "recent_refusals": usage["refusals"][:8],
        "credits": _credits(customer),
    }
    return render(request, "portal/dashboard.html", context)
