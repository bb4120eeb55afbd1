"""Billing meters, meter events (dedupe by identifier, validation) and event summaries."""

from __future__ import annotations

import pytest
import stripe

from stripe_emulator.testing import StripeServerHandle

from .conftest import JUNE_1


def _meter(formula: str = "sum", event_name: str = "api_requests") -> stripe.billing.Meter:
    return stripe.billing.Meter.create(
        display_name="API requests",
        event_name=event_name,
        default_aggregation={"formula": formula},
        customer_mapping={"event_payload_key": "stripe_customer_id", "type": "by_id"},
        value_settings={"event_payload_key": "value"},
    )


def _report(
    customer: str,
    value: str,
    timestamp: int,
    identifier: str | None = None,
    event_name: str = "api_requests",
) -> stripe.billing.MeterEvent:
    return stripe.billing.MeterEvent.create(
        event_name=event_name,
        payload={"stripe_customer_id": customer, "value": value},
        timestamp=timestamp,
        identifier=identifier,
    )


def test_meter_lifecycle(server: StripeServerHandle) -> None:
    meter = _meter()
    assert meter.id.startswith("mtr_") and meter.status == "active"
    assert meter.customer_mapping.event_payload_key == "stripe_customer_id"
    with pytest.raises(stripe.InvalidRequestError):
        _meter()  # event_name must be unique among active meters
    deactivated = stripe.billing.Meter.deactivate(meter.id)
    assert (
        deactivated.status == "inactive" and deactivated.status_transitions.deactivated_at == JUNE_1
    )
    assert [m.id for m in stripe.billing.Meter.list(status="inactive").data] == [meter.id]
    assert stripe.billing.Meter.reactivate(meter.id).status == "active"
    assert stripe.billing.Meter.modify(meter.id, display_name="Calls").display_name == "Calls"
    assert "billing.meter.created" in [e["type"] for e in server.events("billing.meter.*")]


def test_duplicate_identifier_is_rejected_within_24_hours(server: StripeServerHandle) -> None:
    meter = _meter()
    customer = stripe.Customer.create()
    event = _report(customer.id, "5", JUNE_1, identifier="req-1")
    assert event.identifier == "req-1" and event.object == "billing.meter_event"
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        _report(customer.id, "5", JUNE_1, identifier="req-1")
    assert excinfo.value.http_status == 400
    assert str(excinfo.value.user_message) == "An event already exists with identifier req-1."
    # The same request replayed with the same Idempotency-Key gets the first response instead.
    first = stripe.billing.MeterEvent.create(
        event_name="api_requests",
        payload={"stripe_customer_id": customer.id, "value": "7"},
        identifier="req-2",
        idempotency_key="idem-req-2",
    )
    replay = stripe.billing.MeterEvent.create(
        event_name="api_requests",
        payload={"stripe_customer_id": customer.id, "value": "7"},
        identifier="req-2",
        idempotency_key="idem-req-2",
    )
    assert replay.identifier == first.identifier
    summary = stripe.billing.Meter.list_event_summaries(
        meter.id, customer=customer.id, start_time=JUNE_1, end_time=JUNE_1 + 3600
    )
    assert summary.data[0].aggregated_value == 12
    # After the rolling 24 hours the identifier may be used again.
    server.set_now(JUNE_1 + 25 * 3600)
    assert _report(customer.id, "1", JUNE_1 + 25 * 3600, identifier="req-1").identifier == "req-1"


@pytest.mark.parametrize(("formula", "expected"), [("sum", 60), ("count", 3), ("last", 30)])
def test_event_summaries_aggregate_per_formula(
    server: StripeServerHandle, formula: str, expected: int
) -> None:
    meter = _meter(formula)
    customer = stripe.Customer.create()
    other = stripe.Customer.create()
    server.set_now(JUNE_1 + 4000)
    for offset, value in ((60, "10"), (120, "20"), (3700, "30")):
        _report(customer.id, value, JUNE_1 + offset)
    _report(other.id, "1000", JUNE_1 + 60)
    summaries = stripe.billing.Meter.list_event_summaries(
        meter.id, customer=customer.id, start_time=JUNE_1, end_time=JUNE_1 + 7200
    )
    (summary,) = summaries.data
    assert summary.aggregated_value == expected
    assert (summary.start_time, summary.end_time, summary.meter) == (
        JUNE_1,
        JUNE_1 + 7200,
        meter.id,
    )


def test_hourly_summaries(server: StripeServerHandle) -> None:
    meter = _meter()
    customer = stripe.Customer.create()
    server.set_now(JUNE_1 + 7200)
    _report(customer.id, "10", JUNE_1 + 60)
    _report(customer.id, "5", JUNE_1 + 3660)
    hourly = stripe.billing.Meter.list_event_summaries(
        meter.id,
        customer=customer.id,
        start_time=JUNE_1,
        end_time=JUNE_1 + 7200,
        value_grouping_window="hour",
    )
    assert sorted((s.start_time, s.aggregated_value) for s in hourly.data) == [
        (JUNE_1, 10),
        (JUNE_1 + 3600, 5),
    ]
    with pytest.raises(stripe.InvalidRequestError):
        stripe.billing.Meter.list_event_summaries(
            meter.id, customer=customer.id, start_time=JUNE_1 + 30, end_time=JUNE_1 + 7200
        )


def test_meter_event_validation(server: StripeServerHandle) -> None:
    _meter()
    customer = stripe.Customer.create()
    # Checked synchronously; what cannot be billed is reported later (test_meter_errors.py).
    cases = [
        (
            dict(
                event_name="api_requests",
                payload={"stripe_customer_id": customer.id, "value": "1"},
                timestamp=JUNE_1 - 36 * 86400,
            ),
            "timestamp_too_far_in_past",
        ),
        (
            dict(
                event_name="api_requests",
                payload={"stripe_customer_id": customer.id, "value": "1"},
                timestamp=JUNE_1 + 600,
            ),
            "timestamp_in_future",
        ),
    ]
    for params, code in cases:
        with pytest.raises(stripe.InvalidRequestError) as excinfo:
            stripe.billing.MeterEvent.create(**params)
        assert excinfo.value.code == code, params
        assert excinfo.value.http_status == 400
