"""Billing meters, meter events and event summaries.

Meter events are deduplicated by ``identifier`` within a rolling 24 hours, as Stripe
documents ("We'll enforce uniqueness within a rolling 24 hour period"). A duplicate is not
silently dropped: Stripe answers ``400 invalid_request_error`` with the message
``An event already exists with identifier <id>.`` (observed in test mode by several public
integrations). Replaying the *same request* with the same ``Idempotency-Key`` header instead
replays the first response, like any POST.

Validation is split as Stripe splits it: the request's parameters, the timestamp (within the
past 35 days, at most 5 minutes ahead) and the identifier are checked at once (400); whether
the event can be billed is not. An event whose meter is missing (``no_meter``) or deactivated
(``archived_meter``), whose customer key is absent (``meter_event_no_customer_defined``) or
names no customer (``meter_event_customer_not_found``), or whose value is missing or not a
number (``meter_event_invalid_value``) is accepted (200), never counted, and reported as a v2
event, ``v1.billing.meter.error_report_triggered`` (related object: the meter) or
``v1.billing.meter.no_meter_found``, sent as a thin event to the event destinations that
enabled it (https://docs.stripe.com/api/v2/core/events/event-types).
"""

from __future__ import annotations

import uuid
from decimal import Decimal, InvalidOperation
from typing import Any

from ..context import Ctx
from ..errors import StripeError, invalid_param, not_found
from ..ids import new_id
from ..render import iso_time, list_object, render
from ..state import Store

DEDUPE_WINDOW = 24 * 3600
MAX_PAST = 35 * 86400
MAX_FUTURE = 5 * 60
FORMULAS = ("sum", "count", "last")


def get_meter(store: Store, meter_id: str, param: str = "id") -> dict[str, Any]:
    record = store.get("meter", meter_id)
    if record is None:
        raise not_found("billing.meter", meter_id, param)
    return record


def active_meter_for(store: Store, event_name: str) -> dict[str, Any] | None:
    return next(
        (
            m
            for m in store.all("meter")
            if m["event_name"] == event_name and m["status"] == "active"
        ),
        None,
    )


def create(ctx: Ctx) -> dict[str, Any]:
    params = ctx.params
    display_name = params.str("display_name", required=True)
    event_name = params.str("event_name", required=True)
    assert event_name is not None
    aggregation = params.sub("default_aggregation")
    formula = aggregation.str("formula", required=True, choices=FORMULAS)
    if active_meter_for(ctx.store, event_name) is not None:
        raise StripeError(
            400,
            f"An active meter with event_name `{event_name}` already exists.",
            param="event_name",
        )
    mapping = params.sub("customer_mapping")
    value_settings = params.sub("value_settings")
    now = ctx.now
    record = {
        "id": new_id("mtr", 28),
        "object": "billing.meter",
        "created": now,
        "customer_mapping": {
            "event_payload_key": mapping.str("event_payload_key") or "stripe_customer_id",
            "type": mapping.str("type", choices=("by_id",)) or "by_id",
        },
        "default_aggregation": {"formula": formula},
        "display_name": display_name,
        "event_name": event_name,
        "event_time_window": params.str("event_time_window", choices=("day", "hour")),
        "livemode": False,
        "status": "active",
        "status_transitions": {"deactivated_at": None},
        "updated": now,
        "value_settings": {"event_payload_key": value_settings.str("event_payload_key") or "value"},
    }
    ctx.store.insert("meter", record)
    ctx.events.emit("billing.meter.created", "meter", record)
    return ctx.render("meter", record)


def retrieve(ctx: Ctx, meter_id: str) -> dict[str, Any]:
    return ctx.render("meter", get_meter(ctx.store, meter_id))


def update(ctx: Ctx, meter_id: str) -> dict[str, Any]:
    get_meter(ctx.store, meter_id)
    record = ctx.store.get_mut("meter", meter_id)
    before = render(ctx.store, "meter", record)
    if ctx.params.has("display_name"):
        record["display_name"] = ctx.params.str("display_name", required=True)
        record["updated"] = ctx.now
    ctx.events.emit_update("billing.meter.updated", "meter", record, before)
    return ctx.render("meter", record)


