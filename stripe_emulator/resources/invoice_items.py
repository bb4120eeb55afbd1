"""Invoice items: the pending prorations of a subscription and the items invoices took in."""

from __future__ import annotations

from typing import Any

from ..context import Ctx
from ..errors import not_found
from ..render import list_object


def retrieve(ctx: Ctx, item_id: str) -> dict[str, Any]:
    record = ctx.store.get("invoice_item", item_id)
    if record is None:
        raise not_found("invoiceitem", item_id, "id")
    return ctx.render("invoice_item", record)


def list_(ctx: Ctx) -> dict[str, Any]:
    params = ctx.params
    customer = params.str("customer")
    invoice = params.str("invoice")
    pending = params.bool("pending")
    records = [
        r
        for r in ctx.store.all("invoice_item")
        if (customer is None or r["customer"] == customer)
        and (invoice is None or r["invoice"] == invoice)
        and (pending is None or (r["invoice"] is None) == pending)
    ]
    return list_object(ctx.store, "invoice_item", records, params, "/v1/invoiceitems")
