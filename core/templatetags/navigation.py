"""`{% load navigation %}`: links across apps by role, and the dashboard's tabs
(core/navigation.py)."""

from __future__ import annotations

from django import template

from core import navigation

register = template.Library()


@register.simple_tag
def page_path(role: str, *args: object) -> str:
    """The path of the page playing `role` ('' when no app registered it)."""
    return navigation.page_path(role, *args) or ""


@register.simple_tag
def dashboard_tabs() -> list[navigation.Tab]:
    return navigation.dashboard_tabs()