def _set_status(ctx: Ctx, meter_id: str, active: bool) -> dict[str, Any]:
    meter = get_meter(ctx.store, meter_id)
    if active and meter["status"] == "active":
        raise StripeError(400, "This meter is already active.")
    if not active and meter["status"] == "inactive":
        raise StripeError(400, "This meter is already inactive.")
    if active and active_meter_for(ctx.store, meter["event_name"]) is not None:
        raise StripeError(
            400, f"An active meter with event_name `{meter['event_name']}` already exists."
        )
    record = ctx.store.get_mut("meter", meter_id)
    now = ctx.now
    record["status"] = "active" if active else "inactive"
    record["status_transitions"]["deactivated_at"] = None if active else now
    record["updated"] = now
    event = "billing.meter.reactivated" if active else "billing.meter.deactivated"
    ctx.events.emit(event, "meter", record)
    return ctx.render("meter", record)


def deactivate(ctx: Ctx, meter_id: str) -> dict[str, Any]:
    return _set_status(ctx, meter_id, active=False)


def reactivate(ctx: Ctx, meter_id: str) -> dict[str, Any]:
    return _set_status(ctx, meter_id, active=True)


def list_(ctx: Ctx) -> dict[str, Any]:
    status = ctx.params.str("status", choices=("active", "inactive"))
    records = [m for m in ctx.store.all("meter") if status is None or m["status"] == status]
    return list_object(ctx.store, "meter", records, ctx.params, "/v1/billing/meters")


# -- meter events ----------------------------------------------------------------------------
def _meter_error(message: str, code: str, param: str) -> StripeError:
    return StripeError(400, message, code=code, param=param)


Problem = tuple[str, str]  # (error code, message)


def _billable(
    ctx: Ctx, event_name: str, payload: dict[str, Any]
) -> tuple[dict[str, Any] | None, str | None, Decimal, Problem | None]:
    """The event's meter, customer and value, or the problem Stripe reports later."""
    meter = active_meter_for(ctx.store, event_name)
    if meter is None:
        inactive = next((m for m in ctx.store.all("meter") if m["event_name"] == event_name), None)
        if inactive is not None:
            message = f"Meter {inactive['id']} for event_name `{event_name}` is deactivated."
            return inactive, None, Decimal(0), ("archived_meter", message)
        message = f"No active meter found for event_name `{event_name}`."
        return None, None, Decimal(0), ("no_meter", message)
    customer_key = meter["customer_mapping"]["event_payload_key"]
    customer_id = payload.get(customer_key)
    if not customer_id:
        message = f"Customer mapping key {customer_key} not found in payload."
        return meter, None, Decimal(0), ("meter_event_no_customer_defined", message)
    customer = ctx.store.get("customer", customer_id)
    if customer is None or customer.get("_deleted"):
        message = f"No such customer: '{customer_id}'"
        return meter, customer_id, Decimal(0), ("meter_event_customer_not_found", message)
    value_key = meter["value_settings"]["event_payload_key"]
    if meter["default_aggregation"]["formula"] == "count" and value_key not in payload:
        return meter, customer_id, Decimal(1), None
    raw = payload.get(value_key)
    if raw in ("", None):
        message = f"Value key {value_key} not found in payload."
        return meter, customer_id, Decimal(0), ("meter_event_invalid_value", message)
    try:
        value = Decimal(str(raw))
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite():
        message = f"Value `{raw}` is not a valid number."
        return meter, customer_id, Decimal(0), ("meter_event_invalid_value", message)
    return meter, customer_id, value, None


def _report(ctx: Ctx, problem: Problem, identifier: str, meter: dict[str, Any] | None) -> None:
    """One report per invalid event (Stripe groups the errors of a short window; each report
    here covers one event and the second it arrived in)."""
    code, message = problem
    data = {
        "developer_message_summary": "There is 1 invalid event",
        "reason": {
            "error_count": 1,
            "error_types": [
                {
                    "code": code,
                    "error_count": 1,
                    "sample_errors": [
                        {"error_message": message, "request": {"identifier": identifier}}
                    ],
                }
            ],
        },
        "validation_end": iso_time(ctx.now + 1),
        "validation_start": iso_time(ctx.now),
    }
    if meter is None:
        ctx.events.emit_v2("v1.billing.meter.no_meter_found", data, None)
        return
    related = {
        "id": meter["id"],
        "type": "billing.meter",
        "url": f"/v1/billing/meters/{meter['id']}",
    }
    ctx.events.emit_v2("v1.billing.meter.error_report_triggered", data, related)


