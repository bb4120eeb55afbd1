"""Idempotency keys and meter-event identifiers, as Stripe documents them:
https://docs.stripe.com/api/idempotent_requests ("Keys are eligible to be removed from the
system automatically after they're at least 24 hours old"; a key reused with different
parameters is an ``idempotency_error``) and the meter event ``identifier`` ("We'll enforce
uniqueness within a rolling 24 hour period",
https://docs.stripe.com/api/billing/meter-event/create).
"""

from __future__ import annotations

import pytest
import stripe

from stripe_emulator.testing import StripeServerHandle

from .conftest import JUNE_1

DAY = 86400


def test_key_reused_with_other_parameters_or_endpoint_is_refused(
    server: StripeServerHandle,
) -> None:
    first = stripe.Customer.create(email="a@example.com", idempotency_key="k-1")
    with pytest.raises(stripe.IdempotencyError) as other_params:
        stripe.Customer.create(email="b@example.com", idempotency_key="k-1")
    assert other_params.value.http_status == 400
    assert "same parameters" in str(other_params.value.user_message)
    with pytest.raises(stripe.IdempotencyError):
        stripe.Product.create(name="x", idempotency_key="k-1")
    assert stripe.Customer.create(email="a@example.com", idempotency_key="k-1").id == first.id
    assert len(stripe.Customer.list().data) == 1


def test_keys_expire_after_24_hours(server: StripeServerHandle) -> None:
    first = stripe.Customer.create(email="a@example.com", idempotency_key="k-2")
    server.set_now(JUNE_1 + DAY - 1)
    assert stripe.Customer.create(email="a@example.com", idempotency_key="k-2").id == first.id
    server.set_now(JUNE_1 + DAY + 1)
    # Forgotten: the key runs the request again, even with other parameters.
    second = stripe.Customer.create(email="b@example.com", idempotency_key="k-2")
    assert second.id != first.id and second.email == "b@example.com"


def test_meter_identifier_dedupe_window_is_24_hours(server: StripeServerHandle) -> None:
    meter = stripe.billing.Meter.create(
        display_name="Req", event_name="req", default_aggregation={"formula": "sum"}
    )
    customer = stripe.Customer.create()

    def report(at: int) -> stripe.billing.MeterEvent:
        return stripe.billing.MeterEvent.create(
            event_name="req",
            payload={"stripe_customer_id": customer.id, "value": "4"},
            identifier="hour-1",
            timestamp=at,
        )

    report(JUNE_1)
    server.set_now(JUNE_1 + DAY - 1)
    with pytest.raises(stripe.InvalidRequestError) as duplicate:
        report(JUNE_1 + DAY - 1)
    assert "already exists with identifier hour-1" in str(duplicate.value.user_message)
    server.set_now(JUNE_1 + DAY + 1)
    report(JUNE_1 + DAY + 1)  # a new event: the window has passed
    summary = stripe.billing.Meter.list_event_summaries(
        meter.id, customer=customer.id, start_time=JUNE_1, end_time=JUNE_1 + 2 * DAY
    )
    assert summary.data[0].aggregated_value == 8
