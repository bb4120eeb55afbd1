"""The operator console's own pages under /admin/: business metrics as a page and as JSON. The
console's admin site serves them (console/sites.py), staff only, through its admin_view."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pygal
from django.contrib import admin
from django.http import JsonResponse
from django.shortcuts import render

from console import metrics
from core.charts import CHART_OPTIONS, LINE_CHART_STYLE, chart_svg
from core.money import money
from core.periods import Period, parse_month


class BadMonth(ValueError):
    pass


def _month(request, now: datetime) -> Period:
    text = request.GET.get("month")
    if not text:
        return metrics.current_month(now)
    try:
        period = parse_month(text)
    except ValueError as exc:
        raise BadMonth(str(exc)) from None
    if period.start > now:
        raise BadMonth(f"{period.label} has not started yet.")
    if period.start.year < 2000:
        raise BadMonth("month must be 2000-01 or later.")
    return period


def metrics_json(request):
    now = datetime.now(UTC)
    try:
        period = _month(request, now)
    except BadMonth as exc:
        return JsonResponse({"error": "invalid_parameter", "message": str(exc)}, status=400)
    return JsonResponse(metrics.month_metrics(period, now=now))


# --- the page ---------------------------------------------------------------------------------


def _percent(value) -> str:
    return "–" if value is None else f"{Decimal(str(value)) * 100:.1f}%"


def _duration(seconds) -> str:
    if seconds is None:
        return "–"
    seconds = round(float(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m {seconds % 60:02d}s"
    if seconds < 86400:
        return f"{seconds // 3600}h {seconds % 3600 // 60:02d}m"
    return f"{seconds / 86400:.1f} days"


def _dollars(value) -> str:
    return "–" if value is None else money(value)


# name, label, how to show it, target text, definition
ROWS: list[tuple[str, str, Any, str, str]] = [
    (
        "activation_rate",
        "Activation rate",
        _percent,
        "> 40%",
        "Share of the month's sign-ups whose first successful (2xx/3xx) API call came in the "
        "same month — by now, for the live month.",
    ),
    (
        "ttfc_median_seconds",
        "Time to first call (median)",
        _duration,
        "< 5 min",
        "Median time from sign-up to first successful call, over the month's activated "
        "sign-ups (PostgreSQL percentile_cont).",
    ),
    (
        "ttfc_p90_seconds",
        "Time to first call (p90)",
        _duration,
        "",
        "90th percentile of the same durations.",
    ),
    (
        "conversion_rate",
        "Free-to-paid conversion",
        _percent,
        "2–5%",
        "Customers on a non-paid plan at the start of the month plus the month's sign-ups: "
        "the share on a paid plan at its end (plan at any instant from the plan-change "
        "history).",
    ),
    (
        "trial_conversion_rate",
        "Trial-to-paid conversion",
        _percent,
        "",
        "Free trials that ended in the month: the share that went on into a paid subscription "
        "(a card was added) rather than back to the free plan. Trialing customers are on a "
        "paid plan without paying: they count in neither MRR nor paying customers.",
    ),
    (
        "logo_churn_rate",
        "Logo churn",
        _percent,
        "< 5%",
        "Customers paying at the start of the month who are on no paid plan at its end, over "
        "the customers paying at its start.",
    ),
    (
        "revenue_churn_rate",
        "Revenue churn",
        _percent,
        "< 5%",
        "Start-of-month MRR of those churned customers, over the MRR at the start of the "
        "month (contraction is not churn: it shows in NRR).",
    ),
    (
        "nrr",
        "Net revenue retention (month)",
        _percent,
        "> 100%",
        "(start MRR + expansion − contraction − churn) / start MRR, for the cohort paying at "
        "the start of the month, comparing each customer's MRR at start and end.",
    ),
    (
        "nrr_12m",
        "Net revenue retention (12 months)",
        _percent,
        "> 100%",
        "The same for the cohort paying twelve months before the month's end.",
    ),
    (
        "ltv",
        "Lifetime value",
        _dollars,
        "",
        "ARPA (MRR at month end / paying customers at month end) divided by the monthly "
        "revenue churn rate; none when churn is 0.",
    ),
]


def _chart(title: str, months: list[str], series: list[tuple[str, list]], *, fmt) -> str:
    chart = pygal.Line(
        **{**CHART_OPTIONS, "style": LINE_CHART_STYLE, "margin": 8},
        width=520,
        height=260,
        show_legend=len(series) > 1,
        legend_box_size=10,
        x_label_rotation=30,
        title=title,
        value_formatter=fmt,
        print_values=False,
        dots_size=2,
    )
    chart.x_labels = months
    for name, values in series:
        dashed = name.startswith("target")
        chart.add(
            name,
            values,
            show_dots=not dashed,
            stroke_style={"dasharray": "4, 4"} if dashed else None,
        )
    return chart_svg(chart)


def _charts(history: list[dict]) -> list[str]:
    months = [h["month"] for h in history]

    def col(name: str, scale: float = 1.0) -> list:
        return [None if h[name] is None else float(Decimal(str(h[name]))) * scale for h in history]

    def flat(value: float) -> list:
        return [value] * len(history)

    def pct(v):
        return f"{v:.1f}%"

    return [
        _chart(
            "Activation rate",
            months,
            [("activation", col("activation_rate", 100)), ("target 40%", flat(40))],
            fmt=pct,
        ),
        _chart(
            "Time to first call (minutes)",
            months,
            [
                ("median", col("ttfc_median_seconds", 1 / 60)),
                ("p90", col("ttfc_p90_seconds", 1 / 60)),
                ("target 5 min", flat(5)),
            ],
            fmt=lambda v: f"{v:.1f} min",
        ),
        _chart(
            "Free-to-paid conversion",
            months,
            [("conversion", col("conversion_rate", 100)), ("target 2%", flat(2))],
            fmt=pct,
        ),
        _chart(
            "Monthly churn",
            months,
            [
                ("logo churn", col("logo_churn_rate", 100)),
                ("revenue churn", col("revenue_churn_rate", 100)),
                ("target 5%", flat(5)),
            ],
            fmt=pct,
        ),
        _chart(
            "Net revenue retention",
            months,
            [
                ("month", col("nrr", 100)),
                ("12 months", col("nrr_12m", 100)),
                ("target 100%", flat(100)),
            ],
            fmt=pct,
        ),
        _chart(
            "MRR and usage revenue",
            months,
            [("MRR", col("mrr")), ("usage revenue", col("usage_revenue"))],
            fmt=lambda v: money(v, places=0),
        ),
    ]


def metrics_page(request):
    now = datetime.now(UTC)
    error = None
    try:
        period = _month(request, now)
    except BadMonth as exc:
        error, period = str(exc), metrics.current_month(now)
    history = metrics.trend(period, now=now)
    figures = history[-1]
    rows = [
        {
            "label": label,
            "value": show(figures[name]),
            "target": target,
            "ok": figures["health"].get(name),
            "definition": definition,
        }
        for name, label, show, target, definition in ROWS
    ]
    movement = [
        ("New", figures["mrr_new"], "Changes from a free plan (or sign-up) to a paid plan."),
        ("Expansion", figures["mrr_expansion"], "Paid → paid changes to a higher MRR."),
        ("Contraction", figures["mrr_contraction"], "Paid → paid changes to a lower MRR."),
        ("Churned", figures["mrr_churned"], "Paid → free changes (the MRR lost)."),
    ]
    context = {
        **admin.site.each_context(request),
        "title": "Business metrics",
        "period": period,
        "previous_month": period.previous().label,
        "next_month": period.next().label if period.end <= now else None,
        "figures": figures,
        "rows": rows,
        "movement": [(n, _dollars(v), d) for n, v, d in movement],
        "mrr": _dollars(figures["mrr"]),
        "mrr_start": _dollars(figures["mrr_start"]),
        "usage_revenue": _dollars(figures["usage_revenue"]),
        "arpa": _dollars(figures["arpa"]),
        "charts": _charts(history),
        "changes": [
            {
                "change": change,
                "delta": _dollars(change.mrr_delta),
                "positive": change.mrr_delta >= 0,
            }
            for change in metrics.recent_plan_changes(period, now=now)
        ],
        "error": error,
    }
    return render(request, "console/metrics.html", context, status=400 if error else 200)
