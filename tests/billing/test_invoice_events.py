"""Invoice events reach the customer's webhooks once per fact: Stripe's invoice.paid and
invoice.payment_succeeded for one invoice, or a replay of either, make one `invoice.paid`; each
failed payment makes one `invoice.payment_failed`, named by Stripe's event."""

from __future__ import annotations

import pytest
import stripe

from alerts.models import WebhookEndpoint, WebhookEvent
from billing.dunning import payment_failure_record, payment_failure_resolve_if_paid
from tests.billing.test_stripe_webhooks import subscribe


def hooks(client, events):
    response = client.post(
        "/api/v1/webhooks", {"url": "http://127.0.0.1:9/", "events": events}, format="json"
    )
    assert response.status_code == 201, response.content
    return WebhookEndpoint.objects.get(pk=response.json()["id"])


@pytest.mark.django_db
def test_a_paid_invoice_is_one_event_whatever_stripe_sends_twice(make_customer, webhooks):
    from tests.conftest import KeyClient

    customer, raw = make_customer("business", "paying@example.com")
    client = KeyClient(raw, customer)
    hooks(client, ["invoice.paid", "invoice.payment_failed"])
    subscribe(client, plan="business")
    delivered = {e["type"] for e in webhooks.deliver()}
    assert {"invoice.paid", "invoice.payment_succeeded"} <= delivered
    paid = WebhookEvent.objects.filter(type="invoice.paid")
    assert paid.count() == 1
    event = paid.get()
    invoice = stripe.Invoice.retrieve(event.data["invoice"])
    assert event.data["status"] == "paid" and event.data["amount_paid"] == invoice.amount_paid
    # A replay that reached the handler again (dj-stripe stores events once, but a resent one
    # under a new Stripe id would) emits the same id: still one event, one delivery.
    payment_failure_resolve_if_paid(invoice_id=invoice.id)
    assert WebhookEvent.objects.filter(type="invoice.paid").count() == 1
    assert event.deliveries.count() == 1


@pytest.mark.django_db
def test_each_payment_failure_is_one_event(make_customer, webhooks):
    from tests.conftest import KeyClient

    customer, raw = make_customer("business", "failing@example.com")
    client = KeyClient(raw, customer)
    sub_id = subscribe(client, plan="business")
    hooks(client, ["invoice.payment_failed"])
    failing = stripe.PaymentMethod.attach(
        "pm_card_chargeCustomerFail", customer=client.customer.stripe_customer_id
    )
    stripe.Subscription.modify(sub_id, default_payment_method=failing.id)
    webhooks.skip_all()
    webhooks.server.advance_period(sub_id)
    stripe_events = [e for e in webhooks.deliver() if e["type"] == "invoice.payment_failed"]
    assert len(stripe_events) == 1
    [event] = WebhookEvent.objects.filter(type="invoice.payment_failed")
    assert event.data["status"] == "open" and event.data["amount_remaining"] > 0
    invoice_id = event.data["invoice"]
    # The same Stripe event handled again: the same id, nothing new.
    payment_failure_record(invoice_id=invoice_id, source_event_id=stripe_events[0]["id"])
    assert WebhookEvent.objects.filter(type="invoice.payment_failed").count() == 1
    # A later failure (another Stripe event) is another event.
    payment_failure_record(invoice_id=invoice_id, source_event_id="evt_another_failure")
    assert WebhookEvent.objects.filter(type="invoice.payment_failed").count() == 2
