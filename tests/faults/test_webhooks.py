"""Stripe webhooks under fault: replayed, out of order, stale and forged events.

Every event goes over real HTTP to dj-stripe's endpoint on a live server, signed with Stripe's
scheme (`Stripe-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">`). The events
are the local Stripe server's own; the tests choose when and in which order each arrives (the
endpoint is registered at an address where nothing listens, so the server's own deliveries go
nowhere), except the replay test, where the server delivers them itself.

What must hold: a replayed event has one effect and sends one email; whatever order events
arrive in, and however old their copy of the object, the latest Stripe state wins; a forged
event answers 4xx and changes nothing and sends nothing, whatever DEBUG says.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import time

import pytest
import requests
import stripe
from django.core import mail
from django.test import override_settings
from django.urls import reverse
from djstripe.models import Event as DjstripeEvent

from accounts.models import Customer, Plan
from billing.models import PaymentFailure
from billing.services import subscription_change
from billing.stripe_catalog import subscription_items
from billing.webhooks.endpoint import webhook_endpoint_ensure

pytestmark = pytest.mark.django_db(transaction=True)  # a live server; emails leave on commit

NOWHERE = "http://127.0.0.1:9"  # the discard port: nothing listens on loopback
ATTACKER_SECRET = "whsec_attackers_own_secret_0000000000"


def stripe_signature(payload: bytes, secret: str, at: int | None = None) -> str:
    """Stripe's webhook signature header, computed here rather than by a library under test."""
    at = int(time.time()) if at is None else at
    digest = hmac.new(secret.encode(), f"{at}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={at},v1={digest}"


class Webhooks:
    """Posts events to the live server's dj-stripe endpoint as Stripe would."""

    def __init__(self, server, base_url: str, endpoint) -> None:
        self.server, self.endpoint = server, endpoint
        path = reverse("djstripe:djstripe_webhook_by_uuid", kwargs={"uuid": endpoint.djstripe_uuid})
        self.url = base_url + path

    def post(self, event: dict, *, signature: str | None = None, headers=None):
        payload = json.dumps(event).encode()
        if signature is None:
            signature = stripe_signature(payload, self.endpoint.secret)
        return requests.post(
            self.url,
            data=payload,
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "Stripe-Signature": signature,
                **(headers or {}),
            },
            timeout=30,
        )

    def deliver(self, event: dict) -> None:
        response = self.post(event)
        assert response.status_code == 200, (event["type"], response.status_code, response.text)

    def events(self, type: str) -> list[dict]:
        """The server's events of one type, oldest first."""
        return list(reversed(self.server.events(type)))

    def deliver_all(self) -> None:
        """Every event so far, oldest first, as a healthy Stripe would have sent them."""
        for event in reversed(self.server.events()):
            self.deliver(event)


@pytest.fixture
def webhooks(live_server, stripe_server):
    endpoint = webhook_endpoint_ensure(base_url=NOWHERE)
    return Webhooks(stripe_server, live_server.url, endpoint)


def plan_of(customer: Customer) -> str:
    return Customer.objects.get(pk=customer.pk).plan.slug


def subscribed(make_customer, plan: str = "pro") -> tuple[Customer, str]:
    customer, _ = make_customer("free")
    subscription_change(
        customer=customer, plan=Plan.objects.get(slug=plan), payment_method="pm_card_visa"
    )
    customer.refresh_from_db()
    (subscription,) = stripe.Subscription.list(customer=customer.stripe_customer_id).data
    return customer, subscription.id


def change_in_stripe(subscription_id: str, plan: str) -> None:
    """Support changes the plan in Stripe's dashboard: only a webhook tells us."""
    subscription = stripe.Subscription.retrieve(subscription_id)
    stripe.Subscription.modify(
        subscription_id,
        proration_behavior="none",
        items=[{"id": item.id, "deleted": True} for item in subscription["items"].data]
        + subscription_items(Plan.objects.get(slug=plan)),
    )


def renewal_fails(customer: Customer, subscription_id: str, server) -> str:
    """The card starts failing and the next renewal cannot be paid; returns the open invoice."""
    failing = stripe.PaymentMethod.attach(
        "pm_card_chargeCustomerFail", customer=customer.stripe_customer_id
    )
    stripe.Subscription.modify(subscription_id, default_payment_method=failing.id)
    server.advance_period(subscription_id)
    invoice = stripe.Invoice.list(customer=customer.stripe_customer_id, status="open").data[0]
    assert invoice.amount_remaining > 0
    return invoice.id


def pay_with_a_good_card(customer: Customer, invoice_id: str) -> None:
    good = stripe.PaymentMethod.attach("pm_card_visa", customer=customer.stripe_customer_id)
    stripe.Invoice.pay(invoice_id, payment_method=good.id)
    assert stripe.Invoice.retrieve(invoice_id).status == "paid"


