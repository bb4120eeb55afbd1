"""The portal's one chart style (pygal, server-side SVG) and what every chart shares: options,
the bottom legend, rendering without scripts, and a cache keyed by the chart's data. Used by the
usage chart, the pricing page's cost curves and the operator console's metrics."""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import math
import re
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.utils.safestring import SafeString, mark_safe
from pygal.graph.graph import Graph
from pygal.style import Style

logger = logging.getLogger(__name__)

# The portal's chart look: the stylesheet's palette, readable on white (every colour ≥ 3:1).
CHART_COLORS = ("#4f46e5", "#0d9488", "#d97706", "#db2777", "#0284c7", "#65a30d", "#64748b")
CHART_STYLE = Style(
    background="transparent",
    plot_background="transparent",
    foreground="#374151",
    foreground_strong="#111827",
    foreground_subtle="#e5e7eb",
    guide_stroke_color="#e5e7eb",
    major_guide_stroke_color="#d1d5db",
    guide_stroke_dasharray="0",
    major_guide_stroke_dasharray="0",
    opacity=".92",
    opacity_hover="1",
    transition="120ms",
    colors=CHART_COLORS,
    font_family="system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
    label_font_size=12,
    major_label_font_size=12,
    legend_font_size=13,
    tooltip_font_size=13,
    title_font_size=15,
)
# pygal's own tooltip script comes from a CDN: none here (portal.js turns the values into
# native SVG tooltips instead).
CHART_OPTIONS = {
    "style": CHART_STYLE,
    "js": [],
    "disable_xml_declaration": True,
    "explicit_size": False,
    "legend_at_bottom": True,
    "truncate_legend": -1,
    "show_x_guides": False,
    "margin": 12,
}
LEGEND_COLUMNS = 3


def legend_options(series_count: int) -> dict:
    """Bottom legend in up to three columns. pygal reserves `count // columns` legend rows, one
    short when the last row is partial, so that row gets its height as extra bottom margin."""
    columns = max(1, min(LEGEND_COLUMNS, series_count))
    missing_rows = math.ceil(series_count / columns) - series_count // columns
    return {
        "legend_at_bottom_columns": columns,
        "margin_bottom": CHART_OPTIONS["margin"] + missing_rows * 24,
    }


# Line charts draw thicker lines in the same style (pygal sets line widths on the style:
# `stroke_style` only reaches the series group).
LINE_CHART_STYLE = copy.copy(CHART_STYLE)
LINE_CHART_STYLE.stroke_width = "3"
LINE_CHART_STYLE.stroke_width_hover = "4"

_SCRIPT = re.compile(r"<script\b.*?</script>", re.DOTALL)


def chart_svg(chart: Graph) -> SafeString:
    """The chart as inline SVG, without pygal's inline config script (its tooltip JavaScript is
    never loaded: portal.js and the admin read the values pygal writes into the SVG)."""
    svg = _SCRIPT.sub("", chart.render(is_unicode=True))
    return mark_safe(svg)  # noqa: S308 (pygal's own SVG; it escapes labels and values)


def chart_cached(kind: str, data: object, render_svg: Callable[[], str]) -> str:
    """A rendered chart, cached under a digest of its data: a reload without new usage does not
    render again. The cache is an optimisation only, so its failures are logged and ignored."""
    digest = hashlib.sha256(json.dumps([kind, data], default=str).encode()).hexdigest()[:40]
    key = f"portal:chart:{kind}:{digest}"
    try:
        svg = cache.get(key)
    except Exception:  # the cache (Redis) is down: render anyway
        logger.warning("portal: chart cache unavailable", exc_info=True)
        svg = None
    if svg is None:
        svg = render_svg()
        try:
            cache.set(key, svg, settings.PORTAL_CHART_CACHE_SECONDS)
        except Exception:
            logger.warning("portal: chart cache unavailable", exc_info=True)
    return svg
