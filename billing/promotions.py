"""Promotion codes in Stripe: staff create them in the admin (pricing.PromotionCode, the terms the
quote prices); here each becomes a Stripe Coupon and a PromotionCode, and a code a customer types
when subscribing becomes the subscription's `discounts`.

The code is checked here first (unknown, inactive, expired, used up: 400 `promotion_code_invalid`
saying which), then Stripe checks it again when it redeems it (a refusal there is the same 400:
billing.stripe_api). After a redemption the count is re-read from Stripe.
"""

from __future__ import annotations

import logging
from typing import Any

import stripe
from django.db import transaction

from accounts.models import Customer
from billing.installation import stripe_key
from billing.stripe_api import stripe_call
from billing.stripe_catalog import CURRENCY
from pricing.models import PromotionCode, PromotionRedemption
from pricing.promotions import promotion_code_redeemable

logger = logging.getLogger(__name__)


def _coupon_params(promotion: PromotionCode) -> dict[str, Any]:
    params: dict[str, Any] = {"duration": promotion.duration, "name": promotion.code}
    if promotion.percent_off is not None:
        params["percent_off"] = str(promotion.percent_off.normalize())
    else:
        params["amount_off"] = int(promotion.amount_off * 100)
        params["currency"] = CURRENCY
    if promotion.duration == "repeating":
        params["duration_in_months"] = promotion.duration_in_months or 1
    return params


def promotion_code_sync(promotion: PromotionCode) -> PromotionCode:
    """Create the Stripe Coupon and PromotionCode of `promotion` (once), or push its `active`
    flag. The coupon's terms cannot change in Stripe once created: the admin shows them
    read-only then. Idempotent."""
    if not promotion.stripe_coupon_id:
        coupon = stripe_call(
            stripe.Coupon.create,
            **_coupon_params(promotion),
            metadata={"petstore_promotion_code": str(promotion.pk)},
            idempotency_key=stripe_key("coupon", promotion.pk),
        )
        PromotionCode.objects.filter(pk=promotion.pk).update(stripe_coupon_id=coupon.id)
        promotion.stripe_coupon_id = coupon.id
    if not promotion.stripe_promotion_code_id:
        params: dict[str, Any] = {}
        if promotion.max_redemptions is not None:
            params["max_redemptions"] = promotion.max_redemptions
        if promotion.expires_at is not None:
            params["expires_at"] = int(promotion.expires_at.timestamp())
        created = stripe_call(
            stripe.PromotionCode.create,
            promotion={"type": "coupon", "coupon": promotion.stripe_coupon_id},
            code=promotion.code,
            active=promotion.active,
            metadata={"petstore_promotion_code": str(promotion.pk)},
            idempotency_key=stripe_key("promotion-code", promotion.pk),
            **params,
        )
        PromotionCode.objects.filter(pk=promotion.pk).update(stripe_promotion_code_id=created.id)
        promotion.stripe_promotion_code_id = created.id
    else:
        stripe_call(
            stripe.PromotionCode.modify, promotion.stripe_promotion_code_id, active=promotion.active
        )
    return promotion


def promotion_discounts(code: str | None) -> tuple[PromotionCode | None, list[dict[str, str]]]:
    """The promotion code a customer typed, checked, and the `discounts` that redeem it in
    Stripe; (None, []) without a code. PromotionCodeInvalid (400) saying why it cannot be used."""
    if not code:
        return None, []
    promotion = promotion_code_redeemable(code)
    return promotion, [{"promotion_code": promotion.stripe_promotion_code_id}]


def promotion_redeemed(promotion: PromotionCode | None, customer: Customer | None = None) -> None:
    """After a redemption: the customer's redemption (the usage estimate prices its discount)
    and the count as Stripe has it (what the quote checks `max_redemptions` against; best
    effort: Stripe refuses an over-redemption itself)."""
    if promotion is None or not promotion.stripe_promotion_code_id:
        return
    if customer is not None:
        # Once per customer and code (Checkout's redirect and webhook both get here).
        PromotionRedemption.objects.get_or_create(customer_id=customer.pk, promotion=promotion)
    try:
        current = stripe_call(stripe.PromotionCode.retrieve, promotion.stripe_promotion_code_id)
    except Exception:
        logger.warning("could not re-read promotion code %s", promotion.code, exc_info=True)
        return
    with transaction.atomic():
        PromotionCode.objects.filter(pk=promotion.pk).update(
            times_redeemed=int(current.times_redeemed or 0)
        )
