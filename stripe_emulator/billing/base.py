"""Billing's shared state and lookups, and the descriptions Stripe gives invoice lines."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ..context import Ctx
from ..errors import not_found

DAY = 86400
TRIAL_WILL_END = 3 * DAY  # customer.subscription.trial_will_end comes this long before the end
NO_PAYMENT_METHOD = (
    "This customer has no attached payment source or default payment method. Please consider "
    "adding a default payment method. For more information, visit "
    "https://stripe.com/docs/billing/subscriptions/payment-methods-setting#payment-method-priority."
)
LIVE_STATUSES = ("active", "past_due", "trialing", "unpaid", "incomplete", "paused")


def is_flexible(sub: dict[str, Any]) -> bool:
    """Flexible billing mode (Stripe's default for subscriptions created through the API)."""
    return ((sub.get("billing_mode") or {}).get("type") or "flexible") == "flexible"


def _money(amount: int, currency: str) -> str:
    return (
        f"${amount / 100:,.2f}" if currency == "usd" else f"{amount / 100:,.2f} {currency.upper()}"
    )


def _date(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%d %b %Y").lstrip("0")


class BillingBase:
    """What every part of ``Billing`` shares: the request's context, store and events."""

    def __init__(self, ctx: Ctx) -> None:
        self.ctx = ctx
        self.store = ctx.store
        self.events = ctx.events

    def subscription(self, sub_id: str, param: str = "subscription") -> dict[str, Any]:
        record = self.store.get("subscription", sub_id)
        if record is None:
            raise not_found("subscription", sub_id, param)
        return record

    def has_payment_method(self, sub: dict[str, Any]) -> bool:
        """A default card on the subscription or the customer (what a trial's end needs)."""
        customer = self.store.get("customer", sub["customer"]) or {}
        for pm_id in (
            sub.get("default_payment_method"),
            (customer.get("invoice_settings") or {}).get("default_payment_method"),
        ):
            pm = self.store.get("payment_method", pm_id or "")
            if pm is not None and pm.get("customer") == sub["customer"]:
                return True
        return False

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
