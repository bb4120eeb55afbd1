"""Subscriptions and invoices: anchored first periods, prorations, cancellation, payment
behaviours, renewals with metered usage, and dunning."""

from __future__ import annotations

from typing import Any

import pytest
import requests
import stripe

from stripe_emulator.testing import StripeServerHandle

from .conftest import JUNE_1

DAY = 86400
JULY_1 = 1782864000
AUGUST_1 = 1785542400


def _price(amount: int = 4900, name: str = "Pro") -> stripe.Price:
    return stripe.Price.create(
        currency="usd",
        product_data={"name": name},
        unit_amount=amount,
        recurring={"interval": "month"},
    )


def _customer(pm: str = "pm_card_visa") -> tuple[stripe.Customer, str]:
    customer = stripe.Customer.create(email="sub@example.com")
    attached = stripe.PaymentMethod.attach(pm, customer=customer.id)
    stripe.Customer.modify(customer.id, invoice_settings={"default_payment_method": attached.id})
    return customer, attached.id


def _types(server: StripeServerHandle) -> list[str]:
    return [e["type"] for e in reversed(server.events())]


def test_create_paid_subscription(server: StripeServerHandle, customer_with_card: Any) -> None:
    price = _price()
    sub = stripe.Subscription.create(
        customer=customer_with_card.id,
        items=[{"price": price.id, "quantity": 2}],
        expand=["latest_invoice"],
    )
    assert sub.id.startswith("sub_") and sub.status == "active"
    assert "current_period_end" not in sub  # moved to the items at this API version
    (item,) = sub["items"].data
    assert (item.current_period_start, item.current_period_end) == (JUNE_1, JULY_1)
    assert item.price.id == price.id and item.quantity == 2 and item.plan.amount == 4900
    invoice = sub.latest_invoice
    assert (
        invoice.status == "paid"
        and invoice.amount_paid == 9800
        and invoice.billing_reason == "subscription_create"
    )
    assert invoice.parent.subscription_details.subscription == sub.id
    (line,) = invoice.lines.data
    assert line.pricing.price_details.price == price.id and line.quantity == 2
    assert (line.period.start, line.period.end) == (JUNE_1, JULY_1)
    assert invoice.hosted_invoice_url.startswith(server.url)
    page = requests.get(invoice.hosted_invoice_url, timeout=5)
    assert page.status_code == 200 and invoice.number in page.text
    types = _types(server)
    assert types[types.index("customer.subscription.created") :] == [
        "customer.subscription.created",
        "invoice.created",
        "invoice.finalized",
        "invoice.paid",
        "invoice.payment_succeeded",
    ]
    assert [i.id for i in stripe.SubscriptionItem.list(subscription=sub.id).data] == [item.id]
    assert stripe.SubscriptionItem.retrieve(item.id).subscription == sub.id
    assert [
        s.id for s in stripe.Subscription.list(customer=customer_with_card.id, price=price.id).data
    ] == [sub.id]
    assert [line.id for line in stripe.Invoice.list_lines(invoice.id).data] == [line.id]


@pytest.mark.parametrize(("proration", "amount"), [("create_prorations", 2450), ("none", 0)])
def test_anchor_to_first_of_month_prorates_first_period(
    server: StripeServerHandle, customer_with_card: Any, proration: str, amount: int
) -> None:
    server.set_now(JUNE_1 + 15 * DAY)  # June 16: half of June remains
    sub = stripe.Subscription.create(
        customer=customer_with_card.id,
        items=[{"price": _price().id}],
        billing_cycle_anchor_config={"day_of_month": 1, "hour": 0, "minute": 0, "second": 0},
        proration_behavior=proration,
        expand=["latest_invoice"],
    )
    assert sub.billing_cycle_anchor == JULY_1
    assert sub["items"].data[0].current_period_end == JULY_1
    assert sub.latest_invoice.total == amount and sub.latest_invoice.status == "paid"
    renewal = stripe.Invoice.retrieve(server.advance_period(sub.id)["invoices"][0])
    assert renewal.total == 4900 and renewal.status == "paid"
    assert (renewal.period_start, renewal.period_end) == (JUNE_1 + 15 * DAY, JULY_1)
    assert renewal.lines.data[0].period.end == AUGUST_1


