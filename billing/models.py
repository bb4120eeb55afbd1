"""Billing state of our own. Stripe's objects (customers, subscriptions, invoices, prices) live in
dj-stripe's tables; these models hold what Stripe does not: how our plans map to its prices,
what usage was reported, and payment failures under dunning."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class PlanPrice(models.Model):
    """A Stripe Price created for a plan by `sync_stripe_catalog`. A plan has one `base` price
    (the recurring fee) and zero or more metered `usage` prices (one per meter)."""

    class Role(models.TextChoices):
        BASE = "base", "Recurring base fee"
        USAGE = "usage", "Metered usage"

    plan = models.ForeignKey("accounts.Plan", on_delete=models.CASCADE, related_name="prices")
    role = models.CharField(max_length=8, choices=Role.choices)
    meter_event_name = models.CharField(max_length=100, blank=True)
    usage_class = models.CharField(
        max_length=10, blank=True, help_text="read/write/image/default for class-priced plans"
    )
    stripe_product_id = models.CharField(max_length=255)
    stripe_price_id = models.CharField(max_length=255, unique=True)
    lookup_key = models.CharField(max_length=200)
    fingerprint = models.CharField(max_length=64, help_text="Hash of the price definition.")
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["plan", "role", "usage_class"]
        indexes = [models.Index(fields=["plan", "active"])]

    def __str__(self) -> str:
        return f"{self.plan.slug} {self.role} {self.usage_class} {self.stripe_price_id}"


class MeterReport(models.Model):
    """One usage report sent to a Stripe Billing Meter: a customer's units (or class calls) of
    one ledger hour. `identifier` is deterministic, so a retried or duplicated report run sends
    the same identifier and Stripe counts it once; `reported_at` marks it done."""

    customer = models.ForeignKey(
        "accounts.Customer", on_delete=models.CASCADE, related_name="meter_reports"
    )
    event_name = models.CharField(max_length=100)
    hour = models.DateTimeField()
    value = models.BigIntegerField()
    identifier = models.CharField(max_length=200, unique=True)
    stripe_customer_id = models.CharField(max_length=255)
    created_at = models.DateTimeField(default=timezone.now)
    reported_at = models.DateTimeField(null=True, blank=True, db_index=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-hour", "customer"]
        indexes = [models.Index(fields=["customer", "hour"])]

    def __str__(self) -> str:
        return self.identifier


class PaymentFailure(models.Model):
    """An unpaid invoice under dunning: retry notices, then a downgrade to Free when the grace
    period ends unpaid. Cleared by `invoice.payment_succeeded`."""

    customer = models.ForeignKey(
        "accounts.Customer", on_delete=models.CASCADE, related_name="payment_failures"
    )
    stripe_invoice_id = models.CharField(max_length=255, unique=True)
    amount_due = models.BigIntegerField(help_text="In cents.")
    currency = models.CharField(max_length=3, default="usd")
    first_failed_at = models.DateTimeField(default=timezone.now)
    last_failed_at = models.DateTimeField(default=timezone.now)
    attempt_count = models.PositiveIntegerField(default=1)
    grace_ends_at = models.DateTimeField()
    notices_sent = models.PositiveIntegerField(default=0)
    last_notice_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    downgraded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-first_failed_at"]
        indexes = [models.Index(fields=["resolved_at", "grace_ends_at"])]

    def __str__(self) -> str:
        return f"{self.customer} {self.stripe_invoice_id}"

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None and self.downgraded_at is None
