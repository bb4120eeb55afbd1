"""Coupons and promotion codes (https://docs.stripe.com/billing/subscriptions/coupons).

A coupon takes ``percent_off`` or ``amount_off`` (with ``currency``), a ``duration``
(``once``, ``repeating`` with ``duration_in_months``, ``forever``), optional ``redeem_by``,
``max_redemptions`` and ``applies_to[products]``; it is ``valid`` until it expires, is used
up or deleted. A promotion code is a customer-facing ``code`` for a coupon
(``promotion[coupon]``) with its own ``active``, ``expires_at``, ``max_redemptions``,
``customer`` and ``restrictions`` (``first_time_transaction``, ``minimum_amount``). Both are
redeemed through ``discounts`` (``billing.discounts``).
"""

from __future__ import annotations

import string
from typing import Any

from ..context import Ctx
from ..errors import StripeError, invalid_param, missing_param, not_found
from ..ids import new_id, random_token
from ..params import merge_metadata
from ..render import RENDERERS, created_filter, list_object, public
from ..state import Store


def coupon_valid(store: Store, coupon: dict[str, Any]) -> bool:
    now = store.clock.now()
    return (
        not coupon.get("_deleted")
        and (coupon["redeem_by"] is None or now < coupon["redeem_by"])
        and (
            coupon["max_redemptions"] is None
            or coupon["times_redeemed"] < coupon["max_redemptions"]
        )
    )


def render_coupon(store: Store, record: dict[str, Any]) -> dict[str, Any]:
    return {**public(record), "valid": coupon_valid(store, record)}


RENDERERS["coupon"] = render_coupon


def get_coupon(store: Store, coupon_id: str, param: str = "coupon") -> dict[str, Any]:
    record = store.get("coupon", coupon_id)
    if record is None or record.get("_deleted"):
        raise not_found("coupon", coupon_id, param)
    return record


def create_coupon(ctx: Ctx) -> dict[str, Any]:
    params = ctx.params
    percent = params.decimal("percent_off")
    amount = params.int("amount_off", minimum=1)
    if (percent is None) == (amount is None):
        raise StripeError(
            400, "You must pass exactly one of percent_off or amount_off.", param="percent_off"
        )
    if percent is not None and not 0 < percent <= 100:
        raise invalid_param("percent_off", "percent_off must be greater than 0 and at most 100.")
    currency = params.str("currency")
    if amount is not None and currency is None:
        raise missing_param("currency")
    duration = params.str("duration") or "once"
    months = params.int("duration_in_months", minimum=1)
    if duration == "repeating" and months is None:
        raise missing_param("duration_in_months")
    if duration != "repeating" and months is not None:
        raise invalid_param(
            "duration_in_months", "duration_in_months is only for duration=repeating."
        )
    redeem_by = params.int("redeem_by")
    if redeem_by is not None and redeem_by <= ctx.now:
        raise invalid_param("redeem_by", "redeem_by must be in the future.")
    coupon_id = params.str("id") or random_token(8)
    if ctx.store.exists(coupon_id):
        raise StripeError(400, "Coupon already exists.", code="resource_already_exists", param="id")
    products = params.sub("applies_to").strings("products")
    for product_id in products:
        if ctx.store.get("product", product_id) is None:
            raise not_found("product", product_id, "applies_to[products]")
    record = {
        "id": coupon_id,
        "object": "coupon",
        "amount_off": amount,
        "applies_to": {"products": products} if products else None,
        "created": ctx.now,
        "currency": currency.lower() if currency else None,
        "currency_options": None,
        "duration": duration,
        "duration_in_months": months,
        "livemode": False,
        "max_redemptions": params.int("max_redemptions", minimum=1),
        "metadata": merge_metadata({}, params.metadata()),
        "name": params.str("name"),
        "percent_off": float(percent) if percent is not None else None,
        "redeem_by": redeem_by,
        "times_redeemed": 0,
        "_percent_off": str(percent) if percent is not None else None,
    }
    ctx.store.insert("coupon", record)
    ctx.events.emit("coupon.created", "coupon", record)
    return ctx.render("coupon", record)


def retrieve_coupon(ctx: Ctx, coupon_id: str) -> dict[str, Any]:
    return ctx.render("coupon", get_coupon(ctx.store, coupon_id, "coupon"))


def update_coupon(ctx: Ctx, coupon_id: str) -> dict[str, Any]:
    get_coupon(ctx.store, coupon_id, "coupon")
    record = ctx.store.get_mut("coupon", coupon_id)
    if ctx.params.has("name"):
        record["name"] = ctx.params.str("name")
    record["metadata"] = merge_metadata(record["metadata"], ctx.params.metadata())
    ctx.events.emit("coupon.updated", "coupon", record)
    return ctx.render("coupon", record)


