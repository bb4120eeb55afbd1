"""Billing credits on invoices: what the customer's credit grants take from the lines in
their scope (metered prices, or the prices listed), after discounts, as pretax credits; taken
for good (debit transactions) when the invoice is finalized. Discounts are listed among the
pretax credits too, as Stripe lists them since 2025-03-31.basil."""

from __future__ import annotations

from typing import Any

from ..resources.credits import debit_grant, grant_applies, grant_available, grant_order
from ..resources.prices import get_price
from .base import BillingBase


class Credits(BillingBase):
    def _apply_credits(self, invoice: dict[str, Any]) -> int:
        """Set each line's ``pretax_credit_amounts`` and the invoice's
        ``total_pretax_credit_amounts``; returns the credit grants' part."""
        lines = invoice["_lines"]
        if not invoice.get("_credits_final"):
            self._project_credits(invoice)
        total = 0
        invoice_entries: list[dict[str, Any]] = []
        for line in lines:
            entries = [
                {
                    "amount": d["amount"],
                    "credit_balance_transaction": None,
                    "discount": d["discount"],
                    "type": "discount",
                }
                for d in line.get("discount_amounts") or []
                if d["amount"]
            ]
            for credit in line.get("_credits") or []:
                entries.append(
                    {
                        "amount": credit["amount"],
                        "credit_balance_transaction": credit.get("transaction"),
                        "discount": None,
                        "type": "credit_balance_transaction",
                    }
                )
                total += credit["amount"]
            line["pretax_credit_amounts"] = entries
            invoice_entries.extend(entries)
        invoice["total_pretax_credit_amounts"] = invoice_entries
        return total

    def _project_credits(self, invoice: dict[str, Any]) -> None:
        grants = sorted(
            (
                g
                for g in self.store.all("credit_grant")
                if g["customer"] == invoice["customer"]
                and g["amount"]["monetary"]["currency"] == invoice["currency"]
                and grant_available(self.store, g)
            ),
            key=grant_order,
        )
        left = {g["id"]: g["_remaining"] for g in grants}
        for line in invoice["_lines"]:
            line["_credits"] = []
            due = line["amount"] - sum(d["amount"] for d in line.get("discount_amounts") or [])
            if due <= 0 or not grants:
                continue
            price = get_price(self.store, line["pricing"]["price_details"]["price"])
            for grant in grants:
                if due <= 0:
                    break
                if left[grant["id"]] <= 0 or not grant_applies(grant, price):
                    continue
                take = min(due, left[grant["id"]])
                left[grant["id"]] -= take
                due -= take
                line["_credits"].append({"grant": grant["id"], "amount": take})

    def _consume_credits(self, invoice: dict[str, Any]) -> None:
        """At finalization: each projected credit becomes a debit of its grant."""
        for line in invoice["_lines"]:
            for credit in line.get("_credits") or []:
                transaction = debit_grant(
                    self.ctx, credit["grant"], credit["amount"], invoice["id"], line["id"]
                )
                credit["transaction"] = transaction["id"]
                self.events.emit(
                    "billing.credit_balance_transaction.created",
                    "credit_balance_transaction",
                    transaction,
                )
        invoice["_credits_final"] = True
        self._apply_credits(invoice)
