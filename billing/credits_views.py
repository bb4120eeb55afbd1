"""Prepaid credits on the billing page: the balance, its burn-down chart and table with the
run-out forecast, the ledger, and the packs (each bought through Stripe Checkout, payment
mode; the credits are granted when the payment completes: billing/credits.py)."""

from __future__ import annotations

from typing import Any

import pygal
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.views.decorators.http import require_POST

from accounts.models import Customer
from accounts.views import customer_required
from billing.checkout_views import to_stripe
from billing.credits import CreditsSummary, credit_packs, credits_checkout_start, credits_summary
from billing.models import CreditEntry
from core.charts import CHART_OPTIONS, LINE_CHART_STYLE, chart_cached, chart_svg, legend_options
from core.money import money


def burn_down_svg(summary: CreditsSummary) -> str | None:
    """The balance by day this period, then the forecast to the period's end."""
    if not summary.burn_down:
        return None
    actual = [(row["date"], float(row["balance"])) for row in summary.burn_down]
    projected = [(row["date"], float(row["balance"])) for row in summary.forecast]
    labels = [d.strftime("%b %-d") for d, _ in actual + projected]
    data = {"actual": actual, "projected": projected}

    def render_svg() -> str:
        chart = pygal.Line(
            **{**CHART_OPTIONS, "style": LINE_CHART_STYLE},
            width=880,
            height=300,
            y_title="Credit balance (USD)",
            **legend_options(2),
            value_formatter=lambda v: money(v),
            x_labels=labels,
            x_labels_major_every=max(len(labels) // 6, 1),
            show_minor_x_labels=False,
            truncate_label=-1,
            show_dots=False,
        )
        chart.add("Balance", [v for _, v in actual] + [None] * len(projected))
        # The forecast starts from today's balance so the two lines join.
        chart.add(
            "Forecast",
            [None] * (len(actual) - 1) + [actual[-1][1]] + [v for _, v in projected],
            stroke_style={"dasharray": "6, 4"},
        )
        return chart_svg(chart)

    return chart_cached("credits-burn-down", data, render_svg)


def credits_context(customer: Customer) -> dict[str, Any]:
    """The billing page's credits section."""
    summary = credits_summary(customer)
    entries = CreditEntry.objects.filter(customer=customer)[:10]
    return {
        "summary": summary,
        "balance": money(summary.balance),
        "period_balance": money(summary.period_balance),
        "used": money(summary.used_this_period),
        "chart": burn_down_svg(summary),
        "days": [
            {**row, "balance": money(row["balance"])} for row in reversed(summary.burn_down[-14:])
        ],
        "entries": [
            {"entry": entry, "amount": money(entry.amount), "kind": entry.get_kind_display()}
            for entry in entries
        ],
        "packs": [
            {"pack": name, "amount": money(amount)} for name, amount in credit_packs().items()
        ],
        "monthly_credit": money(customer.plan.monthly_credit)
        if customer.plan.monthly_credit
        else None,
    }


@customer_required
@require_POST
def credits_buy(request: HttpRequest, customer: Customer, pack: str) -> HttpResponse:
    return to_stripe(
        request,
        lambda: (
            credits_checkout_start(
                customer=customer,
                pack=pack,
                success_url=request.build_absolute_uri(reverse("dashboard-checkout-done")),
                cancel_url=request.build_absolute_uri(reverse("dashboard-billing")) + "#credits",
            ).url
        ),
    )