def delete_coupon(ctx: Ctx, coupon_id: str) -> dict[str, Any]:
    """Deleting a coupon stops new redemptions; discounts already applied go on (Stripe)."""
    get_coupon(ctx.store, coupon_id, "coupon")
    record = ctx.store.get_mut("coupon", coupon_id)
    record["_deleted"] = True
    ctx.events.emit("coupon.deleted", "coupon", record)
    return {"id": coupon_id, "object": "coupon", "deleted": True}


def list_coupons(ctx: Ctx) -> dict[str, Any]:
    created = created_filter(ctx.params)
    records = [
        r for r in ctx.store.all("coupon") if not r.get("_deleted") and created(r["created"])
    ]
    return list_object(ctx.store, "coupon", records, ctx.params, "/v1/coupons")


# -- promotion codes ---------------------------------------------------------------------------
def get_promotion_code(store: Store, code_id: str, param: str = "promotion_code") -> dict[str, Any]:
    record = store.get("promotion_code", code_id)
    if record is None:
        raise not_found("promotion code", code_id, param)
    return record


def create_promotion_code(ctx: Ctx) -> dict[str, Any]:
    params = ctx.params
    promotion = params.sub("promotion")
    if promotion.str("type") != "coupon":
        raise invalid_param("promotion[type]", "promotion[type] must be coupon.")
    coupon = get_coupon(
        ctx.store, promotion.str("coupon", required=True) or "", "promotion[coupon]"
    )
    code = params.str("code") or random_token(8, string.ascii_uppercase + string.digits)
    if any(
        p["code"].lower() == code.lower() and p["active"] for p in ctx.store.all("promotion_code")
    ):
        raise invalid_param("code", f"An active promotion code with `code: {code}` already exists.")
    customer = params.str("customer")
    if customer is not None and ctx.store.get("customer", customer) is None:
        raise not_found("customer", customer, "customer")
    expires_at = params.int("expires_at")
    if expires_at is not None and expires_at <= ctx.now:
        raise invalid_param("expires_at", "expires_at must be in the future.")
    restrictions = params.sub("restrictions")
    minimum = restrictions.int("minimum_amount", minimum=1)
    minimum_currency = restrictions.str("minimum_amount_currency")
    if minimum is not None and minimum_currency is None:
        raise missing_param("restrictions[minimum_amount_currency]")
    record = {
        "id": new_id("promo"),
        "object": "promotion_code",
        "active": params.bool("active", default=True),
        "code": code,
        "created": ctx.now,
        "customer": customer,
        "customer_account": None,
        "expires_at": expires_at,
        "livemode": False,
        "max_redemptions": params.int("max_redemptions", minimum=1),
        "metadata": merge_metadata({}, params.metadata()),
        "promotion": {"coupon": coupon["id"], "type": "coupon"},
        "restrictions": {
            "currency_options": {},
            "first_time_transaction": bool(
                restrictions.bool("first_time_transaction", default=False)
            ),
            "minimum_amount": minimum,
            "minimum_amount_currency": minimum_currency.lower() if minimum_currency else None,
        },
        "times_redeemed": 0,
    }
    ctx.store.insert("promotion_code", record)
    ctx.events.emit("promotion_code.created", "promotion_code", record)
    return ctx.render("promotion_code", record)


def retrieve_promotion_code(ctx: Ctx, code_id: str) -> dict[str, Any]:
    return ctx.render("promotion_code", get_promotion_code(ctx.store, code_id, "promotion_code"))


def update_promotion_code(ctx: Ctx, code_id: str) -> dict[str, Any]:
    get_promotion_code(ctx.store, code_id, "promotion_code")
    record = ctx.store.get_mut("promotion_code", code_id)
    params = ctx.params
    if params.has("active"):
        active = bool(params.bool("active"))
        coupon = ctx.store.get("coupon", record["promotion"]["coupon"]) or {}
        if active and (coupon.get("_deleted") or not coupon_valid(ctx.store, coupon)):
            raise invalid_param("active", "The coupon of this promotion code is no longer valid.")
        record["active"] = active
    record["metadata"] = merge_metadata(record["metadata"], params.metadata())
    ctx.events.emit("promotion_code.updated", "promotion_code", record)
    return ctx.render("promotion_code", record)


def list_promotion_codes(ctx: Ctx) -> dict[str, Any]:
    params = ctx.params
    code = params.str("code")
    coupon = params.str("coupon")
    customer = params.str("customer")
    active = params.bool("active")
    records = [
        r
        for r in ctx.store.all("promotion_code")
        if (code is None or r["code"].lower() == code.lower())
        and (coupon is None or r["promotion"]["coupon"] == coupon)
        and (customer is None or r["customer"] == customer)
        and (active is None or r["active"] == active)
    ]
    return list_object(ctx.store, "promotion_code", records, params, "/v1/promotion_codes")
