"""Invoice items: the prorations a change creates (pending until the next invoice) and
moving pending items onto an invoice."""

from __future__ import annotations

from typing import Any

from ..ids import new_id
from ..invoicing import (
    line_amount,
    proration_fraction,
)
from ..resources.prices import get_price
from .base import BillingBase, _date


class InvoiceItems(BillingBase):
    def _prorate(
        self,
        sub: dict[str, Any],
        old: tuple[dict[str, Any], int | None] | None,
        new: tuple[dict[str, Any], int | None] | None,
        item: dict[str, Any],
        at: int,
        proration: str,
    ) -> list[str]:
        start, end = sub["_period_start"], sub["_period_end"]
        if (
            proration == "none"
            or sub["status"] not in ("active", "past_due", "trialing")
            or not start <= at < end
        ):
            return []
        fraction = proration_fraction(at, end, start, end)
        created = []
        for state, sign, label in ((old, -1, "Unused time on"), (new, 1, "Remaining time on")):
            if state is None or state[1] is None:  # absent, or metered (never prorated)
                continue
            price, quantity = state
            amount = sign * line_amount(price, quantity, fraction)
            description = f"{label} {quantity} × {self._product_name(price)} after {_date(at)}"
            created.append(
                self._proration_item(sub, item, price, quantity, amount, at, end, description)
            )
        return created

    def _proration_item(
        self,
        sub: dict[str, Any],
        item: dict[str, Any],
        price: dict[str, Any],
        quantity: int,
        amount: int,
        start: int,
        end: int,
        description: str,
    ) -> str:
        record = {
            "id": new_id("ii"),
            "object": "invoiceitem",
            "amount": amount,
            "currency": sub["currency"],
            "customer": sub["customer"],
            "customer_account": None,
            "date": start,
            "description": description,
            "discountable": False,
            "discounts": [],
            "invoice": None,
            "livemode": False,
            "metadata": {},
            "net_amount": amount,
            "parent": {
                "subscription_details": {
                    "subscription": sub["id"],
                    "subscription_item": item["id"],
                },
                "type": "subscription_details",
            },
            "period": {"end": end, "start": start},
            "pricing": {
                "price_details": {"price": price["id"], "product": price["product"]},
                "type": "price_details",
                "unit_amount_decimal": price.get("unit_amount_decimal"),
            },
            "proration": True,
            "proration_details": {"credited_items": None, "discount_amounts": []},
            "quantity": quantity,
            "quantity_decimal": str(quantity),
            "tax_rates": [],
            "test_clock": None,
            "_subscription": sub["id"],
            "_subscription_item": item["id"],
        }
        self.store.insert("invoice_item", record)
        self.events.emit("invoiceitem.created", "invoice_item", record)
        return record["id"]

    def _add_pending_items(self, invoice: dict[str, Any], sub: dict[str, Any]) -> None:
        """Move the subscription's pending invoice items (prorations) onto ``invoice``."""
        pending = [
            ii
            for ii in sorted(self.store.all("invoice_item"), key=lambda r: r["_seq"])
            if ii["invoice"] is None and ii["_subscription"] == sub["id"]
        ]
        for ii in pending:
            record = self.store.get_mut("invoice_item", ii["id"])
            record["invoice"] = invoice["id"]
            price = get_price(self.store, record["pricing"]["price_details"]["price"])
            item = {"id": record["_subscription_item"]}
            self._add_line(
                invoice,
                sub,
                item,
                price,
                record["quantity"],
                record["amount"],
                record["period"]["start"],
                record["period"]["end"],
                description=record["description"],
                proration=record["proration"],
                invoice_item=record["id"],
            )
