"""``billing_mode``: plan changes with metered usage on both sides, credit prorations, and
previews that equal the invoices that follow, to the cent.

Stripe's rules (https://docs.stripe.com/billing/subscriptions/usage-based/manage-billing-setup
#update-prices-mid-cycle, https://docs.stripe.com/billing/subscriptions/billing-mode/compare):
with ``flexible`` (the default for API-created subscriptions), swapping a metered price
invoices the usage reported so far at the old price (an invoice item created at the change)
and the new price bills only what follows; with ``classic`` the usage before the change is not
billed at all. Flexible credit prorations give back a share of what was debited.
"""

from __future__ import annotations

from typing import Any

import pytest
import stripe

from stripe_emulator.testing import StripeServerHandle

from .conftest import JUNE_1

DAY = 86400
JULY_1 = 1782864000


@pytest.fixture
def catalogue(server: StripeServerHandle) -> dict[str, Any]:
    meter = stripe.billing.Meter.create(
        display_name="Calls", event_name="calls", default_aggregation={"formula": "sum"}
    )

    def licensed(amount: int, name: str) -> stripe.Price:
        return stripe.Price.create(
            currency="usd",
            product_data={"name": name},
            unit_amount=amount,
            recurring={"interval": "month"},
        )

    def metered(cents: int, name: str) -> stripe.Price:
        return stripe.Price.create(
            currency="usd",
            product_data={"name": name},
            unit_amount=cents,
            recurring={"interval": "month", "usage_type": "metered", "meter": meter.id},
        )

    return {
        "basic": licensed(4900, "Basic"),
        "basic_calls": metered(2, "Basic calls"),
        "pro": licensed(9900, "Pro"),
        "pro_calls": metered(1, "Pro calls"),
    }


def _calls(customer_id: str, value: int) -> None:
    stripe.billing.MeterEvent.create(
        event_name="calls", payload={"stripe_customer_id": customer_id, "value": str(value)}
    )


def _subscribe(customer_id: str, base: Any, calls: Any, mode: str = "flexible") -> Any:
    return stripe.Subscription.create(
        customer=customer_id,
        items=[{"price": base.id}, {"price": calls.id}],
        billing_mode={"type": mode},
    )


def _swap(sub: Any, base: Any, calls: Any) -> list[dict[str, Any]]:
    by_usage = {i.price.recurring.usage_type: i.id for i in sub["items"].data}
    return [
        {"id": by_usage["licensed"], "price": base.id},
        {"id": by_usage["metered"], "price": calls.id},
    ]


def _lines(invoice: Any) -> list[tuple[str, int, int]]:
    return sorted(
        (line.pricing.price_details.price, line.quantity, line.amount)
        for line in invoice.lines.data
    )


def test_billing_mode_default_explicit_and_strict(
    server: StripeServerHandle, customer_with_card: Any, catalogue: dict[str, Any]
) -> None:
    default = stripe.Subscription.create(
        customer=customer_with_card.id, items=[{"price": catalogue["basic"].id}]
    )
    assert default.billing_mode.type == "flexible"
    assert default.billing_mode.flexible.proration_discounts == "included"
    classic = _subscribe(customer_with_card.id, catalogue["pro"], catalogue["pro_calls"], "classic")
    assert classic.billing_mode.type == "classic" and classic.billing_mode.flexible is None
    with pytest.raises(stripe.InvalidRequestError) as bad:
        stripe.Subscription.create(
            customer=customer_with_card.id,
            items=[{"price": catalogue["basic"].id}],
            billing_mode={"type": "modern"},
        )
    assert bad.value.param == "billing_mode[type]"
    migrated = stripe.Subscription.migrate(classic.id, billing_mode={"type": "flexible"})
    assert migrated.billing_mode.type == "flexible" and migrated.billing_mode.updated_at == JUNE_1
    with pytest.raises(stripe.InvalidRequestError):
        stripe.Subscription.migrate(classic.id, billing_mode={"type": "flexible"})


def test_flexible_upgrade_mid_period_with_usage_on_both_sides(
    server: StripeServerHandle, customer_with_card: Any, catalogue: dict[str, Any]
) -> None:
    customer = customer_with_card.id
    sub = _subscribe(customer, catalogue["basic"], catalogue["basic_calls"])
    server.set_now(JUNE_1 + 9 * DAY)
    _calls(customer, 1000)  # at Basic's 2 cents
    server.set_now(JUNE_1 + 10 * DAY)  # 20 of June's 30 days remain
    change = {"items": _swap(sub, catalogue["pro"], catalogue["pro_calls"])}
    preview = stripe.Invoice.create_preview(
        subscription=sub.id,
        subscription_details={
            **change,
            "proration_behavior": "always_invoice",
            "proration_date": JUNE_1 + 10 * DAY,
        },
    )
    upgraded = stripe.Subscription.modify(
        sub.id,
        **change,
        proration_behavior="always_invoice",
        proration_date=JUNE_1 + 10 * DAY,
        expand=["latest_invoice"],
    )
    invoice = upgraded.latest_invoice
    # Unused Basic (-4900 x 20/30), remaining Pro (9900 x 20/30), and the 1,000 calls so far
    # at Basic's price: usage before the change is billed at the old price.
    assert _lines(invoice) == sorted(
        [
            (catalogue["basic"].id, 1, -3267),
            (catalogue["basic_calls"].id, 1000, 2000),
            (catalogue["pro"].id, 1, 6600),
        ]
    )
    assert invoice.total == preview.total == 5333 and invoice.status == "paid"
    assert _lines(preview) == _lines(invoice)

    server.set_now(JUNE_1 + 20 * DAY)
    _calls(customer, 500)  # at Pro's 1 cent
    renewal_preview = stripe.Invoice.create_preview(subscription=sub.id)
    renewal = stripe.Invoice.retrieve(server.advance_period(sub.id)["invoices"][0])
    assert _lines(renewal) == sorted(
        [
            (catalogue["pro"].id, 1, 9900),
            (catalogue["pro_calls"].id, 500, 500),
        ]
    )
    assert renewal.total == renewal_preview.total == 10400
    assert _lines(renewal_preview) == _lines(renewal)
    usage = next(
        line
        for line in renewal.lines.data
        if line.pricing.price_details.price == catalogue["pro_calls"].id
    )
    assert (usage.period.start, usage.period.end) == (JUNE_1 + 10 * DAY, JULY_1)


