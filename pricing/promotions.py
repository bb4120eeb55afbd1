"""Promotion codes as the quote and the subscription read them: a code typed by a customer
becomes the discount the rating engine prices, or a clear refusal (400 `promotion_code_invalid`
saying whether it is unknown, inactive, expired or used up)."""

from __future__ import annotations

from datetime import datetime

from accounts.models import Customer, PlanChange
from core.errors import ApplicationError
from core.periods import months_after
from pricing.engine import Discount
from pricing.models import CODE_RE, PromotionCode, PromotionRedemption


class PromotionCodeInvalid(ApplicationError):
    status_code = 400
    code = "promotion_code_invalid"
    default_message = "This promotion code cannot be used."
    schema_component = "ParameterError"

    def __init__(self, message: str | None = None, **kwargs):
        kwargs.setdefault("extra", {"param": "promotion_code"})
        super().__init__(message, **kwargs)


def promotion_code_find(code: str) -> PromotionCode | None:
    """The promotion code a customer typed (any case), or None."""
    if not CODE_RE.match(code or ""):
        return None
    return PromotionCode.objects.filter(code__iexact=code).first()


def promotion_code_redeemable(code: str) -> PromotionCode:
    """The promotion code, if it can be redeemed now; else PromotionCodeInvalid saying why."""
    promotion = promotion_code_find(code)
    if promotion is None:
        raise PromotionCodeInvalid(f"There is no promotion code {code[:40]!r}.")
    if reason := promotion.refusal():
        raise PromotionCodeInvalid(reason)
    return promotion


def customer_discount(customer: Customer, *, invoiced_at: datetime) -> Discount | None:
    """The discount on the customer's subscription that still applies to an invoice made at
    `invoiced_at` (the period's end, for the usage estimate): its latest redemption, unless the
    customer went back to a plan nobody pays for since (the subscription ended with it), or the
    discount ran out: `once` was spent on the first invoice, `repeating` lasts its months."""
    redemption = (
        PromotionRedemption.objects.filter(customer_id=customer.pk)
        .select_related("promotion")
        .first()
    )
    if redemption is None or not customer.plan.is_paid:
        return None
    later = PlanChange.objects.filter(
        customer_id=customer.pk, changed_at__gt=redemption.redeemed_at
    ).select_related("to_plan")
    if any(not change.to_plan.is_paid for change in later):
        return None
    promotion = redemption.promotion
    if promotion.duration == PromotionCode.Duration.ONCE:
        return None
    if promotion.duration == PromotionCode.Duration.REPEATING:
        end = months_after(redemption.redeemed_at, promotion.duration_in_months or 1)
        if invoiced_at >= end:
            return None
    return promotion.discount
