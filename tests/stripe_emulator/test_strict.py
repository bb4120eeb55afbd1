"""Parameters are checked against Stripe's own definitions (stripe-python's generated request
types) before any handler runs, and refused in Stripe's error shape."""

from __future__ import annotations

from typing import Any

import pytest
import requests
import stripe

from stripe_emulator.definitions import NoDefinition, fields, request_type
from stripe_emulator.routes import ROUTES
from stripe_emulator.strict import understood
from stripe_emulator.testing import StripeServerHandle

from .conftest import API_KEY


def _refusal(call: Any) -> stripe.InvalidRequestError:
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        call()
    assert excinfo.value.http_status == 400
    assert excinfo.value.error.type == "invalid_request_error"
    return excinfo.value


def _metered_price() -> Any:
    meter = stripe.billing.Meter.create(
        display_name="Calls", event_name="calls", default_aggregation={"formula": "sum"}
    )
    return stripe.Price.create(
        currency="usd",
        product_data={"name": "Calls"},
        unit_amount=1,
        recurring={"interval": "month", "usage_type": "metered", "meter": meter.id},
    )


@pytest.mark.parametrize(
    ("call", "param"),
    [
        (lambda: stripe.Customer.create(email="a@example.com", colour="red"), "colour"),
        (lambda: stripe.Product.create(name="P", shipable=True), "shipable"),
        (lambda: stripe.Price.list(colour="red"), "colour"),
        (
            lambda: stripe.Price.create(
                currency="usd",
                product_data={"name": "P", "colour": "red"},
                unit_amount=1,
            ),
            "product_data[colour]",
        ),
        (
            lambda: stripe.billing.MeterEvent.create(
                event_name="calls", payload={"value": "1"}, customer="cus_x"
            ),
            "customer",
        ),
        (
            lambda: stripe.WebhookEndpoint.create(
                url="http://127.0.0.1:9/", enabled_events=["*"], secret="whsec_mine"
            ),
            "secret",
        ),
    ],
)
def test_unknown_parameters_are_refused(server: StripeServerHandle, call: Any, param: str) -> None:
    error = _refusal(call)
    assert error.code == "parameter_unknown"
    assert error.param == param
    assert error.user_message == f"Received unknown parameter: {param}"


def test_unknown_parameter_inside_an_array_names_its_index(server: StripeServerHandle) -> None:
    customer = stripe.Customer.create()
    price = _metered_price()
    error = _refusal(
        lambda: stripe.Subscription.create(
            customer=customer.id, items=[{"price": price.id}, {"price": price.id, "qty": 2}]
        )
    )
    assert (error.code, error.param) == ("parameter_unknown", "items[1][qty]")
    assert stripe.Subscription.list(customer=customer.id).data == []


@pytest.mark.parametrize(
    ("call", "param"),
    [
        (lambda: stripe.billing.MeterEvent.create(payload={"value": "1"}), "event_name"),
        (
            lambda: stripe.Price.create(
                currency="usd",
                product_data={"name": "P"},
                unit_amount=1,
                recurring={"usage_type": "licensed"},
            ),
            "recurring[interval]",
        ),
        (lambda: stripe.SubscriptionItem.list(), "subscription"),
        (lambda: stripe.PaymentMethod.attach("pm_card_visa"), "customer"),
        (
            lambda: stripe.billing.Meter.create(
                display_name="Calls", event_name="calls", default_aggregation={}
            ),
            "default_aggregation",
        ),
    ],
)
def test_missing_required_parameters_are_refused(
    server: StripeServerHandle, call: Any, param: str
) -> None:
    error = _refusal(call)
    assert error.code == "parameter_missing"
    assert error.param == param
    assert error.user_message == f"Missing required param: {param}."


def test_missing_required_parameter_of_a_nested_hash(server: StripeServerHandle) -> None:
    error = _refusal(
        lambda: stripe.billing.Meter.create(
            display_name="Calls",
            event_name="calls",
            default_aggregation={"formula": "sum"},
            customer_mapping={"type": "by_id"},
        )
    )
    assert (error.code, error.param) == ("parameter_missing", "customer_mapping[event_payload_key]")


