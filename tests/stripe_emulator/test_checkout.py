"""Checkout Sessions and customer portal sessions through the API (the hosted pages are
driven in chromium by test_hosted_pages.py)."""

from __future__ import annotations

from typing import Any

import pytest
import requests
import stripe

from stripe_emulator.testing import StripeServerHandle

SUCCESS = "http://127.0.0.1:9/done?session={CHECKOUT_SESSION_ID}"


@pytest.fixture
def prices(server: StripeServerHandle) -> dict[str, Any]:
    meter = stripe.billing.Meter.create(
        display_name="Calls", event_name="calls", default_aggregation={"formula": "sum"}
    )
    return {
        "base": stripe.Price.create(
            currency="usd",
            product_data={"name": "Pro"},
            unit_amount=4900,
            recurring={"interval": "month"},
        ),
        "calls": stripe.Price.create(
            currency="usd",
            product_data={"name": "Calls"},
            unit_amount=1,
            recurring={"interval": "month", "usage_type": "metered", "meter": meter.id},
        ),
    }


def _session(prices: dict[str, Any], **extra: Any) -> stripe.checkout.Session:
    return stripe.checkout.Session.create(
        mode="subscription",
        line_items=[{"price": prices["base"].id, "quantity": 1}, {"price": prices["calls"].id}],
        success_url=SUCCESS,
        cancel_url="http://127.0.0.1:9/cancel",
        **extra,
    )


def test_subscription_session_create_retrieve_and_pay(
    server: StripeServerHandle, customer_with_card: Any, prices: dict[str, Any]
) -> None:
    session = _session(
        prices,
        customer=customer_with_card.id,
        client_reference_id="acct-42",
        subscription_data={"billing_mode": {"type": "flexible"}, "metadata": {"plan": "pro"}},
    )
    assert session.status == "open" and session.mode == "subscription"
    assert session.url.startswith(server.url + "/c/pay/cs_test_")
    assert session.amount_total == 4900 and session.payment_status == "unpaid"
    items = stripe.checkout.Session.list_line_items(session.id).data
    assert [(i.price.id, i.quantity) for i in items] == [
        (prices["base"].id, 1),
        (prices["calls"].id, None),
    ]
    page = requests.get(session.url, timeout=5)
    assert page.status_code == 200 and "cardnumber" in page.text and "Pro" in page.text
    done = requests.post(
        session.url, data={"cardnumber": "4242 4242 4242 4242"}, allow_redirects=False, timeout=5
    )
    assert done.status_code == 303
    assert done.headers["Location"] == f"http://127.0.0.1:9/done?session={session.id}"
    paid = stripe.checkout.Session.retrieve(session.id, expand=["subscription", "line_items"])
    assert paid.status == "complete" and paid.payment_status == "paid" and paid.url is None
    assert paid.client_reference_id == "acct-42" and paid.customer == customer_with_card.id
    sub = paid.subscription
    assert sub.status == "active" and sub.metadata.to_dict() == {"plan": "pro"}
    assert sub.billing_mode.type == "flexible"
    card = stripe.PaymentMethod.retrieve(sub.default_payment_method)
    assert card.card.last4 == "4242" and card.customer == customer_with_card.id
    assert paid.line_items.data[0].amount_total == 4900
    completed = server.events("checkout.session.completed")
    assert [e["data"]["object"]["id"] for e in completed] == [session.id]
    # Done: the page says so and a second submit changes nothing.
    again = requests.post(
        session.url, data={"cardnumber": "4242424242424242"}, allow_redirects=False, timeout=5
    )
    assert "no longer active" in again.text
    assert len(stripe.Subscription.list(customer=customer_with_card.id).data) == 1


def test_declined_card_keeps_the_session_open(
    server: StripeServerHandle, prices: dict[str, Any]
) -> None:
    session = _session(prices, customer_email="new@example.com")
    page = requests.post(
        session.url, data={"cardnumber": "4000000000000002"}, allow_redirects=False, timeout=5
    )
    assert page.status_code == 200 and "Your card was declined." in page.text
    assert stripe.checkout.Session.retrieve(session.id).status == "open"
    assert stripe.Customer.list(email="new@example.com").data == []  # nothing kept
    requests.post(
        session.url, data={"cardnumber": "4242424242424242"}, allow_redirects=False, timeout=5
    )
    done = stripe.checkout.Session.retrieve(session.id)
    (customer,) = stripe.Customer.list(email="new@example.com").data
    assert done.status == "complete" and done.customer == customer.id


