"""Billing state of our own. Stripe's objects (customers, subscriptions, invoices, prices) live in
dj-stripe's tables; these models hold what Stripe does not: how our plans map to its prices,
what usage was reported, and payment failures under dunning."""

from __future__ import annotations

import secrets

from django.db import models
from django.utils import timezone


def new_installation_token() -> str:
    return secrets.token_hex(6)


class Installation(models.Model):
    """This installation of the app (one row). Its token namespaces every idempotency key and
    meter-event identifier we send to Stripe, so two installations sharing a Stripe account, or
    this one after its database was reset, never reuse a key or identifier (Stripe remembers
    both for 24 hours and would refuse the key, or drop the meter event as already known)."""

    token = models.CharField(max_length=16, unique=True, default=new_installation_token)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"installation {self.token}"


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
    one ledger hour (a part of it when a plan change or a period close reported the hour so far).
    `identifier` is deterministic, so a retried or duplicated report run sends the same identifier
    and Stripe counts it once; `reported_at` marks it sent. Stripe may still refuse it later,
    asynchronously (a v1.billing.meter.error_report_triggered event): `failed_at` and
    `error_code` then say so, until a retry sends it again under a new identifier."""

    customer = models.ForeignKey(
        "accounts.Customer", on_delete=models.CASCADE, related_name="meter_reports"
    )
    event_name = models.CharField(max_length=100)
    hour = models.DateTimeField()
    value = models.BigIntegerField()
    identifier = models.CharField(max_length=200, unique=True)
    stripe_customer_id = models.CharField(max_length=255)
    timestamp = models.DateTimeField(
        null=True, blank=True, help_text="The meter event's timestamp (inside the hour)."
    )
    created_at = models.DateTimeField(default=timezone.now)
    reported_at = models.DateTimeField(null=True, blank=True, db_index=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)
    failed_at = models.DateTimeField(
        null=True, blank=True, db_index=True, help_text="Stripe refused the event after it."
    )
    error_code = models.CharField(max_length=64, blank=True)
    retries = models.PositiveIntegerField(default=0, help_text="Sent again after a failure.")

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
    attempt_count = models.PositiveIntegerField(
        default=1, help_text="Stripe's attempt count (its own automatic retries included)."
    )
    retries = models.PositiveIntegerField(
        default=0, help_text="Our dunning task's retries: our schedule counts these only."
    )
    grace_ends_at = models.DateTimeField()
    notices_sent = models.PositiveIntegerField(default=0)
    last_notice_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution = models.CharField(
        max_length=32,
        blank=True,
        help_text="paid, void, uncollectible, or subscription_ended (a contract customer's "
        "leftover subscription was cancelled without changing the plan).",
    )
    downgraded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-first_failed_at"]
        indexes = [models.Index(fields=["resolved_at", "grace_ends_at"])]

    def __str__(self) -> str:
        return f"{self.customer} {self.stripe_invoice_id}"

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None and self.downgraded_at is None


class PeriodClose(models.Model):
    """A billing period (a calendar month) whose usage was flushed and reported in full at its
    end, while Stripe keeps the renewal invoices as drafts (`close_billing_periods`)."""

    period = models.CharField(max_length=6, unique=True, help_text="YYYYMM")
    started_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)
    reports = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return self.period


class EventDestination(models.Model):
    """A Stripe event destination (v2, thin events) delivering to our signed endpoint
    `/stripe/events/<uuid>/`, with the signing secret Stripe gave once, at creation."""

    stripe_id = models.CharField(max_length=255, unique=True)
    uuid = models.UUIDField(unique=True)
    url = models.URLField(max_length=500)
    secret = models.CharField(max_length=255)
    enabled_events = models.JSONField(default=list)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.url


class ThinEvent(models.Model):
    """A v2 thin event received (once per event id: a redelivery is not processed again)."""

    event_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=100)
    related_object = models.CharField(max_length=255, blank=True)
    received_at = models.DateTimeField(default=timezone.now)
    summary = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"


class CreditEntry(models.Model):
    """The local ledger of a customer's prepaid credits (billing/credits.py): each grant (a pack
    bought, a plan's monthly credit), mirrored by a Stripe credit grant, and what the credits
    paid of each closed period (negative). Its sum is the balance the current period starts
    with, plus what was granted since; Stripe's credit balance agrees once the period's invoice
    is final (console's reconciliation compares them)."""

    class Kind(models.TextChoices):
        PURCHASE = "purchase", "Credits bought"
        MONTHLY = "monthly", "Plan's monthly credit"
        APPLIED = "applied", "Paid usage of a period"

    customer = models.ForeignKey(
        "accounts.Customer", on_delete=models.CASCADE, related_name="credit_entries"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    amount = models.DecimalField(
        max_digits=12, decimal_places=2, help_text="USD; negative: credits used."
    )
    period = models.CharField(
        max_length=6, blank=True, help_text="The period (YYYYMM) granted for or paid."
    )
    source_id = models.CharField(
        max_length=255, blank=True, help_text="The Checkout Session that paid for a purchase."
    )
    stripe_credit_grant_id = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["source_id"],
                condition=~models.Q(source_id=""),
                name="credit_entry_source_once",
            ),
            models.UniqueConstraint(
                fields=["customer", "kind", "period"],
                condition=models.Q(kind__in=["monthly", "applied"]),
                name="credit_entry_once_per_period",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.customer} {self.kind} {self.amount} {self.period}"


class Trial(models.Model):
    """A customer's free trial of a paid plan: one per customer, ever (the unique customer is
    the guard, not a check before the insert). The Stripe subscription trials without a card
    and is cancelled at the trial's end unless a card was added (billing/trials.py)."""

    customer = models.OneToOneField(
        "accounts.Customer", on_delete=models.CASCADE, related_name="trial"
    )
    plan = models.ForeignKey("accounts.Plan", on_delete=models.PROTECT, related_name="+")
    stripe_subscription_id = models.CharField(max_length=255, blank=True, db_index=True)
    started_at = models.DateTimeField(default=timezone.now)
    ends_at = models.DateTimeField()
    reminder_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"{self.customer} trial of {self.plan}"
