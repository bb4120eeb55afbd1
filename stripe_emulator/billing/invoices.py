"""Invoices: the record, its lines (licensed in advance, metered usage in arrears), totals
with the customer's balance, and finalization (number, hosted URL, events)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ..ids import new_id
from ..invoicing import line_amount
from ..resources.credits import new_balance_transaction
from ..resources.meters import usage_quantity
from ..resources.prices import get_price
from .base import BillingBase


class Invoices(BillingBase):
    def _new_invoice(
        self, sub: dict[str, Any], reason: str, period_start: int, period_end: int, now: int
    ) -> dict[str, Any]:
        customer = self.store.get("customer", sub["customer"]) or {}
        record: dict[str, Any] = {
            "id": new_id("in"),
            "object": "invoice",
            "account_country": "US",
            "account_name": "PetStore (local Stripe)",
            "account_tax_ids": None,
            "amount_due": 0,
            "amount_overpaid": 0,
            "amount_paid": 0,
            "amount_remaining": 0,
            "amount_shipping": 0,
            "application": None,
            "attempt_count": 0,
            "attempted": False,
            "auto_advance": True,
            "automatic_tax": {
                "disabled_reason": None,
                "enabled": False,
                "liability": None,
                "provider": None,
                "status": None,
            },
            "automatically_finalizes_at": None,
            "billing_reason": reason,
            "collection_method": sub["collection_method"],
            "confirmation_secret": None,
            "created": now,
            "currency": sub["currency"],
            "custom_fields": None,
            "customer": sub["customer"],
            "customer_account": None,
            "customer_address": customer.get("address"),
            "customer_email": customer.get("email"),
            "customer_name": customer.get("name"),
            "customer_phone": customer.get("phone"),
            "customer_shipping": None,
            "customer_tax_exempt": "none",
            "customer_tax_ids": [],
            "default_payment_method": None,
            "default_source": None,
            "default_tax_rates": [],
            "description": None,
            "discounts": self.active_discounts(sub),
            "due_date": None,
            "effective_at": None,
            "ending_balance": None,
            "footer": None,
            "from_invoice": None,
            "hosted_invoice_url": None,
            "invoice_pdf": None,
            "issuer": {"type": "self"},
            "last_finalization_error": None,
            "latest_revision": None,
            "livemode": False,
            "metadata": {},
            "next_payment_attempt": None,
            "number": None,
            "on_behalf_of": None,
            "parent": {
                "quote_details": None,
                "subscription_details": {
                    "metadata": dict(sub["metadata"]),
                    "subscription": sub["id"],
                },
                "type": "subscription_details",
            },
            "payment_settings": {
                "default_mandate": None,
                "payment_method_options": None,
                "payment_method_types": None,
            },
            "period_end": period_end,
            "period_start": period_start,
            "post_payment_credit_notes_amount": 0,
            "pre_payment_credit_notes_amount": 0,
            "receipt_number": None,
            "rendering": None,
            "shipping_cost": None,
            "shipping_details": None,
            "starting_balance": 0,
            "statement_descriptor": None,
            "status": "draft",
            "status_transitions": {
                "finalized_at": None,
                "marked_uncollectible_at": None,
                "paid_at": None,
                "voided_at": None,
            },
            "subtotal": 0,
            "subtotal_excluding_tax": 0,
            "test_clock": None,
            "threshold_reason": None,
            "total": 0,
            "total_discount_amounts": [],
            "total_excluding_tax": 0,
            "total_pretax_credit_amounts": [],
            "total_taxes": [],
            "webhooks_delivered_at": None,
            "_lines": [],
            "_subscription": sub["id"],
        }
        self.store.insert("invoice", record)
        sub["latest_invoice"] = record["id"]
        return record

    def _add_line(
        self,
        invoice: dict[str, Any],
        sub: dict[str, Any],
        item: dict[str, Any],
        price: dict[str, Any],
        quantity: int,
        amount: int,
        start: int,
        end: int,
        *,
        description: str | None = None,
        proration: bool = False,
        invoice_item: str | None = None,
        private: dict[str, Any] | None = None,
    ) -> None:
        invoice["_lines"].append(
            {
                **(private or {}),
                "id": new_id("il"),
                "object": "line_item",
                "amount": amount,
                "currency": invoice["currency"],
                "description": description or self._describe(price, quantity),
                "discount_amounts": [],
                "discountable": not proration,
                "discounts": [],
                "invoice": invoice["id"],
                "livemode": False,
                "metadata": dict(sub["metadata"]),
                "parent": {
                    "invoice_item_details": None,
                    "subscription_item_details": {
                        "invoice_item": invoice_item,
                        "proration": proration,
                        "proration_details": {"credited_items": None},
                        "subscription": sub["id"],
                        "subscription_item": item["id"],
                    },
                    "type": "subscription_item_details",
                },
                "period": {"end": end, "start": start},
                "pretax_credit_amounts": [],
                "pricing": {
                    "price_details": {"price": price["id"], "product": price["product"]},
                    "type": "price_details",
                    "unit_amount_decimal": price.get("unit_amount_decimal"),
                },
                "quantity": quantity,
                "quantity_decimal": str(quantity),
                "subscription": sub["id"],
                "subtotal": amount,
                "taxes": [],
            }
        )

    def _add_usage_lines(
        self,
        invoice: dict[str, Any],
        sub: dict[str, Any],
        start: int,
        end: int,
        until: int | None = None,
    ) -> None:
        """Metered items: the meter's aggregate over ``[since, until or end)``, where ``since``
        is the period start or the time the item's price was set (usage before a price change
        is billed, or not, by the change itself)."""
        for item in self.live_items(sub):
            if item["quantity"] is not None:
                continue
            price = get_price(self.store, item["_price"])
            since = max(start, item.get("_usage_since") or start)
            if since >= (until or end):
                continue  # nothing billable yet (a trial, or a price set at the period end)
            usage = {"since": since, "until": until or end}
            quantity, amount = self._usage_amount(price, sub["customer"], usage)
            self._add_line(
                invoice, sub, item, price, quantity, amount, since, end, private={"_usage": usage}
            )

    def _usage_amount(
        self, price: dict[str, Any], customer_id: str, usage: dict[str, int]
    ) -> tuple[int, int]:
        meter = (price.get("recurring") or {}).get("meter")
        quantity = usage_quantity(self.store, meter, customer_id, usage["since"], usage["until"])
        return quantity, line_amount(price, quantity)

    def _refresh_usage(self, invoice: dict[str, Any]) -> None:
        """At finalization a draft's usage lines take the meters' latest totals for their
        period (usage reported during the finalization grace period lands here)."""
        for line in invoice["_lines"]:
            usage = line.get("_usage")
            if usage is None:
                continue
            price = get_price(self.store, line["pricing"]["price_details"]["price"])
            quantity, amount = self._usage_amount(price, invoice["customer"], usage)
            line.update(
                {
                    "quantity": quantity,
                    "quantity_decimal": str(quantity),
                    "amount": amount,
                    "subtotal": amount,
                    "description": self._describe(price, quantity),
                }
            )

    def _add_licensed_lines(
        self,
        invoice: dict[str, Any],
        sub: dict[str, Any],
        start: int,
        end: int,
        *,
        fraction: Decimal = Decimal(1),
    ) -> None:
        for item in self.live_items(sub):
            if item["quantity"] is None:
                continue
            price = get_price(self.store, item["_price"])
            amount = line_amount(price, item["quantity"], fraction)
            self._add_line(invoice, sub, item, price, item["quantity"], amount, start, end)
            self._record_debit(item, price, item["quantity"], amount, start, end)

    def _totals(self, invoice: dict[str, Any]) -> None:
        subtotal = sum(line["amount"] for line in invoice["_lines"])
        total = subtotal - self._apply_discounts(invoice)  # type: ignore[attr-defined]
        total -= self._apply_credits(invoice)  # type: ignore[attr-defined]
        customer = self.store.get("customer", invoice["customer"]) or {}
        balance = int(customer.get("balance") or 0)
        invoice.update(
            {
                "subtotal": subtotal,
                "subtotal_excluding_tax": subtotal,
                "total": total,
                "total_excluding_tax": total,
                "starting_balance": balance,
                # A credit balance (negative) reduces what is due; a negative total becomes credit.
                "amount_due": max(total + balance, 0),
                "amount_remaining": max(total + balance, 0),
            }
        )

    def _announce(self, invoice: dict[str, Any]) -> None:
        self.events.emit("invoice.created", "invoice", invoice)

    def _finalize(self, invoice: dict[str, Any]) -> None:
        """draft -> open: number, customer balance applied, hosted URL; invoice.finalized
        (``invoice.created`` was sent when the draft was made)."""
        self._totals(invoice)
        self._consume_credits(invoice)  # type: ignore[attr-defined]
        self._totals(invoice)
        now = self.ctx.now
        customer = self.store.get_mut("customer", invoice["customer"])
        sequence = customer.get("next_invoice_sequence") or 1
        customer["next_invoice_sequence"] = sequence + 1
        ending = min(invoice["total"] + invoice["starting_balance"], 0)
        customer["balance"] = ending
        if ending != invoice["starting_balance"]:
            new_balance_transaction(
                self.ctx,
                invoice["customer"],
                ending - invoice["starting_balance"],
                invoice["currency"],
                "applied_to_invoice",
                invoice=invoice["id"],
            )
        base = self.ctx.server.base_url
        invoice.update(
            {
                "number": f"{customer['invoice_prefix']}-{sequence:04d}",
                "status": "open",
                "ending_balance": ending,
                "effective_at": now,
                "hosted_invoice_url": f"{base}/hosted/invoices/{invoice['id']}",
                "invoice_pdf": f"{base}/hosted/invoices/{invoice['id']}/pdf",
            }
        )
        invoice["status_transitions"]["finalized_at"] = now
        invoice["automatically_finalizes_at"] = None
        self._consume_once(invoice)  # type: ignore[attr-defined]
        self.events.emit("invoice.finalized", "invoice", invoice)
