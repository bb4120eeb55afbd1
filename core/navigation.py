"""The site's navigation, filled in by the apps.

An app never names another app's page: it names a role ("upgrade", "plans", "dashboard"), and the
app that owns the page registers which of its URL names plays that role, from its
AppConfig.ready(). So accounts can tell a customer at the key limit where to upgrade without
knowing that billing exists, and a lower app never reverses a higher app's URL name. The
dashboard's tabs are registered the same way: an app adds its tab without editing a template of
another app. Templates use the `navigation` tags (`{% page_path "plans" %}`, `{% dashboard_tabs
as tabs %}`); project-level templates (base.html) may link to any page by name.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.urls import reverse

_pages: dict[str, str] = {}
_tabs: dict[str, Tab] = {}


@dataclass(frozen=True)
class Tab:
    """A tab of the customer dashboard: its page, its place, and the other pages that show it
    as the current tab (a key's rotate page is under "API keys")."""

    label: str
    url_name: str
    order: int
    also_current: frozenset[str] = frozenset()

    @property
    def url_names(self) -> frozenset[str]:
        return self.also_current | {self.url_name}


def page_register(role: str, url_name: str) -> None:
    """Say which URL name (of the calling app) plays `role`. Registering again replaces it."""
    _pages[role] = url_name


def page_path(role: str, *args: object) -> str | None:
    """The path of the page playing `role` (None when no installed app registered one)."""
    url_name = _pages.get(role)
    return reverse(url_name, args=args) if url_name else None


def page_url(role: str, *args: object) -> str:
    """The absolute URL (SITE_URL) of the page playing `role`: for API answers and emails. The
    site's home page when no installed app registered one."""
    return f"{settings.SITE_URL}{page_path(role, *args) or '/'}"


def upgrade_url() -> str:
    """Where a customer goes to get more than the plan allows: `upgrade_url` of API refusals
    (quota, rate limit, feature, key limit) and of usage alert emails."""
    return page_url("upgrade")


def dashboard_tab_register(
    *, label: str, url_name: str, order: int, also_current: tuple[str, ...] = ()
) -> None:
    _tabs[url_name] = Tab(label, url_name, order, frozenset(also_current))


def dashboard_tabs() -> list[Tab]:
    return sorted(_tabs.values(), key=lambda tab: (tab.order, tab.label))