def test_upgrade_with_prorations_then_renewal(
    server: StripeServerHandle, customer_with_card: Any
) -> None:
    basic, pro = _price(4900, "Basic"), _price(9900, "Pro")
    sub = stripe.Subscription.create(customer=customer_with_card.id, items=[{"price": basic.id}])
    server.set_now(JUNE_1 + 10 * DAY)  # 20 of 30 days remain
    item_id = sub["items"].data[0].id
    upgraded = stripe.Subscription.modify(sub.id, items=[{"id": item_id, "price": pro.id}])
    assert upgraded["items"].data[0].id == item_id and upgraded["items"].data[0].price.id == pro.id
    pending = stripe.InvoiceItem.list(customer=customer_with_card.id, pending=True).data
    assert sorted(ii.amount for ii in pending) == [-3267, 6600]
    assert all(ii.proration for ii in pending)
    preview = stripe.Invoice.create_preview(subscription=sub.id)
    assert preview.total == -3267 + 6600 + 9900
    renewal = stripe.Invoice.retrieve(server.advance_period(sub.id)["invoices"][0])
    assert renewal.total == 13233 and renewal.status == "paid"
    descriptions = [line.description for line in renewal.lines.data]
    assert descriptions[0].startswith("Unused time on 1 × Basic") and descriptions[1].startswith(
        "Remaining time on 1 × Pro"
    )
    updated = server.events("customer.subscription.updated")[-1]
    assert "items" in updated["data"]["previous_attributes"]


def test_upgrade_always_invoice_and_preview_of_change(
    server: StripeServerHandle, customer_with_card: Any
) -> None:
    basic, pro = _price(4900, "Basic"), _price(9900, "Pro")
    sub = stripe.Subscription.create(customer=customer_with_card.id, items=[{"price": basic.id}])
    server.set_now(JUNE_1 + 10 * DAY)
    item_id = sub["items"].data[0].id
    preview = stripe.Invoice.create_preview(
        subscription=sub.id,
        subscription_details={
            "items": [{"id": item_id, "price": pro.id}],
            "proration_behavior": "always_invoice",
        },
    )
    assert preview.total == 3333
    assert stripe.Subscription.retrieve(sub.id)["items"].data[0].price.id == basic.id
    updated = stripe.Subscription.modify(
        sub.id,
        items=[{"id": item_id, "price": pro.id}],
        proration_behavior="always_invoice",
        expand=["latest_invoice"],
    )
    assert updated.latest_invoice.total == 3333 and updated.latest_invoice.status == "paid"
    assert updated.latest_invoice.billing_reason == "subscription_update"
    none = stripe.Subscription.modify(
        sub.id, items=[{"id": item_id, "quantity": 3}], proration_behavior="none"
    )
    assert none["items"].data[0].quantity == 3
    assert stripe.InvoiceItem.list(customer=customer_with_card.id, pending=True).data == []


def test_add_and_delete_items(server: StripeServerHandle, customer_with_card: Any) -> None:
    base, addon = _price(4900, "Base"), _price(1000, "Addon")
    sub = stripe.Subscription.create(customer=customer_with_card.id, items=[{"price": base.id}])
    added = stripe.Subscription.modify(
        sub.id, items=[{"price": addon.id, "quantity": 2}], proration_behavior="none"
    )
    assert sorted(i.price.id for i in added["items"].data) == sorted([base.id, addon.id])
    addon_item = next(i for i in added["items"].data if i.price.id == addon.id)
    removed = stripe.Subscription.modify(
        sub.id, items=[{"id": addon_item.id, "deleted": True}], proration_behavior="none"
    )
    assert [i.price.id for i in removed["items"].data] == [base.id]
    with pytest.raises(stripe.InvalidRequestError):
        stripe.SubscriptionItem.retrieve(addon_item.id)


def test_cancel_at_period_end(server: StripeServerHandle, customer_with_card: Any) -> None:
    sub = stripe.Subscription.create(customer=customer_with_card.id, items=[{"price": _price().id}])
    pending = stripe.Subscription.modify(sub.id, cancel_at_period_end=True)
    assert (
        pending.cancel_at_period_end is True
        and pending.status == "active"
        and pending.canceled_at == JUNE_1
    )
    result = server.advance_period(sub.id)
    assert result["invoices"] == []
    ended = stripe.Subscription.retrieve(sub.id)
    assert ended.status == "canceled" and ended.ended_at == JULY_1
    assert stripe.Subscription.list(customer=customer_with_card.id).data == []
    assert [
        s.id
        for s in stripe.Subscription.list(customer=customer_with_card.id, status="canceled").data
    ] == [sub.id]
    assert server.events("customer.subscription.deleted")[0]["data"]["object"]["id"] == sub.id


