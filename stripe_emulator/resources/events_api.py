"""``GET /v1/events`` (filters ``type``, ``types[]``, ``created``) and ``GET /v1/events/{id}``."""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Any

from ..context import Ctx
from ..errors import not_found
from ..render import created_filter, list_object


def retrieve(ctx: Ctx, event_id: str) -> dict[str, Any]:
    record = ctx.store.get("event", event_id)
    if record is None:
        raise not_found("event", event_id, "id")
    return ctx.render("event", record)


def list_(ctx: Ctx) -> dict[str, Any]:
    params = ctx.params
    # Stripe accepts a `*` wildcard in `type` (e.g. "invoice.*").
    patterns = [p for p in [params.str("type"), *params.strings("types")] if p]
    created = created_filter(params)
    records = [
        e
        for e in ctx.store.all("event")
        if (not patterns or any(fnmatchcase(e["type"], p) for p in patterns))
        and created(e["created"])
    ]
    return list_object(ctx.store, "event", records, params, "/v1/events")
