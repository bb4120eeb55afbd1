"""CRUD, lists and paging, idempotency, authentication and Stripe's error shapes."""

from __future__ import annotations

import pytest
import requests
import stripe

from stripe_emulator.testing import StripeServerHandle

from .conftest import API_KEY


def test_customer_crud_and_email_filter(server: StripeServerHandle) -> None:
    customer = stripe.Customer.create(email="a@example.com", name="A", metadata={"plan": "free"})
    assert customer.id.startswith("cus_")
    assert customer.object == "customer" and customer.livemode is False
    assert customer.metadata["plan"] == "free"
    updated = stripe.Customer.modify(customer.id, name="B", metadata={"plan": ""})
    assert updated.name == "B" and "plan" not in updated.metadata
    stripe.Customer.create(email="other@example.com")
    found = stripe.Customer.list(email="a@example.com")
    assert [c.id for c in found.data] == [customer.id]
    deleted = stripe.Customer.delete(customer.id)
    assert deleted.deleted is True
    assert stripe.Customer.retrieve(customer.id).deleted is True
    assert [c.id for c in stripe.Customer.list(email="a@example.com").data] == []


def test_list_paging(server: StripeServerHandle) -> None:
    ids = [stripe.Product.create(name=f"P{i}").id for i in range(5)]
    newest_first = list(reversed(ids))
    page = stripe.Product.list(limit=2)
    assert [p.id for p in page.data] == newest_first[:2] and page.has_more is True
    assert page.url == "/v1/products"
    page2 = stripe.Product.list(limit=2, starting_after=page.data[-1].id)
    assert [p.id for p in page2.data] == newest_first[2:4]
    back = stripe.Product.list(limit=2, ending_before=page2.data[0].id)
    assert [p.id for p in back.data] == newest_first[:2]
    assert [p.id for p in stripe.Product.list(limit=2).auto_paging_iter()] == newest_first
    assert {p.id for p in stripe.Product.list(ids=ids[:2]).data} == set(ids[:2])


def test_idempotency_key_replays_first_response(server: StripeServerHandle) -> None:
    first = stripe.Customer.create(email="idem@example.com", idempotency_key="key-1")
    again = stripe.Customer.create(email="idem@example.com", idempotency_key="key-1")
    assert again.id == first.id
    assert again.last_response.headers.get("Idempotent-Replayed") == "true"
    assert len(stripe.Customer.list(email="idem@example.com").data) == 1
    with pytest.raises(stripe.IdempotencyError):
        stripe.Customer.create(email="different@example.com", idempotency_key="key-1")


def test_authentication_errors(server: StripeServerHandle) -> None:
    missing = requests.get(f"{server.url}/v1/customers", timeout=5)
    assert missing.status_code == 401
    assert missing.json()["error"]["type"] == "invalid_request_error"
    with pytest.raises(stripe.AuthenticationError) as excinfo:
        stripe.Customer.list(api_key="sk_test_short")
    assert excinfo.value.http_status == 401
    basic = requests.get(f"{server.url}/v1/customers", auth=(API_KEY, ""), timeout=5)
    assert basic.status_code == 200


def test_error_shapes(server: StripeServerHandle) -> None:
    customer = stripe.Customer.create()
    with pytest.raises(stripe.CardError) as declined:
        stripe.PaymentMethod.attach("pm_card_chargeDeclined", customer=customer.id)
    assert declined.value.http_status == 402
    assert declined.value.code == "card_declined"
    assert declined.value.error.decline_code == "generic_decline"
    assert stripe.PaymentMethod.list(customer=customer.id).data == []

    with pytest.raises(stripe.InvalidRequestError) as missing:
        stripe.Customer.retrieve("cus_doesnotexist")
    assert missing.value.http_status == 404
    assert missing.value.code == "resource_missing"
    assert "No such customer: 'cus_doesnotexist'" in str(missing.value)

    with pytest.raises(stripe.InvalidRequestError) as bad:
        stripe.Price.create(product="prod_x", unit_amount=100)
    assert bad.value.http_status == 400
    assert bad.value.code == "parameter_missing" and bad.value.param == "currency"

    with pytest.raises(stripe.InvalidRequestError) as not_int:
        stripe.Price.create(currency="usd", product_data={"name": "X"}, unit_amount="lots")
    assert not_int.value.code == "parameter_invalid_integer"

    unknown = requests.get(f"{server.url}/v1/nothing", auth=(API_KEY, ""), timeout=5)
    assert unknown.status_code == 404
    assert unknown.json()["error"]["message"].startswith("Unrecognized request URL")