def create_event(ctx: Ctx) -> dict[str, Any]:
    params = ctx.params
    event_name = params.str("event_name", required=True)
    assert event_name is not None
    payload = params.raw("payload")
    if not isinstance(payload, dict) or not payload:
        raise StripeError(
            400, "Missing required param: payload.", code="parameter_missing", param="payload"
        )
    now = ctx.now
    timestamp = params.int("timestamp")
    if timestamp is None:
        timestamp = now
    elif timestamp < now - MAX_PAST:
        raise _meter_error(
            "Timestamp must be within the past 35 calendar days.",
            "timestamp_too_far_in_past",
            "timestamp",
        )
    elif timestamp > now + MAX_FUTURE:
        raise _meter_error(
            "Timestamp must not be more than 5 minutes in the future.",
            "timestamp_in_future",
            "timestamp",
        )
    identifier = params.str("identifier")
    if identifier is not None and len(identifier) > 100:
        raise invalid_param("identifier", "identifier must be at most 100 characters.")
    if identifier is not None and any(
        e["identifier"] == identifier and e["created"] > now - DEDUPE_WINDOW
        for e in ctx.store.meter_events
    ):
        raise StripeError(
            400, f"An event already exists with identifier {identifier}.", param="identifier"
        )
    # Stripe checks the request's shape, timestamp and identifier now; whether the event can
    # be billed (its meter, customer and value) is found out asynchronously and reported as a
    # v2 event: the request succeeds either way.
    meter, customer_id, value, problem = _billable(ctx, event_name, payload)
    event = {
        "object": "billing.meter_event",
        "created": now,
        "event_name": event_name,
        "identifier": identifier or str(uuid.uuid4()),
        "livemode": False,
        "payload": {str(k): str(v) for k, v in payload.items()},
        "timestamp": timestamp,
        "_meter": meter["id"] if meter else None,
        "_customer": customer_id,
        "_value": str(value),
        "_error": problem[0] if problem else None,
    }
    ctx.store.add_meter_event(event)
    if problem is not None:
        _report(ctx, problem, event["identifier"], meter)
    return {k: v for k, v in event.items() if not k.startswith("_")}


def aggregate(
    store: Store, meter: dict[str, Any], customer_id: str, start: int, end: int
) -> Decimal:
    """The meter's formula over events of ``[start, end)`` for one customer."""
    events = [
        e
        for e in store.meter_events
        if not e.get("_error")
        and e["_meter"] == meter["id"]
        and e["_customer"] == customer_id
        and start <= e["timestamp"] < end
    ]
    formula = meter["default_aggregation"]["formula"]
    if formula == "count":
        return Decimal(len(events))
    if formula == "last":
        if not events:
            return Decimal(0)
        latest = max(events, key=lambda e: (e["timestamp"], e["created"]))
        return Decimal(latest["_value"])
    return sum((Decimal(e["_value"]) for e in events), Decimal(0))


def usage_quantity(
    store: Store, meter_id: str | None, customer_id: str, start: int, end: int
) -> int:
    """The billable quantity of a metered item: the aggregate, truncated to whole units."""
    if meter_id is None:
        return 0
    meter = store.get("meter", meter_id)
    if meter is None:
        return 0
    return int(aggregate(store, meter, customer_id, start, end))


def _number(value: Decimal) -> float | int:
    return int(value) if value == value.to_integral_value() else float(value)


def event_summaries(ctx: Ctx, meter_id: str) -> dict[str, Any]:
    meter = get_meter(ctx.store, meter_id)
    params = ctx.params
    customer_id = params.str("customer", required=True)
    start = params.int("start_time", required=True)
    end = params.int("end_time", required=True)
    assert customer_id is not None and start is not None and end is not None
    window = params.str("value_grouping_window", choices=("day", "hour"))
    step = {"hour": 3600, "day": 86400}.get(window or "", 0)
    for key, ts in (("start_time", start), ("end_time", end)):
        if ts % 60:
            raise invalid_param(key, f"{key} must be aligned with minute boundaries.")
        if step and ts % step:
            raise invalid_param(key, f"{key} must be aligned with {window} boundaries.")
    if end <= start:
        raise invalid_param("end_time", "end_time must be after start_time.")
    windows = (
        [(start, end)] if not step else [(t, min(t + step, end)) for t in range(start, end, step)]
    )
    summaries = [
        {
            "id": f"mtrusg_{meter_id[4:]}_{customer_id}_{ws}_{we}",
            "object": "billing.meter_event_summary",
            "aggregated_value": _number(aggregate(ctx.store, meter, customer_id, ws, we)),
            "end_time": we,
            "livemode": False,
            "meter": meter_id,
            "start_time": ws,
            "_seq": -ws,  # newest window first, as Stripe lists them
        }
        for ws, we in windows
    ]
    summaries.sort(key=lambda s: s["_seq"])
    return list_object(
        ctx.store,
        "meter_event_summary",
        summaries,
        params,
        f"/v1/billing/meters/{meter_id}/event_summaries",
        render_one=lambda r, _paths: {k: v for k, v in r.items() if not k.startswith("_")},
    )
