"""Customers: create, retrieve, update, list (``email`` filter), delete."""

from __future__ import annotations

from typing import Any

from ..context import Ctx
from ..errors import StripeError, not_found
from ..ids import invoice_prefix, new_id
from ..params import Params, merge_metadata
from ..render import INCLUDABLES, created_filter, embedded_list, list_object, render
from ..state import Store

DELETED_STUB = {"deleted": True}


def get_customer(store: Store, customer_id: str, param: str = "customer") -> dict[str, Any]:
    record = store.get("customer", customer_id)
    if record is None or record.get("_deleted"):
        raise not_found("customer", customer_id, param)
    return record


def _address(params: Params) -> dict[str, Any] | None:
    if not params.has("address") or params.is_blank("address"):
        return None
    sub = params.sub("address")
    return {k: sub.str(k) for k in ("city", "country", "line1", "line2", "postal_code", "state")}


def _apply(
    ctx: Ctx, record: dict[str, Any], params: Params, aliases: dict[str, str] | None = None
) -> None:
    for key in ("email", "name", "description", "phone"):
        if params.has(key):
            record[key] = params.str(key)
    if params.has("address"):
        record["address"] = _address(params)
    if params.has("preferred_locales"):
        record["preferred_locales"] = params.strings("preferred_locales")
    record["metadata"] = merge_metadata(record["metadata"], params.metadata())
    if params.has("invoice_settings"):
        settings = params.sub("invoice_settings")
        if settings.has("default_payment_method"):
            pm_id = settings.str("default_payment_method")
            # On create, a magic test id also names the card that `payment_method` attached.
            pm_id = (aliases or {}).get(pm_id or "", pm_id)
            if pm_id is not None:
                pm = ctx.store.get("payment_method", pm_id)
                if pm is None or pm.get("customer") != record["id"]:
                    raise StripeError(
                        400,
                        f"The customer does not have a payment method with the ID {pm_id}. "
                        "The payment method must be attached to the customer.",
                        param="invoice_settings[default_payment_method]",
                        code="resource_missing",
                    )
            record["invoice_settings"]["default_payment_method"] = pm_id
        if settings.has("footer"):
            record["invoice_settings"]["footer"] = settings.str("footer")


def create(ctx: Ctx) -> dict[str, Any]:
    now = ctx.now
    record: dict[str, Any] = {
        "id": new_id("cus", 14),
        "object": "customer",
        "address": None,
        "balance": 0,
        "business_name": None,
        "created": now,
        "currency": None,
        "customer_account": None,
        "default_source": None,
        "delinquent": False,
        "description": None,
        "discount": None,
        "email": None,
        "individual_name": None,
        "invoice_prefix": invoice_prefix(),
        "invoice_settings": {
            "custom_fields": None,
            "default_payment_method": None,
            "footer": None,
            "rendering_options": None,
        },
        "livemode": False,
        "metadata": {},
        "name": None,
        "next_invoice_sequence": 1,
        "phone": None,
        "preferred_locales": [],
        "shipping": None,
        "tax_exempt": "none",
        "test_clock": None,
    }
    ctx.store.insert("customer", record)
    aliases: dict[str, str] = {}
    pm_id = ctx.params.str("payment_method")
    if pm_id:
        # Stripe attaches `payment_method` on create (it does not make it the default).
        from .payment_methods import attach_to

        aliases[pm_id] = attach_to(ctx, pm_id, record["id"])["id"]
    _apply(ctx, record, ctx.params, aliases)
    ctx.events.emit("customer.created", "customer", record)
    return ctx.render("customer", record)


def retrieve(ctx: Ctx, customer_id: str) -> dict[str, Any]:
    record = ctx.store.get("customer", customer_id)
    if record is None:
        raise not_found("customer", customer_id, "id")
    if record.get("_deleted"):
        return {"id": customer_id, "object": "customer", **DELETED_STUB}
    return ctx.render("customer", record)


def update(ctx: Ctx, customer_id: str) -> dict[str, Any]:
    get_customer(ctx.store, customer_id, "id")
    record = ctx.store.get_mut("customer", customer_id)
    before = render(ctx.store, "customer", record)
    _apply(ctx, record, ctx.params)
    ctx.events.emit_update("customer.updated", "customer", record, before)
    return ctx.render("customer", record)


def delete(ctx: Ctx, customer_id: str) -> dict[str, Any]:
    get_customer(ctx.store, customer_id, "id")
    from ..billing import Billing

    # Stripe cancels a deleted customer's subscriptions immediately.
    billing = Billing(ctx)
    for sub in ctx.store.all("subscription"):
        if sub["customer"] == customer_id and sub["status"] not in (
            "canceled",
            "incomplete_expired",
        ):
            billing.cancel_now(sub["id"], invoice_now=False, prorate=False)
    record = ctx.store.get_mut("customer", customer_id)
    snapshot = render(ctx.store, "customer", record)
    record["_deleted"] = True
    ctx.events.emit("customer.deleted", "customer", record, snapshot=snapshot)
    return {"id": customer_id, "object": "customer", **DELETED_STUB}


def list_(ctx: Ctx) -> dict[str, Any]:
    email = ctx.params.str("email")
    created = created_filter(ctx.params)
    records = [
        r
        for r in ctx.store.all("customer")
        if not r.get("_deleted")
        and (email is None or r.get("email") == email)
        and created(r["created"])
    ]
    return list_object(ctx.store, "customer", records, ctx.params, "/v1/customers")


def _sources(store: Store, obj: dict[str, Any]) -> dict[str, Any]:
    # Legacy sources: this server only has PaymentMethods, so the list is always empty.
    return embedded_list([], f"/v1/customers/{obj['id']}/sources", total_count=0)


def _subscriptions(store: Store, obj: dict[str, Any]) -> dict[str, Any]:
    subs = [
        render(store, "subscription", s)
        for s in store.all("subscription")
        if s["customer"] == obj["id"] and s["status"] not in ("canceled", "incomplete_expired")
    ]
    return embedded_list(subs, f"/v1/customers/{obj['id']}/subscriptions", total_count=len(subs))


def _tax_ids(store: Store, obj: dict[str, Any]) -> dict[str, Any]:
    return embedded_list([], f"/v1/customers/{obj['id']}/tax_ids", total_count=0)


INCLUDABLES["customer"] = {
    "sources": _sources,
    "subscriptions": _subscriptions,
    "tax_ids": _tax_ids,
    "cash_balance": lambda _s, _o: None,
    "invoice_credit_balance": lambda _s, _o: {},
    "tax": lambda _s, _o: {"automatic_tax": "not_collecting", "ip_address": None, "location": None},
}
