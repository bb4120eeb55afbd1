"""Domain events: what happened to a customer that its own systems may want to hear about.

Any layer emits one (accounts: a plan change; billing: an invoice paid; metering: a key's cap
reached); whoever listens turns it into something (alerts: signed outbound webhooks). The signal
lives here, in the lowest layer, so that billing and accounts emit without importing alerts.

An event's id is derived from its source (`event_id`): emitting the same thing twice (a replayed
Stripe webhook, a task run again after a crash) gives the same id, and listeners store each id
once, so customers never get one fact under two ids.

Receivers run synchronously, inside the emitter's transaction: what they write (the webhook
event and its deliveries) commits or rolls back with the change that caused it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.dispatch import Signal
from django.utils import timezone

# The catalogue of event types customers can subscribe to: type → what it means.
EVENT_TYPES: dict[str, str] = {
    "usage.threshold_reached": "A usage alert threshold (a share of the plan's included units) "
    "was crossed this period.",
    "usage.forecast_exceeds_quota": "At the current rate, usage will pass the plan's included "
    "units before the period ends (sent once per period, days ahead).",
    "usage.forecast_exceeds_spend": "At the current rate, the period's bill will pass the spend "
    "threshold set in the alert settings (sent once per period).",
    "quota.exhausted": "The plan's included units are used up for this period (on a hard-capped "
    "plan, calls are refused until it renews).",
    "key.cap_reached": "An API key reached its own monthly unit cap; that key is refused until "
    "the period renews.",
    "plan.changed": "The account moved to another plan.",
    "invoice.paid": "An invoice was paid.",
    "invoice.payment_failed": "A payment attempt on an invoice failed.",
}

# Sent for every event emitted; argument `event` (a DomainEvent).
domain_event = Signal()


@dataclass(frozen=True)
class DomainEvent:
    id: str
    type: str
    customer_id: int
    created: datetime
    data: dict[str, Any]


def event_id(event_type: str, source: str) -> str:
    """`evt_` + 24 hex digits of a digest of the type and the source: the same source, the same
    id (a Stripe event id, a plan-change row, a period and threshold, …)."""
    digest = hashlib.sha256(f"petstore:{event_type}:{source}".encode()).hexdigest()
    return f"evt_{digest[:24]}"


def domain_event_emit(
    *,
    customer_id: int,
    event_type: str,
    source: str,
    data: dict[str, Any],
    created: datetime | None = None,
) -> DomainEvent:
    """Tell the listeners. `source` names what happened uniquely (see `event_id`); `data` must
    be plain JSON (amounts as strings or integer cents). Call inside the transaction of the
    change that caused it."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type!r}")
    json.dumps(data)  # a TypeError here, not in a worker later
    event = DomainEvent(
        id=event_id(event_type, source),
        type=event_type,
        customer_id=customer_id,
        created=created or timezone.now(),
        data=data,
    )
    domain_event.send(sender=DomainEvent, event=event)
    return event
