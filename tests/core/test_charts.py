"""The one chart style: rendered SVG carries no script, and a chart renders once per data."""

from __future__ import annotations

import pygal

from core.charts import CHART_OPTIONS, CHART_STYLE, LINE_CHART_STYLE, chart_cached, chart_svg


def test_charts_render_as_inline_svg_without_scripts():
    chart = pygal.Line(**{**CHART_OPTIONS, "style": LINE_CHART_STYLE})
    chart.add("calls", [1, 3, 2])
    svg = chart_svg(chart)
    assert svg.startswith("<svg") and "<script" not in svg
    assert CHART_STYLE.colors[0] in svg  # the portal's palette


def test_line_charts_share_the_palette_with_thicker_lines():
    assert LINE_CHART_STYLE.colors == CHART_STYLE.colors
    assert LINE_CHART_STYLE.stroke_width == "3"


def test_a_chart_renders_once_for_the_same_data(db):
    rendered = []

    def render() -> str:
        rendered.append(1)
        return "<svg/>"

    assert chart_cached("test", [1, 2], render) == "<svg/>"
    assert chart_cached("test", [1, 2], render) == "<svg/>"
    chart_cached("test", [1, 3], render)
    assert len(rendered) == 2
