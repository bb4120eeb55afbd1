"""Usage alerts: thresholds a customer sets in the portal, and the alerts they triggered."""

from __future__ import annotations

from django.db import transaction

from accounts.models import Customer
from billing.models import DEFAULT_ALERT_THRESHOLDS, AlertSettings, UsageAlert
from metering.periods import current_period
from petstore.errors import ApplicationError

MAX_THRESHOLDS = 5


class InvalidThresholds(ApplicationError):
    code = "invalid_thresholds"


def alert_settings(customer: Customer) -> AlertSettings:
    """The customer's settings, or the defaults (80% and 100%, email on) if never saved."""
    settings = AlertSettings.objects.filter(customer=customer).first()
    return settings or AlertSettings(
        customer=customer, thresholds=list(DEFAULT_ALERT_THRESHOLDS), email_enabled=True
    )


@transaction.atomic
def alert_settings_update(
    *, customer: Customer, thresholds: list[int], email_enabled: bool
) -> AlertSettings:
    cleaned = sorted(set(thresholds))
    if not cleaned or len(cleaned) > MAX_THRESHOLDS:
        raise InvalidThresholds(f"Give between 1 and {MAX_THRESHOLDS} thresholds.")
    if any(not isinstance(t, int) or t < 1 or t > 500 for t in cleaned):
        raise InvalidThresholds("Thresholds are whole percentages between 1 and 500.")
    settings, _ = AlertSettings.objects.update_or_create(
        customer=customer, defaults={"thresholds": cleaned, "email_enabled": email_enabled}
    )
    return settings


def current_alerts(customer: Customer) -> list[UsageAlert]:
    """Alerts of the current period, highest threshold first (for the dashboard banner)."""
    return list(
        UsageAlert.objects.filter(customer=customer, period=current_period().id).order_by(
            "-threshold"
        )
    )
