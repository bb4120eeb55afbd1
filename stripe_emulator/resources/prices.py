"""Prices: per-unit (incl. sub-cent ``unit_amount_decimal``), tiered (graduated/volume),
``transform_quantity``, metered prices backed by a billing meter, lookup keys."""

from __future__ import annotations

from typing import Any

from ..context import Ctx
from ..errors import StripeError, invalid_param, missing_param, not_found
from ..ids import new_id
from ..invoicing import INF, fmt_decimal
from ..params import Params, merge_metadata, require_one
from ..render import INCLUDABLES, created_filter, list_object, render
from ..state import Store
from .products import get_product, new_product

INTERVALS = ("day", "week", "month", "year")


def get_price(store: Store, price_id: str, param: str = "price") -> dict[str, Any]:
    record = store.get("price", price_id)
    if record is None:
        raise not_found("price", price_id, param)
    return record


def _amount_pair(params: Params, int_key: str, decimal_key: str) -> tuple[int | None, str | None]:
    """Stripe's ``x``/``x_decimal`` pair: an integer amount also shows as a decimal string, a
    fractional one leaves the integer field null."""
    require_one(params, int_key, decimal_key)
    whole = params.int(int_key, minimum=0)
    if whole is not None:
        return whole, str(whole)
    decimal = params.decimal(decimal_key)
    if decimal is None:
        return None, None
    if decimal < 0:
        raise invalid_param(
            params.name(decimal_key), "This value must be greater than or equal to 0."
        )
    if decimal.as_tuple().exponent < -12:  # type: ignore[operator]
        raise invalid_param(params.name(decimal_key), "At most 12 decimal places are allowed.")
    as_int = int(decimal) if decimal == decimal.to_integral_value() else None
    return as_int, fmt_decimal(decimal)


def _tiers(params: Params) -> list[dict[str, Any]]:
    tiers = params.subs("tiers")
    if not tiers:
        raise missing_param("tiers")
    out: list[dict[str, Any]] = []
    previous = 0
    for i, tier in enumerate(tiers):
        raw = tier.str("up_to", required=True)
        if raw == INF:
            up_to: int | str = INF
            if i != len(tiers) - 1:
                raise invalid_param(
                    tier.name("up_to"), "Only the last tier may have `up_to` set to `inf`."
                )
        else:
            up_to = tier.int("up_to", required=True, minimum=1) or 0
            if up_to <= previous:
                raise invalid_param(
                    tier.name("up_to"),
                    "Tiers must be sorted by `up_to` in ascending order, and each `up_to` must be "
                    "greater than the previous tier's.",
                )
            previous = up_to
        unit, unit_decimal = _amount_pair(tier, "unit_amount", "unit_amount_decimal")
        flat, flat_decimal = _amount_pair(tier, "flat_amount", "flat_amount_decimal")
        if unit_decimal is None and flat_decimal is None:
            raise StripeError(
                400,
                "Each tier must have a `unit_amount`, `unit_amount_decimal`, `flat_amount` or "
                "`flat_amount_decimal`.",
                param=tier.name("unit_amount"),
            )
        if flat_decimal is not None and flat is None:
            # flat_amount_decimal must still be a whole number of minor units.
            raise invalid_param(
                tier.name("flat_amount_decimal"),
                "flat_amount_decimal must represent an integer in the minor units of the currency.",
            )
        out.append(
            {
                "flat_amount": flat,
                "flat_amount_decimal": flat_decimal,
                "unit_amount": unit,
                "unit_amount_decimal": unit_decimal,
                "up_to": up_to,
            }
        )
    if out[-1]["up_to"] != INF:
        raise invalid_param(
            f"tiers[{len(out) - 1}][up_to]", "The last tier must have `up_to` set to `inf`."
        )
    return out


