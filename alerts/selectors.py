"""Usage alerts, the reads: a customer's settings and the alerts of the current period."""

from __future__ import annotations

from accounts.models import Customer
from alerts.models import DEFAULT_ALERT_THRESHOLDS, AlertSettings, PeriodNotice, UsageAlert
from core.periods import current_period


def alert_settings(customer: Customer) -> AlertSettings:
    """The customer's settings, or the defaults (80% and 100%, email on) if never saved."""
    settings = AlertSettings.objects.filter(customer=customer).first()
    return settings or AlertSettings(
        customer=customer, thresholds=list(DEFAULT_ALERT_THRESHOLDS), email_enabled=True
    )


def current_alerts(customer: Customer) -> list[UsageAlert]:
    """Alerts of the current period, highest threshold first (for the dashboard banner)."""
    return list(
        UsageAlert.objects.filter(customer=customer, period=current_period().id).order_by(
            "-threshold"
        )
    )


def current_notices(customer: Customer) -> list[PeriodNotice]:
    """Forecast and quota notices of the current period, newest first."""
    return list(PeriodNotice.objects.filter(customer=customer, period=current_period().id))
