from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from accounts import keys


class OveragePolicy(models.TextChoices):
    BLOCK = "block", "Block at the quota (hard cap)"
    BILL = "bill", "Keep serving and bill the overage"
    PREPAID = "prepaid", "Serve while prepaid credits last (then 429 credits_exhausted)"


class Feature(models.TextChoices):
    """Feature flags a plan may grant; endpoints name the one they need."""

    IMAGES = "images", "Pet image processing"
    ANALYTICS = "analytics", "Analytics endpoint"
    ADVANCED_ANALYTICS = "advanced_analytics", "Advanced analytics"
    WEBHOOKS = "webhooks", "Webhooks"
    SLA = "sla", "Uptime SLA"
    PRIORITY_SUPPORT = "priority_support", "Priority support"


class Plan(models.Model):
    """A row of the plan catalogue. Prices are Decimal dollars; `pricing` holds the usage pricing
    the rating engine (pricing.engine) reads: per-unit, package, tiers or per-class rates."""

    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=60)
    description = models.CharField(max_length=300, blank=True)
    sort_order = models.PositiveSmallIntegerField(default=0)
    is_active = models.BooleanField(default=True, help_text="Offered in the catalogue.")
    self_serve = models.BooleanField(
        default=True, help_text="Customers may pick it themselves (Enterprise: contact sales)."
    )
    monthly_price = models.DecimalField(
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="Recurring base fee per month in USD; empty means a custom (negotiated) price.",
    )
    included_units = models.PositiveBigIntegerField(
        null=True, blank=True, help_text="Usage units included per period; empty means unlimited."
    )
    overage_policy = models.CharField(
        max_length=8, choices=OveragePolicy.choices, default=OveragePolicy.BLOCK
    )
    monthly_credit = models.DecimalField(
        max_digits=10,
        decimal_places=2,
        default=Decimal("0"),
        help_text="Free prepaid credits (USD) granted at the start of each period; they pay "
        "usage like bought credits (docs/credits.md).",
    )
    pricing = models.JSONField(
        default=dict,
        blank=True,
        help_text='Usage pricing beyond the included units, e.g. {"model": "per_unit", '
        '"unit_price": "0.001"}. See docs/pricing.md.',
    )
    rate_limit_per_minute = models.PositiveIntegerField(default=10)
    max_keys = models.PositiveIntegerField(default=2)
    features = models.JSONField(default=list, blank=True, help_text="Feature flags granted.")
    trial_days = models.PositiveSmallIntegerField(
        default=0,
        help_text="Free trial length in days (no card needed; once per customer); 0: no trial.",
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["sort_order", "id"]

    def __str__(self) -> str:
        return self.name

    def allows(self, feature: str | None) -> bool:
        return not feature or feature in self.features

    @property
    def is_paid(self) -> bool:
        return bool(self.monthly_price) or bool(self.pricing)

    @property
    def is_custom_priced(self) -> bool:
        return self.monthly_price is None

    @property
    def base_fee(self) -> Decimal:
        return self.monthly_price or Decimal("0")


class Customer(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="customer"
    )
    email = models.EmailField()
    name = models.CharField(max_length=120, blank=True)
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="customers")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    first_call_at = models.DateTimeField(null=True, blank=True, db_index=True)
    plan_changed_at = models.DateTimeField(default=timezone.now)
    stripe_customer_id = models.CharField(max_length=255, blank=True, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(Lower("email"), name="customer_email_ci_unique")]

    def __str__(self) -> str:
        return self.email


class ApiKey(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=60, default="default")
    prefix = models.CharField(max_length=20, unique=True, help_text="Lookup prefix, not secret.")
    key_hash = models.CharField(max_length=64, help_text="SHA-256 of the whole key.")
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(
        null=True, blank=True, help_text="Set when the key was rotated with a grace period."
    )
    # The key's own monthly caps, set by its customer (docs/keys.md). Past the lower of the two
    # (in units), the key is refused (429 key_cap_exceeded) until the period renews.
    monthly_unit_cap = models.PositiveBigIntegerField(
        null=True, blank=True, help_text="Usage units this key may use per period; empty: none."
    )
    monthly_spend_cap = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="USD of usage this key may spend per period (plans billing overage only).",
    )
    # The spend cap in units at the plan's prices, computed by pricing (accounts knows no prices)
    # when the cap is set and when the plan or its prices change: metering enforces units only.
    spend_cap_units = models.PositiveBigIntegerField(
        null=True, blank=True, help_text="monthly_spend_cap in units at the plan's prices."
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["customer", "revoked_at"])]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.name})"

    def matches(self, raw: str) -> bool:
        return keys.hashes_match(raw, self.key_hash)

    def is_active(self, now=None) -> bool:
        now = now or timezone.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)

    @property
    def unit_cap(self) -> int | None:
        """The cap the metering enforces, in units: the lower of the unit cap and the spend
        cap's unit equivalent (None: uncapped)."""
        caps = [c for c in (self.monthly_unit_cap, self.spend_cap_units) if c is not None]
        return min(caps) if caps else None

    @property
    def masked(self) -> str:
        return f"{self.prefix}{'•' * 8}"


class PlanChange(models.Model):
    """Every plan change, with the MRR it moved, so metrics can be computed for any past month."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="plan_changes")
    from_plan = models.ForeignKey(
        Plan, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    to_plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="+")
    from_mrr = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    to_mrr = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    reason = models.CharField(max_length=40, default="self_serve")
    changed_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-changed_at", "-id"]

    def __str__(self) -> str:
        return f"{self.customer}: {self.from_plan} → {self.to_plan}"

    @property
    def mrr_delta(self) -> Decimal:
        return self.to_mrr - self.from_mrr