def test_payment_methods(server: StripeServerHandle) -> None:
    customer = stripe.Customer.create()
    created = stripe.PaymentMethod.create(type="card", card={"token": "tok_mastercard"})
    assert created.customer is None and created.card.brand == "mastercard"
    attached = stripe.PaymentMethod.attach(created.id, customer=customer.id)
    assert attached.customer == customer.id
    visa = stripe.PaymentMethod.attach("pm_card_visa", customer=customer.id)
    assert visa.id.startswith("pm_") and visa.id != "pm_card_visa"
    assert visa.card.brand == "visa" and visa.card.last4 == "4242" and visa.card.exp_year > 2030
    listed = stripe.Customer.list_payment_methods(customer.id, type="card")
    assert {pm.id for pm in listed.data} == {created.id, visa.id}
    assert {pm.id for pm in stripe.PaymentMethod.list(customer=customer.id).data} == {
        created.id,
        visa.id,
    }
    stripe.Customer.modify(customer.id, invoice_settings={"default_payment_method": visa.id})
    detached = stripe.PaymentMethod.detach(visa.id)
    assert detached.customer is None
    assert stripe.Customer.retrieve(customer.id).invoice_settings.default_payment_method is None
    with pytest.raises(stripe.InvalidRequestError):
        stripe.Customer.modify(customer.id, invoice_settings={"default_payment_method": visa.id})


def test_products_and_prices(server: StripeServerHandle) -> None:
    product = stripe.Product.create(id="petstore-pro", name="Pro")
    assert product.id == "petstore-pro"
    with pytest.raises(stripe.InvalidRequestError):
        stripe.Product.create(id="petstore-pro", name="Again")
    price = stripe.Price.create(
        currency="usd",
        product=product.id,
        unit_amount=4900,
        recurring={"interval": "month"},
        lookup_key="pro",
    )
    # stripe-python turns decimal strings into Decimal; the wire format is "4900".
    assert price.last_response.data["unit_amount_decimal"] == "4900"
    assert price.type == "recurring"
    assert price.recurring.usage_type == "licensed"
    with pytest.raises(stripe.InvalidRequestError) as taken:
        stripe.Price.create(currency="usd", product=product.id, unit_amount=5900, lookup_key="pro")
    assert taken.value.param == "lookup_key"
    newer = stripe.Price.create(
        currency="usd",
        product=product.id,
        unit_amount=5900,
        lookup_key="pro",
        transfer_lookup_key=True,
    )
    assert stripe.Price.retrieve(price.id).lookup_key is None
    assert [p.id for p in stripe.Price.list(lookup_keys=["pro"]).data] == [newer.id]
    stripe.Price.modify(price.id, active=False, nickname="old")
    assert [p.id for p in stripe.Price.list(product=product.id, active=True).data] == [newer.id]
    sub_cent = stripe.Price.create(currency="usd", product=product.id, unit_amount_decimal="0.1")
    assert sub_cent.unit_amount is None
    assert sub_cent.last_response.data["unit_amount_decimal"] == "0.1"
    assert sub_cent.type == "one_time"
    assert stripe.Product.retrieve(product.id, expand=[]).name == "Pro"
    assert stripe.Price.retrieve(newer.id, expand=["product"]).product.name == "Pro"


