"""Webhook delivery: Stripe's signature, order, retries, and a receiver that calls back."""

from __future__ import annotations

import json

import stripe

from stripe_emulator.testing import StripeServerHandle

from .conftest import Receiver


def test_events_are_delivered_signed_and_in_order(
    server: StripeServerHandle, receiver: Receiver
) -> None:
    endpoint = stripe.WebhookEndpoint.create(
        url=receiver.url, enabled_events=["customer.created", "customer.updated"]
    )
    customer = stripe.Customer.create(email="hook@example.com")
    stripe.Customer.modify(customer.id, name="Hooked")
    stripe.Product.create(name="not subscribed")
    server.wait_for_webhooks()
    assert [e["type"] for e in receiver.events()] == ["customer.created", "customer.updated"]
    for request in receiver.requests:
        payload = request["body"].decode()
        header = request["headers"]["Stripe-Signature"]
        assert stripe.WebhookSignature.verify_header(payload, header, endpoint.secret)
        event = stripe.Webhook.construct_event(payload, header, endpoint.secret)
        assert event.data.object.id == customer.id
    updated = receiver.events()[1]
    assert updated["data"]["previous_attributes"] == {"name": None}
    assert updated["api_version"] == "2026-05-27.dahlia"
    assert stripe.Event.retrieve(updated["id"]).pending_webhooks == 0


def test_failed_deliveries_are_retried(server: StripeServerHandle, receiver: Receiver) -> None:
    receiver.statuses = [500, 503]
    endpoint = stripe.WebhookEndpoint.create(url=receiver.url, enabled_events=["*"])
    customer = stripe.Customer.create()
    server.wait_for_webhooks()
    attempts = [(d["event_id"], d["status"], d["attempt"]) for d in server.deliveries()]
    event_id = server.events("customer.created")[0]["id"]
    assert attempts == [(event_id, 500, 1), (event_id, 503, 2), (event_id, 200, 3)]
    assert [e["data"]["object"]["id"] for e in receiver.events()] == [customer.id]
    for request in receiver.requests:  # every attempt is signed afresh, and verifies
        header = request["headers"]["Stripe-Signature"]
        event = stripe.Webhook.construct_event(request["body"].decode(), header, endpoint.secret)
        assert event.id == event_id
    assert all(
        d["url"] == receiver.url and d["type"] == "customer.created" for d in server.deliveries()
    )


def test_receiver_may_call_the_api_back(server: StripeServerHandle, receiver: Receiver) -> None:
    seen: list[str] = []

    def handle(body: bytes) -> None:
        event = json.loads(body)
        seen.append(stripe.Subscription.retrieve(event["data"]["object"]["id"]).status)

    receiver.on_event = handle
    stripe.WebhookEndpoint.create(
        url=receiver.url, enabled_events=["customer.subscription.created"]
    )
    customer = stripe.Customer.create()
    pm = stripe.PaymentMethod.attach("pm_card_visa", customer=customer.id)
    price = stripe.Price.create(
        currency="usd", product_data={"name": "P"}, unit_amount=100, recurring={"interval": "month"}
    )
    stripe.Subscription.create(
        customer=customer.id, items=[{"price": price.id}], default_payment_method=pm.id
    )
    server.wait_for_webhooks()
    assert seen == ["active"]