@pytest.mark.parametrize(
    ("call", "param", "choices"),
    [
        (
            lambda: stripe.Subscription.create(
                customer="cus_x", items=[{"price": "price_x"}], payment_behavior="sometimes"
            ),
            "payment_behavior",
            "allow_incomplete, default_incomplete, error_if_incomplete, or pending_if_incomplete",
        ),
        (
            lambda: stripe.Price.create(
                currency="usd",
                product_data={"name": "P"},
                unit_amount=1,
                recurring={"interval": "fortnight"},
            ),
            "recurring[interval]",
            "day, month, week, or year",
        ),
        (
            lambda: stripe.billing.Meter.create(
                display_name="Calls", event_name="calls", default_aggregation={"formula": "avg"}
            ),
            "default_aggregation[formula]",
            "count, last, or sum",
        ),
        (lambda: stripe.Invoice.list(status="late"), "status", None),
    ],
)
def test_values_outside_an_enum_are_refused(
    server: StripeServerHandle, call: Any, param: str, choices: str | None
) -> None:
    error = _refusal(call)
    assert error.param == param
    # Stripe's list of error codes has none for this; its answers carry no code.
    assert error.code is None
    assert error.user_message.startswith(f"Invalid {param}: must be one of ")
    if choices is not None:
        assert error.user_message == f"Invalid {param}: must be one of {choices}"


def test_bad_integers_and_empty_strings(server: StripeServerHandle) -> None:
    not_int = _refusal(lambda: stripe.Customer.create(balance="lots"))
    assert (not_int.code, not_int.param) == ("parameter_invalid_integer", "balance")
    assert not_int.user_message == "Invalid integer: lots"
    empty = _refusal(lambda: stripe.Customer.create(balance=""))
    assert (empty.code, empty.param) == ("parameter_invalid_empty", "balance")
    # Where the definition allows '' it unsets the field, as Stripe does.
    customer = stripe.Customer.create(metadata={"a": "b"})
    assert stripe.Customer.modify(customer.id, metadata="").metadata.to_dict() == {}


def test_error_body_has_stripes_shape(server: StripeServerHandle) -> None:
    answer = requests.post(
        f"{server.url}/v1/customers", data={"colour": "red"}, auth=(API_KEY, ""), timeout=5
    )
    assert answer.status_code == 400
    assert answer.json() == {
        "error": {
            "type": "invalid_request_error",
            "code": "parameter_unknown",
            "message": "Received unknown parameter: colour",
            "param": "colour",
            "doc_url": "https://stripe.com/docs/error-codes/parameter-unknown",
        }
    }
    assert stripe.Customer.list().data == []


def test_a_refused_request_is_not_kept_under_its_idempotency_key(
    server: StripeServerHandle,
) -> None:
    _refusal(lambda: stripe.Customer.create(colour="red", idempotency_key="strict-1"))
    created = stripe.Customer.create(email="ok@example.com", idempotency_key="strict-1")
    assert created.email == "ok@example.com"


def test_both_array_syntaxes_are_accepted(server: StripeServerHandle) -> None:
    product = stripe.Product.create(name="P")
    price = stripe.Price.create(currency="usd", product=product.id, unit_amount=5)
    for expand in ({"expand[]": "product"}, {"expand[0]": "product"}):
        answer = requests.get(
            f"{server.url}/v1/prices/{price.id}", params=expand, auth=(API_KEY, ""), timeout=5
        )
        assert answer.json()["product"]["name"] == "P"
    scalar = requests.get(
        f"{server.url}/v1/prices/{price.id}",
        params={"expand": "product"},
        auth=(API_KEY, ""),
        timeout=5,
    )
    assert scalar.status_code == 400 and scalar.json()["error"]["param"] == "expand"


def test_every_route_has_a_definition_in_the_library() -> None:
    """A route the library does not define (or with a field type the checker has no rule for)
    would be served without checks: none may exist."""
    assert len(ROUTES) == len({(method, path) for method, path, _ in ROUTES})
    for method, path, _handler in ROUTES:
        definition = request_type(method, path)
        assert definition.__module__.startswith("stripe.params"), (method, path)
        understood(definition)
    assert request_type("POST", "/v1/customers") is stripe.params.CustomerCreateParams
    assert "api_key" not in fields(stripe.params.CustomerCreateParams)[0]  # client option
    with pytest.raises(NoDefinition):
        request_type("POST", "/v1/pets")