def event_for(webhooks: Webhooks, type: str, object_id: str) -> dict:
    (event,) = [e for e in webhooks.events(type) if e["data"]["object"]["id"] == object_id]
    return event


def subjects() -> list[str]:
    return [message.subject for message in mail.outbox]


# --- replayed -------------------------------------------------------------------------------


def test_replayed_events_have_one_effect_and_send_one_email(
    live_server, stripe_server, make_customer
):
    """The Stripe server delivers every event itself; then each is delivered again (Stripe
    retries a delivery it thinks failed): one failure recorded, one email."""
    endpoint = webhook_endpoint_ensure(base_url=live_server.url)
    webhooks = Webhooks(stripe_server, live_server.url, endpoint)
    customer, sub_id = subscribed(make_customer)
    invoice_id = renewal_fails(customer, sub_id, stripe_server)
    stripe_server.wait_for_webhooks(timeout=30)
    failed = event_for(webhooks, "invoice.payment_failed", invoice_id)
    for _ in range(2):
        webhooks.deliver(failed)
    assert PaymentFailure.objects.filter(stripe_invoice_id=invoice_id).count() == 1
    assert len(subjects()) == 1 and "failed" in subjects()[0]

    pay_with_a_good_card(customer, invoice_id)
    stripe_server.wait_for_webhooks(timeout=30)
    for type in ("invoice.paid", "invoice.payment_succeeded", "invoice.payment_failed"):
        webhooks.deliver(event_for(webhooks, type, invoice_id))
    failure = PaymentFailure.objects.get(stripe_invoice_id=invoice_id)
    assert failure.resolved_at is not None
    # Stripe's receipt tells the customer of the payment: no email of ours (docs/operations.md,
    # "Who emails what"), however often the events come.
    assert len(subjects()) == 1
    assert {d["status"] for d in stripe_server.deliveries()} == {200}
    assert plan_of(customer) == "pro"


# --- out of order ---------------------------------------------------------------------------


def test_subscription_updated_arriving_after_a_later_deleted_leaves_free(webhooks, make_customer):
    customer, sub_id = subscribed(make_customer, plan="business")
    webhooks.deliver_all()
    assert plan_of(customer) == "business"
    change_in_stripe(sub_id, "pro")
    stripe.Subscription.cancel(sub_id)
    deleted = event_for(webhooks, "customer.subscription.deleted", sub_id)
    updated_to_pro = webhooks.events("customer.subscription.updated")[-1]
    assert updated_to_pro["data"]["object"]["status"] == "active"

    webhooks.deliver(deleted)
    assert plan_of(customer) == "free"
    webhooks.deliver(updated_to_pro)  # late: Stripe says the subscription is gone
    assert plan_of(customer) == "free"


def test_payment_failed_arriving_after_paid_records_nothing(webhooks, make_customer):
    customer, sub_id = subscribed(make_customer)
    webhooks.deliver_all()
    invoice_id = renewal_fails(customer, sub_id, webhooks.server)
    pay_with_a_good_card(customer, invoice_id)

    webhooks.deliver(event_for(webhooks, "invoice.paid", invoice_id))
    webhooks.deliver(event_for(webhooks, "invoice.payment_failed", invoice_id))
    assert not PaymentFailure.objects.filter(stripe_invoice_id=invoice_id).exists()
    assert subjects() == []
    assert plan_of(customer) == "pro"


# --- stale ----------------------------------------------------------------------------------


def test_a_stale_subscription_event_does_not_roll_the_plan_back(webhooks, make_customer):
    """Pro → Business → Pro in Stripe; only the Business event arrives, after the last change."""
    customer, sub_id = subscribed(make_customer)
    webhooks.deliver_all()
    change_in_stripe(sub_id, "business")
    to_business = webhooks.events("customer.subscription.updated")[-1]
    change_in_stripe(sub_id, "pro")

    webhooks.deliver(to_business)
    assert plan_of(customer) == "pro"


def test_a_stale_payment_failed_for_a_voided_invoice_records_nothing(webhooks, make_customer):
    """The invoice failed, then was voided in Stripe before the failure event arrived."""
    customer, sub_id = subscribed(make_customer)
    webhooks.deliver_all()
    invoice_id = renewal_fails(customer, sub_id, webhooks.server)
    stripe.Invoice.void_invoice(invoice_id)

    failed = event_for(webhooks, "invoice.payment_failed", invoice_id)
    assert failed["data"]["object"]["status"] == "open"  # the event's copy is out of date
    webhooks.deliver(failed)
    assert not PaymentFailure.objects.filter(stripe_invoice_id=invoice_id).exists()
    assert subjects() == []


