"""Subscription items: rendered with their price and its legacy ``plan`` twin; list, retrieve."""

from __future__ import annotations

from typing import Any

from ..context import Ctx
from ..errors import not_found
from ..render import RENDERERS, list_object, public, render
from ..state import Store


def render_plan(price: dict[str, Any]) -> dict[str, Any]:
    """The legacy ``plan`` twin of a recurring price that subscription items still carry."""
    recurring = price.get("recurring") or {}
    return {
        "id": price["id"],
        "object": "plan",
        "active": price["active"],
        "amount": price.get("unit_amount"),
        "amount_decimal": price.get("unit_amount_decimal"),
        "billing_scheme": price["billing_scheme"],
        "created": price["created"],
        "currency": price["currency"],
        "interval": recurring.get("interval"),
        "interval_count": recurring.get("interval_count"),
        "livemode": False,
        "metadata": dict(price.get("metadata") or {}),
        "meter": recurring.get("meter"),
        "nickname": price.get("nickname"),
        "product": price["product"],
        "tiers_mode": price.get("tiers_mode"),
        "transform_usage": price.get("transform_quantity"),
        "trial_period_days": recurring.get("trial_period_days"),
        "usage_type": recurring.get("usage_type"),
    }


def render_item(store: Store, record: dict[str, Any]) -> dict[str, Any]:
    obj = public(record)
    price = store.get("price", record["_price"])
    if price is not None:
        obj["price"] = render(store, "price", price)
        obj["plan"] = render_plan(price)
    if record.get("_deleted"):
        obj["deleted"] = True
    return dict(sorted(obj.items()))


RENDERERS["subscription_item"] = render_item


def retrieve(ctx: Ctx, item_id: str) -> dict[str, Any]:
    record = ctx.store.get("subscription_item", item_id)
    if record is None or record.get("_deleted"):
        raise not_found("subscription_item", item_id, "id")
    return ctx.render("subscription_item", record)


def list_(ctx: Ctx) -> dict[str, Any]:
    sub_id = ctx.params.str("subscription", required=True)
    assert sub_id is not None
    sub = ctx.store.get("subscription", sub_id)
    if sub is None:
        raise not_found("subscription", sub_id, "subscription")
    records = [
        r
        for r in ctx.store.all("subscription_item")
        if r["subscription"] == sub_id and not r.get("_deleted")
    ]
    return list_object(
        ctx.store,
        "subscription_item",
        records,
        ctx.params,
        f"/v1/subscription_items?subscription={sub_id}",
    )
