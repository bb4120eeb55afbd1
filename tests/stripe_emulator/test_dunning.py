"""Dunning as Stripe does it: voiding or marking uncollectible an invoice does not cancel its
subscription (a past_due one left with no open invoice is active again), the events are sent,
and Stripe's own automatic retries run only when the account configures them
(https://docs.stripe.com/invoicing/overview#void, https://docs.stripe.com/billing/revenue-recovery/smart-retries,
https://docs.stripe.com/billing/subscriptions/overview#settings).
"""

from __future__ import annotations

from typing import Any

import pytest
import stripe

from stripe_emulator.testing import StripeServerHandle

DAY = 86400
HOUR = 3600
JULY_1 = 1782864000
AUGUST_1 = 1785542400


def _failing_renewal(server: StripeServerHandle) -> tuple[Any, str]:
    customer = stripe.Customer.create(email="late@example.com")
    visa = stripe.PaymentMethod.attach("pm_card_visa", customer=customer.id)
    stripe.Customer.modify(customer.id, invoice_settings={"default_payment_method": visa.id})
    price = stripe.Price.create(
        currency="usd",
        product_data={"name": "Pro"},
        unit_amount=4900,
        recurring={"interval": "month"},
    )
    sub = stripe.Subscription.create(customer=customer.id, items=[{"price": price.id}])
    failing = stripe.PaymentMethod.attach("pm_card_chargeCustomerFail", customer=customer.id)
    stripe.Customer.modify(customer.id, invoice_settings={"default_payment_method": failing.id})
    (invoice_id,) = server.advance_period(sub.id)["invoices"]
    assert stripe.Subscription.retrieve(sub.id).status == "past_due"
    return sub, invoice_id


def test_void_keeps_the_subscription_and_makes_it_active(server: StripeServerHandle) -> None:
    sub, invoice_id = _failing_renewal(server)
    voided = stripe.Invoice.void_invoice(invoice_id)
    assert voided.status == "void" and voided.amount_remaining == 0
    assert voided.status_transitions.voided_at == JULY_1 + HOUR
    after = stripe.Subscription.retrieve(sub.id)
    assert after.status == "active" and after.ended_at is None
    assert stripe.Customer.retrieve(sub.customer).delinquent is False
    assert server.events("invoice.voided")[0]["data"]["object"]["id"] == invoice_id
    assert server.events("customer.subscription.deleted") == []
    updated = server.events("customer.subscription.updated")[0]
    assert updated["data"]["previous_attributes"]["status"] == "past_due"
    with pytest.raises(stripe.InvalidRequestError):
        stripe.Invoice.void_invoice(invoice_id)


def test_mark_uncollectible_then_pay_later(server: StripeServerHandle) -> None:
    sub, invoice_id = _failing_renewal(server)
    marked = stripe.Invoice.mark_uncollectible(invoice_id)
    assert marked.status == "uncollectible" and marked.amount_remaining == 4900
    assert marked.status_transitions.marked_uncollectible_at == JULY_1 + HOUR
    assert server.events("invoice.marked_uncollectible")[0]["data"]["object"]["id"] == invoice_id
    assert stripe.Subscription.retrieve(sub.id).status == "active"
    good = stripe.PaymentMethod.attach("pm_card_visa", customer=sub.customer)
    paid = stripe.Invoice.pay(invoice_id, payment_method=good.id)
    assert paid.status == "paid" and paid.amount_paid == 4900


def test_no_automatic_retries_unless_configured(server: StripeServerHandle) -> None:
    _sub, invoice_id = _failing_renewal(server)
    invoice = stripe.Invoice.retrieve(invoice_id)
    assert invoice.attempt_count == 1 and invoice.next_payment_attempt is None
    server.advance_to(JULY_1 + 10 * DAY)
    assert stripe.Invoice.retrieve(invoice_id).attempt_count == 1
    # Payments asked for through the API count as attempts.
    with pytest.raises(stripe.CardError):
        stripe.Invoice.pay(invoice_id)
    assert stripe.Invoice.retrieve(invoice_id).attempt_count == 2


@pytest.mark.parametrize(("outcome", "status"), [("cancel", "canceled"), ("unpaid", "unpaid")])
def test_configured_retries_then_exhausted(
    server: StripeServerHandle, outcome: str, status: str
) -> None:
    server.settings(payment_retry_days=[1, 2], retries_exhausted_subscription=outcome)
    sub, invoice_id = _failing_renewal(server)
    failed_at = JULY_1 + HOUR
    assert stripe.Invoice.retrieve(invoice_id).next_payment_attempt == failed_at + DAY
    server.advance_to(failed_at + DAY)
    retried = stripe.Invoice.retrieve(invoice_id)
    assert retried.attempt_count == 2 and retried.next_payment_attempt == failed_at + 3 * DAY
    server.advance_to(failed_at + 5 * DAY)
    last = stripe.Invoice.retrieve(invoice_id)
    assert last.attempt_count == 3 and last.next_payment_attempt is None
    assert len(server.events("invoice.payment_failed")) == 3
    assert stripe.Subscription.retrieve(sub.id).status == status


def test_retry_succeeds_after_the_card_is_fixed(server: StripeServerHandle) -> None:
    server.settings(payment_retry_days=[3])
    sub, invoice_id = _failing_renewal(server)
    good = stripe.PaymentMethod.attach("pm_card_visa", customer=sub.customer)
    stripe.Customer.modify(sub.customer, invoice_settings={"default_payment_method": good.id})
    server.advance_to(JULY_1 + HOUR + 3 * DAY)
    assert stripe.Invoice.retrieve(invoice_id).status == "paid"
    assert stripe.Subscription.retrieve(sub.id).status == "active"