def test_cancel_now_invoices_metered_usage(
    server: StripeServerHandle, customer_with_card: Any
) -> None:
    meter = stripe.billing.Meter.create(
        display_name="Calls", event_name="calls", default_aggregation={"formula": "sum"}
    )
    usage = stripe.Price.create(
        currency="usd",
        product_data={"name": "Calls"},
        unit_amount=2,
        recurring={"interval": "month", "usage_type": "metered", "meter": meter.id},
    )
    sub = stripe.Subscription.create(
        customer=customer_with_card.id, items=[{"price": _price().id}, {"price": usage.id}]
    )
    server.set_now(JUNE_1 + 5 * DAY)
    stripe.billing.MeterEvent.create(
        event_name="calls", payload={"stripe_customer_id": customer_with_card.id, "value": "250"}
    )
    canceled = stripe.Subscription.cancel(sub.id, invoice_now=True, expand=["latest_invoice"])
    assert canceled.status == "canceled" and canceled.canceled_at == JUNE_1 + 5 * DAY
    assert canceled.latest_invoice.total == 500 and canceled.latest_invoice.status == "paid"
    with pytest.raises(stripe.InvalidRequestError):
        stripe.Subscription.cancel(sub.id)


def test_error_if_incomplete_leaves_nothing(server: StripeServerHandle) -> None:
    customer, _pm = _customer("pm_card_chargeCustomerFail")
    with pytest.raises(stripe.CardError) as excinfo:
        stripe.Subscription.create(
            customer=customer.id,
            items=[{"price": _price().id}],
            payment_behavior="error_if_incomplete",
        )
    assert excinfo.value.http_status == 402 and excinfo.value.code == "card_declined"
    assert stripe.Subscription.list(customer=customer.id, status="all").data == []
    assert stripe.Invoice.list(customer=customer.id).data == []
    assert server.events("customer.subscription.*") == []


def test_allow_incomplete_then_pay(server: StripeServerHandle) -> None:
    customer, _pm = _customer("pm_card_chargeCustomerFail")
    sub = stripe.Subscription.create(
        customer=customer.id, items=[{"price": _price().id}], expand=["latest_invoice"]
    )
    assert sub.status == "incomplete"
    invoice = sub.latest_invoice
    assert invoice.status == "open" and invoice.attempted and invoice.attempt_count == 1
    assert invoice.next_payment_attempt is None
    assert server.events("invoice.payment_failed")
    good = stripe.PaymentMethod.attach("pm_card_visa", customer=customer.id)
    paid = stripe.Invoice.pay(invoice.id, payment_method=good.id)
    assert paid.status == "paid" and paid.amount_paid == 4900
    assert stripe.Subscription.retrieve(sub.id).status == "active"


def test_default_incomplete_does_not_charge(
    server: StripeServerHandle, customer_with_card: Any
) -> None:
    sub = stripe.Subscription.create(
        customer=customer_with_card.id,
        items=[{"price": _price().id}],
        payment_behavior="default_incomplete",
        expand=["latest_invoice"],
    )
    assert sub.status == "incomplete"
    assert sub.latest_invoice.status == "open" and sub.latest_invoice.attempt_count == 0
    stripe.Invoice.pay(sub.latest_invoice.id)
    assert stripe.Subscription.retrieve(sub.id).status == "active"


