"""Usage alerts: a customer's thresholds and the crossings they triggered. The tables were
created by billing (billing/migrations/0001) and keep their names."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

DEFAULT_ALERT_THRESHOLDS = [80, 100]


def default_thresholds() -> list[int]:
    return list(DEFAULT_ALERT_THRESHOLDS)


class AlertSettings(models.Model):
    """A customer's usage alert thresholds, in percent of the plan's included units."""

    customer = models.OneToOneField(
        "accounts.Customer", on_delete=models.CASCADE, related_name="alert_settings"
    )
    thresholds = models.JSONField(default=default_thresholds)
    email_enabled = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "billing_alertsettings"  # the table predates the alerts app
        verbose_name_plural = "alert settings"

    def __str__(self) -> str:
        return f"{self.customer}: {self.thresholds}"


class UsageAlert(models.Model):
    """A threshold crossed in a period. The unique constraint is what makes each alert fire once
    per threshold per period, however many workers race to send it."""

    customer = models.ForeignKey(
        "accounts.Customer", on_delete=models.CASCADE, related_name="usage_alerts"
    )
    period = models.CharField(max_length=6, help_text="YYYYMM")
    threshold = models.PositiveSmallIntegerField()
    units_used = models.BigIntegerField()
    included_units = models.BigIntegerField()
    created_at = models.DateTimeField(default=timezone.now)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "billing_usagealert"  # the table predates the alerts app
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "period", "threshold"], name="usage_alert_once_per_period"
            )
        ]

    def __str__(self) -> str:
        return f"{self.customer} {self.period} {self.threshold}%"
