"""Usage pages of the portal: the usage page, the live usage panel of the dashboard and the
first-call status the dashboard polls. Also the usage chart (in core.charts' style) and the
usage overview that the dashboard's home (portal/dashboard.py) embeds."""

from __future__ import annotations

import logging
from datetime import date, timedelta

import pygal
from django.contrib.humanize.templatetags.humanize import ordinal
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from accounts.models import ApiKey, Customer, Feature, OveragePolicy, Plan
from accounts.views import customer_required
from core.charts import (
    CHART_OPTIONS,
    LINE_CHART_STYLE,
    chart_cached,
    chart_svg,
    legend_options,
)
from core.periods import Period, current_period, parse_month, period_containing
from metering.forecast import Forecast, customer_forecast
from metering.models import REFUSAL_REASONS, Endpoint
from metering.selectors import UsageBreakdown, customer_usage

logger = logging.getLogger(__name__)

CHART_MAX_SERIES = 6  # the busiest endpoints; the rest is summed as "Other endpoints"
MONTHS_LISTED = 12


def period_days(period: Period) -> list[date]:
    first = period.start.date()
    return [first + timedelta(days=n) for n in range((period.end - period.start).days)]


def projected_days(
    forecast: Forecast | None, period: Period, used: int, included: int | None, hard_cap: bool
) -> dict[date, int]:
    """Units the forecast expects on each day left in the period (today: the rest of it), never
    past the quota on a hard-capped plan."""
    if forecast is None or not forecast.daily_units:
        return {}
    now = timezone.now()
    today = now.date()
    room = None if not (hard_cap and included is not None) else max(included - used, 0)
    result: dict[date, int] = {}
    for day in period_days(period):
        if day < today:
            continue
        share = 1.0
        if day == today:
            share = 1 - (now - now.replace(hour=0, minute=0, second=0, microsecond=0)) / timedelta(
                days=1
            )
        units = round(forecast.daily_units * share)
        if room is not None:
            units = min(units, room)
            room -= units
        if units:
            result[day] = units
    return result


def usage_chart_svg(
    breakdown: UsageBreakdown, period: Period, projected: dict[date, int] | None = None
) -> str | None:
    """Billable units per day of the period, stacked by endpoint, and the forecast's units on
    the days left (None when nothing was used)."""
    totals = {ep: c.units for ep, c in breakdown.by_endpoint.items() if c.units}
    if not totals:
        return None
    projected = projected or {}
    ranked = sorted(totals, key=lambda ep: (-totals[ep], ep))
    shown, rest = ranked[:CHART_MAX_SERIES], set(ranked[CHART_MAX_SERIES:])
    if len(rest) == 1:  # "Other" for a single endpoint hides its name for nothing
        shown, rest = ranked, set()
    days = period_days(period)
    series: list[tuple[str, list[int | None]]] = []
    for endpoint in shown:
        per_day = [breakdown.by_day_endpoint.get((day, endpoint)) for day in days]
        series.append((endpoint, [c.units if c and c.units else None for c in per_day]))
    if rest:
        other = [
            sum(
                c.units
                for ep in rest
                if (c := breakdown.by_day_endpoint.get((day, ep))) is not None
            )
            or None
            for day in days
        ]
        series.append(("Other endpoints", other))
    if projected:
        series.append(("Projected at this rate", [projected.get(day) for day in days]))
    day_names = [f"{day:%b} {day.day}" for day in days]
    labels = [str(day.day) for day in days]
    title = period.start.strftime("%B %Y") + " (UTC)"

    def render_svg() -> str:
        chart = pygal.StackedBar(
            **CHART_OPTIONS,
            **legend_options(len(series)),
            width=880,
            height=320,
            x_title=title,
            y_title="Units",
            value_formatter=lambda v: f"{v:,.0f}",
            spacing=8,
        )
        chart.x_labels = labels
        for name, values in series:
            # The label is the tooltip's (portal.js turns it into the bar's SVG <title>).
            chart.add(
                name,
                [
                    None if v is None else {"value": v, "label": f"{name}, {day_names[i]}"}
                    for i, v in enumerate(values)
                ],
            )
        return chart_svg(chart)

    return chart_cached("usage-by-day", [title, labels, series], render_svg)


