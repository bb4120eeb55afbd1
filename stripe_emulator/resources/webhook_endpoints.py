"""Webhook endpoints: the ``secret`` (``whsec_...``) is returned on create only, as Stripe."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from ..context import Ctx
from ..errors import invalid_param, missing_param, not_found
from ..ids import new_id, random_token
from ..params import merge_metadata
from ..render import list_object, render


def _url(ctx: Ctx) -> str:
    url = ctx.params.str("url", required=True) or ""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise invalid_param("url", f"Invalid URL: {url}: URLs must begin with http:// or https://")
    return url


def _events(ctx: Ctx) -> list[str]:
    events = ctx.params.strings("enabled_events")
    if not events:
        raise missing_param("enabled_events")
    for name in events:
        if name != "*" and "." not in name:
            raise invalid_param("enabled_events", f"Invalid event type: {name}")
    return events


def get_endpoint(ctx: Ctx, endpoint_id: str) -> dict[str, Any]:
    record = ctx.store.get("webhook_endpoint", endpoint_id)
    if record is None:
        raise not_found("webhook_endpoint", endpoint_id, "id")
    return record


def create(ctx: Ctx) -> dict[str, Any]:
    record = {
        "id": new_id("we"),
        "object": "webhook_endpoint",
        "api_version": ctx.params.str("api_version"),
        "application": None,
        "created": ctx.now,
        "description": ctx.params.str("description"),
        "enabled_events": _events(ctx),
        "livemode": False,
        "metadata": merge_metadata({}, ctx.params.metadata()),
        "status": "enabled",
        "url": _url(ctx),
        "_secret": "whsec_" + random_token(32),
    }
    ctx.store.insert("webhook_endpoint", record)
    out = ctx.render("webhook_endpoint", record)
    out["secret"] = record["_secret"]
    return out


def retrieve(ctx: Ctx, endpoint_id: str) -> dict[str, Any]:
    return ctx.render("webhook_endpoint", get_endpoint(ctx, endpoint_id))


def update(ctx: Ctx, endpoint_id: str) -> dict[str, Any]:
    get_endpoint(ctx, endpoint_id)
    record = ctx.store.get_mut("webhook_endpoint", endpoint_id)
    params = ctx.params
    if params.has("url"):
        record["url"] = _url(ctx)
    if params.has("enabled_events"):
        record["enabled_events"] = _events(ctx)
    if params.has("description"):
        record["description"] = params.str("description")
    if params.has("disabled"):
        record["status"] = "disabled" if params.bool("disabled") else "enabled"
    record["metadata"] = merge_metadata(record["metadata"], params.metadata())
    return render(ctx.store, "webhook_endpoint", record)


def delete(ctx: Ctx, endpoint_id: str) -> dict[str, Any]:
    get_endpoint(ctx, endpoint_id)
    ctx.store.delete("webhook_endpoint", endpoint_id)
    return {"id": endpoint_id, "object": "webhook_endpoint", "deleted": True}


def list_(ctx: Ctx) -> dict[str, Any]:
    return list_object(
        ctx.store,
        "webhook_endpoint",
        ctx.store.all("webhook_endpoint"),
        ctx.params,
        "/v1/webhook_endpoints",
    )
