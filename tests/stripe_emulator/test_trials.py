"""Trials as Stripe runs them (https://docs.stripe.com/billing/subscriptions/trials): status
``trialing``, a $0 first invoice, ``customer.subscription.trial_will_end`` three days before
the end, and at the end either the first paid period or, without a payment method, what
``trial_settings[end_behavior][missing_payment_method]`` says; on the emulator's clock."""

from __future__ import annotations

from typing import Any

import pytest
import requests
import stripe

from stripe_emulator.testing import StripeServerHandle

from .conftest import JUNE_1

DAY = 86400
HOUR = 3600
TRIAL_END = JUNE_1 + 14 * DAY
JULY_1 = 1782864000


def _price(amount: int = 4900) -> stripe.Price:
    return stripe.Price.create(
        currency="usd",
        product_data={"name": "Pro"},
        unit_amount=amount,
        recurring={"interval": "month"},
    )


def _trial(customer_id: str, behavior: str | None = None, **extra: Any) -> stripe.Subscription:
    settings = (
        {"trial_settings": {"end_behavior": {"missing_payment_method": behavior}}}
        if behavior
        else {}
    )
    return stripe.Subscription.create(
        customer=customer_id,
        items=[{"price": _price().id}],
        trial_period_days=14,
        expand=["latest_invoice"],
        **settings,
        **extra,
    )


def _types(server: StripeServerHandle, sub_id: str) -> list[str]:
    return [
        e["type"]
        for e in reversed(server.events("customer.subscription.*"))
        if e["data"]["object"]["id"] == sub_id
    ]


def test_trial_with_a_card_becomes_active_and_usage_during_it_is_free(
    server: StripeServerHandle, customer_with_card: Any
) -> None:
    meter = stripe.billing.Meter.create(
        display_name="Calls", event_name="calls", default_aggregation={"formula": "sum"}
    )
    calls = stripe.Price.create(
        currency="usd",
        product_data={"name": "Calls"},
        unit_amount=1,
        recurring={"interval": "month", "usage_type": "metered", "meter": meter.id},
    )
    sub = stripe.Subscription.create(
        customer=customer_with_card.id,
        items=[{"price": _price().id}, {"price": calls.id}],
        trial_period_days=14,
        expand=["latest_invoice"],
    )
    assert sub.status == "trialing" and (sub.trial_start, sub.trial_end) == (JUNE_1, TRIAL_END)
    assert sub["items"].data[0].current_period_end == TRIAL_END
    first = sub.latest_invoice
    assert first.total == 0 and first.status == "paid"
    assert first.lines.data[0].description == "Trial period for Pro"
    stripe.billing.MeterEvent.create(
        event_name="calls", payload={"stripe_customer_id": customer_with_card.id, "value": "900"}
    )
    server.advance_to(TRIAL_END - 3 * DAY)
    (will_end,) = server.events("customer.subscription.trial_will_end")
    assert will_end["created"] == TRIAL_END - 3 * DAY
    result = server.advance_to(TRIAL_END + HOUR)
    (invoice_id,) = result["invoices"]
    invoice = stripe.Invoice.retrieve(invoice_id)
    assert invoice.status == "paid" and invoice.total == 4900  # the trial's 900 calls are free
    after = stripe.Subscription.retrieve(sub.id)
    assert after.status == "active" and after.billing_cycle_anchor == TRIAL_END
    assert after["items"].data[0].current_period_start == TRIAL_END
    updated = server.events("customer.subscription.updated")[-1]
    assert updated["data"]["previous_attributes"]["status"] == "trialing"
    assert "customer.subscription.trial_will_end" in _types(server, sub.id)


@pytest.mark.parametrize(
    ("behavior", "status", "event"),
    [
        ("cancel", "canceled", "customer.subscription.deleted"),
        ("pause", "paused", "customer.subscription.paused"),
    ],
)
def test_trial_without_a_payment_method(
    server: StripeServerHandle, behavior: str, status: str, event: str
) -> None:
    customer = stripe.Customer.create(email="trial@example.com")
    sub = _trial(customer.id, behavior)
    assert (
        sub.status == "trialing"
        and sub.trial_settings.end_behavior.missing_payment_method == behavior
    )
    result = server.advance_to(TRIAL_END + 2 * HOUR)
    assert result["invoices"] == []
    assert stripe.Subscription.retrieve(sub.id).status == status
    assert event in _types(server, sub.id)
    assert len(stripe.Invoice.list(customer=customer.id).data) == 1  # the $0 trial invoice only
    if behavior == "pause":
        server.advance_to(TRIAL_END + 40 * DAY)  # a paused subscription does not renew
        assert len(stripe.Invoice.list(customer=customer.id).data) == 1
        card = stripe.PaymentMethod.attach("pm_card_visa", customer=customer.id)
        stripe.Customer.modify(customer.id, invoice_settings={"default_payment_method": card.id})
        resumed = stripe.Subscription.resume(sub.id, expand=["latest_invoice"])
        assert resumed.status == "active" and resumed.latest_invoice.status == "paid"
        assert resumed.latest_invoice.total == 4900
        assert "customer.subscription.resumed" in _types(server, sub.id)


