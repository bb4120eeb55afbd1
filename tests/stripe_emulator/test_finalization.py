"""The period's last hour: renewal invoices stay drafts for the finalization grace period
(Stripe's default 1 hour, configurable up to 72 hours in the Dashboard), usage reported
meanwhile for the closed period lands on them, then they finalize and are charged.
https://docs.stripe.com/billing/subscriptions/usage-based/configure-grace-period
"""

from __future__ import annotations

from typing import Any

import pytest
import stripe

from stripe_emulator.testing import StripeServerHandle

from .conftest import JUNE_1

HOUR = 3600
JULY_1 = 1782864000
AUGUST_1 = 1785542400


@pytest.fixture
def metered_sub(server: StripeServerHandle, customer_with_card: Any) -> Any:
    meter = stripe.billing.Meter.create(
        display_name="Calls", event_name="calls", default_aggregation={"formula": "sum"}
    )
    calls = stripe.Price.create(
        currency="usd",
        product_data={"name": "Calls"},
        unit_amount=3,
        recurring={"interval": "month", "usage_type": "metered", "meter": meter.id},
    )
    base = stripe.Price.create(
        currency="usd",
        product_data={"name": "Base"},
        unit_amount=1000,
        recurring={"interval": "month"},
    )
    return stripe.Subscription.create(
        customer=customer_with_card.id, items=[{"price": base.id}, {"price": calls.id}]
    )


def _calls(customer_id: str, value: int, timestamp: int) -> None:
    stripe.billing.MeterEvent.create(
        event_name="calls",
        payload={"stripe_customer_id": customer_id, "value": str(value)},
        timestamp=timestamp,
    )


def _invoice_events(server: StripeServerHandle, invoice_id: str) -> list[tuple[str, int]]:
    return [
        (e["type"], e["created"])
        for e in reversed(server.events("invoice.*"))
        if e["data"]["object"]["id"] == invoice_id
    ]


def test_usage_in_the_last_minute_lands_on_the_closing_invoice(
    server: StripeServerHandle, metered_sub: Any
) -> None:
    customer = metered_sub.customer
    _calls(customer, 100, JUNE_1)
    (invoice_id,) = server.advance_period(metered_sub.id, finalize=False)["invoices"]
    draft = stripe.Invoice.retrieve(invoice_id)
    assert draft.status == "draft" and draft.automatically_finalizes_at == JULY_1 + HOUR
    assert draft.total == 300 + 1000 and server.now() == JULY_1
    # The last minute of June is reported 30 minutes after the period ended.
    server.set_now(JULY_1 + 30 * 60)
    _calls(customer, 50, JULY_1 - 30)
    # July's usage is not June's.
    _calls(customer, 7, JULY_1 + 60)
    assert stripe.Invoice.retrieve(invoice_id).status == "draft"
    result = server.advance_to(JULY_1 + HOUR)
    assert invoice_id in result["invoices"]
    final = stripe.Invoice.retrieve(invoice_id)
    assert final.status == "paid" and final.automatically_finalizes_at is None
    (usage,) = [line for line in final.lines.data if "× Calls" in line.description]
    assert usage.quantity == 150 and final.total == 450 + 1000
    assert final.status_transitions.finalized_at == JULY_1 + HOUR
    assert _invoice_events(server, invoice_id) == [
        ("invoice.created", JULY_1),
        ("invoice.finalized", JULY_1 + HOUR),
        ("invoice.paid", JULY_1 + HOUR),
        ("invoice.payment_succeeded", JULY_1 + HOUR),
    ]
    # Reported after finalization: the closed invoice does not change.
    _calls(customer, 1000, JULY_1 - 10)
    assert stripe.Invoice.retrieve(invoice_id).total == 1450


def test_grace_period_setting_and_per_invoice_finalization(
    server: StripeServerHandle, metered_sub: Any
) -> None:
    assert (
        server.settings(invoice_finalization_grace_period=72 * HOUR)[
            "invoice_finalization_grace_period"
        ]
        == 72 * HOUR
    )
    with pytest.raises(RuntimeError, match="72 hours"):
        server.settings(invoice_finalization_grace_period=73 * HOUR)
    (invoice_id,) = server.advance_period(metered_sub.id, finalize=False)["invoices"]
    assert stripe.Invoice.retrieve(invoice_id).automatically_finalizes_at == JULY_1 + 72 * HOUR
    moved = stripe.Invoice.modify(invoice_id, automatically_finalizes_at=JULY_1 + 2 * HOUR)
    assert moved.automatically_finalizes_at == JULY_1 + 2 * HOUR
    server.advance_to(JULY_1 + HOUR)
    assert stripe.Invoice.retrieve(invoice_id).status == "draft"
    finalized = stripe.Invoice.finalize_invoice(invoice_id)
    assert finalized.status == "paid" and finalized.number is not None
    with pytest.raises(stripe.InvalidRequestError) as again:
        stripe.Invoice.finalize_invoice(invoice_id)
    assert again.value.code == "invoice_not_editable"
    with pytest.raises(stripe.InvalidRequestError):
        stripe.Invoice.modify(invoice_id, automatically_finalizes_at=JULY_1 + 5 * HOUR)


def test_advance_to_renews_and_finalizes_in_time_order(
    server: StripeServerHandle, metered_sub: Any
) -> None:
    result = server.advance_to(AUGUST_1 + 2 * HOUR)
    assert server.now() == AUGUST_1 + 2 * HOUR
    invoices = [stripe.Invoice.retrieve(i) for i in result["invoices"]]
    assert [(i.period_end, i.status) for i in invoices] == [(JULY_1, "paid"), (AUGUST_1, "paid")]
    sub = stripe.Subscription.retrieve(metered_sub.id)
    assert sub["items"].data[0].current_period_start == AUGUST_1
    with pytest.raises(RuntimeError):
        server.advance_to(JUNE_1)
