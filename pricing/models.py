"""Promotion codes: the discounts staff offer (created in the admin; billing creates the Stripe
Coupon and PromotionCode behind each one, billing/promotions.py). The terms live here, in the
pricing layer, so the quote API and the calculator price a code with the rating engine without
asking Stripe; Stripe checks the code again when it is redeemed."""

from __future__ import annotations

import re
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Upper
from django.utils import timezone

from pricing.engine import Discount

CODE_RE = re.compile(r"^[A-Za-z0-9_-]{1,40}$")


class PromotionCode(models.Model):
    class Duration(models.TextChoices):
        ONCE = "once", "Once (the first invoice)"
        REPEATING = "repeating", "Several months"
        FOREVER = "forever", "Forever"

    code = models.CharField(
        max_length=40,
        help_text="What the customer types (letters, digits, - and _; case does not matter).",
    )
    percent_off = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.01")), MaxValueValidator(Decimal("100"))],
        help_text="Percent off each invoice line (give this or an amount off).",
    )
    amount_off = models.DecimalField(
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.01"))],
        help_text="USD off the invoice (give this or a percent off).",
    )
    duration = models.CharField(max_length=10, choices=Duration.choices, default=Duration.ONCE)
    duration_in_months = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="For a repeating discount: how many months."
    )
    max_redemptions = models.PositiveIntegerField(
        null=True, blank=True, help_text="How many customers may redeem it; empty: no limit."
    )
    expires_at = models.DateTimeField(null=True, blank=True, help_text="Redeemable until then.")
    active = models.BooleanField(default=True)
    times_redeemed = models.PositiveIntegerField(default=0, editable=False)
    stripe_coupon_id = models.CharField(max_length=255, blank=True, editable=False)
    stripe_promotion_code_id = models.CharField(max_length=255, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(Upper("code"), name="promotion_code_ci_unique"),
            models.CheckConstraint(
                condition=models.Q(percent_off__isnull=True) ^ models.Q(amount_off__isnull=True),
                name="promotion_code_one_kind_of_discount",
            ),
        ]

    def __str__(self) -> str:
        return self.code

    def clean(self) -> None:
        errors = {}
        if not CODE_RE.match(self.code or ""):
            errors["code"] = "Letters, digits, - and _ only (at most 40)."
        if (self.percent_off is None) == (self.amount_off is None):
            errors["percent_off"] = "Give a percent off or an amount off (one of them)."
        if self.duration == self.Duration.REPEATING and not self.duration_in_months:
            errors["duration_in_months"] = "A repeating discount needs its number of months."
        if self.duration != self.Duration.REPEATING and self.duration_in_months:
            errors["duration_in_months"] = "Only a repeating discount lasts some months."
        if errors:
            raise ValidationError(errors)

    @property
    def discount(self) -> Discount:
        """The terms as the rating engine takes them."""
        return Discount(
            code=self.code,
            percent_off=self.percent_off,
            amount_off=self.amount_off,
            duration=self.duration,
            duration_in_months=self.duration_in_months,
        )

    def refusal(self, now=None) -> str | None:
        """Why the code cannot be redeemed now (a sentence), or None."""
        now = now or timezone.now()
        if not self.active or not self.stripe_promotion_code_id:
            return f"The promotion code {self.code} is not active."
        if self.expires_at is not None and now >= self.expires_at:
            return f"The promotion code {self.code} has expired."
        if self.max_redemptions is not None and self.times_redeemed >= self.max_redemptions:
            return f"The promotion code {self.code} has been used up."
        return None


class PromotionRedemption(models.Model):
    """A customer's subscription took a promotion code (billing records it when Stripe accepted
    it): the usage estimate prices the discount while it lasts (pricing.promotions)."""

    customer = models.ForeignKey(
        "accounts.Customer", on_delete=models.CASCADE, related_name="promotion_redemptions"
    )
    promotion = models.ForeignKey(
        PromotionCode, on_delete=models.PROTECT, related_name="redemptions"
    )
    redeemed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-redeemed_at", "-id"]

    def __str__(self) -> str:
        return f"{self.customer} redeemed {self.promotion}"
