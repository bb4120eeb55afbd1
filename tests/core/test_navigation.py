"""Links across apps by role (core.navigation), registered by the app that owns each page."""

from __future__ import annotations

from core.navigation import dashboard_tabs, page_path, page_url, upgrade_url


def test_roles_resolve_to_the_owning_apps_pages(settings):
    assert upgrade_url() == f"{settings.SITE_URL}/pricing/"
    assert page_url("dashboard") == f"{settings.SITE_URL}/dashboard/"
    assert page_path("plans") == "/dashboard/billing/"
    assert page_path("plan-change", "pro") == "/dashboard/billing/plan/pro/"
    assert page_path("webhooks") == "/dashboard/webhooks/"


def test_a_role_no_app_plays_falls_back_to_the_home_page(settings):
    assert page_path("no-such-role") is None
    assert page_url("no-such-role") == f"{settings.SITE_URL}/"


def test_the_dashboard_tabs_come_from_the_apps_in_order():
    tabs = dashboard_tabs()
    assert [tab.label for tab in tabs] == [
        "Overview",
        "Usage",
        "API keys",
        "Plan & billing",
        "Alerts",
        "Webhooks",
    ]
    keys = next(tab for tab in tabs if tab.label == "API keys")
    assert keys.url_names == {
        "dashboard-keys",
        "dashboard-key-revoke",
        "dashboard-key-rotate",
        "dashboard-key-caps",
    }


def test_a_page_marks_its_own_tab_current(owner):
    from django.test import Client

    client = Client()
    client.force_login(owner.customer.user)
    key = owner.customer.api_keys.get()
    html = client.get(f"/dashboard/keys/{key.pk}/rotate/").content.decode()
    assert '<a href="/dashboard/keys/" aria-current="page">API keys</a>' in html
    assert '<a href="/dashboard/">Overview</a>' in html  # not current
    html = client.get("/dashboard/keys/").content.decode()
    assert 'class="badge badge-brand" href="/dashboard/billing/">Free plan' in html
