"""Products: create (custom ``id`` allowed), retrieve, update, list, delete, features."""

from __future__ import annotations

from typing import Any

from ..context import Ctx
from ..errors import StripeError, not_found
from ..ids import new_id
from ..params import merge_metadata
from ..render import created_filter, embedded_list, list_object, render
from ..state import Store


def get_product(store: Store, product_id: str, param: str = "product") -> dict[str, Any]:
    record = store.get("product", product_id)
    if record is None or record.get("_deleted"):
        raise not_found("product", product_id, param)
    return record


def _apply(ctx: Ctx, record: dict[str, Any]) -> None:
    params = ctx.params
    for key in ("name", "description", "statement_descriptor", "unit_label", "url", "tax_code"):
        if params.has(key):
            value = params.str(key)
            if key == "name" and value is None:
                raise StripeError(400, "You must supply a non-empty name.", param="name")
            record[key] = value
    if params.has("active"):
        record["active"] = bool(params.bool("active", default=True))
    if params.has("images"):
        record["images"] = params.strings("images")
    if params.has("default_price"):
        price_id = params.str("default_price")
        if price_id is not None:
            price = ctx.store.get("price", price_id)
            if price is None or price["product"] != record["id"]:
                raise not_found("price", price_id, "default_price")
        record["default_price"] = price_id
    record["metadata"] = merge_metadata(record["metadata"], params.metadata())
    record["updated"] = ctx.now


def new_product(ctx: Ctx, product_id: str | None, name: str) -> dict[str, Any]:
    now = ctx.now
    return {
        "id": product_id or new_id("prod", 14),
        "object": "product",
        "active": True,
        "attributes": [],
        "created": now,
        "default_price": None,
        "description": None,
        "images": [],
        "livemode": False,
        "marketing_features": [],
        "metadata": {},
        "name": name,
        "package_dimensions": None,
        "shippable": None,
        "statement_descriptor": None,
        "tax_code": None,
        "type": "service",
        "unit_label": None,
        "updated": now,
        "url": None,
    }


def create(ctx: Ctx) -> dict[str, Any]:
    name = ctx.params.str("name", required=True)
    assert name is not None
    product_id = ctx.params.str("id")
    if product_id and ctx.store.exists(product_id):
        raise StripeError(
            400, "Product already exists.", code="resource_already_exists", param="id"
        )
    record = ctx.store.insert("product", new_product(ctx, product_id, name))
    _apply(ctx, record)
    ctx.events.emit("product.created", "product", record)
    return ctx.render("product", record)


def retrieve(ctx: Ctx, product_id: str) -> dict[str, Any]:
    record = ctx.store.get("product", product_id)
    if record is None:
        raise not_found("product", product_id, "id")
    if record.get("_deleted"):
        return {"id": product_id, "object": "product", "deleted": True}
    return ctx.render("product", record)


def update(ctx: Ctx, product_id: str) -> dict[str, Any]:
    get_product(ctx.store, product_id, "id")
    record = ctx.store.get_mut("product", product_id)
    before = render(ctx.store, "product", record)
    _apply(ctx, record)
    ctx.events.emit_update("product.updated", "product", record, before)
    return ctx.render("product", record)


def delete(ctx: Ctx, product_id: str) -> dict[str, Any]:
    get_product(ctx.store, product_id, "id")
    if any(p["product"] == product_id for p in ctx.store.all("price")):
        raise StripeError(
            400, "This product cannot be deleted because it has one or more user-created prices."
        )
    record = ctx.store.get_mut("product", product_id)
    snapshot = render(ctx.store, "product", record)
    record["_deleted"] = True
    ctx.events.emit("product.deleted", "product", record, snapshot=snapshot)
    return {"id": product_id, "object": "product", "deleted": True}


def list_(ctx: Ctx) -> dict[str, Any]:
    active = ctx.params.bool("active")
    ids = set(ctx.params.strings("ids"))
    created = created_filter(ctx.params)
    records = [
        r
        for r in ctx.store.all("product")
        if not r.get("_deleted")
        and (active is None or r["active"] == active)
        and (not ids or r["id"] in ids)
        and created(r["created"])
    ]
    return list_object(ctx.store, "product", records, ctx.params, "/v1/products")


def list_features(ctx: Ctx, product_id: str) -> dict[str, Any]:
    # dj-stripe syncs product features after each product; this server has none.
    get_product(ctx.store, product_id, "product")
    return embedded_list([], f"/v1/products/{product_id}/features")