def forecast_chart_svg(
    breakdown: UsageBreakdown,
    period: Period,
    projected: dict[date, int],
    included: int | None,
) -> str | None:
    """The period's units so far as a running total (solid), the forecast's line to the period's
    end (dashed) and the included units (flat): where the lines cross is the quota's day."""
    if not projected:
        return None
    days = period_days(period)
    today = timezone.now().date()
    used_line: list[int | None] = []
    total = 0
    for day in days:
        total += breakdown.by_day[day].units if day in breakdown.by_day else 0
        used_line.append(total if day <= today else None)
    running = sum(c.units for d, c in breakdown.by_day.items() if d < today)
    projected_line: list[int | None] = []
    for day in days:
        if day < today - timedelta(days=1):
            projected_line.append(None)
        elif day == today - timedelta(days=1):
            projected_line.append(running)
        else:
            running += projected.get(day, 0) + (
                breakdown.by_day[day].units if day == today and day in breakdown.by_day else 0
            )
            projected_line.append(running)
    labels = [str(day.day) for day in days]
    title = period.start.strftime("%B %Y") + " (UTC)"
    series = [("Used so far", used_line), ("Projected at this rate", projected_line)]
    if included is not None:
        series.append(("Included units", [included] * len(days)))

    def render_svg() -> str:
        chart = pygal.Line(
            **{**CHART_OPTIONS, "style": LINE_CHART_STYLE},
            **legend_options(len(series)),
            width=880,
            height=280,
            x_title=title,
            y_title="Units this period",
            value_formatter=lambda v: f"{v:,.0f}",
            show_dots=False,
            allow_interruptions=True,
        )
        chart.x_labels = labels
        chart.x_labels_major_every = 5
        chart.show_minor_x_labels = False
        styles = [
            {},
            {"dasharray": "8, 6"},
            {"dasharray": "2, 4", "width": 2},
        ]
        for (name, values), stroke in zip(series, styles, strict=False):
            chart.add(name, values, stroke_style=stroke)
        return chart_svg(chart)

    return chart_cached("usage-forecast", [title, labels, series], render_svg)


def forecast_text(forecast: Forecast | None, included: int | None, hard_cap: bool) -> str:
    """The forecast in words, for the usage panel."""
    if forecast is None:
        return ""
    if not forecast.sufficient_history:
        return "A forecast appears once there is a day of usage to go on."
    exhausted = forecast.quota_exhausted_at
    units = forecast.units_at_period_end or 0
    if included is None:
        return f"At this rate you will use about {units:,} units this period."
    if exhausted is not None and exhausted <= timezone.now():
        day = f"{exhausted:%B} {ordinal(exhausted.day)}"
        return f"You used up your {included:,} included units on {day}."
    if exhausted is not None:
        then = (
            "calls are refused from then until the quota renews"
            if hard_cap
            else "units past it are billed as overage"
        )
        return (
            f"At this rate you pass your quota on the {ordinal(exhausted.day)} "
            f"({exhausted:%B} {exhausted.day}): {then}."
        )
    return (
        f"At this rate you will use about {units:,} of your {included:,} included units by the "
        "end of the period: the quota holds."
    )


def endpoint_features() -> dict[str, str]:
    return {
        f"{method} {path}": feature
        for method, path, feature in Endpoint.objects.exclude(feature="").values_list(
            "method", "path", "feature"
        )
    }


def refusal_reason(reason: str, endpoint: str, plan: Plan, features: dict[str, str]) -> str:
    """What the client was told, for a ledger refusal counter (refused_rate_limit, …)."""
    code = REFUSAL_REASONS[reason]
    if reason == "refused_feature":
        feature = features.get(endpoint, "")
        label = Feature(feature).label if feature in Feature.values else feature or "a feature"
        return f"403 {code}: “{label}” is not in the {plan.name} plan"
    if reason == "refused_quota":
        included = f"{plan.included_units:,}" if plan.included_units else "included"
        return f"429 {code}: the {included} units of the period were used up"
    if reason == "refused_rate_limit":
        return f"429 {code}: more than {plan.rate_limit_per_minute:,} requests in a minute"
    if reason == "refused_key_cap":
        return f"429 {code}: a key's own monthly cap was used up (your other keys kept working)"
    return f"401 {code}: a revoked or expired key was used"


def percent_text(percent: float | None) -> str:
    """'0.07', '4.5', '81': as many decimals as a small share needs not to read as zero."""
    if percent is None:
        return ""
    if percent == 0 or percent >= 10:
        return f"{percent:.0f}"
    text = f"{percent:.2f}" if percent < 1 else f"{percent:.1f}"
    return text.rstrip("0").rstrip(".")


