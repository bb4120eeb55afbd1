"""Forecast alerts: once per period, ahead of time, when the forecast passes the quota or the
spend threshold; by email and webhook; not when turned off or without a day of history."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.utils import timezone

from accounts.models import Customer
from alerts.models import AlertSettings, PeriodNotice, WebhookEndpoint, WebhookEvent
from alerts.services import alert_settings_update, forecast_alerts_run
from alerts.webhooks.secrets import secret_encrypt
from core.periods import current_period
from metering.selectors import customer_period_units
from tests.factories import CustomerFactory, PlanFactory, UsageRecordFactory

RATE = 100_000  # units a day, for 30 days


def customer_with_history(*, overage="block", pricing=None, monthly_price=None, headroom=0.5):
    """A customer that has called RATE units a day for 30 days, on a plan whose quota the
    forecast passes `headroom` of the way through the rest of the period."""
    now = timezone.now()
    period = current_period()
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    plan = PlanFactory(
        slug=f"forecast-{overage}-{headroom}",
        included_units=10**12,
        overage_policy=overage,
        pricing=pricing or {},
        monthly_price=monthly_price,
        features=["webhooks"],
    )
    customer = CustomerFactory(plan=plan)
    for n in range(1, 31):
        UsageRecordFactory(
            customer=customer, hour=today - timedelta(days=n, hours=-10), units=RATE, calls=RATE
        )
    UsageRecordFactory(customer=customer, hour=max(period.start, today), units=1, calls=1)
    Customer.objects.filter(pk=customer.pk).update(first_call_at=today - timedelta(days=30))
    used = customer_period_units(customer_id=customer.pk, period=period)
    left = (period.end - now) / timedelta(days=1)
    plan.included_units = used + max(int(RATE * left * headroom), 1)
    plan.save()
    customer.refresh_from_db()
    return customer


def subscribe_all(customer):
    WebhookEndpoint.objects.create(
        customer=customer,
        url="http://127.0.0.1:9/",
        events=["usage.forecast_exceeds_quota", "usage.forecast_exceeds_spend"],
        secret_encrypted=secret_encrypt("whsec_test"),
    )


@pytest.mark.django_db
def test_the_quota_forecast_alert_fires_once_ahead_of_time_by_email_and_webhook():
    customer = customer_with_history()
    subscribe_all(customer)
    mail.outbox.clear()
    for _ in range(3):
        forecast_alerts_run()
    [notice] = PeriodNotice.objects.filter(customer=customer)
    assert notice.kind == "forecast_quota"
    exhausted = notice.data["quota_exhausted_at"]
    assert timezone.now().isoformat() < exhausted < current_period().end.isoformat()
    emails = [m for m in mail.outbox if "At this rate" in m.subject]
    assert len(emails) == 1 and emails[0].to == [customer.email]
    assert "refused" in emails[0].body and "mean daily units" in emails[0].body
    [event] = WebhookEvent.objects.filter(type="usage.forecast_exceeds_quota")
    assert event.data["included_units"] == customer.plan.included_units
    assert event.data["quota_exhausted_at"] == exhausted
    assert event.deliveries.count() == 1


@pytest.mark.django_db
def test_the_spend_forecast_alert_fires_once_past_the_threshold():
    customer = customer_with_history(
        overage="bill",
        pricing={"model": "per_unit", "unit_price": "0.001"},
        monthly_price=Decimal("49.00"),
        headroom=0.5,
    )
    subscribe_all(customer)
    alert_settings_update(
        customer=customer, thresholds=[80], email_enabled=True, spend_threshold=Decimal("50.00")
    )
    for _ in range(2):
        forecast_alerts_run()
    kinds = sorted(PeriodNotice.objects.filter(customer=customer).values_list("kind", flat=True))
    assert kinds == ["forecast_quota", "forecast_spend"]
    spend = WebhookEvent.objects.get(type="usage.forecast_exceeds_spend")
    assert Decimal(spend.data["bill_at_period_end"]["total"]) >= Decimal("50.00")
    assert spend.data["spend_threshold"] == "50.00"
    assert len([m for m in mail.outbox if "bill will pass $50.00" in m.subject]) == 1


@pytest.mark.django_db
def test_no_spend_alert_below_the_threshold_and_none_when_forecasts_are_off():
    below = customer_with_history(
        overage="bill", pricing={"model": "per_unit", "unit_price": "0.001"}, headroom=2
    )
    alert_settings_update(
        customer=below, thresholds=[80], email_enabled=True, spend_threshold=Decimal("999999")
    )
    off = customer_with_history(headroom=0.3)
    alert_settings_update(customer=off, thresholds=[80], email_enabled=True, forecast_enabled=False)
    forecast_alerts_run()
    # `below`: the quota holds (headroom 2) and the bill stays under the threshold.
    assert not PeriodNotice.objects.filter(customer__in=[below, off]).exists()


@pytest.mark.django_db
def test_no_forecast_alert_without_a_day_of_history():
    customer = customer_with_history(headroom=0.3)
    Customer.objects.filter(pk=customer.pk).update(
        first_call_at=timezone.now() - timedelta(hours=3)
    )
    forecast_alerts_run()
    assert not PeriodNotice.objects.filter(customer=customer).exists()


@pytest.mark.django_db
def test_the_alerts_page_saves_the_forecast_settings(owner_web, owner):
    response = owner_web.post(
        "/dashboard/alerts/",
        {"thresholds": "80, 100", "email_enabled": "on", "spend_threshold": "120.50"},
    )
    assert response.status_code == 302
    settings = AlertSettings.objects.get(customer=owner.customer)
    assert settings.spend_threshold == Decimal("120.50") and not settings.forecast_enabled
    bad = owner_web.post("/dashboard/alerts/", {"thresholds": "80", "spend_threshold": "-3"})
    assert bad.status_code == 400
    page = owner_web.get("/dashboard/alerts/").content.decode()
    assert "Spend threshold" in page and "120.50" in page