@pytest.mark.parametrize(
    ("tiers", "message"),
    [
        ([{"up_to": 10, "unit_amount": 1}, {"up_to": 20, "unit_amount": 1}], "inf"),
        (
            [
                {"up_to": 10, "unit_amount": 1},
                {"up_to": 5, "unit_amount": 1},
                {"up_to": "inf", "unit_amount": 1},
            ],
            "ascending",
        ),
        ([{"up_to": "inf", "unit_amount": 1}, {"up_to": 5, "unit_amount": 1}], "last tier"),
        ([{"up_to": 10}, {"up_to": "inf", "unit_amount": 1}], "Each tier"),
    ],
)
def test_tier_validation(server: StripeServerHandle, tiers: list, message: str) -> None:
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        stripe.Price.create(
            currency="usd",
            product_data={"name": "T"},
            billing_scheme="tiered",
            tiers_mode="graduated",
            tiers=tiers,
            recurring={"interval": "month"},
        )
    assert message in str(excinfo.value)


def test_metered_price_needs_meter(server: StripeServerHandle) -> None:
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        stripe.Price.create(
            currency="usd",
            product_data={"name": "M"},
            unit_amount=1,
            recurring={"interval": "month", "usage_type": "metered"},
        )
    assert excinfo.value.param == "recurring[meter]"


def test_webhook_endpoint_secret_only_on_create(server: StripeServerHandle) -> None:
    endpoint = stripe.WebhookEndpoint.create(
        url="http://127.0.0.1:9/hook/", enabled_events=["invoice.paid"], metadata={"a": "b"}
    )
    assert endpoint.secret.startswith("whsec_")
    assert stripe.WebhookEndpoint.retrieve(endpoint.id).get("secret") is None
    updated = stripe.WebhookEndpoint.modify(endpoint.id, enabled_events=["*"], disabled=True)
    assert updated.enabled_events == ["*"] and updated.status == "disabled"
    assert [e.id for e in stripe.WebhookEndpoint.list().data] == [endpoint.id]
    assert stripe.WebhookEndpoint.delete(endpoint.id).deleted is True


def test_stripe_client_and_events_api(
    client: stripe.StripeClient, server: StripeServerHandle
) -> None:
    customer = client.v1.customers.create({"email": "client@example.com"})
    client.v1.customers.update(customer.id, {"name": "Renamed"})
    events = client.v1.events.list({"type": "customer.*"})
    assert [e.type for e in events.data] == ["customer.updated", "customer.created"]
    updated = events.data[0]
    assert updated.data.previous_attributes["name"] is None
    assert updated.data.object["name"] == "Renamed"
    assert updated.api_version == "2026-05-27.dahlia"
    assert updated["request"]["id"].startswith("req_")
    assert client.v1.events.retrieve(updated.id).id == updated.id


def test_expansions(server: StripeServerHandle) -> None:
    customer = stripe.Customer.create(
        payment_method="pm_card_visa", invoice_settings={"default_payment_method": "pm_card_visa"}
    )
    pm_id = customer.invoice_settings.default_payment_method
    assert pm_id.startswith("pm_") and pm_id != "pm_card_visa"
    price = stripe.Price.create(
        currency="usd",
        product_data={"name": "Tiered"},
        billing_scheme="tiered",
        tiers_mode="volume",
        tiers=[{"up_to": 10, "unit_amount": 100}, {"up_to": "inf", "unit_amount": 50}],
        recurring={"interval": "month"},
    )
    assert "tiers" not in stripe.Price.retrieve(price.id)
    listed = stripe.Price.list(expand=["data.tiers"]).data[0]
    assert [t.up_to for t in listed.tiers] == [10, None]
    sub = stripe.Subscription.create(
        customer=customer.id,
        items=[{"price": price.id, "quantity": 3}],
        default_payment_method=pm_id,
    )
    expanded = stripe.Subscription.retrieve(
        sub.id,
        expand=["latest_invoice", "customer", "default_payment_method", "items.data.price.tiers"],
    )
    assert expanded.latest_invoice.total == 300
    assert expanded.customer.id == customer.id
    assert expanded.default_payment_method.card.last4 == "4242"
    assert expanded["items"].data[0].price.tiers[0].unit_amount == 100
    with pytest.raises(stripe.InvalidRequestError):
        stripe.Subscription.retrieve(sub.id, expand=["nonsense"])
    sources = stripe.Customer.retrieve(customer.id, expand=["sources"]).sources
    assert sources.data == []
