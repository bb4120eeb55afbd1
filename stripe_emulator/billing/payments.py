"""Paying invoices: which payment method, the charge (test cards decide), paid or a recorded
failure with the customer delinquent, ``POST /pay`` and ``/void``."""

from __future__ import annotations

from typing import Any

from ..errors import StripeError, not_found
from ..params import Params
from ..render import render
from ..resources.payment_methods import card_of, decline_error
from .base import DAY, NO_PAYMENT_METHOD, BillingBase


class InvoicePayments(BillingBase):
    def payment_method_for(
        self, invoice: dict[str, Any], explicit: str | None = None
    ) -> str | None:
        if explicit:
            return explicit
        if invoice.get("default_payment_method"):
            return invoice["default_payment_method"]
        sub = self.store.get("subscription", invoice.get("_subscription") or "")
        if sub and sub.get("default_payment_method"):
            return sub["default_payment_method"]
        customer = self.store.get("customer", invoice["customer"]) or {}
        return (customer.get("invoice_settings") or {}).get("default_payment_method")

    def _charge_error(self, pm_id: str | None, customer_id: str) -> StripeError | None:
        pm = self.store.get("payment_method", pm_id) if pm_id else None
        if pm is None or pm.get("customer") != customer_id:
            return StripeError(400, NO_PAYMENT_METHOD)
        card = card_of(pm)
        if card.behavior in ("decline", "charge_fail"):
            return decline_error(card)
        return None

    def _attempt(
        self,
        invoice: dict[str, Any],
        sub: dict[str, Any] | None,
        pm_id: str | None = None,
        *,
        retry: bool | None = True,
    ) -> StripeError | None:
        """Charge an open invoice: paid (and its events) or a recorded failure."""
        error = self._charge_error(self.payment_method_for(invoice, pm_id), invoice["customer"])
        if error is None:
            self._mark_paid(invoice, charged=True)
            return None
        now = self.ctx.now
        invoice["attempted"] = True
        invoice["attempt_count"] += 1
        if retry is None:
            pass  # a payment asked for through the API: Stripe's own schedule is unchanged
        elif not retry:
            invoice["next_payment_attempt"] = None  # a first invoice is never retried
        else:
            # Stripe's automatic retries (Smart Retries or a custom schedule) as configured:
            # none by default here. Each retry is some days after the previous attempt.
            days = self.store.settings["payment_retry_days"]
            done = int(invoice.get("_automatic_retries") or 0)
            invoice["next_payment_attempt"] = now + days[done] * DAY if done < len(days) else None
        self._set_delinquent(invoice["customer"], True)
        self.events.emit("invoice.payment_failed", "invoice", invoice)
        return error

    def _mark_paid(self, invoice: dict[str, Any], *, charged: bool) -> None:
        now = self.ctx.now
        invoice.update(
            {
                "status": "paid",
                "amount_paid": invoice["amount_due"],
                "amount_remaining": 0,
                "attempted": True,
                "auto_advance": False,
                "next_payment_attempt": None,
            }
        )
        if charged:
            invoice["attempt_count"] += 1
        invoice["status_transitions"]["paid_at"] = now
        self._set_delinquent(
            invoice["customer"], self._has_open_invoices(invoice["customer"], invoice["id"])
        )
        self.events.emit("invoice.paid", "invoice", invoice)
        self.events.emit("invoice.payment_succeeded", "invoice", invoice)

    def _has_open_invoices(self, customer_id: str, except_id: str | None = None) -> bool:
        return any(
            i["customer"] == customer_id and i["status"] == "open" and i["id"] != except_id
            for i in self.store.all("invoice")
        )

    def _set_delinquent(self, customer_id: str, delinquent: bool) -> None:
        customer = self.store.get("customer", customer_id)
        if customer is not None and customer.get("delinquent") != delinquent:
            self.store.get_mut("customer", customer_id)["delinquent"] = delinquent

    def pay(self, invoice_id: str, params: Params) -> dict[str, Any]:
        invoice = self.store.get("invoice", invoice_id)
        if invoice is None:
            raise not_found("invoice", invoice_id, "invoice")
        if invoice["status"] == "paid":
            raise StripeError(400, "Invoice is already paid", code="invoice_already_paid")
        if invoice["status"] not in ("open", "uncollectible"):
            raise StripeError(
                400,
                f"You can only pay open invoices. This invoice is {invoice['status']}.",
                code="invoice_not_editable",
            )
        invoice = self.store.get_mut("invoice", invoice_id)
        if params.bool("paid_out_of_band", default=False):
            self._mark_paid(invoice, charged=False)
            self._after_payment(invoice)
            return invoice
        pm_id = params.str("payment_method")
        if pm_id is not None and self.store.get("payment_method", pm_id) is None:
            raise not_found("PaymentMethod", pm_id, "payment_method")
        sub = self.store.get("subscription", invoice.get("_subscription") or "")
        first = sub is not None and sub["status"] == "incomplete"
        error = self._attempt(invoice, sub, pm_id, retry=False if first else None)
        if error is not None:
            error.keep_changes = True  # the failed attempt and its event are kept
            raise error
        self._after_payment(invoice)
        return invoice

    def _after_payment(
        self,
        invoice: dict[str, Any],
        statuses: tuple[str, ...] = ("incomplete", "past_due", "unpaid"),
    ) -> None:
        """A paid (or voided, or uncollectible) invoice brings an incomplete/past_due/unpaid
        subscription back to active once it has no other open invoice."""
        sub_id = invoice.get("_subscription")
        sub = self.store.get("subscription", sub_id or "")
        if sub is None or sub["status"] not in statuses:
            return
        if any(
            i["status"] == "open" and i.get("_subscription") == sub_id
            for i in self.store.all("invoice")
        ):
            return
        record = self.store.get_mut("subscription", sub["id"])
        before = render(self.store, "subscription", record)
        record["status"] = "active"
        self.events.emit_update("customer.subscription.updated", "subscription", record, before)

    def retry_payment(self, invoice_id: str) -> None:
        """One of Stripe's automatic retries (``payment_retry_days``); when the last one fails
        the subscription goes as ``retries_exhausted_subscription`` says."""
        invoice = self.store.get_mut("invoice", invoice_id)
        invoice["_automatic_retries"] = int(invoice.get("_automatic_retries") or 0) + 1
        sub = self.store.get("subscription", invoice.get("_subscription") or "")
        error = self._attempt(invoice, sub)
        if error is None:
            self._after_payment(invoice)
            return
        if invoice["next_payment_attempt"] is None and sub is not None:
            outcome = self.store.settings["retries_exhausted_subscription"]
            if sub["status"] == "past_due" and outcome in ("cancel", "unpaid"):
                self.retries_exhausted(sub["id"], "canceled" if outcome == "cancel" else "unpaid")

    def void(self, invoice_id: str) -> dict[str, Any]:
        """``open`` or ``uncollectible`` -> ``void`` (``invoice.voided``). It does not cancel the
        subscription: a past_due/unpaid one left with no open invoice becomes active."""
        return self._close(
            invoice_id, "void", "voided_at", "invoice.voided", ("open", "uncollectible")
        )

    def mark_uncollectible(self, invoice_id: str) -> dict[str, Any]:
        """``open`` -> ``uncollectible`` (``invoice.marked_uncollectible``): still payable later,
        no longer collected; the subscription is treated as for a voided invoice."""
        return self._close(
            invoice_id,
            "uncollectible",
            "marked_uncollectible_at",
            "invoice.marked_uncollectible",
            ("open",),
        )

    def _close(
        self,
        invoice_id: str,
        status: str,
        transition: str,
        event: str,
        allowed: tuple[str, ...],
    ) -> dict[str, Any]:
        invoice = self.store.get("invoice", invoice_id)
        if invoice is None:
            raise not_found("invoice", invoice_id, "invoice")
        if invoice["status"] not in allowed:
            raise StripeError(
                400,
                f"You can only pass in {' or '.join(allowed)} invoices. This invoice is "
                f"{invoice['status']}.",
                code="invoice_not_editable",
            )
        record = self.store.get_mut("invoice", invoice_id)
        record["status"] = status
        if status == "void":
            record["amount_remaining"] = 0
        record["next_payment_attempt"] = None
        record["auto_advance"] = False
        record["status_transitions"][transition] = self.ctx.now
        self._set_delinquent(
            record["customer"], self._has_open_invoices(record["customer"], invoice_id)
        )
        self.events.emit(event, "invoice", record)
        self._after_payment(record, ("past_due", "unpaid"))
        return record