def test_renewal_with_usage_is_paid(server: StripeServerHandle, customer_with_card: Any) -> None:
    meter = stripe.billing.Meter.create(
        display_name="Req", event_name="req", default_aggregation={"formula": "sum"}
    )
    usage = stripe.Price.create(
        currency="usd",
        product_data={"name": "Requests"},
        billing_scheme="tiered",
        tiers_mode="graduated",
        tiers=[{"up_to": 50000, "unit_amount": 0}, {"up_to": "inf", "unit_amount_decimal": "0.1"}],
        recurring={"interval": "month", "usage_type": "metered", "meter": meter.id},
    )
    base = _price()
    sub = stripe.Subscription.create(
        customer=customer_with_card.id, items=[{"price": base.id}, {"price": usage.id}]
    )
    stripe.billing.MeterEvent.create(
        event_name="req", payload={"stripe_customer_id": customer_with_card.id, "value": "128000"}
    )
    result = server.advance_period()
    # The renewal draft finalizes after Stripe's one-hour grace period.
    assert result["subscriptions"] == [sub.id] and server.now() == JULY_1 + 3600
    invoice = stripe.Invoice.retrieve(result["invoices"][0])
    assert (
        invoice.total == 12700
        and invoice.status == "paid"
        and invoice.billing_reason == "subscription_cycle"
    )
    assert (invoice.period_start, invoice.period_end) == (JUNE_1, JULY_1)
    by_price = {line.pricing.price_details.price: line for line in invoice.lines.data}
    assert by_price[usage.id].quantity == 128000 and by_price[usage.id].period.end == JULY_1
    assert by_price[base.id].period.start == JULY_1
    renewed = stripe.Subscription.retrieve(sub.id)
    assert (
        renewed["items"].data[0].current_period_start == JULY_1
        and renewed.latest_invoice == invoice.id
    )
    paid = stripe.Invoice.list(subscription=sub.id, status="paid").data
    assert paid[0].id == invoice.id


def test_failed_renewal_dunning_and_recovery(server: StripeServerHandle) -> None:
    customer, _visa = _customer("pm_card_visa")
    sub = stripe.Subscription.create(customer=customer.id, items=[{"price": _price().id}])
    failing = stripe.PaymentMethod.attach("pm_card_chargeCustomerFail", customer=customer.id)
    stripe.Customer.modify(customer.id, invoice_settings={"default_payment_method": failing.id})
    invoice_id = server.advance_period(sub.id)["invoices"][0]
    invoice = stripe.Invoice.retrieve(invoice_id)
    assert invoice.status == "open" and invoice.attempted and invoice.attempt_count == 1
    # Stripe's automatic retries are off unless configured (test_dunning.py).
    assert invoice.next_payment_attempt is None
    assert stripe.Subscription.retrieve(sub.id).status == "past_due"
    assert stripe.Customer.retrieve(customer.id).delinquent is True
    failed = server.events("invoice.payment_failed")[0]
    assert failed["data"]["object"]["id"] == invoice_id and failed["request"]["id"] is None
    with pytest.raises(stripe.CardError):
        stripe.Invoice.pay(invoice_id)
    assert stripe.Invoice.retrieve(invoice_id).attempt_count == 2
    good = stripe.PaymentMethod.attach("pm_card_mastercard", customer=customer.id)
    stripe.Customer.modify(customer.id, invoice_settings={"default_payment_method": good.id})
    paid = stripe.Invoice.pay(invoice_id)
    assert paid.status == "paid" and paid.attempt_count == 3
    assert stripe.Subscription.retrieve(sub.id).status == "active"
    assert stripe.Customer.retrieve(customer.id).delinquent is False
    recovered = server.events("customer.subscription.updated")[0]
    assert recovered["data"]["previous_attributes"]["status"] == "past_due"
    assert server.events("invoice.payment_succeeded")[0]["data"]["object"]["id"] == invoice_id


def test_retries_exhausted_and_void(server: StripeServerHandle) -> None:
    customer, _pm = _customer("pm_card_visa")
    sub = stripe.Subscription.create(customer=customer.id, items=[{"price": _price().id}])
    failing = stripe.PaymentMethod.attach("pm_card_chargeCustomerFail", customer=customer.id)
    stripe.Customer.modify(customer.id, invoice_settings={"default_payment_method": failing.id})
    invoice_id = server.advance_period(sub.id)["invoices"][0]
    assert server.retries_exhausted(sub.id, "unpaid")["status"] == "unpaid"
    voided = stripe.Invoice.void_invoice(invoice_id)
    assert voided.status == "void"
    with pytest.raises(stripe.InvalidRequestError):
        stripe.Invoice.pay(invoice_id)


def test_subscription_validation(server: StripeServerHandle, customer_with_card: Any) -> None:
    one_time = stripe.Price.create(currency="usd", product_data={"name": "Once"}, unit_amount=100)
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        stripe.Subscription.create(customer=customer_with_card.id, items=[{"price": one_time.id}])
    assert excinfo.value.param == "items[0][price]"
    with pytest.raises(stripe.InvalidRequestError) as missing:
        stripe.Subscription.create(customer="cus_nobody", items=[{"price": _price().id}])
    assert missing.value.http_status == 404
