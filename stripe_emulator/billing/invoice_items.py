"""Invoice items: the prorations a change creates (pending until the next invoice) and
moving pending items onto an invoice."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ..ids import new_id
from ..invoicing import (
    line_amount,
    proration_fraction,
    round_amount,
)
from ..resources.meters import usage_quantity
from ..resources.prices import get_price
from .base import BillingBase, _date, is_flexible


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
        """Credit the unused time of ``old`` and charge the remaining time of ``new`` (licensed
        items only: metered ones are billed for their usage, never prorated).

        Classic billing mode credits the old price and quantity at today's rate; flexible
        credits what was actually debited for the time left, one credit per debit
        (https://docs.stripe.com/billing/subscriptions/billing-mode/compare#credit-proration-calculations).
        """
        start, end = sub["_period_start"], sub["_period_end"]
        if (
            proration == "none"
            or sub["status"] not in ("active", "past_due", "trialing")
            or not start <= at < end
        ):
            return []
        fraction = proration_fraction(at, end, start, end)
        created = []
        if old is not None and old[1] is not None:
            if is_flexible(sub):
                created += self._credit_debits(sub, item, at)
            else:
                price, quantity = old
                amount = -line_amount(price, quantity, fraction)
                description = (
                    f"Unused time on {quantity} × {self._product_name(price)} after {_date(at)}"
                )
                created.append(
                    self._proration_item(sub, item, price, quantity, amount, at, end, description)
                )
        if new is not None and new[1] is not None:
            price, quantity = new
            amount = line_amount(price, quantity, fraction)
            description = (
                f"Remaining time on {quantity} × {self._product_name(price)} after {_date(at)}"
            )
            created.append(
                self._proration_item(sub, item, price, quantity, amount, at, end, description)
            )
            self._record_debit(item, price, quantity, amount, at, end)
        return created

    def _record_debit(
        self,
        item: dict[str, Any],
        price: dict[str, Any],
        quantity: int,
        amount: int,
        start: int,
        end: int,
    ) -> None:
        """What the customer was charged for ``[start, end)`` of this item (flexible credits
        give back a share of it)."""
        if amount <= 0 or end <= start:
            return
        record = self.store.get_mut("subscription_item", item["id"])
        record.setdefault("_debits", []).append(
            {
                "amount": amount,
                "start": start,
                "end": end,
                "price": price["id"],
                "quantity": quantity,
            }
        )

    def _credit_debits(self, sub: dict[str, Any], item: dict[str, Any], at: int) -> list[str]:
        """Flexible billing mode: one credit per earlier debit that covers time after ``at``,
        worth the share of that debit's amount; the debit then ends at ``at``."""
        record = self.store.get_mut("subscription_item", item["id"])
        created = []
        kept = []
        for debit in record.get("_debits") or []:
            if debit["end"] <= at:
                kept.append(debit)
                continue
            unused = debit["end"] - max(at, debit["start"])
            share = Decimal(unused) / Decimal(debit["end"] - debit["start"])
            credit = -round_amount(Decimal(debit["amount"]) * share)
            price = get_price(self.store, debit["price"])
            quantity = debit["quantity"]
            description = (
                f"Unused time on {quantity} × {self._product_name(price)} after {_date(at)}"
            )
            created.append(
                self._proration_item(
                    sub,
                    item,
                    price,
                    quantity,
                    credit,
                    max(at, debit["start"]),
                    debit["end"],
                    description,
                )
            )
            if at > debit["start"]:
                kept.append({**debit, "amount": debit["amount"] + credit, "end": at})
        record["_debits"] = kept
        return created

    def _usage_item(
        self, sub: dict[str, Any], item: dict[str, Any], price: dict[str, Any], at: int
    ) -> list[str]:
        """Flexible billing mode, a metered price leaving an item (swapped or deleted): the
        usage reported on it so far is billed at that price by an invoice item created now
        (https://docs.stripe.com/billing/subscriptions/usage-based/manage-billing-setup#update-prices-mid-cycle)."""
        since = max(item.get("_usage_since") or sub["_period_start"], sub["_period_start"])
        meter = (price.get("recurring") or {}).get("meter")
        quantity = usage_quantity(self.store, meter, sub["customer"], since, at)
        if quantity <= 0 or at <= since:
            return []
        amount = line_amount(price, quantity)
        return [
            self._proration_item(
                sub,
                item,
                price,
                quantity,
                amount,
                since,
                at,
                self._describe(price, quantity),
                proration=False,
            )
        ]

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
        *,
        proration: bool = True,
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
            "proration": proration,
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