def test_setup_session_attaches_a_card_without_making_it_default(
    server: StripeServerHandle, customer_with_card: Any
) -> None:
    session = stripe.checkout.Session.create(
        mode="setup", customer=customer_with_card.id, currency="usd", success_url=SUCCESS
    )
    assert session.payment_status == "no_payment_required"
    requests.post(
        session.url, data={"cardnumber": "5555555555554444"}, allow_redirects=False, timeout=5
    )
    done = stripe.checkout.Session.retrieve(session.id, expand=["setup_intent"])
    intent = done.setup_intent
    assert done.status == "complete" and intent.status == "succeeded"
    card = stripe.PaymentMethod.retrieve(intent.payment_method)
    assert card.customer == customer_with_card.id and card.card.last4 == "4444"
    customer = stripe.Customer.retrieve(customer_with_card.id)
    assert customer.invoice_settings.default_payment_method != card.id


def test_session_validation_and_expiry(server: StripeServerHandle, prices: dict[str, Any]) -> None:
    with pytest.raises(stripe.InvalidRequestError) as metered_quantity:
        stripe.checkout.Session.create(
            mode="subscription",
            line_items=[{"price": prices["calls"].id, "quantity": 1}],
            success_url=SUCCESS,
        )
    assert metered_quantity.value.param == "line_items[0][quantity]"
    with pytest.raises(stripe.InvalidRequestError) as missing:
        stripe.checkout.Session.create(
            mode="subscription", line_items=[{"price": prices["base"].id, "quantity": 1}]
        )
    assert missing.value.code == "parameter_missing" and missing.value.param == "success_url"
    with pytest.raises(stripe.InvalidRequestError) as unknown:
        stripe.checkout.Session.create(
            mode="subscription",
            line_items=[{"price": prices["base"].id, "quantity": 1}],
            success_url=SUCCESS,
            subscription_data={"trial_days": 3},
        )
    assert unknown.value.code == "parameter_unknown"
    session = _session(prices)
    expired = stripe.checkout.Session.expire(session.id)
    assert expired.status == "expired" and expired.url is None
    assert server.events("checkout.session.expired")


def test_portal_session(server: StripeServerHandle, customer_with_card: Any) -> None:
    portal = stripe.billing_portal.Session.create(
        customer=customer_with_card.id, return_url="http://127.0.0.1:9/billing"
    )
    assert portal.id.startswith("bps_") and portal.url.startswith(server.url + "/p/session/")
    assert portal.return_url == "http://127.0.0.1:9/billing"
    assert "Visa •••• 4242" in requests.get(portal.url, timeout=5).text
    with pytest.raises(stripe.InvalidRequestError):
        stripe.billing_portal.Session.create(customer="cus_nobody")


def test_payment_session_charges_once_for_one_time_prices(
    server: StripeServerHandle, customer_with_card: Any, prices: dict[str, Any]
) -> None:
    pack = stripe.Price.create(currency="usd", product_data={"name": "Credits"}, unit_amount=5000)
    with pytest.raises(stripe.InvalidRequestError) as recurring:
        stripe.checkout.Session.create(
            mode="payment",
            line_items=[{"price": prices["base"].id, "quantity": 1}],
            success_url=SUCCESS,
        )
    assert recurring.value.param == "line_items[0][price]"
    with pytest.raises(stripe.InvalidRequestError) as no_items:
        stripe.checkout.Session.create(mode="payment", success_url=SUCCESS)
    assert no_items.value.param == "line_items"
    session = stripe.checkout.Session.create(
        mode="payment",
        customer=customer_with_card.id,
        line_items=[{"price": pack.id, "quantity": 1}],
        metadata={"pack": "50"},
        success_url=SUCCESS,
    )
    assert session.amount_total == 5000 and session.payment_status == "unpaid"
    declined = requests.post(
        session.url, data={"cardnumber": "4000000000000002"}, allow_redirects=False, timeout=5
    )
    assert declined.status_code == 200 and "Your card was declined." in declined.text
    assert stripe.checkout.Session.retrieve(session.id).status == "open"
    assert not server.events("checkout.session.completed")
    done = requests.post(
        session.url, data={"cardnumber": "4242424242424242"}, allow_redirects=False, timeout=5
    )
    assert done.status_code == 303
    paid = stripe.checkout.Session.retrieve(session.id)
    assert (paid.status, paid.payment_status, paid.mode) == ("complete", "paid", "payment")
    assert paid.metadata.to_dict() == {"pack": "50"} and paid.subscription is None
    assert [e["data"]["object"]["id"] for e in server.events("checkout.session.completed")] == [
        session.id
    ]
