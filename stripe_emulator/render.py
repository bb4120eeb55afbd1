"""Turning stored records into API JSON: private fields, list objects, paging, ``expand[]``.

Stored records are kept in Stripe's shape; keys starting with ``_`` are private bookkeeping.
Kinds whose JSON embeds other objects (a subscription's items, an invoice's lines) register a
renderer. Fields that Stripe only returns when asked ("includable": a price's ``tiers``) are
computed on demand by ``expand``.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from .errors import StripeError, invalid_param
from .params import Params
from .state import Store

Renderer = Callable[[Store, dict[str, Any]], dict[str, Any]]
Includer = Callable[[Store, dict[str, Any]], Any]

RENDERERS: dict[str, Renderer] = {}
# object name (the JSON "object" field) -> field -> computes the includable value
INCLUDABLES: dict[str, dict[str, Includer]] = {}


def iso_time(epoch: int) -> str:
    """API v2 timestamps: RFC 3339 in UTC with milliseconds ("2026-06-01T00:00:00.000Z")."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def v2_list(data: list[dict[str, Any]]) -> dict[str, Any]:
    """API v2 lists: ``data`` and page URLs (one page here)."""
    return {"data": data, "next_page_url": None, "previous_page_url": None}


def public(record: dict[str, Any]) -> dict[str, Any]:
    """A deep copy without private (``_``-prefixed) keys."""
    return {k: copy.deepcopy(v) for k, v in record.items() if not k.startswith("_")}


def render(
    store: Store, kind: str, record: dict[str, Any], expand: Iterable[str] = ()
) -> dict[str, Any]:
    renderer = RENDERERS.get(kind)
    obj = renderer(store, record) if renderer else public(record)
    paths = [p.split(".") for p in expand if p]
    if paths:
        expand_object(store, obj, paths)
    return obj


def render_id(store: Store, object_id: str, expand: Iterable[str] = ()) -> dict[str, Any] | None:
    kind = store.kind_of(object_id)
    if kind is None:
        return None
    record = store.get(kind, object_id)
    return None if record is None else render(store, kind, record, expand)


def expand_object(store: Store, obj: dict[str, Any], paths: list[list[str]]) -> None:
    groups: dict[str, list[list[str]]] = {}
    for path in paths:
        groups.setdefault(path[0], []).append(path[1:])
    for field, subpaths in groups.items():
        rest = [p for p in subpaths if p]
        includer = INCLUDABLES.get(str(obj.get("object") or ""), {}).get(field)
        if includer is not None and obj.get(field) is None:
            obj[field] = includer(store, obj)
        if field not in obj:
            raise StripeError(400, f"This property cannot be expanded ({field}).", param="expand")
        obj[field] = _expand_value(store, obj[field], rest)


def _expand_value(store: Store, value: Any, rest: list[list[str]]) -> Any:
    if isinstance(value, str):
        expanded = render_id(store, value, [".".join(p) for p in rest])
        return value if expanded is None else expanded
    if isinstance(value, dict):
        if value.get("object") == "list" and rest:
            data_paths = [p[1:] for p in rest if p[0] == "data" and len(p) > 1]
            if data_paths:
                value["data"] = [_expand_value(store, item, data_paths) for item in value["data"]]
            other = [p for p in rest if p[0] != "data"]
            if other:
                expand_object(store, value, other)
        elif rest:
            expand_object(store, value, rest)
        return value
    if isinstance(value, list):
        return [_expand_value(store, item, rest) for item in value]
    return value


def list_object(
    store: Store,
    kind: str,
    records: list[dict[str, Any]],
    params: Params,
    url: str,
    *,
    render_one: Callable[[dict[str, Any], list[str]], dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Stripe's ``{"object": "list", ...}`` with limit/starting_after/ending_before paging over
    ``records`` (already filtered, newest first)."""
    limit = params.int("limit", minimum=1, maximum=100) or 10
    starting_after = params.str("starting_after")
    ending_before = params.str("ending_before")
    ids = [r["id"] for r in records]
    if starting_after:
        if starting_after not in ids and not store.exists(starting_after):
            raise invalid_param("starting_after", f"No such object: '{starting_after}'")
        start = ids.index(starting_after) + 1 if starting_after in ids else len(ids)
        window = records[start:]
        page, has_more = window[:limit], len(window) > limit
    elif ending_before:
        if ending_before not in ids and not store.exists(ending_before):
            raise invalid_param("ending_before", f"No such object: '{ending_before}'")
        end = ids.index(ending_before) if ending_before in ids else 0
        window = records[:end]
        page, has_more = window[-limit:], len(window) > limit
    else:
        page, has_more = records[:limit], len(records) > limit
    item_paths = [p[len("data.") :] for p in params.strings("expand") if p.startswith("data.")]
    if render_one is None:
        data = [render(store, kind, r, item_paths) for r in page]
    else:
        data = [render_one(r, item_paths) for r in page]
    return {"object": "list", "data": data, "has_more": has_more, "url": url}


def embedded_list(
    data: list[dict[str, Any]], url: str, total_count: int | None = None
) -> dict[str, Any]:
    out: dict[str, Any] = {"object": "list", "data": data, "has_more": False, "url": url}
    if total_count is not None:
        out["total_count"] = total_count
    return out


def created_filter(params: Params, key: str = "created") -> Callable[[int], bool]:
    """``created=<ts>`` or ``created[gt|gte|lt|lte]=<ts>``."""
    raw = params.raw(key)
    if raw in (None, ""):
        return lambda _ts: True
    if isinstance(raw, str):
        exact = params.int(key)
        return lambda ts: ts == exact
    bounds = params.sub(key)
    gt, gte, lt, lte = (bounds.int(k) for k in ("gt", "gte", "lt", "lte"))

    def check(ts: int) -> bool:
        return (
            (gt is None or ts > gt)
            and (gte is None or ts >= gte)
            and (lt is None or ts < lt)
            and (lte is None or ts <= lte)
        )

    return check
