"""API v2 event destinations (``/v2/core/event_destinations``) and API v2 events
(``/v2/core/events``): where thin events such as ``v1.billing.meter.error_report_triggered``
go, signed like webhooks with the destination's ``whsec_`` secret
(https://docs.stripe.com/event-destinations). Only ``type=webhook_endpoint`` with
``event_payload=thin`` is modelled.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from ..context import Ctx
from ..errors import StripeError, invalid_param, not_found
from ..ids import new_id, random_token
from ..params import merge_metadata
from ..render import iso_time, public, v2_list

# The v2 event types this server emits.
V2_EVENT_TYPES = (
    "v1.billing.meter.error_report_triggered",
    "v1.billing.meter.no_meter_found",
)


def _get(ctx: Ctx, destination_id: str) -> dict[str, Any]:
    record = ctx.store.get("event_destination", destination_id)
    if record is None:
        raise not_found("event_destination", destination_id, "id")
    return record


def _render(record: dict[str, Any], include: list[str]) -> dict[str, Any]:
    out = public(record)
    endpoint = dict(out["webhook_endpoint"])
    endpoint["signing_secret"] = (
        record["_secret"] if "webhook_endpoint.signing_secret" in include else None
    )
    if "webhook_endpoint.url" not in include:
        endpoint["url"] = None
    out["webhook_endpoint"] = endpoint
    return out


def create(ctx: Ctx) -> dict[str, Any]:
    params = ctx.params
    if params.str("type") != "webhook_endpoint":
        raise invalid_param("type", "This local Stripe server only has type=webhook_endpoint.")
    if params.str("event_payload") != "thin":
        raise invalid_param(
            "event_payload", "This local Stripe server only sends thin events (event_payload=thin)."
        )
    events = params.strings("enabled_events")
    for name in events:
        if name not in V2_EVENT_TYPES:
            raise invalid_param("enabled_events", f"Invalid event type for thin events: {name}")
    url = params.sub("webhook_endpoint").str("url", required=True) or ""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise invalid_param("webhook_endpoint[url]", f"Invalid URL: {url}")
    now = iso_time(ctx.now)
    record = {
        "id": new_id("ed_test", 40),
        "object": "v2.core.event_destination",
        "amazon_eventbridge": None,
        "azure_event_grid": None,
        "created": now,
        "description": params.str("description") or "",
        "enabled_events": events,
        "event_payload": "thin",
        "events_from": params.strings("events_from") or ["@self"],
        "livemode": False,
        "metadata": merge_metadata({}, params.metadata()),
        "name": params.str("name", required=True),
        "snapshot_api_version": None,
        "status": "enabled",
        "status_details": None,
        "type": "webhook_endpoint",
        "updated": now,
        "webhook_endpoint": {"signing_secret": None, "url": url},
        "_secret": "whsec_" + random_token(32),
    }
    ctx.store.insert("event_destination", record)
    return _render(record, params.strings("include"))


def retrieve(ctx: Ctx, destination_id: str) -> dict[str, Any]:
    include = ctx.params.strings("include")
    if "webhook_endpoint.signing_secret" in include:
        raise invalid_param("include", "The signing secret is only includable on creation.")
    return _render(_get(ctx, destination_id), include)


def list_(ctx: Ctx) -> dict[str, Any]:
    include = ctx.params.strings("include")
    return v2_list([_render(r, include) for r in ctx.store.all("event_destination")])


def delete(ctx: Ctx, destination_id: str) -> dict[str, Any]:
    _get(ctx, destination_id)
    ctx.store.delete("event_destination", destination_id)
    return {"id": destination_id, "object": "v2.core.event_destination", "deleted": True}


def _set_status(ctx: Ctx, destination_id: str, status: str) -> dict[str, Any]:
    _get(ctx, destination_id)
    record = ctx.store.get_mut("event_destination", destination_id)
    record["status"] = status
    record["updated"] = iso_time(ctx.now)
    return _render(record, [])


def disable(ctx: Ctx, destination_id: str) -> dict[str, Any]:
    return _set_status(ctx, destination_id, "disabled")


def enable(ctx: Ctx, destination_id: str) -> dict[str, Any]:
    return _set_status(ctx, destination_id, "enabled")


# -- API v2 events -----------------------------------------------------------------------------
def retrieve_event(ctx: Ctx, event_id: str) -> dict[str, Any]:
    record = ctx.store.get("v2_event", event_id)
    if record is None:
        raise not_found("event", event_id, "id")
    return public(record)


def list_events(ctx: Ctx) -> dict[str, Any]:
    params = ctx.params
    object_id = params.str("object_id")
    types = params.strings("types")
    if len(types) > 20:
        raise StripeError(400, "types takes at most 20 event types.", param="types")
    limit = params.int("limit", minimum=1, maximum=100) or 20
    records = [
        public(e)
        for e in ctx.store.all("v2_event")
        if (object_id is None or (e.get("related_object") or {}).get("id") == object_id)
        and (not types or e["type"] in types)
    ]
    return v2_list(records[:limit])
