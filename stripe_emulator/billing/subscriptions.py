"""Creating a subscription: prices checked, items, billing cycle anchor, the first invoice
and its payment (``payment_behavior``)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ..errors import StripeError, invalid_param, missing_param
from ..ids import new_id
from ..invoicing import (
    anchor_from_config,
    boundary,
    line_amount,
    proration_fraction,
)
from ..params import Params, merge_metadata
from ..render import render
from ..resources.customers import get_customer
from ..resources.prices import get_price
from .base import TRIAL_WILL_END, BillingBase, _date


def billing_mode(params: Params, now: int) -> dict[str, Any]:
    """``billing_mode``: flexible unless ``classic`` is asked for (Stripe's default for
    subscriptions created through the API since 2025-09-30.clover)."""
    mode = params.str("type", required=params.has("type") or bool(params.data)) or "flexible"
    if mode == "classic":
        return {"flexible": None, "type": "classic", "updated_at": now}
    flexible = params.sub("flexible")
    discounts = flexible.str("proration_discounts") or "included"
    return {"flexible": {"proration_discounts": discounts}, "type": "flexible", "updated_at": now}


class SubscriptionCreation(BillingBase):
    def _check_price(
        self,
        price: dict[str, Any],
        param: str,
        currency: str | None,
        interval: tuple[str, int] | None,
        taken: set[str],
    ) -> None:
        """A subscription's prices: active, recurring, distinct, one currency and (here) one
        interval."""
        recurring = price.get("recurring")
        if not price["active"]:
            raise invalid_param(
                param, "The price specified is inactive. This field only accepts active prices."
            )
        if recurring is None:
            raise invalid_param(
                param,
                "The price specified is set to `type=one_time` but this field only accepts "
                "prices with `type=recurring`.",
            )
        if price["id"] in taken:
            raise invalid_param(
                param, "Cannot add multiple subscription items with the same price."
            )
        if currency is not None and price["currency"] != currency:
            raise invalid_param(param, "All prices on a subscription must have the same currency.")
        if (
            interval is not None
            and (recurring["interval"], recurring["interval_count"]) != interval
        ):
            raise invalid_param(
                param,
                "This server supports one billing interval per subscription: all prices must "
                "share interval and interval_count (changing the interval is not supported).",
            )

    def _item_specs(self, items: list[Params], currency: str | None) -> list[dict[str, Any]]:
        specs: list[dict[str, Any]] = []
        taken: set[str] = set()
        interval: tuple[str, int] | None = None
        for item in items:
            price = get_price(
                self.store, item.str("price", required=True) or "", item.name("price")
            )
            self._check_price(price, item.name("price"), currency, interval, taken)
            taken.add(price["id"])
            currency = currency or price["currency"]
            interval = (price["recurring"]["interval"], price["recurring"]["interval_count"])
            specs.append(self._item_spec(item, price))
        return specs

    def _item_spec(self, item: Params, price: dict[str, Any]) -> dict[str, Any]:
        metered = price["recurring"]["usage_type"] == "metered"
        quantity = item.int("quantity", minimum=0)
        if metered and quantity is not None:
            raise invalid_param(
                item.name("quantity"),
                "Quantity should not be specified where usage_type is `metered`. Remove quantity "
                f"from `{item.prefix}` to continue.",
            )
        return {
            "price": price["id"],
            "quantity": None if metered else (1 if quantity is None else quantity),
            "metadata": merge_metadata({}, item.metadata()),
        }

    def _new_item(self, sub: dict[str, Any], spec: dict[str, Any], now: int) -> dict[str, Any]:
        record = {
            "id": new_id("si", 14),
            "object": "subscription_item",
            "billing_thresholds": None,
            "created": now,
            "current_period_end": sub["_period_end"],
            "current_period_start": sub["_period_start"],
            "discounts": [],
            "metadata": spec.get("metadata") or {},
            "quantity": spec["quantity"],
            "subscription": sub["id"],
            "tax_rates": [],
            "_price": spec["price"],
            # Metered usage billed on this item starts here (the period start, or the time
            # its price was set); licensed amounts charged for the period (flexible credits).
            "_usage_since": max(now, sub["_period_start"]),
            "_debits": [],
        }
        self.store.insert("subscription_item", record)
        sub["_items"].append(record["id"])
        return record

    def _default_pm(self, params: Params, customer_id: str) -> str | None:
        pm_id = params.str("default_payment_method")
        if pm_id is None:
            return None
        pm = self.store.get("payment_method", pm_id)
        if pm is None or pm["customer"] != customer_id:
            raise StripeError(
                400,
                f"The customer does not have a payment method with the ID {pm_id}. The payment "
                "method must be attached to the customer.",
                param="default_payment_method",
                code="resource_missing",
            )
        return pm_id

    def _anchor(self, params: Params, now: int, interval: str, count: int) -> int:
        anchor = params.int("billing_cycle_anchor")
        has_config = params.has("billing_cycle_anchor_config")
        if anchor is not None and has_config:
            raise StripeError(
                400,
                "You may only specify one of these parameters: billing_cycle_anchor, "
                "billing_cycle_anchor_config.",
                param="billing_cycle_anchor_config",
            )
        natural = boundary(now, interval, count, 1)
        if has_config:
            if interval not in ("month", "year"):
                raise invalid_param(
                    "billing_cycle_anchor_config",
                    "billing_cycle_anchor_config is only valid with monthly and yearly prices.",
                )
            config = params.sub("billing_cycle_anchor_config")
            values = {
                k: config.int(k) for k in ("day_of_month", "hour", "minute", "month", "second")
            }
            if values["day_of_month"] is None:
                raise missing_param("billing_cycle_anchor_config[day_of_month]")
            return anchor_from_config(now, values, interval)
        if anchor is None:
            return now
        if anchor < now:
            raise invalid_param(
                "billing_cycle_anchor", "billing_cycle_anchor cannot be set to a time in the past."
            )
        if anchor > natural:
            raise invalid_param(
                "billing_cycle_anchor",
                "billing_cycle_anchor cannot be later than next natural billing date "
                f"({natural}) for plan",
            )
        return anchor

    def _trial_end(self, params: Params, now: int, price: dict[str, Any]) -> int | None:
        """``trial_period_days``, ``trial_end`` (``now``: no trial) or ``trial_from_plan``."""
        if params.has("trial_period_days") and params.has("trial_end"):
            raise StripeError(
                400,
                "You may only specify one of these parameters: trial_end, trial_period_days.",
                param="trial_end",
            )
        days = params.int("trial_period_days", minimum=0, maximum=730)
        if days is None and params.bool("trial_from_plan", default=False):
            days = (price.get("recurring") or {}).get("trial_period_days")
        if days:
            return now + int(days) * 86400
        raw = params.raw("trial_end")
        if raw in (None, "", "now"):
            return None
        end = params.int("trial_end") or 0
        if end <= now:
            raise invalid_param(
                "trial_end", "Invalid timestamp: must be an integer Unix timestamp in the future."
            )
        if end > now + 730 * 86400:
            raise invalid_param("trial_end", "Trials can be at most 730 days long.")
        return end

    def _trial_settings(self, params: Params) -> dict[str, Any]:
        behavior = (
            params.sub("trial_settings").sub("end_behavior").str("missing_payment_method")
            or "create_invoice"
        )
        return {"end_behavior": {"missing_payment_method": behavior}}

    def create_subscription(self, params: Params, *, collect: bool = True) -> dict[str, Any]:
        """Create a subscription and its first invoice. ``collect=False`` (previews) builds the
        draft invoice without finalizing or charging it."""
        customer_id = params.str("customer", required=True)
        assert customer_id is not None
        customer = get_customer(self.store, customer_id)
        items = params.subs("items")
        if not items:
            raise missing_param("items")
        specs = self._item_specs(items, customer.get("currency"))
        first_price = get_price(self.store, specs[0]["price"])
        recurring = first_price["recurring"]
        interval, count = recurring["interval"], recurring["interval_count"]
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
        proration = (
            params.str(
                "proration_behavior", choices=("create_prorations", "none", "always_invoice")
            )
            or "create_prorations"
        )
        collection = (
            params.str("collection_method", choices=("charge_automatically", "send_invoice"))
            or "charge_automatically"
        )
        default_pm = self._default_pm(params, customer_id)
        now = self.ctx.now
        trial_end = self._trial_end(params, now, first_price)
        if trial_end is None:
            anchor = self._anchor(params, now, interval, count)
            period_end = anchor if anchor > now else boundary(now, interval, count, 1)
        else:
            # The trial is a period of its own; the billing cycle starts at its end (or at the
            # anchor asked for, the first paid period then being prorated).
            anchor = self._anchor(params, trial_end, interval, count)
            period_end = trial_end
        sub = self._new_subscription_record(
            params, customer_id, first_price["currency"], now, anchor
        )
        sub["billing_mode"] = billing_mode(params.sub("billing_mode"), now)
        sub.update(
            {
                "collection_method": collection,
                "days_until_due": params.int("days_until_due")
                if collection == "send_invoice"
                else None,
                "default_payment_method": default_pm,
                "_interval": interval,
                "_interval_count": count,
                "_period_start": now,
                "_period_end": period_end,
            }
        )
        if params.has("billing_cycle_anchor_config"):
            config = params.sub("billing_cycle_anchor_config")
            sub["billing_cycle_anchor_config"] = {
                k: config.int(k) for k in ("day_of_month", "hour", "minute", "month", "second")
            }
        self.store.insert("subscription", sub)
        if trial_end is not None:
            sub.update({"status": "trialing", "trial_start": now, "trial_end": trial_end})
            sub["_first_proration"] = proration
        sub["trial_settings"] = self._trial_settings(params)
        for spec in specs:
            item = self._new_item(sub, spec, now)
            if trial_end is not None:
                item["_usage_since"] = trial_end  # usage during a trial is not billed
        self._set_customer_currency(customer_id, sub["currency"])
        if params.has("discounts") and not params.is_blank("discounts"):
            sub["discounts"] = self.redeem(  # type: ignore[attr-defined]
                params.subs("discounts"), customer_id, sub["id"], sub["currency"]
            )
        mark = self.store.event_mark()
        invoice = self._first_invoice(sub, now, anchor, proration)
        self.check_minimum_amounts(invoice)  # type: ignore[attr-defined]
        if collect:
            self._activate_first(sub, invoice, payment_behavior)
            if trial_end is not None and trial_end - TRIAL_WILL_END <= now:
                self.trial_will_end(sub["id"])
            self.events.emit("customer.subscription.created", "subscription", sub, at=mark)
        return sub

    @staticmethod
    def _save_default_payment_method(params: Params) -> str:
        """``payment_settings[save_default_payment_method]``: ``off`` (default) or
        ``on_subscription`` (a card that pays the subscription becomes its default)."""
        value = params.sub("payment_settings").str("save_default_payment_method") or "off"
        if value not in ("off", "on_subscription"):
            raise invalid_param(
                "payment_settings[save_default_payment_method]",
                "Invalid save_default_payment_method: must be one of off or on_subscription",
            )
        return value

    def _new_subscription_record(
        self, params: Params, customer_id: str, currency: str, now: int, anchor: int
    ) -> dict[str, Any]:
        cancel_at_period_end = bool(params.bool("cancel_at_period_end", default=False))
        return {
            "id": new_id("sub"),
            "object": "subscription",
            "application": None,
            "application_fee_percent": None,
            "automatic_tax": {"disabled_reason": None, "enabled": False, "liability": None},
            "billing_cycle_anchor": anchor,
            "billing_cycle_anchor_config": None,
            "billing_mode": None,
            "billing_schedules": [],
            "billing_thresholds": None,
            "cancel_at": params.int("cancel_at"),
            "cancel_at_period_end": cancel_at_period_end,
            "canceled_at": now if cancel_at_period_end else None,
            "cancellation_details": {"comment": None, "feedback": None, "reason": None},
            "collection_method": "charge_automatically",
            "created": now,
            "currency": currency,
            "customer": customer_id,
            "customer_account": None,
            "days_until_due": None,
            "default_payment_method": None,
            "default_source": None,
            "default_tax_rates": [],
            "description": params.str("description"),
            "discounts": [],
            "ended_at": None,
            "invoice_settings": {"account_tax_ids": None, "issuer": {"type": "self"}},
            "latest_invoice": None,
            "livemode": False,
            "metadata": merge_metadata({}, params.metadata()),
            "next_pending_invoice_item_invoice": None,
            "on_behalf_of": None,
            "pause_collection": None,
            "payment_settings": {
                "payment_method_options": None,
                "payment_method_types": None,
                "save_default_payment_method": self._save_default_payment_method(params),
            },
            "pending_invoice_item_interval": None,
            "pending_setup_intent": None,
            "pending_update": None,
            "presentment_details": None,
            "schedule": None,
            "start_date": now,
            "status": "incomplete",
            "test_clock": None,
            "transfer_data": None,
            "trial_end": None,
            "trial_settings": {"end_behavior": {"missing_payment_method": "create_invoice"}},
            "trial_start": None,
            "_items": [],
        }

    def _set_customer_currency(self, customer_id: str, currency: str) -> None:
        customer = self.store.get("customer", customer_id)
        if customer is not None and customer.get("currency") is None:
            record = self.store.get_mut("customer", customer_id)
            before = render(self.store, "customer", record)
            record["currency"] = currency
            self.events.emit_update("customer.updated", "customer", record, before)

    def _first_invoice(
        self, sub: dict[str, Any], now: int, anchor: int, proration: str
    ) -> dict[str, Any]:
        invoice = self._new_invoice(sub, "subscription_create", now, now, now)
        if sub["status"] == "trialing":
            for item in self.live_items(sub):
                price = get_price(self.store, item["_price"])
                quantity = item["quantity"] or 0
                description = f"Trial period for {self._product_name(price)}"
                self._add_line(
                    invoice,
                    sub,
                    item,
                    price,
                    quantity,
                    0,
                    now,
                    sub["_period_end"],
                    description=description,
                )
            self._totals(invoice)
            return invoice
        partial = anchor > now
        full_start = (
            boundary(anchor, sub["_interval"], sub["_interval_count"], -1) if partial else now
        )
        fraction = proration_fraction(now, anchor, full_start, anchor) if partial else Decimal(1)
        if partial and proration == "none":
            fraction = Decimal(0)
        for item in self.live_items(sub):
            price = get_price(self.store, item["_price"])
            if item["quantity"] is None:  # metered: billed in arrears, shown at zero
                self._add_line(invoice, sub, item, price, 0, 0, now, sub["_period_end"])
                continue
            quantity = item["quantity"]
            amount = line_amount(price, quantity, fraction)
            description = (
                f"Remaining time on {quantity} × {self._product_name(price)} after {_date(now)}"
                if partial
                else self._describe(price, quantity)
            )
            self._add_line(
                invoice,
                sub,
                item,
                price,
                quantity,
                amount,
                now,
                sub["_period_end"],
                description=description,
                proration=partial,
            )
            self._record_debit(item, price, quantity, amount, now, sub["_period_end"])
        self._totals(invoice)
        return invoice

    def _activate_first(self, sub: dict[str, Any], invoice: dict[str, Any], behavior: str) -> None:
        self._announce(invoice)
        self._finalize(invoice)
        if invoice["amount_due"] == 0 or sub["collection_method"] == "send_invoice":
            if invoice["amount_due"] == 0:
                self._mark_paid(invoice, charged=False)
            sub["status"] = "trialing" if sub["trial_end"] else "active"
            return
        if behavior == "default_incomplete":
            return  # the payment is left for the client to confirm: stays incomplete
        error = self._attempt(invoice, sub, retry=False)
        if error is None:
            sub["status"] = "active"
            return
        if behavior in ("error_if_incomplete", "pending_if_incomplete"):
            raise error  # the transaction rolls back: no subscription, no invoice, no events
