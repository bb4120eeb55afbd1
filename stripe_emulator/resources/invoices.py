"""Invoices, their lines, invoice items, ``create_preview`` and the hosted invoice page."""

from __future__ import annotations

import html
from typing import Any

from ..billing import LIVE_STATUSES, Billing
from ..context import Ctx
from ..errors import StripeError, not_found
from ..params import Params, merge_metadata
from ..render import (
    INCLUDABLES,
    RENDERERS,
    created_filter,
    embedded_list,
    list_object,
    public,
    render,
)
from ..state import Store
from .customers import get_customer

LINES_PAGE = 10  # Stripe embeds the first 10 lines; the rest are paged from the lines URL


def render_invoice(store: Store, record: dict[str, Any]) -> dict[str, Any]:
    obj = public(record)
    lines = record["_lines"]
    url = f"/v1/invoices/{record['id']}/lines"
    obj["lines"] = {
        "object": "list",
        "data": [public(line) for line in lines[:LINES_PAGE]],
        "has_more": len(lines) > LINES_PAGE,
        "total_count": len(lines),
        "url": url,
    }
    return obj


RENDERERS["invoice"] = render_invoice


def _confirmation_secret(store: Store, obj: dict[str, Any]) -> dict[str, Any] | None:
    # Includable: the client secret of the payment an open invoice waits for.
    if obj.get("status") != "open" or obj.get("amount_remaining", 0) <= 0:
        return None
    return {"client_secret": f"pi_{obj['id'][3:]}_secret_local", "type": "payment_intent"}


INCLUDABLES["invoice"] = {"confirmation_secret": _confirmation_secret}


def get_invoice(store: Store, invoice_id: str, param: str = "invoice") -> dict[str, Any]:
    record = store.get("invoice", invoice_id)
    if record is None:
        raise not_found("invoice", invoice_id, param)
    return record


def retrieve(ctx: Ctx, invoice_id: str) -> dict[str, Any]:
    return ctx.render("invoice", get_invoice(ctx.store, invoice_id, "id"))


def list_(ctx: Ctx) -> dict[str, Any]:
    params = ctx.params
    customer = params.str("customer")
    subscription = params.str("subscription")
    status = params.str("status", choices=("draft", "open", "paid", "uncollectible", "void"))
    created = created_filter(params)
    records = [
        i
        for i in ctx.store.all("invoice")
        if (customer is None or i["customer"] == customer)
        and (subscription is None or i.get("_subscription") == subscription)
        and (status is None or i["status"] == status)
        and created(i["created"])
    ]
    return list_object(ctx.store, "invoice", records, params, "/v1/invoices")


def list_lines(ctx: Ctx, invoice_id: str) -> dict[str, Any]:
    invoice = get_invoice(ctx.store, invoice_id, "invoice")
    # Lines keep invoice order; paging walks them first to last.
    lines = [{**line, "_seq": -i} for i, line in enumerate(invoice["_lines"])]
    return list_object(
        ctx.store,
        "line_item",
        lines,
        ctx.params,
        f"/v1/invoices/{invoice_id}/lines",
        render_one=lambda r, _paths: public(r),
    )


UPDATABLE = {"auto_advance", "automatically_finalizes_at", "description", "footer", "metadata"}


def update(ctx: Ctx, invoice_id: str) -> dict[str, Any]:
    """``POST /v1/invoices/{id}``: the fields this server models. A draft's
    ``automatically_finalizes_at`` moves its finalization (Stripe: up to 5 years ahead)."""
    params = ctx.params
    get_invoice(ctx.store, invoice_id, "invoice")
    for key in params.data:
        if key not in UPDATABLE and key != "expand":
            raise StripeError(
                400, f"This local Stripe server does not update invoice {key}.", param=key
            )
    record = ctx.store.get_mut("invoice", invoice_id)
    before = render(ctx.store, "invoice", record)
    draft_only = {"auto_advance", "automatically_finalizes_at", "description", "footer"}
    if record["status"] != "draft" and draft_only & params.data.keys():
        raise StripeError(
            400,
            f"Finalized invoices can't be updated in this way (status {record['status']}).",
            code="invoice_not_editable",
        )
    if params.has("automatically_finalizes_at"):
        at = params.int("automatically_finalizes_at") or 0
        if not ctx.now <= at <= ctx.now + 5 * 365 * 86400:
            raise StripeError(
                400,
                "automatically_finalizes_at must be in the future (at most 5 years).",
                param="automatically_finalizes_at",
            )
        record["automatically_finalizes_at"] = at
    if params.has("auto_advance"):
        record["auto_advance"] = bool(params.bool("auto_advance"))
        if not record["auto_advance"]:
            record["automatically_finalizes_at"] = None
    for key in ("description", "footer"):
        if params.has(key):
            record[key] = params.str(key)
    record["metadata"] = merge_metadata(record["metadata"], params.metadata())
    ctx.events.emit_update("invoice.updated", "invoice", record, before)
    return ctx.render("invoice", record)


def finalize(ctx: Ctx, invoice_id: str) -> dict[str, Any]:
    billing = Billing(ctx)
    get_invoice(ctx.store, invoice_id, "invoice")
    if ctx.params.has("auto_advance"):
        ctx.store.get_mut("invoice", invoice_id)["auto_advance"] = bool(
            ctx.params.bool("auto_advance")
        )
    return ctx.render("invoice", billing.finalize_draft(invoice_id))


