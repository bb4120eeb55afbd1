"""Stripe events: what a state change emits, how an event looks, who receives it."""

from __future__ import annotations

import json
from typing import Any

from . import API_VERSION
from .ids import new_id
from .render import iso_time, public, render
from .state import PendingEvent, Store
from .webhooks import Delivery, WebhookDispatcher


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """Stripe's ``previous_attributes``: the old values of what changed, recursing into
    plain hashes (not lists) so only the changed sub-keys appear."""
    out: dict[str, Any] = {}
    for key in before.keys() | after.keys():
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        if isinstance(old, dict) and isinstance(new, dict) and old.get("object") != "list":
            out[key] = diff(old, new)
        else:
            out[key] = old
    return out


def endpoint_matches(endpoint: dict[str, Any], event_type: str) -> bool:
    if endpoint.get("status") != "enabled":
        return False
    enabled = endpoint.get("enabled_events") or []
    return "*" in enabled or event_type in enabled


class Events:
    def __init__(self, store: Store, dispatcher: WebhookDispatcher) -> None:
        self.store = store
        self.dispatcher = dispatcher
        # Set per request (requests are serialised by the store lock): feeds event.request.
        self.request_id: str | None = None
        self.idempotency_key: str | None = None
        store.make_event = self._make_event
        store.on_events = self._deliver
        dispatcher.on_delivered = self._delivered

    def emit(
        self,
        event_type: str,
        kind: str,
        record: dict[str, Any],
        previous_attributes: dict[str, Any] | None = None,
        snapshot: dict[str, Any] | None = None,
        at: int | None = None,
    ) -> None:
        self.store.emit(
            PendingEvent(
                type=event_type,
                object=snapshot if snapshot is not None else render(self.store, kind, record),
                previous_attributes=previous_attributes,
                request_id=self.request_id,
                idempotency_key=self.idempotency_key,
                created=self.store.clock.now(),
            ),
            at,
        )

    def emit_v2(
        self, event_type: str, data: dict[str, Any], related_object: dict[str, Any] | None
    ) -> None:
        """An API v2 event (``v1.billing.meter.error_report_triggered`` ...): kept for
        ``GET /v2/core/events/{id}`` and sent as a thin event to matching event destinations."""
        self.store.emit(
            PendingEvent(
                type=event_type,
                object=data,
                previous_attributes=None,
                request_id=self.request_id,
                idempotency_key=self.idempotency_key,
                created=self.store.clock.now(),
                v2=True,
                related_object=related_object,
            )
        )

    def emit_update(
        self, event_type: str, kind: str, record: dict[str, Any], before: dict[str, Any]
    ) -> None:
        """Emit ``*.updated`` when the rendered object changed, with previous_attributes."""
        after = render(self.store, kind, record)
        changes = diff(before, after)
        if changes:
            self.emit(event_type, kind, record, changes, snapshot=after)

    def _make_event(self, pending: PendingEvent) -> dict[str, Any]:
        if pending.v2:
            return self._make_v2_event(pending)
        endpoints = [
            e for e in self.store.all("webhook_endpoint") if endpoint_matches(e, pending.type)
        ]
        data: dict[str, Any] = {"object": pending.object}
        if pending.previous_attributes is not None:
            data["previous_attributes"] = pending.previous_attributes
        return {
            "id": new_id("evt"),
            "object": "event",
            "api_version": API_VERSION,
            "created": pending.created or self.store.clock.now(),
            "data": data,
            "livemode": False,
            "pending_webhooks": len(endpoints),
            "request": {"id": pending.request_id, "idempotency_key": pending.idempotency_key},
            "type": pending.type,
            "_endpoints": [e["id"] for e in endpoints],
        }

    def _make_v2_event(self, pending: PendingEvent) -> dict[str, Any]:
        destinations = [
            d
            for d in self.store.all("event_destination")
            if d["status"] == "enabled" and pending.type in d["enabled_events"]
        ]
        reason = None
        if pending.request_id:
            reason = {
                "type": "request",
                "request": {"id": pending.request_id, "idempotency_key": pending.idempotency_key},
            }
        return {
            "id": new_id("evt_test", 40),
            "object": "v2.core.event",
            "context": None,
            "created": iso_time(pending.created or self.store.clock.now()),
            "data": pending.object,
            "livemode": False,
            "reason": reason,
            "related_object": pending.related_object,
            "type": pending.type,
            "_endpoints": [d["id"] for d in destinations],
        }

    def _deliver(self, events: list[dict[str, Any]]) -> None:
        for event in events:
            if event["object"] == "v2.core.event":
                self._deliver_thin(event)
                continue
            payload = json.dumps(public(event), indent=2).encode()
            for endpoint_id in event["_endpoints"]:
                endpoint = self.store.get("webhook_endpoint", endpoint_id)
                if endpoint is None:
                    continue
                self.dispatcher.enqueue(
                    Delivery(
                        endpoint_id=endpoint_id,
                        url=endpoint["url"],
                        secret=endpoint["_secret"],
                        event_id=event["id"],
                        event_type=event["type"],
                        payload=payload,
                    )
                )

    def _deliver_thin(self, event: dict[str, Any]) -> None:
        """A thin event: the envelope without ``data``; the receiver fetches the rest
        (https://docs.stripe.com/event-destinations#thin-payload)."""
        thin = {k: v for k, v in public(event).items() if k != "data"}
        payload = json.dumps(thin, indent=2).encode()
        for destination_id in event["_endpoints"]:
            destination = self.store.get("event_destination", destination_id)
            if destination is None:
                continue
            self.dispatcher.enqueue(
                Delivery(
                    endpoint_id=destination_id,
                    url=destination["webhook_endpoint"]["url"],
                    secret=destination["_secret"],
                    event_id=event["id"],
                    event_type=event["type"],
                    payload=payload,
                )
            )

    def _delivered(self, event_id: str) -> None:
        with self.store.lock:
            event = self.store.get("event", event_id)
            if event is not None and "pending_webhooks" in event:
                self.store.touch_event(
                    event_id, pending_webhooks=max(0, event["pending_webhooks"] - 1)
                )
