"""Subscriptions and subscription items (handlers and renderers; logic in ``billing``)."""

from __future__ import annotations

from typing import Any

from ..billing import Billing
from ..billing.base import is_flexible
from ..billing.subscriptions import billing_mode
from ..context import Ctx
from ..errors import StripeError
from ..render import RENDERERS, created_filter, embedded_list, list_object, public
from ..state import Store
from .subscription_items import render_item


def render_subscription(store: Store, record: dict[str, Any]) -> dict[str, Any]:
    obj = public(record)
    items = [store.get("subscription_item", i) for i in record["_items"]]
    data = [render_item(store, i) for i in items if i is not None and not i.get("_deleted")]
    obj["items"] = embedded_list(
        data, f"/v1/subscription_items?subscription={record['id']}", total_count=len(data)
    )
    return obj


RENDERERS["subscription"] = render_subscription


def create(ctx: Ctx) -> dict[str, Any]:
    sub = Billing(ctx).create_subscription(ctx.params)
    return ctx.render("subscription", sub)


def retrieve(ctx: Ctx, sub_id: str) -> dict[str, Any]:
    return ctx.render("subscription", Billing(ctx).subscription(sub_id, "id"))


def update(ctx: Ctx, sub_id: str) -> dict[str, Any]:
    sub = Billing(ctx).update_subscription(sub_id, ctx.params)
    return ctx.render("subscription", sub)


def cancel(ctx: Ctx, sub_id: str) -> dict[str, Any]:
    params = ctx.params
    sub = Billing(ctx).cancel_now(
        sub_id,
        invoice_now=bool(params.bool("invoice_now", default=False)),
        prorate=bool(params.bool("prorate", default=False)),
        params=params,
    )
    return ctx.render("subscription", sub)


def resume(ctx: Ctx, sub_id: str) -> dict[str, Any]:
    params = ctx.params
    if params.str("billing_cycle_anchor") == "unchanged":
        raise StripeError(
            400,
            "This local Stripe server resumes with billing_cycle_anchor=now only.",
            param="billing_cycle_anchor",
        )
    return ctx.render("subscription", Billing(ctx).resume(sub_id))


def migrate(ctx: Ctx, sub_id: str) -> dict[str, Any]:
    """``POST /v1/subscriptions/{id}/migrate``: classic -> flexible billing mode (there is no
    way back, https://docs.stripe.com/billing/subscriptions/billing-mode)."""
    billing = Billing(ctx)
    billing.subscription(sub_id, "subscription")
    sub = ctx.store.get_mut("subscription", sub_id)
    if is_flexible(sub):
        raise StripeError(
            400,
            "This subscription is already on flexible billing mode.",
            param="billing_mode[type]",
        )
    before = render_subscription(ctx.store, sub)
    sub["billing_mode"] = billing_mode(ctx.params.sub("billing_mode"), ctx.now)
    ctx.events.emit_update("customer.subscription.updated", "subscription", sub, before)
    return ctx.render("subscription", sub)


def list_(ctx: Ctx) -> dict[str, Any]:
    params = ctx.params
    customer = params.str("customer")
    status = params.str(
        "status",
        choices=(
            "active",
            "all",
            "canceled",
            "ended",
            "incomplete",
            "incomplete_expired",
            "past_due",
            "paused",
            "trialing",
            "unpaid",
        ),
    )
    price = params.str("price")
    created = created_filter(params)

    def status_ok(sub: dict[str, Any]) -> bool:
        if status == "all":
            return True
        if status is None:  # Stripe's default hides canceled subscriptions
            return sub["status"] not in ("canceled", "incomplete_expired")
        if status == "ended":
            return sub["status"] in ("canceled", "incomplete_expired")
        return sub["status"] == status

    def price_ok(sub: dict[str, Any]) -> bool:
        if price is None:
            return True
        items = (ctx.store.get("subscription_item", i) for i in sub["_items"])
        return any(i is not None and not i.get("_deleted") and i["_price"] == price for i in items)

    records = [
        s
        for s in ctx.store.all("subscription")
        if (customer is None or s["customer"] == customer)
        and status_ok(s)
        and price_ok(s)
        and created(s["created"])
    ]
    return list_object(ctx.store, "subscription", records, params, "/v1/subscriptions")


def control_advance(
    ctx: Ctx, sub_id: str | None, *, finalize: bool = True, to: int | None = None
) -> dict[str, Any]:
    """``POST /_control/advance``. With ``to``: move the clock there, doing everything due on
    the way in time order (renewals, draft finalizations), as a Stripe test clock does.
    Otherwise bring one (or every live) subscription to the end of its current period, moving
    the clock there, renew (or end) it, and (``finalize``) move on past the finalization grace
    period so that the renewal invoice is finalized and charged."""
    billing = Billing(ctx)
    if to is not None:
        if to < ctx.now:
            raise StripeError(400, "The clock cannot go back.", param="to")
        invoices = billing.run_due(to, renewals=True)
        return {
            "object": "control.advance",
            "now": ctx.store.clock.now(),
            "subscriptions": [],
            "invoices": invoices,
        }
    if sub_id is not None:
        sub = billing.subscription(sub_id)
        if sub["status"] in ("canceled", "incomplete_expired"):
            raise StripeError(400, f"Subscription {sub_id} has ended ({sub['status']}).")
        targets = [sub]
    else:
        targets = [
            s
            for s in ctx.store.all("subscription")
            if s["status"] not in ("canceled", "incomplete_expired", "paused")
        ]
    advanced: list[str] = []
    invoices: list[str] = []
    for sub in sorted(targets, key=lambda s: s["_period_end"]):
        billing.run_due(sub["_period_end"], renewals=False)
        if sub["status"] == "incomplete":
            billing.expire_incomplete(sub["id"])
        else:
            invoice = billing.renew(sub["id"])
            if invoice is not None:
                invoices.append(invoice["id"])
        advanced.append(sub["id"])
    if finalize:
        due = [
            ctx.store.get("invoice", i)["automatically_finalizes_at"]  # type: ignore[index]
            for i in invoices
        ]
        until = max([d for d in due if d is not None], default=ctx.now)
        billing.run_due(until, renewals=False)
    return {
        "object": "control.advance",
        "now": ctx.store.clock.now(),
        "subscriptions": advanced,
        "invoices": invoices,
    }