def test_trial_end_create_invoice_without_card_goes_past_due(server: StripeServerHandle) -> None:
    customer = stripe.Customer.create()
    sub = _trial(customer.id)  # create_invoice is the default
    assert sub.trial_settings.end_behavior.missing_payment_method == "create_invoice"
    (invoice_id,) = server.advance_to(TRIAL_END + HOUR)["invoices"]
    invoice = stripe.Invoice.retrieve(invoice_id)
    assert invoice.status == "open" and invoice.attempt_count == 1 and invoice.total == 4900
    assert stripe.Subscription.retrieve(sub.id).status == "past_due"


def test_card_added_during_the_trial_continues_the_subscription(
    server: StripeServerHandle,
) -> None:
    customer = stripe.Customer.create()
    sub = _trial(customer.id, "cancel")
    server.set_now(JUNE_1 + 5 * DAY)
    card = stripe.PaymentMethod.attach("pm_card_visa", customer=customer.id)
    stripe.Customer.modify(customer.id, invoice_settings={"default_payment_method": card.id})
    server.advance_to(TRIAL_END + HOUR)
    assert stripe.Subscription.retrieve(sub.id).status == "active"


def test_end_trial_now_and_extend(server: StripeServerHandle, customer_with_card: Any) -> None:
    sub = _trial(customer_with_card.id)
    extended = stripe.Subscription.modify(sub.id, trial_end=TRIAL_END + 7 * DAY)
    assert extended.trial_end == TRIAL_END + 7 * DAY
    assert extended["items"].data[0].current_period_end == TRIAL_END + 7 * DAY
    server.set_now(JUNE_1 + 2 * DAY)
    ended = stripe.Subscription.modify(sub.id, trial_end="now", expand=["latest_invoice"])
    assert ended.status == "active" and ended.trial_end == JUNE_1 + 2 * DAY
    assert ended.latest_invoice.status == "paid" and ended.latest_invoice.total == 4900
    assert ended.billing_cycle_anchor == JUNE_1 + 2 * DAY
    assert server.events("customer.subscription.trial_will_end")


def test_trial_then_anchor_prorates_the_first_paid_period(
    server: StripeServerHandle, customer_with_card: Any
) -> None:
    sub = _trial(
        customer_with_card.id,
        billing_cycle_anchor_config={"day_of_month": 1, "hour": 0, "minute": 0, "second": 0},
    )
    assert sub.billing_cycle_anchor == JULY_1 and sub.trial_end == TRIAL_END
    (invoice_id,) = server.advance_to(TRIAL_END + HOUR)["invoices"]
    invoice = stripe.Invoice.retrieve(invoice_id)
    assert invoice.total == 2613  # 4900 x 16/30 days, June 15 -> July 1
    assert stripe.Subscription.retrieve(sub.id)["items"].data[0].current_period_end == JULY_1


def test_short_trial_warns_at_once_and_checkout_trial(server: StripeServerHandle) -> None:
    customer = stripe.Customer.create()
    stripe.Subscription.create(
        customer=customer.id, items=[{"price": _price().id}], trial_period_days=2
    )
    assert len(server.events("customer.subscription.trial_will_end")) == 1
    session = stripe.checkout.Session.create(
        mode="subscription",
        customer=customer.id,
        line_items=[{"price": _price(2900).id, "quantity": 1}],
        subscription_data={"trial_period_days": 14},
        success_url="http://127.0.0.1:9/ok",
    )
    assert "14-day trial" in requests.get(session.url, timeout=5).text
    requests.post(
        session.url, data={"cardnumber": "4242424242424242"}, allow_redirects=False, timeout=5
    )
    done = stripe.checkout.Session.retrieve(session.id, expand=["subscription"])
    assert done.subscription.status == "trialing" and done.payment_status == "no_payment_required"
    assert done.subscription.trial_end == TRIAL_END


def test_payment_settings_save_default_payment_method(server: StripeServerHandle) -> None:
    customer = stripe.Customer.create(email="save@example.com")
    sub = _trial(
        customer.id, "cancel", payment_settings={"save_default_payment_method": "on_subscription"}
    )
    assert sub.payment_settings.save_default_payment_method == "on_subscription"
    assert _trial(customer.id).payment_settings.save_default_payment_method == "off"
    with pytest.raises(stripe.InvalidRequestError) as refused:
        _trial(customer.id, payment_settings={"save_default_payment_method": "always"})
    assert refused.value.param == "payment_settings[save_default_payment_method]"