def usage_overview(customer: Customer, period: Period, breakdown: UsageBreakdown) -> dict:
    """What the dashboard and the usage page show of a period's usage (and, for the current
    period, its forecast)."""
    plan = customer.plan
    is_current = period == current_period()
    forecast = (
        customer_forecast(customer, breakdown, period, timezone.now()) if is_current else None
    )
    used = breakdown.total.units
    included = plan.included_units
    percent = None if not included else used * 100 / included
    hard_cap = plan.overage_policy == OveragePolicy.BLOCK
    projected = projected_days(forecast, period, used, included, hard_cap)
    features = endpoint_features() if breakdown.total.refused_feature else {}
    refusals = [
        {
            "day": day,
            "endpoint": endpoint,
            "refused": getattr(counts, reason),
            "reason": refusal_reason(reason, endpoint, plan, features),
        }
        for (day, endpoint), counts in breakdown.by_day_endpoint.items()
        for reason in REFUSAL_REASONS
        if getattr(counts, reason)
    ]
    refusals.sort(key=lambda row: (-row["day"].toordinal(), -row["refused"], row["endpoint"]))
    endpoints = sorted(
        breakdown.by_endpoint.items(), key=lambda item: (-item[1].units, -item[1].calls, item[0])
    )
    return {
        "period": period,
        "last_day": (period.end - timedelta(days=1)).date(),
        "is_current": is_current,
        "total": breakdown.total,
        "units_used": used,
        "included_units": included,
        "remaining_units": None if included is None else max(included - used, 0),
        "overage_units": 0 if included is None else max(used - included, 0),
        "percent": percent,
        "percent_text": percent_text(percent),
        "bar_percent": None if percent is None else min(percent, 100),
        "hard_cap": hard_cap,
        "usage_tone": (
            "danger"
            if percent is not None and percent >= 100
            else "warning"
            if percent is not None and percent >= 80
            else "ok"
        ),
        "chart_svg": usage_chart_svg(breakdown, period, projected),
        "forecast": forecast,
        "forecast_text": forecast_text(forecast, included, hard_cap),
        "forecast_chart_svg": forecast_chart_svg(breakdown, period, projected, included),
        "endpoint_rows": [{"endpoint": ep, "counts": counts} for ep, counts in endpoints],
        "day_rows": [
            {"day": day, "counts": breakdown.by_day[day]} for day in sorted(breakdown.by_day)
        ],
        "refusals": refusals,
        "live": breakdown.live,
    }


def period_usage(customer: Customer, period: Period) -> tuple[UsageBreakdown, dict]:
    """A period's usage for a page: from the ledger alone (and said so) while Redis is down."""
    breakdown = customer_usage(
        customer_id=customer.pk, start=period.start, end=period.end, ledger_if_redis_down=True
    )
    return breakdown, usage_overview(customer, period, breakdown)


def customer_months(customer: Customer) -> list[Period]:
    """The periods a customer can look at, newest first (since sign-up, at most a year)."""
    first = period_containing(customer.created_at)
    return [p for p in current_period().back(MONTHS_LISTED) if p.start >= first.start]


@customer_required
@require_GET
def usage_page(request: HttpRequest, customer: Customer) -> HttpResponse:
    months = customer_months(customer)
    period = months[0]
    try:
        asked = parse_month(request.GET.get("month", ""))
    except ValueError:
        asked = None
    if asked in months:
        period = asked
    breakdown, usage = period_usage(customer, period)
    context = {
        "customer": customer,
        "plan": customer.plan,
        "usage": usage,
        "months": months,
        "key_rows": key_usage_rows(customer, breakdown),
    }
    return render(request, "metering/usage.html", context)


def key_usage_rows(customer: Customer, breakdown: UsageBreakdown) -> list[dict]:
    """The period's usage per API key (keys with usage), with each key's cap."""
    keys = ApiKey.objects.filter(customer=customer, pk__in=list(breakdown.by_key))
    rows = [
        {"key": key, "counts": breakdown.by_key[key.pk], "cap": key.unit_cap}
        for key in keys
        if breakdown.by_key[key.pk].calls or breakdown.by_key[key.pk].refused_key_cap
    ]
    return sorted(rows, key=lambda row: (-row["counts"].units, row["key"].name))


@customer_required
@require_GET
def usage_panel(request: HttpRequest, customer: Customer) -> HttpResponse:
    """The dashboard's usage panel alone, for refreshing it in place."""
    _, usage = period_usage(customer, current_period())
    context = {"customer": customer, "plan": customer.plan, "usage": usage}
    return render(request, "metering/_usage_panel.html", context)


@customer_required
@require_GET
def first_call_status(request: HttpRequest, customer: Customer) -> JsonResponse:
    """Polled by the dashboard until the first successful API call has been recorded."""
    first = customer.first_call_at
    return JsonResponse(
        {"received": first is not None, "first_call_at": first.isoformat() if first else None}
    )
