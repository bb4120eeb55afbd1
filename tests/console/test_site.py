"""The operator console is Django's default admin site: apps register on it without importing
it, its own pages are staff-only through the site's admin_view, and the admin pages of models
that changed app answer at their old address with a redirect."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.urls import reverse

from console.sites import ConsoleAdminSite

pytestmark = pytest.mark.django_db


def test_the_default_admin_site_is_the_console():
    assert isinstance(admin.site, ConsoleAdminSite)  # a lazy object standing for it
    assert reverse("admin:metrics") == "/admin/metrics/"
    assert reverse("admin:metrics_json") == "/admin/metrics.json"


def test_the_index_links_to_the_business_metrics(admin_client):
    html = admin_client.get("/admin/").content.decode()
    assert 'href="/admin/metrics/"' in html and "Business metrics" in html


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("/admin/billing/alertsettings/", "/admin/alerts/alertsettings/"),
        ("/admin/billing/usagealert/7/change/", "/admin/alerts/usagealert/7/change/"),
        ("/admin/billing/usagealert/?period=202611", "/admin/alerts/usagealert/?period=202611"),
    ],
)
def test_old_admin_addresses_of_moved_models_redirect(admin_client, old, new):
    response = admin_client.get(old)
    assert response.status_code == 302 and response["Location"] == new
    assert admin_client.get(new).status_code in (200, 302)  # 302: a change page of no row


def test_billing_keeps_its_own_admin_pages(admin_client):
    assert admin_client.get("/admin/billing/paymentfailure/").status_code == 200