def pay(ctx: Ctx, invoice_id: str) -> dict[str, Any]:
    return ctx.render("invoice", Billing(ctx).pay(invoice_id, ctx.params))


def void(ctx: Ctx, invoice_id: str) -> dict[str, Any]:
    return ctx.render("invoice", Billing(ctx).void(invoice_id))


def mark_uncollectible(ctx: Ctx, invoice_id: str) -> dict[str, Any]:
    return ctx.render("invoice", Billing(ctx).mark_uncollectible(invoice_id))


# -- previews --------------------------------------------------------------------------------
def _as_preview(
    store: Store, invoice: dict[str, Any], proration_date: int | None
) -> dict[str, Any]:
    """A preview invoice has no real id (``upcoming_...``) and temporary line ids."""
    obj = render(store, "invoice", invoice)
    obj["id"] = f"upcoming_{invoice['id']}"
    lines = [
        {**public(line), "id": "il_tmp_" + line["id"][3:], "invoice": None}
        for line in invoice["_lines"]
    ]
    obj["lines"] = embedded_list(
        lines,
        f"/v1/invoices/upcoming/lines?subscription={invoice.get('_subscription')}",
        total_count=len(lines),
    )
    obj.update({"number": None, "hosted_invoice_url": None, "invoice_pdf": None, "status": "draft"})
    if proration_date is not None and obj.get("parent"):
        obj["parent"]["subscription_details"]["subscription_proration_date"] = proration_date
    return obj


def _sole_subscription(ctx: Ctx, customer_id: str) -> dict[str, Any]:
    live = [
        s
        for s in ctx.store.all("subscription")
        if s["customer"] == customer_id and s["status"] in LIVE_STATUSES
    ]
    if not live:
        raise StripeError(400, "Nothing to invoice for customer", code="invoice_upcoming_none")
    return live[0]


def create_preview(ctx: Ctx) -> dict[str, Any]:
    params = ctx.params
    customer_id = params.str("customer")
    sub_id = params.str("subscription")
    details = params.sub("subscription_details")
    if customer_id is None and sub_id is None:
        raise StripeError(
            400, "Missing required param: customer.", code="parameter_missing", param="customer"
        )
    if customer_id is not None:
        get_customer(ctx.store, customer_id)
    if params.has("discounts"):
        # Top-level discounts apply to the previewed subscription (new or changed).
        details = Params({**details.data, "discounts": params.raw("discounts")}, details.prefix)
    billing = Billing(ctx)
    # The preview runs the real billing code in a transaction that is always rolled back.
    with ctx.store.transaction(rollback=True):
        if sub_id is None and details.has("items"):
            invoice = _preview_new(ctx, billing, customer_id or "", details)
            return _as_preview(ctx.store, invoice, None)
        sub = (
            billing.subscription(sub_id, "subscription")
            if sub_id
            else _sole_subscription(ctx, customer_id or "")
        )
        if customer_id is not None and sub["customer"] != customer_id:
            raise StripeError(
                400,
                f"The subscription {sub['id']} does not belong to customer {customer_id}.",
                param="subscription",
            )
        if sub["status"] not in LIVE_STATUSES:
            raise StripeError(400, "Nothing to invoice for customer", code="invoice_upcoming_none")
        proration_date = details.int("proration_date")
        latest = sub.get("latest_invoice")
        if _has_changes(details):
            billing.update_subscription(sub["id"], details, collect=False)
            sub = billing.subscription(sub["id"])
            if (
                details.str("proration_behavior") == "always_invoice"
                and sub.get("latest_invoice") != latest
            ):
                invoice = ctx.store.get("invoice", sub["latest_invoice"])
                assert invoice is not None
                return _as_preview(ctx.store, invoice, proration_date or ctx.now)
        invoice = billing.renew(sub["id"], collect=False)
        assert invoice is not None
        return _as_preview(ctx.store, invoice, proration_date if _has_changes(details) else None)


def _has_changes(details: Params) -> bool:
    return any(
        details.has(k)
        for k in (
            "items",
            "cancel_at_period_end",
            "cancel_at",
            "proration_date",
            "discounts",
            "trial_end",
        )
    )


def _preview_new(ctx: Ctx, billing: Billing, customer_id: str, details: Params) -> dict[str, Any]:
    data = dict(details.data)
    data["customer"] = customer_id
    sub = billing.create_subscription(Params(data, details.prefix), collect=False)
    invoice = ctx.store.get("invoice", sub["latest_invoice"])
    assert invoice is not None
    return invoice


# -- hosted page -----------------------------------------------------------------------------
def hosted_page(ctx: Ctx, invoice_id: str) -> str:
    invoice = get_invoice(ctx.store, invoice_id, "invoice")
    rows = "".join(
        f"<tr><td>{html.escape(line['description'] or '')}</td><td>{line['quantity']}</td>"
        f"<td>{line['amount'] / 100:.2f}</td></tr>"
        for line in invoice["_lines"]
    )
    title = html.escape(invoice.get("number") or invoice_id)
    return (
        f"<!doctype html><title>Invoice {title}</title><h1>Invoice {title}</h1>"
        f"<p>Status: {html.escape(invoice['status'])}</p>"
        f"<table><tr><th>Description</th><th>Qty</th><th>Amount</th></tr>{rows}</table>"
        f"<p>Total: {invoice['total'] / 100:.2f} {invoice['currency'].upper()}</p>"
        f"<p>Amount due: {invoice['amount_due'] / 100:.2f}</p>"
    )
