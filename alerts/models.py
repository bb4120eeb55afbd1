"""What a customer is told: usage alert thresholds and the crossings they triggered (tables
created by billing, billing/migrations/0001, keeping their names), forecast and quota notices,
and outbound webhooks (endpoints, events, deliveries)."""

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
    # db_default: rows inserted without it (seed_demo's bulk insert names the columns of the
    # layout before forecasts) get it from the database.
    forecast_enabled = models.BooleanField(
        default=True,
        db_default=True,
        help_text="Warn when the forecast passes the quota or the spend threshold.",
    )
    spend_threshold = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="USD: warn when the forecast bill of the period passes it (empty: never).",
    )
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


class PeriodNotice(models.Model):
    """A notice sent at most once per period and kind: the forecast passing the quota or the
    spend threshold, the quota used up. The unique constraint makes it once, however many
    workers race (as for UsageAlert)."""

    class Kind(models.TextChoices):
        FORECAST_QUOTA = "forecast_quota", "Forecast passes the quota"
        FORECAST_SPEND = "forecast_spend", "Forecast passes the spend threshold"
        QUOTA_EXHAUSTED = "quota_exhausted", "Quota used up"

    customer = models.ForeignKey(
        "accounts.Customer", on_delete=models.CASCADE, related_name="period_notices"
    )
    period = models.CharField(max_length=6, help_text="YYYYMM")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    data = models.JSONField(default=dict, help_text="The figures when it fired.")
    created_at = models.DateTimeField(default=timezone.now)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "period", "kind"], name="period_notice_once_per_period"
            )
        ]

    def __str__(self) -> str:
        return f"{self.customer} {self.period} {self.kind}"


class KeyCapNotice(models.Model):
    """An API key that reached its own monthly cap in a period: recorded once (the unique
    constraint, however many workers race), with its `key.cap_reached` event, then emailed once
    (`emailed_at` claimed as for UsageAlert). alerts/key_caps.py."""

    customer = models.ForeignKey(
        "accounts.Customer", on_delete=models.CASCADE, related_name="key_cap_notices"
    )
    key = models.ForeignKey("accounts.ApiKey", on_delete=models.CASCADE, related_name="+")
    period = models.CharField(max_length=6, help_text="YYYYMM")
    cap = models.BigIntegerField(help_text="The key's cap in units when it was reached.")
    units_used = models.BigIntegerField()
    created_at = models.DateTimeField(default=timezone.now)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["key", "period"], name="key_cap_notice_once_per_period")
        ]

    def __str__(self) -> str:
        return f"key {self.key_id} capped in {self.period}"


class WebhookEndpoint(models.Model):
    """A customer's URL that receives signed events. The signing secret is kept encrypted
    (alerts/webhooks/secrets.py): it must be readable to sign, and a copy of the database alone
    must not let anyone sign events in our name."""

    customer = models.ForeignKey(
        "accounts.Customer", on_delete=models.CASCADE, related_name="webhook_endpoints"
    )
    url = models.URLField(max_length=2048)
    events = models.JSONField(default=list, help_text="Event types it receives.")
    secret_encrypted = models.TextField(editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    failing_since = models.DateTimeField(
        null=True, blank=True, help_text="First failed attempt since the last success."
    )
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.url

    @property
    def is_enabled(self) -> bool:
        return self.disabled_at is None

    def receives(self, event_type: str) -> bool:
        return self.is_enabled and event_type in self.events


class WebhookEvent(models.Model):
    """An event as customers receive it: `{"id", "type", "created", "data"}`. The id is derived
    from the event's source (core.events), so a fact emitted twice is stored once."""

    id = models.CharField(primary_key=True, max_length=40)
    customer = models.ForeignKey(
        "accounts.Customer", on_delete=models.CASCADE, related_name="webhook_events"
    )
    type = models.CharField(max_length=64)
    created_at = models.DateTimeField()
    data = models.JSONField(default=dict)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["customer", "created_at"])]

    def __str__(self) -> str:
        return f"{self.id} {self.type}"

    def payload(self) -> dict:
        return {
            "id": self.id,
            "type": self.type,
            "created": int(self.created_at.timestamp()),
            "data": self.data,
        }


class WebhookDelivery(models.Model):
    """One event to one endpoint, attempted until it succeeds or its retry window (3 days)
    ends. `next_attempt_at` is when it is due; `locked_until` is a worker's claim on it."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.ForeignKey(WebhookEvent, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    locked_until = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_response_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_latency_ms = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "event"], name="webhook_delivery_once")
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]
        verbose_name_plural = "webhook deliveries"

    def __str__(self) -> str:
        return f"{self.event_id} → {self.endpoint_id} ({self.status})"
