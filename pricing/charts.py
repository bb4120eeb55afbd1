"""The pricing page's cost curves (pygal, in core.charts' style)."""

from __future__ import annotations

import logging
from collections.abc import Iterable

import pygal

from accounts.models import Plan
from core.charts import CHART_OPTIONS, LINE_CHART_STYLE, chart_cached, chart_svg, legend_options
from core.money import money
from pricing.engine import PricingError, Usage, plan_terms, quote_for_usage

logger = logging.getLogger(__name__)

CURVE_MAX_CALLS = 1_000_000
CURVE_STEP = 25_000


def _thousands(calls: float) -> str:
    if calls >= 1_000_000:
        return f"{calls / 1_000_000:g}M"
    return f"{calls / 1000:g}k" if calls else "0"


def cost_curve_svg(plans: Iterable[Plan]) -> str | None:
    """Monthly cost of each fixed-price plan from 0 to 1M calls: where each one is cheapest.
    A hard-capped plan's line stops at its cap."""
    volumes = range(0, CURVE_MAX_CALLS + 1, CURVE_STEP)
    series: list[tuple[str, list[tuple[int, float]]]] = []
    for plan in plans:
        try:
            terms = plan_terms(plan)
        except PricingError:
            logger.exception("pricing: plan %s has an invalid pricing definition", plan.slug)
            continue
        if terms.custom:
            continue
        points = []
        for calls in volumes:
            if terms.caps(calls):
                # The last point is the cap itself, so the line ends where the plan does.
                if terms.included_units and (not points or points[-1][0] < terms.included_units):
                    cost = quote_for_usage(terms, Usage(units=terms.included_units)).total
                    points.append((terms.included_units, float(cost or 0)))
                break
            # Floats only to draw: the prices shown as text come from the engine's Decimals.
            points.append((calls, float(quote_for_usage(terms, Usage(units=calls)).total or 0)))
        series.append((terms.name, points))
    if not series:
        return None

    def render_svg() -> str:
        chart = pygal.XY(
            **{**CHART_OPTIONS, "style": LINE_CHART_STYLE, "show_x_guides": True},
            width=880,
            height=340,
            x_title="Calls per month",
            y_title="Monthly cost (USD)",
            **legend_options(len(series)),
            x_value_formatter=_thousands,
            value_formatter=lambda v: money(v, places=0),
            x_labels=list(range(0, CURVE_MAX_CALLS + 1, 100_000)),
            show_dots=False,
        )
        for name, points in series:
            chart.add(name, points)
        return chart_svg(chart)

    return chart_cached("cost-curve", series, render_svg)