def _recurring(ctx: Ctx, params: Params) -> dict[str, Any] | None:
    if not params.has("recurring") or params.is_blank("recurring"):
        return None
    rec = params.sub("recurring")
    interval = rec.str("interval", required=True, choices=INTERVALS)
    usage_type = rec.str("usage_type", choices=("licensed", "metered")) or "licensed"
    meter_id = rec.str("meter")
    if usage_type == "metered" and meter_id is None:
        # Since 2025-03-31.basil usage records are gone: a metered price needs a meter.
        raise missing_param("recurring[meter]")
    if meter_id is not None:
        if usage_type != "metered":
            raise invalid_param("recurring[meter]", "A meter can only be set on a metered price.")
        if ctx.store.get("meter", meter_id) is None:
            raise not_found("billing.meter", meter_id, "recurring[meter]")
    return {
        "interval": interval,
        "interval_count": rec.int("interval_count", minimum=1) or 1,
        "meter": meter_id,
        "trial_period_days": rec.int("trial_period_days", minimum=0),
        "usage_type": usage_type,
    }


def _transform(params: Params) -> dict[str, Any] | None:
    if not params.has("transform_quantity") or params.is_blank("transform_quantity"):
        return None
    tq = params.sub("transform_quantity")
    return {
        "divide_by": tq.int("divide_by", required=True, minimum=1),
        "round": tq.str("round", required=True, choices=("up", "down")),
    }


def _claim_lookup_key(ctx: Ctx, lookup_key: str | None, price_id: str) -> None:
    """Lookup keys are unique; ``transfer_lookup_key=true`` moves one from its current price."""
    if lookup_key is None:
        return
    holder = next(
        (
            p
            for p in ctx.store.all("price")
            if p.get("lookup_key") == lookup_key and p["id"] != price_id
        ),
        None,
    )
    if holder is None:
        return
    if not ctx.params.bool("transfer_lookup_key", default=False):
        raise StripeError(
            400,
            f"A price (`{holder['id']}`) already uses that lookup key.",
            param="lookup_key",
        )
    other = ctx.store.get_mut("price", holder["id"])
    before = render(ctx.store, "price", other)
    other["lookup_key"] = None
    ctx.events.emit_update("price.updated", "price", other, before)


def _product_for(ctx: Ctx) -> str:
    params = ctx.params
    product_id = params.str("product")
    if product_id is not None:
        get_product(ctx.store, product_id)
        return product_id
    if params.has("product_data"):
        data = params.sub("product_data")
        name = data.str("name", required=True)
        assert name is not None
        record = new_product(ctx, data.str("id"), name)
        record["metadata"] = merge_metadata({}, data.metadata())
        ctx.store.insert("product", record)
        ctx.events.emit("product.created", "product", record)
        return record["id"]
    raise missing_param("product")


def create(ctx: Ctx) -> dict[str, Any]:
    params = ctx.params
    currency = (params.str("currency", required=True) or "").lower()
    product_id = _product_for(ctx)
    recurring = _recurring(ctx, params)
    scheme = params.str("billing_scheme", choices=("per_unit", "tiered")) or "per_unit"
    record: dict[str, Any] = {
        "id": new_id("price"),
        "object": "price",
        "active": bool(params.bool("active", default=True)),
        "billing_scheme": scheme,
        "created": ctx.now,
        "currency": currency,
        "custom_unit_amount": None,
        "livemode": False,
        "lookup_key": params.str("lookup_key"),
        "metadata": merge_metadata({}, params.metadata()),
        "nickname": params.str("nickname"),
        "product": product_id,
        "recurring": recurring,
        "tax_behavior": params.str("tax_behavior") or "unspecified",
        "tiers_mode": None,
        "transform_quantity": None,
        "type": "recurring" if recurring else "one_time",
        "unit_amount": None,
        "unit_amount_decimal": None,
        "_tiers": None,
    }
    if scheme == "tiered":
        for key in ("unit_amount", "unit_amount_decimal"):
            if params.has(key):
                raise invalid_param(key, f"You may not set `{key}` on a tiered price; use tiers.")
        if params.has("transform_quantity"):
            raise invalid_param(
                "transform_quantity", "transform_quantity cannot be used with tiered prices."
            )
        record["tiers_mode"] = params.str(
            "tiers_mode", required=True, choices=("graduated", "volume")
        )
        record["_tiers"] = _tiers(params)
    else:
        if params.has("tiers"):
            raise invalid_param("tiers", "Tiers can only be set when billing_scheme=tiered.")
        unit, unit_decimal = _amount_pair(params, "unit_amount", "unit_amount_decimal")
        if unit_decimal is None:
            raise missing_param("unit_amount")
        record["unit_amount"], record["unit_amount_decimal"] = unit, unit_decimal
        record["transform_quantity"] = _transform(params)
    ctx.store.insert("price", record)
    _claim_lookup_key(ctx, record["lookup_key"], record["id"])
    ctx.events.emit("price.created", "price", record)
    return ctx.render("price", record)


