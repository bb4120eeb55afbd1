"""The acceptance test: dj-stripe 2.11 syncs every object this server returns."""

from __future__ import annotations

import pytest
import stripe
from djstripe import models as djm
from djstripe.settings import djstripe_settings

from stripe_emulator.testing import StripeServerHandle

from .conftest import JUNE_1

pytestmark = pytest.mark.django_db


@pytest.fixture
def dj_key(server: StripeServerHandle) -> str:
    # dj-stripe resolves related objects with its configured key: use that one throughout.
    key = djstripe_settings.STRIPE_SECRET_KEY
    stripe.api_key = key
    return key


def _catalogue() -> tuple[stripe.Price, stripe.Price]:
    product = stripe.Product.create(name="Pro", id="prod_petstore_pro")
    meter = stripe.billing.Meter.create(
        display_name="API calls", event_name="api_calls", default_aggregation={"formula": "sum"}
    )
    base = stripe.Price.create(
        currency="usd", product=product.id, unit_amount=4900, recurring={"interval": "month"}
    )
    usage = stripe.Price.create(
        currency="usd",
        product=product.id,
        billing_scheme="tiered",
        tiers_mode="graduated",
        tiers=[{"up_to": 50000, "unit_amount": 0}, {"up_to": "inf", "unit_amount_decimal": "0.1"}],
        recurring={"interval": "month", "usage_type": "metered", "meter": meter.id},
    )
    return base, usage


def test_djstripe_syncs_everything(server: StripeServerHandle, dj_key: str) -> None:
    base, usage = _catalogue()
    customer = stripe.Customer.create(email="dj@example.com")
    pm = stripe.PaymentMethod.attach("pm_card_visa", customer=customer.id)
    stripe.Customer.modify(customer.id, invoice_settings={"default_payment_method": pm.id})
    sub = stripe.Subscription.create(
        customer=customer.id, items=[{"price": base.id}, {"price": usage.id}]
    )
    stripe.billing.MeterEvent.create(
        event_name="api_calls",
        payload={"stripe_customer_id": customer.id, "value": "60000"},
        timestamp=JUNE_1 + 60,
    )
    renewal = server.advance_period(sub.id)["invoices"][0]
    endpoint = stripe.WebhookEndpoint.create(url="http://127.0.0.1:9/hook/", enabled_events=["*"])

    dj_customer = djm.Customer.sync_from_stripe_data(
        stripe.Customer.retrieve(customer.id), api_key=dj_key
    )
    assert dj_customer.default_payment_method.id == pm.id
    assert (
        djm.PaymentMethod.sync_from_stripe_data(stripe.PaymentMethod.retrieve(pm.id)).customer
        == dj_customer
    )
    product = djm.Product.sync_from_stripe_data(stripe.Product.retrieve("prod_petstore_pro"))
    assert product.name == "Pro"
    dj_usage = djm.Price.sync_from_stripe_data(stripe.Price.retrieve(usage.id, expand=["tiers"]))
    assert dj_usage.tiers[1]["unit_amount_decimal"] == "0.1"
    dj_sub = djm.Subscription.sync_from_stripe_data(stripe.Subscription.retrieve(sub.id))
    assert dj_sub.status == "active"
    assert {i.price.id for i in dj_sub.items.all()} == {base.id, usage.id}
    invoice = djm.Invoice.sync_from_stripe_data(stripe.Invoice.retrieve(renewal))
    assert invoice.total == 4900 + 1000
    line_ids = {line["id"] for line in invoice.stripe_data["lines"]["data"]}
    assert djm.LineItem.objects.filter(id__in=line_ids).count() == 2
    assert {li.subscription.id for li in djm.LineItem.objects.filter(id__in=line_ids)} == {sub.id}
    assert djm.WebhookEndpoint.sync_from_stripe_data(endpoint).secret.startswith("whsec_")

    upcoming = djm.Invoice.upcoming(api_key=dj_key, customer=customer.id)
    assert upcoming is not None and upcoming.total == 4900


def test_djstripe_processes_subscription_events(server: StripeServerHandle, dj_key: str) -> None:
    base, _usage = _catalogue()
    customer = stripe.Customer.create(email="events@example.com")
    pm = stripe.PaymentMethod.attach("pm_card_visa", customer=customer.id)
    sub = stripe.Subscription.create(
        customer=customer.id, items=[{"price": base.id}], default_payment_method=pm.id
    )
    stripe.Subscription.modify(sub.id, cancel_at_period_end=True)
    for event_type in (
        "customer.subscription.created",
        "customer.subscription.updated",
        "invoice.paid",
    ):
        data = server.events(event_type)[0]
        event = djm.Event.process(data, api_key=dj_key)
        assert event.type == event_type
    dj_sub = djm.Subscription.objects.get(id=sub.id)
    assert dj_sub.cancel_at_period_end is True
    assert djm.Invoice.objects.filter(customer__id=customer.id).count() == 1
