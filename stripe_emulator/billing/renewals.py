"""The end of a period and of a subscription: renewal invoices, immediate cancellation (with
a final invoice or proration credit), expiry of an incomplete subscription, and the end of
dunning."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ..errors import StripeError, not_found
from ..invoicing import boundary, next_boundary_after, proration_fraction
from ..params import Params
from ..render import render
from ..resources.prices import get_price
from .base import TRIAL_WILL_END, BillingBase

INCOMPLETE_EXPIRY = 23 * 3600  # Stripe expires an unpaid first invoice's subscription then
MAX_STEPS = 10_000


class Renewals(BillingBase):
    def cancel_now(
        self, sub_id: str, *, invoice_now: bool, prorate: bool, params: Params | None = None
    ) -> dict[str, Any]:
        current = self.subscription(sub_id, "subscription")
        if current["status"] in ("canceled", "incomplete_expired"):
            raise not_found("subscription", sub_id, "subscription")
        sub = self.store.get_mut("subscription", sub_id)
        now = self.ctx.now
        if invoice_now or prorate:
            self._final_invoice(sub, now, invoice_now=invoice_now, prorate=prorate)
        sub.update({"status": "canceled", "canceled_at": now, "ended_at": now})
        sub["cancellation_details"]["reason"] = "cancellation_requested"
        if params is not None and params.has("cancellation_details"):
            details = params.sub("cancellation_details")
            for key in ("comment", "feedback"):
                if details.has(key):
                    sub["cancellation_details"][key] = details.str(key)
        self.events.emit("customer.subscription.deleted", "subscription", sub)
        return sub

    def _final_invoice(
        self, sub: dict[str, Any], now: int, *, invoice_now: bool, prorate: bool
    ) -> None:
        start = sub["_period_start"]
        if prorate:
            # Credit the unused time of licensed items (a pending credit if not invoiced now).
            for item in self.live_items(sub):
                price = get_price(self.store, item["_price"])
                self._prorate(sub, (price, item["quantity"]), None, item, now, "create_prorations")
        if not invoice_now:
            return
        invoice = self._new_invoice(sub, "subscription_cycle", start, now, now)
        self._add_pending_items(invoice, sub)
        # Usage reported up to and including the cancellation second is billed.
        self._add_usage_lines(invoice, sub, start, now, until=now + 1)
        self._totals(invoice)
        self._collect_renewal(sub, invoice)

    def renew(self, sub_id: str, *, collect: bool = True) -> dict[str, Any] | None:
        """Close the current period at its end: invoice usage of the closed period, pending
        items and (unless the subscription ends now) licensed items of the next period."""
        sub = self.store.get_mut("subscription", sub_id)
        if sub["status"] == "trialing":
            return self._end_trial(sub, collect=collect)
        before = render(self.store, "subscription", sub)
        start, end = sub["_period_start"], sub["_period_end"]
        ends = sub["cancel_at_period_end"] or (
            sub.get("cancel_at") is not None and sub["cancel_at"] <= end
        )
        mark = self.store.event_mark()
        invoice = self._new_invoice(sub, "subscription_cycle", start, end, end)
        self._add_pending_items(invoice, sub)
        self._add_usage_lines(invoice, sub, start, end)
        if not ends:
            new_end = next_boundary_after(
                sub["billing_cycle_anchor"], sub["_interval"], sub["_interval_count"], end
            )
            self._set_period(sub, end, new_end)
            self._add_licensed_lines(invoice, sub, end, new_end)
        self._totals(invoice)
        if not collect:
            return invoice
        if not invoice["_lines"]:
            self.store.delete("invoice", invoice["id"])
            sub["latest_invoice"] = before["latest_invoice"]
            invoice = None
        else:
            # A renewal stays a draft for the account's finalization grace period (usage
            # reported meanwhile for the closed period still lands on it), then finalizes.
            self._announce(invoice)
            grace = int(self.store.settings["invoice_finalization_grace_period"])
            invoice["automatically_finalizes_at"] = end + grace
        if ends:
            sub.update(
                {"status": "canceled", "ended_at": end, "canceled_at": sub["canceled_at"] or end}
            )
            sub["cancellation_details"]["reason"] = "cancellation_requested"
            self.events.emit("customer.subscription.deleted", "subscription", sub)
            return invoice
        after = render(self.store, "subscription", sub)
        from ..events import diff

        self.events.emit(
            "customer.subscription.updated",
            "subscription",
            sub,
            diff(before, after),
            snapshot=after,
            at=mark,
        )
        return invoice

    # -- trials ---------------------------------------------------------------------------
    def trial_will_end(self, sub_id: str) -> None:
        """``customer.subscription.trial_will_end``: three days before the trial ends (at once
        for a shorter trial, or when it is ended now)."""
        sub = self.store.get_mut("subscription", sub_id)
        if sub.get("_trial_will_end_sent"):
            return
        sub["_trial_will_end_sent"] = True
        self.events.emit("customer.subscription.trial_will_end", "subscription", sub)

    def _end_trial(self, sub: dict[str, Any], *, collect: bool) -> dict[str, Any] | None:
        """The trial is over. Without a payment method, ``trial_settings[end_behavior]
        [missing_payment_method]`` decides: ``cancel`` ends the subscription, ``pause`` pauses
        it (no invoice), ``create_invoice`` (default) invoices anyway (unpaid: past_due).
        Otherwise the first paid period starts: invoiced like a renewal, prorated up to a
        billing cycle anchor after the trial
        (https://docs.stripe.com/billing/subscriptions/trials)."""
        before = render(self.store, "subscription", sub)
        start, end = sub["_period_start"], sub["_period_end"]
        mark = self.store.event_mark()
        behavior = sub["trial_settings"]["end_behavior"]["missing_payment_method"]
        if collect and (sub["cancel_at_period_end"] or not self.has_payment_method(sub)):
            if sub["cancel_at_period_end"] or behavior == "cancel":
                sub.update({"status": "canceled", "ended_at": end, "canceled_at": end})
                if not sub["cancel_at_period_end"]:
                    sub["cancellation_details"]["reason"] = "cancellation_requested"
                self.events.emit("customer.subscription.deleted", "subscription", sub)
                return None
            if behavior == "pause":
                sub["status"] = "paused"
                self.events.emit("customer.subscription.paused", "subscription", sub)
                self._emit_changes(sub, before, mark)
                return None
        invoice = self._new_invoice(sub, "subscription_cycle", start, end, end)
        self._add_pending_items(invoice, sub)
        interval, count = sub["_interval"], sub["_interval_count"]
        anchor = sub["billing_cycle_anchor"]
        new_end = anchor if anchor > end else next_boundary_after(anchor, interval, count, end)
        full_start = boundary(new_end, interval, count, -1)
        fraction = Decimal(1)
        if full_start < end:
            fraction = proration_fraction(end, new_end, full_start, new_end)
            if sub.get("_first_proration") == "none":
                fraction = Decimal(0)
        self._set_period(sub, end, new_end)
        self._add_licensed_lines(invoice, sub, end, new_end, fraction=fraction)
        sub["status"] = "active"
        self._totals(invoice)
        if not collect:
            return invoice
        self._announce(invoice)
        grace = int(self.store.settings["invoice_finalization_grace_period"])
        invoice["automatically_finalizes_at"] = end + grace
        self._emit_changes(sub, before, mark)
        return invoice

    def _emit_changes(self, sub: dict[str, Any], before: dict[str, Any], mark: int) -> None:
        from ..events import diff

        after = render(self.store, "subscription", sub)
        changes = diff(before, after)
        if changes:
            self.events.emit(
                "customer.subscription.updated",
                "subscription",
                sub,
                changes,
                snapshot=after,
                at=mark,
            )

    def resume(self, sub_id: str) -> dict[str, Any]:
        """``POST /v1/subscriptions/{id}/resume``: a paused subscription starts a new period now
        (``billing_cycle_anchor=now``, Stripe's default), invoiced and charged at once."""
        current = self.subscription(sub_id, "subscription")
        if current["status"] != "paused":
            raise StripeError(
                400, f"Only paused subscriptions can be resumed; this one is {current['status']}."
            )
        sub = self.store.get_mut("subscription", sub_id)
        before = render(self.store, "subscription", sub)
        now = self.ctx.now
        end = boundary(now, sub["_interval"], sub["_interval_count"], 1)
        sub["billing_cycle_anchor"] = now
        self._set_period(sub, now, end)
        invoice = self._new_invoice(sub, "subscription_cycle", now, now, now)
        self._add_licensed_lines(invoice, sub, now, end)
        self._totals(invoice)
        sub["status"] = "active"
        self._collect_renewal(sub, invoice)
        self.events.emit("customer.subscription.resumed", "subscription", sub)
        self._emit_changes(sub, before, self.store.event_mark())
        return sub

    def _collect_renewal(self, sub: dict[str, Any], invoice: dict[str, Any]) -> None:
        self._announce(invoice)
        self._finalize(invoice)
        self._charge_finalized(sub, invoice)

    def finalize_draft(self, invoice_id: str) -> dict[str, Any]:
        """A draft's grace period is over (or ``POST /v1/invoices/{id}/finalize``): usage lines
        take the meters' latest totals, the invoice is finalized and, if it belongs to a
        subscription and advances automatically, charged."""
        current = self.store.get("invoice", invoice_id)
        if current is None:
            raise not_found("invoice", invoice_id, "invoice")
        if current["status"] != "draft":
            raise StripeError(
                400,
                f"This invoice is already finalized ({current['status']}).",
                code="invoice_not_editable",
            )
        invoice = self.store.get_mut("invoice", invoice_id)
        self._refresh_usage(invoice)
        self._totals(invoice)
        self._finalize(invoice)
        sub = self.store.get("subscription", invoice.get("_subscription") or "")
        if sub is not None and invoice["auto_advance"]:
            record = self.store.get_mut("subscription", sub["id"])
            before = render(self.store, "subscription", record)
            self._charge_finalized(record, invoice)
            self.events.emit_update("customer.subscription.updated", "subscription", record, before)
        return invoice

    def _charge_finalized(self, sub: dict[str, Any], invoice: dict[str, Any]) -> None:
        if invoice["amount_due"] == 0:
            self._mark_paid(invoice, charged=False)
            return
        if sub["collection_method"] == "send_invoice":
            return
        error = self._attempt(invoice, sub)
        if error is not None and sub["status"] == "active":
            sub["status"] = "past_due"

    # -- the clock ------------------------------------------------------------------------
    def _next_due(self, until: int, renewals: bool) -> tuple[int, int, str, str] | None:
        """The earliest work due at or before ``until``: (time, order, kind, object id)."""
        due: list[tuple[int, int, str, str]] = []
        for invoice in self.store.all("invoice"):
            at = invoice.get("automatically_finalizes_at")
            if invoice["status"] == "draft" and invoice["auto_advance"] and at is not None:
                due.append((at, 0, "finalize", invoice["id"]))
            retry = invoice.get("next_payment_attempt")
            if invoice["status"] == "open" and retry is not None:
                due.append((retry, 0, "retry", invoice["id"]))
        for sub in self.store.all("subscription"):
            if sub["status"] == "trialing" and not sub.get("_trial_will_end_sent"):
                at = max(sub["trial_end"] - TRIAL_WILL_END, sub["created"])
                due.append((at, 0, "trial_will_end", sub["id"]))
        if renewals:
            for sub in self.store.all("subscription"):
                if sub["status"] in ("canceled", "incomplete_expired", "paused"):
                    continue
                if sub["status"] == "incomplete":
                    due.append((sub["created"] + INCOMPLETE_EXPIRY, 1, "expire", sub["id"]))
                else:
                    due.append((sub["_period_end"], 1, "renew", sub["id"]))
        due = [d for d in due if d[0] <= until]
        return min(due) if due else None

    def run_due(self, until: int, *, renewals: bool) -> list[str]:
        """Move the clock to ``until``, doing on the way, in time order, what Stripe does at
        those times: finalize drafts whose grace period ended and (``renewals``) renew
        subscriptions whose period ended. Returns the invoices made or finalized."""
        touched: list[str] = []
        for _ in range(MAX_STEPS):
            step = self._next_due(until, renewals)
            if step is None:
                break
            at, _order, kind, object_id = step
            self.store.clock.advance_to(at)
            if kind == "finalize":
                self.finalize_draft(object_id)
                touched.append(object_id)
            elif kind == "retry":
                self.retry_payment(object_id)
            elif kind == "trial_will_end":
                self.trial_will_end(object_id)
            elif kind == "expire":
                self.expire_incomplete(object_id)
            else:
                invoice = self.renew(object_id)
                if invoice is not None:
                    touched.append(invoice["id"])
        else:  # pragma: no cover - a bug, not a state
            raise RuntimeError(f"more than {MAX_STEPS} billing steps before {until}")
        self.store.clock.advance_to(until)
        return list(dict.fromkeys(touched))

    def _set_period(self, sub: dict[str, Any], start: int, end: int) -> None:
        sub["_period_start"], sub["_period_end"] = start, end
        for item in self.live_items(sub):
            record = self.store.get_mut("subscription_item", item["id"])
            record["current_period_start"], record["current_period_end"] = start, end
            record["_usage_since"], record["_debits"] = start, []

    def expire_incomplete(self, sub_id: str) -> None:
        """An unpaid first invoice: Stripe expires the subscription after 23 hours."""
        sub = self.store.get_mut("subscription", sub_id)
        now = self.ctx.now
        for invoice in self.store.all("invoice"):
            if invoice.get("_subscription") == sub_id and invoice["status"] == "open":
                self.void(invoice["id"])
        sub.update({"status": "incomplete_expired", "ended_at": now})
        self.events.emit("customer.subscription.deleted", "subscription", sub)

    def retries_exhausted(self, sub_id: str, outcome: str) -> dict[str, Any]:
        """Stripe's end of dunning: cancel (default setting) or mark the subscription unpaid."""
        sub = self.subscription(sub_id)
        if sub["status"] != "past_due":
            raise StripeError(400, f"Subscription {sub_id} is {sub['status']}, not past_due.")
        if outcome == "canceled":
            return self.cancel_now(sub_id, invoice_now=False, prorate=False)
        record = self.store.get_mut("subscription", sub_id)
        before = render(self.store, "subscription", record)
        record["status"] = "unpaid"
        self.events.emit_update("customer.subscription.updated", "subscription", record, before)
        return record
