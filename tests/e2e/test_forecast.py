"""The forecast on the dashboard, in chromium: the quota's day in words, the projected line on
the chart, the projected bill (docs/screenshots/forecast.png with PORTAL_SCREENSHOTS=1)."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from accounts import services as account_services
from accounts.models import Customer, Plan
from core.periods import current_period
from metering.models import UsageRecord
from tests.e2e.test_portal import PASSWORD, expect, log_in

ENDPOINTS = (
    ("GET /api/v1/pets", 1, 0.7),
    ("POST /api/v1/pets", 2, 0.2),
    ("GET /api/v1/analytics", 5, 0.1),
)


def seed_steady_history(customer: Customer, share_of_rest: float = 0.6) -> None:
    """28 days of usage at a rate that passes the plan's quota `share_of_rest` of the way
    through the rest of the period, with some day-to-day variation."""
    now = timezone.now()
    period = current_period()
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    days_in = min((today - period.start).days, 28)
    remaining = (period.end - now) / timedelta(days=1)
    rate = customer.plan.included_units / (days_in + share_of_rest * remaining)
    rows = []
    for n in range(1, 29):
        day_units = rate * (1 + 0.25 * ((n * 7) % 5 - 2) / 2)  # ±25%, averaging the rate
        for endpoint, weight, share in ENDPOINTS:
            calls = max(int(day_units * share / weight), 1)
            rows.append(
                UsageRecord(
                    customer=customer,
                    endpoint=endpoint,
                    hour=today - timedelta(days=n) + timedelta(hours=14),
                    calls=calls,
                    units=calls * weight,
                )
            )
    UsageRecord.objects.bulk_create(rows)
    Customer.objects.filter(pk=customer.pk).update(first_call_at=today - timedelta(days=28))


def test_the_dashboard_shows_the_forecast(page, db, screenshot):
    customer, _ = account_services.customer_register(
        email="forecast@example.com", password=PASSWORD, plan=Plan.objects.get(slug="pro")
    )
    seed_steady_history(customer)
    log_in(page, "forecast@example.com")
    text = page.get_by_test_id("forecast-text")
    expect()(text).to_contain_text("At this rate you pass your quota on the")
    expect()(text).to_contain_text("mean daily units of the last 28 complete days")
    expect()(page.get_by_test_id("forecast-chart")).to_be_visible()
    expect()(page.get_by_test_id("forecast-chart").locator("svg")).to_contain_text(
        "Projected at this rate"
    )
    expect()(page.get_by_test_id("projected-bill")).to_contain_text("At this rate, the bill for")
    screenshot(page, "forecast")
