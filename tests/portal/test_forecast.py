"""The dashboard shows the forecast: in words (the quota's day), on the usage charts (a
projected line and the days left), and the projected bill."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.humanize.templatetags.humanize import ordinal
from django.utils import timezone

from core.periods import current_period
from metering.selectors import customer_period_units
from tests.alerts.test_forecast_alerts import RATE, customer_with_history
from tests.conftest import web_client


@pytest.mark.django_db
def test_the_dashboard_says_when_the_quota_runs_out_and_what_the_month_will_cost():
    customer = customer_with_history(
        overage="bill",
        pricing={"model": "per_unit", "unit_price": "0.001"},
        monthly_price=Decimal("49.00"),
        headroom=0.5,
    )
    period = current_period()
    used = customer_period_units(customer_id=customer.pk, period=period)
    page = web_client(customer).get("/dashboard/").content.decode()
    expected = timezone.now() + (customer.plan.included_units - used) / RATE * timedelta(days=1)
    assert f"At this rate you pass your quota on the {ordinal(expected.day)}" in page
    assert "mean daily units of the last 28 complete days" in page
    assert 'data-testid="forecast-chart"' in page and "Projected at this rate" in page
    assert "Included units" in page
    assert 'data-testid="projected-bill"' in page
    left = (period.end - timezone.now()) / timedelta(days=1)
    units = used + RATE * left
    bill = Decimal("49.00") + (Decimal(units - customer.plan.included_units) / 1000)
    shown = re.search(r'data-testid="projected-bill">[^<]*<strong>\$([0-9,.]+)</strong>', page)
    # The seconds between the page and here move the projection by a few cents at most.
    assert abs(Decimal(shown.group(1).replace(",", "")) - bill) < 1


@pytest.mark.django_db
def test_a_new_customer_is_told_the_forecast_comes_after_a_day(owner, owner_web):
    assert owner.get("/api/v1/pets").status_code == 200
    page = owner_web.get("/dashboard/").content.decode()
    assert "A forecast appears once there is a day of usage" in page
    assert 'data-testid="projected-bill"' not in page
