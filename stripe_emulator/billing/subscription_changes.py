"""Changing a subscription: item swaps, quantities, additions and deletions (prorated), and
the simple fields; ``always_invoice`` invoices and charges the prorations at once."""

from __future__ import annotations

from typing import Any

from ..errors import StripeError, invalid_param, missing_param
from ..params import Params, merge_metadata
from ..render import render
from ..resources.prices import get_price
from .base import BillingBase, is_flexible


class SubscriptionChanges(BillingBase):
    def update_subscription(
        self, sub_id: str, params: Params, *, collect: bool = True
    ) -> dict[str, Any]:
        current = self.subscription(sub_id, "subscription")
        if current["status"] in ("canceled", "incomplete_expired"):
            raise StripeError(
                400,
                "A canceled subscription can only update its cancellation_details and metadata.",
            )
        sub = self.store.get_mut("subscription", sub_id)
        before = render(self.store, "subscription", sub)
        proration = (
            params.str(
                "proration_behavior", choices=("create_prorations", "none", "always_invoice")
            )
            or "create_prorations"
        )
        payment_behavior = (
            params.str(
                "payment_behavior",
                choices=(
                    "allow_incomplete",
                    "default_incomplete",
                    "error_if_incomplete",
                    "pending_if_incomplete",
                ),
            )
            or "allow_incomplete"
        )
        at = params.int("proration_date") or self.ctx.now
        mark = self.store.event_mark()
        created_items = self._apply_item_changes(sub, params.subs("items"), at, proration)
        self._apply_simple_fields(sub, params)
        if params.has("discounts"):
            sub["discounts"] = (
                []
                if params.is_blank("discounts")
                else self.redeem(  # type: ignore[attr-defined]
                    params.subs("discounts"), sub["customer"], sub["id"], sub["currency"]
                )
            )
        if params.has("trial_settings"):
            sub["trial_settings"] = self._trial_settings(params)
        if params.has("trial_end") and self._change_trial(sub, params) and collect:
            # trial_end=now: the trial ends and the first paid period is invoiced at once.
            invoice = self.renew(sub_id)
            if invoice is not None:
                self.finalize_draft(invoice["id"])
            return self.store.get_mut("subscription", sub_id)
        invoice = None
        if proration == "always_invoice" and created_items:
            invoice = self._new_invoice(sub, "subscription_update", at, at, self.ctx.now)
            self._add_pending_items(invoice, sub)
            self._totals(invoice)
            if collect:
                self._collect_update(sub, invoice, payment_behavior)
        after = render(self.store, "subscription", sub)
        from ..events import diff

        changes = diff(before, after)
        if changes and collect:
            self.events.emit(
                "customer.subscription.updated",
                "subscription",
                sub,
                changes,
                snapshot=after,
                at=mark,
            )
        return sub

    def _change_trial(self, sub: dict[str, Any], params: Params) -> bool:
        """``trial_end``: a later end extends a trial (the billing cycle restarts there);
        ``now`` ends it (returns True). Adding a trial to a paid subscription is not modelled."""
        if sub["status"] != "trialing":
            raise StripeError(
                400,
                "This local Stripe server changes trial_end only during a trial.",
                param="trial_end",
            )
        now = self.ctx.now
        end = now if params.raw("trial_end") == "now" else params.int("trial_end") or 0
        if end < now:
            raise invalid_param("trial_end", "Invalid timestamp: must be in the future.")
        sub["trial_end"] = end
        sub["billing_cycle_anchor"] = end
        sub["_period_end"] = end
        for item in self.live_items(sub):
            record = self.store.get_mut("subscription_item", item["id"])
            record["current_period_end"] = end
            record["_usage_since"] = end
        if end == now:
            self.trial_will_end(sub["id"])
            return True
        sub["_trial_will_end_sent"] = False
        return False

    def _collect_update(self, sub: dict[str, Any], invoice: dict[str, Any], behavior: str) -> None:
        self._announce(invoice)
        self._finalize(invoice)
        if invoice["amount_due"] == 0:
            self._mark_paid(invoice, charged=False)
            return
        if behavior == "default_incomplete" or sub["collection_method"] == "send_invoice":
            return
        error = self._attempt(invoice, sub)
        if error is None:
            return
        if behavior in ("error_if_incomplete", "pending_if_incomplete"):
            raise error  # roll the whole update back, as Stripe does
        if sub["status"] == "active":
            sub["status"] = "past_due"

    def _apply_simple_fields(self, sub: dict[str, Any], params: Params) -> None:
        if params.has("cancel_at_period_end"):
            value = bool(params.bool("cancel_at_period_end", default=False))
            if value != sub["cancel_at_period_end"]:
                sub["cancel_at_period_end"] = value
                sub["canceled_at"] = self.ctx.now if value else None
                sub["cancellation_details"]["reason"] = "cancellation_requested" if value else None
        if params.has("cancel_at"):
            sub["cancel_at"] = params.int("cancel_at")
        if params.has("default_payment_method"):
            sub["default_payment_method"] = (
                None
                if params.is_blank("default_payment_method")
                else self._default_pm(params, sub["customer"])
            )
        if params.has("description"):
            sub["description"] = params.str("description")
        if params.has("cancellation_details"):
            details = params.sub("cancellation_details")
            for key in ("comment", "feedback"):
                if details.has(key):
                    sub["cancellation_details"][key] = details.str(key)
        sub["metadata"] = merge_metadata(sub["metadata"], params.metadata())

    def _apply_item_changes(
        self, sub: dict[str, Any], changes: list[Params], at: int, proration: str
    ) -> list[str]:
        """Swap prices, change quantities, add and delete items; returns the proration invoice
        items created."""
        created: list[str] = []
        for change in changes:
            item_id = change.str("id")
            if item_id is None:
                if change.bool("deleted", default=False):
                    raise missing_param(change.name("id"))
                price = get_price(
                    self.store, change.str("price", required=True) or "", change.name("price")
                )
                self._check_compatible(sub, price, change)
                item = self._new_item(sub, self._item_spec(change, price), self.ctx.now)
                created += self._prorate(sub, None, (price, item["quantity"]), item, at, proration)
                continue
            existing = self.store.get("subscription_item", item_id)
            if (
                existing is None
                or existing["subscription"] != sub["id"]
                or existing.get("_deleted")
            ):
                raise invalid_param(
                    change.name("id"),
                    f"Invalid subscription_item id: {item_id}",
                    code="resource_missing",
                )
            item = self.store.get_mut("subscription_item", item_id)
            old_price = get_price(self.store, item["_price"])
            old = (old_price, item["quantity"])
            if change.bool("deleted", default=False):
                created += self._leave_metered(sub, item, old_price, at, proration)
                item["_deleted"] = True
                sub["_items"] = [i for i in sub["_items"] if i != item_id]
                created += self._prorate(sub, old, None, item, at, proration)
                continue
            price = old_price
            if change.has("price"):
                price = get_price(
                    self.store, change.str("price", required=True) or "", change.name("price")
                )
                self._check_compatible(sub, price, change, replacing=item_id)
                if price["id"] != old_price["id"]:
                    created += self._leave_metered(sub, item, old_price, at, proration)
                    item["_usage_since"] = max(at, sub["_period_start"])
                item["_price"] = price["id"]
            metered = price["recurring"]["usage_type"] == "metered"
            if change.has("quantity"):
                if metered:
                    raise invalid_param(
                        change.name("quantity"),
                        "Quantity should not be specified where usage_type is `metered`.",
                    )
                item["quantity"] = change.int("quantity", minimum=0)
            elif metered:
                item["quantity"] = None
            elif item["quantity"] is None:
                item["quantity"] = 1
            item["metadata"] = merge_metadata(item["metadata"], change.metadata())
            if (price["id"], item["quantity"]) != (old_price["id"], old[1]):
                created += self._prorate(sub, old, (price, item["quantity"]), item, at, proration)
        if not self.live_items(sub):
            raise StripeError(
                400, "A subscription must have at least one active item.", param="items"
            )
        return created

    def _leave_metered(
        self,
        sub: dict[str, Any],
        item: dict[str, Any],
        price: dict[str, Any],
        at: int,
        proration: str,
    ) -> list[str]:
        """A metered price leaves the item. Flexible: its usage so far is invoiced at that
        price (unless ``proration_behavior=none``). Classic: that usage is never billed; the
        next invoice shows only usage after the change, at the new price
        (https://docs.stripe.com/billing/subscriptions/usage-based/manage-billing-setup#update-prices-mid-cycle)."""
        if price["recurring"]["usage_type"] != "metered":
            return []
        if not is_flexible(sub) or proration == "none":
            return []
        if sub["status"] not in ("active", "past_due", "trialing"):
            return []
        return self._usage_item(sub, item, price, at)

    def _check_compatible(
        self,
        sub: dict[str, Any],
        price: dict[str, Any],
        change: Params,
        replacing: str | None = None,
    ) -> None:
        taken = {i["_price"] for i in self.live_items(sub) if i["id"] != replacing}
        interval = (sub["_interval"], sub["_interval_count"])
        self._check_price(price, change.name("price"), sub["currency"], interval, taken)