def test_an_invoice_paid_event_for_an_invoice_stripe_has_open_resolves_nothing(
    webhooks, make_customer
):
    """Correctly signed, but its copy says paid while Stripe says open: Stripe wins."""
    customer, sub_id = subscribed(make_customer)
    webhooks.deliver_all()
    invoice_id = renewal_fails(customer, sub_id, webhooks.server)
    webhooks.deliver(event_for(webhooks, "invoice.payment_failed", invoice_id))
    assert PaymentFailure.objects.get(stripe_invoice_id=invoice_id).is_open
    mail.outbox.clear()

    claim = paid_claim(event_for(webhooks, "invoice.payment_failed", invoice_id))
    webhooks.deliver(claim)
    assert PaymentFailure.objects.get(stripe_invoice_id=invoice_id).is_open
    assert subjects() == []
    assert stripe.Invoice.retrieve(invoice_id).status == "open"


# --- forged ---------------------------------------------------------------------------------


def paid_claim(failed_event: dict) -> dict:
    """An `invoice.paid` event made from a real `invoice.payment_failed` one."""
    event = copy.deepcopy(failed_event)
    event["id"] = "evt_forged" + failed_event["id"][4:]
    event["type"] = "invoice.paid"
    invoice = event["data"]["object"]
    invoice.update(status="paid", paid=True, amount_paid=invoice["amount_due"], amount_remaining=0)
    return event


FORGERIES = {
    "bad signature": lambda payload, secret: f"t={int(time.time())},v1={'0' * 64}",
    "another secret": lambda payload, secret: stripe_signature(payload, ATTACKER_SECRET),
    "old timestamp": lambda payload, secret: stripe_signature(
        payload, secret, at=int(time.time()) - 3600
    ),
    "no v1 signature": lambda payload, secret: f"t={int(time.time())}",
    "empty signature header": lambda payload, secret: "",
}


@pytest.fixture
def open_failure(webhooks, make_customer):
    """A customer on Pro whose renewal failed: an open payment failure, its email sent."""
    customer, sub_id = subscribed(make_customer)
    webhooks.deliver_all()
    invoice_id = renewal_fails(customer, sub_id, webhooks.server)
    webhooks.deliver(event_for(webhooks, "invoice.payment_failed", invoice_id))
    failure = PaymentFailure.objects.get(stripe_invoice_id=invoice_id)
    assert failure.is_open
    mail.outbox.clear()
    return failure


def assert_nothing_changed(failure: PaymentFailure, event: dict) -> None:
    failure.refresh_from_db()
    assert failure.is_open
    assert subjects() == []
    assert not DjstripeEvent.objects.filter(id=event["id"]).exists()
    assert stripe.Invoice.retrieve(failure.stripe_invoice_id).status == "open"
    assert plan_of(failure.customer) == "pro"


@pytest.mark.parametrize("forgery", FORGERIES)
def test_forged_events_are_refused_and_change_nothing(webhooks, open_failure, forgery):
    event = paid_claim(
        event_for(webhooks, "invoice.payment_failed", open_failure.stripe_invoice_id)
    )
    payload = json.dumps(event).encode()
    response = webhooks.post(event, signature=FORGERIES[forgery](payload, webhooks.endpoint.secret))
    assert 400 <= response.status_code < 500
    assert_nothing_changed(open_failure, event)


@pytest.mark.parametrize("debug", [True, False])
def test_the_webhook_secret_header_trick_is_refused_whatever_debug_says(
    webhooks, open_failure, debug
):
    """dj-stripe lets `X-Djstripe-Webhook-Secret` replace the endpoint's secret when DEBUG is
    on (for the Stripe CLI), and `make run` runs with DEBUG on: an attacker signs with a secret
    of their own and sends it along."""
    event = paid_claim(
        event_for(webhooks, "invoice.payment_failed", open_failure.stripe_invoice_id)
    )
    payload = json.dumps(event).encode()
    with override_settings(DEBUG=debug):
        response = webhooks.post(
            event,
            signature=stripe_signature(payload, ATTACKER_SECRET),
            headers={"X-Djstripe-Webhook-Secret": ATTACKER_SECRET},
        )
    assert 400 <= response.status_code < 500
    assert_nothing_changed(open_failure, event)


def test_a_forged_subscription_deleted_does_not_drop_the_plan(webhooks, make_customer):
    customer, sub_id = subscribed(make_customer)
    webhooks.deliver_all()
    created = event_for(webhooks, "customer.subscription.created", sub_id)
    event = copy.deepcopy(created) | {
        "id": "evt_forged_deleted",
        "type": "customer.subscription.deleted",
    }
    event["data"]["object"]["status"] = "canceled"
    payload = json.dumps(event).encode()
    with override_settings(DEBUG=True):
        response = webhooks.post(
            event,
            signature=stripe_signature(payload, ATTACKER_SECRET),
            headers={"X-Djstripe-Webhook-Secret": ATTACKER_SECRET},
        )
    assert 400 <= response.status_code < 500
    assert plan_of(customer) == "pro"
    assert stripe.Subscription.retrieve(sub_id).status == "active"