def test_flexible_downgrade_credits_and_bills_old_usage_on_next_invoice(
    server: StripeServerHandle, customer_with_card: Any, catalogue: dict[str, Any]
) -> None:
    customer = customer_with_card.id
    sub = _subscribe(customer, catalogue["pro"], catalogue["pro_calls"])
    server.set_now(JUNE_1 + 9 * DAY)
    _calls(customer, 1000)  # at Pro's 1 cent
    server.set_now(JUNE_1 + 10 * DAY)
    change = {"items": _swap(sub, catalogue["basic"], catalogue["basic_calls"])}
    at_change = stripe.Invoice.create_preview(
        subscription=sub.id,
        subscription_details={**change, "proration_date": JUNE_1 + 10 * DAY},
    )
    stripe.Subscription.modify(sub.id, **change, proration_date=JUNE_1 + 10 * DAY)
    pending = stripe.InvoiceItem.list(customer=customer, pending=True).data
    assert sorted((ii.amount, ii.proration) for ii in pending) == [
        (-6600, True),  # unused Pro: two thirds of the 9,900 debited
        (1000, False),  # the 1,000 calls before the change, at Pro's price
        (3267, True),  # remaining Basic
    ]
    server.set_now(JUNE_1 + 25 * DAY)
    _calls(customer, 300)  # at Basic's 2 cents
    before_end = stripe.Invoice.create_preview(subscription=sub.id)
    renewal = stripe.Invoice.retrieve(server.advance_period(sub.id)["invoices"][0])
    assert renewal.total == before_end.total == -6600 + 1000 + 3267 + 600 + 4900
    assert _lines(renewal) == _lines(before_end)
    # What the customer saw at the change is on the invoice, plus the usage since.
    assert renewal.total == at_change.total + 600


def test_classic_swap_does_not_bill_usage_before_the_change(
    server: StripeServerHandle, customer_with_card: Any, catalogue: dict[str, Any]
) -> None:
    customer = customer_with_card.id
    sub = _subscribe(customer, catalogue["basic"], catalogue["basic_calls"], "classic")
    server.set_now(JUNE_1 + 9 * DAY)
    _calls(customer, 1000)
    server.set_now(JUNE_1 + 10 * DAY)
    stripe.Subscription.modify(sub.id, items=_swap(sub, catalogue["pro"], catalogue["pro_calls"]))
    server.set_now(JUNE_1 + 20 * DAY)
    _calls(customer, 500)
    renewal = stripe.Invoice.retrieve(server.advance_period(sub.id)["invoices"][0])
    assert _lines(renewal) == sorted(
        [
            (catalogue["basic"].id, 1, -3267),
            (catalogue["pro"].id, 1, 6600),
            (catalogue["pro"].id, 1, 9900),
            (catalogue["pro_calls"].id, 500, 500),
        ]
    )


def test_flexible_proration_none_drops_old_usage(
    server: StripeServerHandle, customer_with_card: Any, catalogue: dict[str, Any]
) -> None:
    customer = customer_with_card.id
    sub = _subscribe(customer, catalogue["basic"], catalogue["basic_calls"])
    server.set_now(JUNE_1 + 9 * DAY)
    _calls(customer, 1000)
    server.set_now(JUNE_1 + 10 * DAY)
    stripe.Subscription.modify(
        sub.id,
        items=_swap(sub, catalogue["pro"], catalogue["pro_calls"]),
        proration_behavior="none",
    )
    assert stripe.InvoiceItem.list(customer=customer, pending=True).data == []


def test_flexible_credits_each_debit_once(
    server: StripeServerHandle, customer_with_card: Any, catalogue: dict[str, Any]
) -> None:
    """Basic, then Pro on day 10, then back to Basic on day 20: the second change credits
    what the first one debited for the last 10 days (6,600 x 10/20), not Basic again."""
    customer = customer_with_card.id
    sub = stripe.Subscription.create(customer=customer, items=[{"price": catalogue["basic"].id}])
    item = sub["items"].data[0].id
    server.set_now(JUNE_1 + 10 * DAY)
    stripe.Subscription.modify(sub.id, items=[{"id": item, "price": catalogue["pro"].id}])
    server.set_now(JUNE_1 + 20 * DAY)
    stripe.Subscription.modify(sub.id, items=[{"id": item, "price": catalogue["basic"].id}])
    amounts = sorted(
        ii.amount for ii in stripe.InvoiceItem.list(customer=customer, pending=True).data
    )
    assert amounts == [-3300, -3267, 1633, 6600]
