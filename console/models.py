"""The console's own state: which reconciliation drifts staff were told about."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class ReconciliationAlert(models.Model):
    """One email to staff about a month's drift between our ledger and Stripe: once per month
    and drift (`fingerprint`: the customers and amounts drifting)."""

    month = models.CharField(max_length=7, help_text="YYYY-MM")
    fingerprint = models.CharField(max_length=64)
    drift_units = models.BigIntegerField()
    drift_cents = models.BigIntegerField()
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-sent_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["month", "fingerprint"], name="reconciliation_alert_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.month}: {self.drift_units} units, {self.drift_cents} cents"