def retrieve(ctx: Ctx, price_id: str) -> dict[str, Any]:
    return ctx.render("price", get_price(ctx.store, price_id, "price"))


def update(ctx: Ctx, price_id: str) -> dict[str, Any]:
    get_price(ctx.store, price_id, "price")
    params = ctx.params
    for key in ("unit_amount", "unit_amount_decimal", "currency", "recurring", "tiers", "product"):
        if params.has(key):
            raise StripeError(
                400,
                f"Received unknown parameter: {key}. Prices are immutable: create a new price.",
                code="parameter_unknown",
                param=key,
            )
    record = ctx.store.get_mut("price", price_id)
    before = render(ctx.store, "price", record)
    if params.has("active"):
        record["active"] = bool(params.bool("active", default=True))
    if params.has("nickname"):
        record["nickname"] = params.str("nickname")
    if params.has("tax_behavior"):
        record["tax_behavior"] = params.str("tax_behavior")
    if params.has("lookup_key"):
        lookup_key = params.str("lookup_key")
        _claim_lookup_key(ctx, lookup_key, price_id)
        record["lookup_key"] = lookup_key
    record["metadata"] = merge_metadata(record["metadata"], params.metadata())
    ctx.events.emit_update("price.updated", "price", record, before)
    return ctx.render("price", record)


def list_(ctx: Ctx) -> dict[str, Any]:
    params = ctx.params
    active = params.bool("active")
    lookup_keys = set(params.strings("lookup_keys"))
    product = params.str("product")
    price_type = params.str("type")
    currency = params.str("currency")
    rec = params.sub("recurring")
    usage_type, interval, meter = rec.str("usage_type"), rec.str("interval"), rec.str("meter")
    created = created_filter(params)

    def keep(p: dict[str, Any]) -> bool:
        recurring = p.get("recurring") or {}
        return (
            (active is None or p["active"] == active)
            and (not lookup_keys or p.get("lookup_key") in lookup_keys)
            and (product is None or p["product"] == product)
            and (price_type is None or p["type"] == price_type)
            and (currency is None or p["currency"] == currency.lower())
            and (usage_type is None or recurring.get("usage_type") == usage_type)
            and (interval is None or recurring.get("interval") == interval)
            and (meter is None or recurring.get("meter") == meter)
            and created(p["created"])
        )

    records = [p for p in ctx.store.all("price") if keep(p)]
    return list_object(ctx.store, "price", records, params, "/v1/prices")


def public_tiers(record: dict[str, Any]) -> list[dict[str, Any]] | None:
    tiers = record.get("_tiers")
    if tiers is None:
        return None
    # Stripe shows the last, unbounded tier with "up_to": null.
    return [{**t, "up_to": None if t["up_to"] == INF else t["up_to"]} for t in tiers]


def _tiers_includable(store: Store, obj: dict[str, Any]) -> Any:
    record = store.get("price", obj["id"])
    return public_tiers(record) if record else None


def _currency_options(store: Store, obj: dict[str, Any]) -> dict[str, Any]:
    return {
        obj["currency"]: {
            "custom_unit_amount": None,
            "tax_behavior": obj.get("tax_behavior", "unspecified"),
            "unit_amount": obj.get("unit_amount"),
            "unit_amount_decimal": obj.get("unit_amount_decimal"),
        }
    }


INCLUDABLES["price"] = {"tiers": _tiers_includable, "currency_options": _currency_options}
INCLUDABLES["plan"] = {"tiers": _tiers_includable}
