"""Meter events Stripe accepts but cannot bill are reported asynchronously as v2 thin events
(``v1.billing.meter.error_report_triggered``, ``v1.billing.meter.no_meter_found``) to an
event destination, signed like webhooks; stripe-python's ``parse_event_notification`` reads
them and ``fetch_event``/``fetch_related_object`` fetch the rest.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import stripe

from stripe_emulator.testing import StripeServerHandle

from .conftest import JUNE_1, Receiver


@pytest.fixture
def destination(client: stripe.StripeClient, receiver: Receiver) -> Any:
    return client.v2.core.event_destinations.create(
        {
            "name": "meter errors",
            "type": "webhook_endpoint",
            "event_payload": "thin",
            "enabled_events": [
                "v1.billing.meter.error_report_triggered",
                "v1.billing.meter.no_meter_found",
            ],
            "webhook_endpoint": {"url": receiver.url},
            "include": ["webhook_endpoint.signing_secret", "webhook_endpoint.url"],
        }
    )


def _meter() -> stripe.billing.Meter:
    return stripe.billing.Meter.create(
        display_name="Requests", event_name="api_requests", default_aggregation={"formula": "sum"}
    )


def _usage(meter: Any, customer_id: str) -> int:
    (summary,) = stripe.billing.Meter.list_event_summaries(
        meter.id, customer=customer_id, start_time=JUNE_1 - 3600, end_time=JUNE_1 + 3600
    ).data
    return summary.aggregated_value


def test_unbillable_events_are_accepted_and_reported_to_the_destination(
    server: StripeServerHandle, client: stripe.StripeClient, receiver: Receiver, destination: Any
) -> None:
    assert destination.id.startswith("ed_") and destination.status == "enabled"
    secret = destination.webhook_endpoint.signing_secret
    assert secret.startswith("whsec_")
    meter = _meter()
    customer = stripe.Customer.create()
    good = {"stripe_customer_id": customer.id, "value": "5"}
    stripe.billing.MeterEvent.create(event_name="api_requests", payload=good)
    bad = [
        ({"stripe_customer_id": "cus_missing", "value": "1"}, "meter_event_customer_not_found"),
        ({"value": "1"}, "meter_event_no_customer_defined"),
        ({"stripe_customer_id": customer.id, "value": "ten"}, "meter_event_invalid_value"),
        ({"stripe_customer_id": customer.id}, "meter_event_invalid_value"),
    ]
    for i, (payload, _code) in enumerate(bad):
        accepted = stripe.billing.MeterEvent.create(
            event_name="api_requests", payload=payload, identifier=f"bad-{i}"
        )
        assert accepted.identifier == f"bad-{i}"  # 200: the request itself was fine
    stripe.billing.MeterEvent.create(event_name="nope", payload=good, identifier="bad-meter")
    server.wait_for_webhooks()
    assert _usage(meter, customer.id) == 5  # only the billable event counts

    notifications = [
        client.parse_event_notification(r["body"], r["headers"]["Stripe-Signature"], secret)
        for r in receiver.requests
    ]
    assert all("data" not in json.loads(r["body"]) for r in receiver.requests)  # thin
    reports = [n for n in notifications if n.type == "v1.billing.meter.error_report_triggered"]
    assert len(reports) == len(bad)
    assert all(n.related_object.id == meter.id for n in reports)
    fetched = [n.fetch_event() for n in reports]
    codes = [e.data.reason.error_types[0].code for e in fetched]
    identifiers = [
        e.data.reason.error_types[0].sample_errors[0]["request"]["identifier"] for e in fetched
    ]
    assert codes == [code for _payload, code in bad]
    assert identifiers == [f"bad-{i}" for i in range(len(bad))]
    assert reports[0].fetch_related_object().id == meter.id
    (no_meter,) = [n for n in notifications if n.type == "v1.billing.meter.no_meter_found"]
    event = no_meter.fetch_event()
    assert event.data.reason.error_types[0].code == "no_meter"
    # A tampered body does not verify.
    with pytest.raises(stripe.SignatureVerificationError):
        client.parse_event_notification(
            receiver.requests[0]["body"] + b" ",
            receiver.requests[0]["headers"]["Stripe-Signature"],
            secret,
        )
    listed = client.v2.core.events.list({"object_id": meter.id})
    assert sorted(e.id for e in listed.data) == sorted(n.id for n in reports)


def test_deactivated_meter_is_reported_as_archived(
    server: StripeServerHandle, client: stripe.StripeClient, receiver: Receiver, destination: Any
) -> None:
    meter = _meter()
    customer = stripe.Customer.create()
    stripe.billing.Meter.deactivate(meter.id)
    stripe.billing.MeterEvent.create(
        event_name="api_requests", payload={"stripe_customer_id": customer.id, "value": "3"}
    )
    server.wait_for_webhooks()
    (request,) = receiver.requests
    note = client.parse_event_notification(
        request["body"],
        request["headers"]["Stripe-Signature"],
        destination.webhook_endpoint.signing_secret,
    )
    assert note.related_object.id == meter.id
    assert note.fetch_event().data.reason.error_types[0].code == "archived_meter"


def test_event_destinations_are_strict_and_keep_the_secret_to_creation(
    server: StripeServerHandle, client: stripe.StripeClient, destination: Any
) -> None:
    again = client.v2.core.event_destinations.retrieve(destination.id)
    assert again.webhook_endpoint.signing_secret is None
    with pytest.raises(stripe.InvalidRequestError) as unknown:
        client.v2.core.event_destinations.create(
            {
                "name": "x",
                "type": "webhook_endpoint",
                "event_payload": "thin",
                "enabled_events": ["v1.billing.meter.error_report_triggered"],
                "webhook_endpoint": {"url": "http://127.0.0.1:9/"},
                "colour": "red",
            }  # type: ignore[typeddict-unknown-key]
        )
    assert unknown.value.code == "parameter_unknown"
    disabled = client.v2.core.event_destinations.disable(destination.id)
    assert disabled.status == "disabled"
    client.v2.core.event_destinations.delete(destination.id)
    assert client.v2.core.event_destinations.list().data == []
