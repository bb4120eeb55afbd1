"""The subscription and invoice lifecycle: creation, changes with prorations, renewals,
payment attempts, dunning and cancellation. Resource handlers parse parameters; this module
changes state and emits the events Stripe emits.

Behaviour modelled on Stripe (API version 2026-05-27.dahlia):

* Billing periods live on subscription items (``items.data[].current_period_start/end``);
  the subscription itself has no ``current_period_*`` since 2025-03-31.basil. All items of a
  subscription share one interval and period here.
* A ``billing_cycle_anchor`` (or ``billing_cycle_anchor_config``) in the future makes the
  first period run from now to the anchor; with the default ``proration_behavior``
  (``create_prorations``) the first invoice charges that partial period prorated by seconds
  against the full interval ending at the anchor; with ``none`` it is free.
* Licensed items are billed in advance, metered items in arrears from the meter's aggregate
  over the closed period (``transform_quantity`` and tiers applied, rounded per line).
* ``payment_behavior``: ``allow_incomplete`` (default) leaves a subscription whose first
  payment fails ``incomplete``; ``error_if_incomplete`` fails the request with the card error
  and leaves nothing behind; ``default_incomplete`` does not attempt payment.
* A failed renewal leaves the invoice ``open`` (``attempted``, ``attempt_count``,
  ``next_payment_attempt`` three days later; no automatic retries happen here) and makes the
  subscription ``past_due``; paying the invoice later makes it ``active`` again.
* Prorations: changing a licensed item mid-period credits the unused time of the old
  price/quantity and charges the remaining time of the new one (``Unused time on ...`` /
  ``Remaining time on ...``), as pending invoice items for the next invoice
  (``create_prorations``), or invoiced and charged at once (``always_invoice``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from .context import Ctx
from .errors import StripeError, invalid_param, missing_param, not_found
from .ids import new_id
from .invoicing import (
    anchor_from_config,
    boundary,
    line_amount,
    next_boundary_after,
    proration_fraction,
)
from .params import Params, merge_metadata
from .render import render
from .resources.customers import get_customer
from .resources.meters import usage_quantity
from .resources.payment_methods import card_of, decline_error
from .resources.prices import get_price

RETRY_DELAY = 3 * 86400  # next_payment_attempt after a failed renewal (no retries run here)
NO_PAYMENT_METHOD = (
    "This customer has no attached payment source or default payment method. Please consider "
    "adding a default payment method. For more information, visit "
    "https://stripe.com/docs/billing/subscriptions/payment-methods-setting#payment-method-priority."
)
LIVE_STATUSES = ("active", "past_due", "trialing", "unpaid", "incomplete", "paused")


def _money(amount: int, currency: str) -> str:
    return (
        f"${amount / 100:,.2f}" if currency == "usd" else f"{amount / 100:,.2f} {currency.upper()}"
    )


def _date(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%d %b %Y").lstrip("0")


class Billing:
    def __init__(self, ctx: Ctx) -> None:
        self.ctx = ctx
        self.store = ctx.store
        self.events = ctx.events

    # -- lookups -------------------------------------------------------------------------
    def subscription(self, sub_id: str, param: str = "subscription") -> dict[str, Any]:
        record = self.store.get("subscription", sub_id)
        if record is None:
            raise not_found("subscription", sub_id, param)
        return record

    def live_items(self, sub: dict[str, Any]) -> list[dict[str, Any]]:
        items = (self.store.get("subscription_item", i) for i in sub["_items"])
        return [i for i in items if i is not None and not i.get("_deleted")]

    def _product_name(self, price: dict[str, Any]) -> str:
        product = self.store.get("product", price["product"])
        return product["name"] if product else price["product"]

    def _describe(self, price: dict[str, Any], quantity: int) -> str:
        name = self._product_name(price)
        interval = (price.get("recurring") or {}).get("interval", "")
        if price.get("billing_scheme") == "per_unit" and price.get("unit_amount") is not None:
            unit = _money(price["unit_amount"], price["currency"])
            return f"{quantity} × {name} (at {unit} / {interval})"
        return f"{quantity} × {name}"

    # -- subscription creation -----------------------------------------------------------
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
        anchor = self._anchor(params, now, interval, count)
        period_end = anchor if anchor > now else boundary(now, interval, count, 1)
        sub = self._new_subscription_record(
            params, customer_id, first_price["currency"], now, anchor
        )
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
        for spec in specs:
            self._new_item(sub, spec, now)
        self._set_customer_currency(customer_id, sub["currency"])
        mark = self.store.event_mark()
        invoice = self._first_invoice(sub, now, anchor, proration)
        if collect:
            self._activate_first(sub, invoice, payment_behavior)
            self.events.emit("customer.subscription.created", "subscription", sub, at=mark)
        return sub

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
            "billing_mode": {
                "flexible": {"proration_discounts": "included"},
                "type": "flexible",
                "updated_at": now,
            },
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
                "save_default_payment_method": "off",
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
        self._totals(invoice)
        return invoice

    def _activate_first(self, sub: dict[str, Any], invoice: dict[str, Any], behavior: str) -> None:
        self._finalize(invoice)
        if invoice["amount_due"] == 0 or sub["collection_method"] == "send_invoice":
            if invoice["amount_due"] == 0:
                self._mark_paid(invoice, charged=False)
            sub["status"] = "active"
            return
        if behavior == "default_incomplete":
            return  # the payment is left for the client to confirm: stays incomplete
        error = self._attempt(invoice, sub, retry=False)
        if error is None:
            sub["status"] = "active"
            return
        if behavior in ("error_if_incomplete", "pending_if_incomplete"):
            raise error  # the transaction rolls back: no subscription, no invoice, no events

    # -- invoices ------------------------------------------------------------------------
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
            "discounts": [],
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
    ) -> None:
        invoice["_lines"].append(
            {
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

    def _totals(self, invoice: dict[str, Any]) -> None:
        subtotal = sum(line["amount"] for line in invoice["_lines"])
        customer = self.store.get("customer", invoice["customer"]) or {}
        balance = int(customer.get("balance") or 0)
        invoice.update(
            {
                "subtotal": subtotal,
                "subtotal_excluding_tax": subtotal,
                "total": subtotal,
                "total_excluding_tax": subtotal,
                "starting_balance": balance,
                # A credit balance (negative) reduces what is due; a negative total becomes credit.
                "amount_due": max(subtotal + balance, 0),
                "amount_remaining": max(subtotal + balance, 0),
            }
        )

    def _finalize(self, invoice: dict[str, Any]) -> None:
        """draft -> open: number, customer balance applied, hosted URL; invoice.created and
        invoice.finalized events."""
        self.events.emit("invoice.created", "invoice", invoice)
        self._totals(invoice)
        now = self.ctx.now
        customer = self.store.get_mut("customer", invoice["customer"])
        sequence = customer.get("next_invoice_sequence") or 1
        customer["next_invoice_sequence"] = sequence + 1
        ending = min(invoice["total"] + invoice["starting_balance"], 0)
        customer["balance"] = ending
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
        self.events.emit("invoice.finalized", "invoice", invoice)

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
        retry: bool = True,
    ) -> StripeError | None:
        """Charge an open invoice: paid (and its events) or a recorded failure."""
        error = self._charge_error(self.payment_method_for(invoice, pm_id), invoice["customer"])
        if error is None:
            self._mark_paid(invoice, charged=True)
            return None
        now = self.ctx.now
        invoice["attempted"] = True
        invoice["attempt_count"] += 1
        # Stripe schedules retries of renewals; an incomplete first invoice is not retried.
        invoice["next_payment_attempt"] = now + RETRY_DELAY if retry else None
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

    # -- invoice endpoints ---------------------------------------------------------------
    def pay(self, invoice_id: str, params: Params) -> dict[str, Any]:
        invoice = self.store.get("invoice", invoice_id)
        if invoice is None:
            raise not_found("invoice", invoice_id, "invoice")
        if invoice["status"] == "paid":
            raise StripeError(400, "Invoice is already paid", code="invoice_already_paid")
        if invoice["status"] != "open":
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
        error = self._attempt(invoice, sub, pm_id, retry=not first)
        if error is not None:
            error.keep_changes = True  # the failed attempt and its event are kept
            raise error
        self._after_payment(invoice)
        return invoice

    def _after_payment(self, invoice: dict[str, Any]) -> None:
        """A paid invoice brings an incomplete/past_due/unpaid subscription back to active once
        it has no other open invoice."""
        sub_id = invoice.get("_subscription")
        sub = self.store.get("subscription", sub_id or "")
        if sub is None or sub["status"] not in ("incomplete", "past_due", "unpaid"):
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

    def void(self, invoice_id: str) -> dict[str, Any]:
        invoice = self.store.get("invoice", invoice_id)
        if invoice is None:
            raise not_found("invoice", invoice_id, "invoice")
        if invoice["status"] != "open":
            raise StripeError(
                400,
                f"You can only pass in open invoices. This invoice is {invoice['status']}.",
                code="invoice_not_editable",
            )
        record = self.store.get_mut("invoice", invoice_id)
        record["status"] = "void"
        record["amount_remaining"] = 0
        record["next_payment_attempt"] = None
        record["status_transitions"]["voided_at"] = self.ctx.now
        self._set_delinquent(
            record["customer"], self._has_open_invoices(record["customer"], invoice_id)
        )
        self.events.emit("invoice.voided", "invoice", record)
        return record

    # -- subscription changes ------------------------------------------------------------
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
        invoice = None
        if proration == "always_invoice" and created_items:
            invoice = self._new_invoice(sub, "subscription_update", at, at, self.ctx.now)
            self._add_pending_items(invoice, sub)
            self._totals(invoice)
            if collect:
                self._collect_update(sub, invoice, payment_behavior)
        after = render(self.store, "subscription", sub)
        from .events import diff

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

    def _collect_update(self, sub: dict[str, Any], invoice: dict[str, Any], behavior: str) -> None:
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

    # -- cancellation --------------------------------------------------------------------
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

    # -- renewals ------------------------------------------------------------------------
    def _add_usage_lines(
        self,
        invoice: dict[str, Any],
        sub: dict[str, Any],
        start: int,
        end: int,
        until: int | None = None,
    ) -> None:
        """Metered items: the meter's aggregate over ``[start, until or end)``."""
        for item in self.live_items(sub):
            if item["quantity"] is not None:
                continue
            price = get_price(self.store, item["_price"])
            meter = (price.get("recurring") or {}).get("meter")
            quantity = usage_quantity(self.store, meter, sub["customer"], start, until or end)
            amount = line_amount(price, quantity)
            self._add_line(invoice, sub, item, price, quantity, amount, start, end)

    def _add_licensed_lines(
        self, invoice: dict[str, Any], sub: dict[str, Any], start: int, end: int
    ) -> None:
        for item in self.live_items(sub):
            if item["quantity"] is None:
                continue
            price = get_price(self.store, item["_price"])
            amount = line_amount(price, item["quantity"])
            self._add_line(invoice, sub, item, price, item["quantity"], amount, start, end)

    def renew(self, sub_id: str, *, collect: bool = True) -> dict[str, Any] | None:
        """Close the current period at its end: invoice usage of the closed period, pending
        items and (unless the subscription ends now) licensed items of the next period."""
        sub = self.store.get_mut("subscription", sub_id)
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
            self._collect_renewal(sub, invoice)
        if ends:
            sub.update(
                {"status": "canceled", "ended_at": end, "canceled_at": sub["canceled_at"] or end}
            )
            sub["cancellation_details"]["reason"] = "cancellation_requested"
            self.events.emit("customer.subscription.deleted", "subscription", sub)
            return invoice
        after = render(self.store, "subscription", sub)
        from .events import diff

        self.events.emit(
            "customer.subscription.updated",
            "subscription",
            sub,
            diff(before, after),
            snapshot=after,
            at=mark,
        )
        return invoice

    def _collect_renewal(self, sub: dict[str, Any], invoice: dict[str, Any]) -> None:
        self._finalize(invoice)
        if invoice["amount_due"] == 0:
            self._mark_paid(invoice, charged=False)
            return
        if sub["collection_method"] == "send_invoice":
            return
        error = self._attempt(invoice, sub)
        if error is not None and sub["status"] == "active":
            sub["status"] = "past_due"

    def _set_period(self, sub: dict[str, Any], start: int, end: int) -> None:
        sub["_period_start"], sub["_period_end"] = start, end
        for item in self.live_items(sub):
            record = self.store.get_mut("subscription_item", item["id"])
            record["current_period_start"], record["current_period_end"] = start, end

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
