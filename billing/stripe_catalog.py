"""Our plan catalogue as Stripe Products, Prices and Billing Meters (`sync_stripe_catalog`).

Mapping (docs/pricing.md): the base fee is a licensed monthly Price; usage is a metered Price on
a Billing Meter — weighted units on `petstore_api_units`, or one meter per call class for
class-priced plans. Included units + per-unit or graduated overage become a graduated Price whose
first tier (the included units) is free; volume tiers keep `tiers_mode=volume`; packages use
`transform_quantity`. Hard-capped plans bill no usage.

Idempotent: each Price carries a lookup key and the fingerprint of its definition in metadata.
A second run finds them and creates nothing; a changed definition creates a new Price (taking
the lookup key over) and archives the old one.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import stripe
from django.db import transaction
from djstripe import models as djstripe_models

from accounts.models import Plan
from billing.installation import stripe_key
from billing.models import PlanPrice
from billing.stripe_api import djstripe_sync, stripe_call, stripe_retrieve
from pricing.engine import PlanTerms, Tier, plan_terms

logger = logging.getLogger(__name__)

CURRENCY = "usd"
UNITS_METER = "petstore_api_units"


def class_meter(usage_class: str) -> str:
    return f"petstore_api_calls_{usage_class}"


def product_id(plan: Plan) -> str:
    return f"petstore_plan_{plan.slug}"


def _cents(amount: Decimal) -> str:
    """Dollars → Stripe's decimal cents string: 0.001 → "0.1"."""
    return format((amount * 100).normalize(), "f")


@dataclass(frozen=True)
class PriceSpec:
    role: str
    lookup_key: str
    params: dict[str, Any]
    meter_event_name: str = ""
    usage_class: str = ""
    fingerprint: str = field(init=False)

    def __post_init__(self) -> None:
        digest = hashlib.sha256(json.dumps(self.params, sort_keys=True).encode()).hexdigest()
        object.__setattr__(self, "fingerprint", digest[:32])


def _tiers(tiers: tuple[Tier, ...], offset: int = 0) -> list[dict[str, Any]]:
    result = []
    for tier in tiers:
        entry: dict[str, Any] = {
            "up_to": "inf" if tier.up_to is None else tier.up_to + offset,
            "unit_amount_decimal": _cents(tier.unit_price),
        }
        if tier.flat_fee:
            entry["flat_amount"] = int(tier.flat_fee * 100)
        result.append(entry)
    return result


def _metered(plan: Plan, meter: str, pricing: dict[str, Any]) -> dict[str, Any]:
    return {
        "currency": CURRENCY,
        "product": product_id(plan),
        "recurring": {"interval": "month", "usage_type": "metered", "meter": meter},
        **pricing,
    }


def _usage_specs(plan: Plan, terms: PlanTerms, meters: dict[str, str]) -> list[PriceSpec]:
    pricing, included = terms.pricing, terms.included_units or 0
    if terms.overage_policy == "block" or pricing.model == "none":
        return []  # a hard cap refuses what is above it: nothing to bill
    units = meters[UNITS_METER]
    key = f"petstore_{plan.slug}_usage"
    if pricing.model == "per_unit":
        if included:
            body = {
                "billing_scheme": "tiered",
                "tiers_mode": "graduated",
                "tiers": [
                    {"up_to": included, "unit_amount": 0},
                    {"up_to": "inf", "unit_amount_decimal": _cents(pricing.unit_price)},
                ],
            }
        else:
            body = {"billing_scheme": "per_unit", "unit_amount_decimal": _cents(pricing.unit_price)}
    elif pricing.model == "graduated":
        tiers = _tiers(pricing.tiers, offset=included)
        if included:
            tiers.insert(0, {"up_to": included, "unit_amount": 0})
        body = {"billing_scheme": "tiered", "tiers_mode": "graduated", "tiers": tiers}
    elif pricing.model == "volume":
        body = {"billing_scheme": "tiered", "tiers_mode": "volume", "tiers": _tiers(pricing.tiers)}
    elif pricing.model == "package":
        body = {
            "billing_scheme": "per_unit",
            "unit_amount": int(pricing.package_price * 100),
            "transform_quantity": {"divide_by": pricing.package_size, "round": "up"},
        }
    elif pricing.model == "per_class":
        specs = []
        for usage_class, price in sorted(pricing.class_prices.items()):
            meter = meters[class_meter(usage_class)]
            if pricing.volume_discounts:
                tiers = [
                    {
                        "up_to": "inf" if band.up_to is None else band.up_to,
                        "unit_amount_decimal": _cents(price * (1 - band.discount)),
                    }
                    for band in pricing.volume_discounts
                ]
                body = {"billing_scheme": "tiered", "tiers_mode": "volume", "tiers": tiers}
            else:
                body = {"billing_scheme": "per_unit", "unit_amount_decimal": _cents(price)}
            specs.append(
                PriceSpec(
                    "usage",
                    f"{key}_{usage_class}",
                    _metered(plan, meter, body),
                    class_meter(usage_class),
                    usage_class,
                )
            )
        return specs
    else:
        raise ValueError(f"no Stripe mapping for pricing model {pricing.model!r}")
    return [PriceSpec("usage", key, _metered(plan, units, body), UNITS_METER)]


def price_specs(plan: Plan, meters: dict[str, str]) -> list[PriceSpec]:
    """The Stripe Prices a plan needs (none for Free and for custom-priced plans)."""
    terms = plan_terms(plan)
    if terms.base_fee is None or not plan.self_serve or not plan.is_active:
        return []
    specs = []
    if terms.base_fee:
        specs.append(
            PriceSpec(
                "base",
                f"petstore_{plan.slug}_base",
                {
                    "currency": CURRENCY,
                    "product": product_id(plan),
                    "unit_amount": int(terms.base_fee * 100),
                    "recurring": {"interval": "month", "usage_type": "licensed"},
                },
            )
        )
    return specs + _usage_specs(plan, terms, meters)


def meters_needed() -> list[str]:
    return [UNITS_METER] + [class_meter(c) for c in ("default", "read", "write", "image")]


def meters_ensure() -> dict[str, str]:
    """Billing Meters by event name, creating the missing ones (sum of `value` per customer)."""
    existing = {
        meter.event_name: meter.id
        for meter in stripe_call(stripe.billing.Meter.list, limit=100).auto_paging_iter()
        if meter.status == "active"
    }
    for event_name in meters_needed():
        if event_name not in existing:
            meter = stripe_call(
                stripe.billing.Meter.create,
                display_name=event_name.replace("_", " ").capitalize(),
                event_name=event_name,
                default_aggregation={"formula": "sum"},
                customer_mapping={"event_payload_key": "stripe_customer_id", "type": "by_id"},
                value_settings={"event_payload_key": "value"},
                idempotency_key=stripe_key("meter", event_name),
            )
            existing[event_name] = meter.id
    return existing


@dataclass
class SyncResult:
    products_created: int = 0
    prices_created: int = 0
    prices_archived: int = 0
    unchanged: int = 0
    lines: list[str] = field(default_factory=list)


def _product_ensure(plan: Plan, result: SyncResult) -> None:
    name = f"Pet Store API {plan.name}"
    product = stripe_retrieve(stripe.Product.retrieve, product_id(plan))
    if product is None:
        product = stripe_call(
            stripe.Product.create,
            id=product_id(plan),
            name=name,
            metadata={"petstore_plan": plan.slug},
            idempotency_key=stripe_key("product", product_id(plan)),
        )
        result.products_created += 1
        result.lines.append(f"product {product.id} created")
    elif product.name != name or not product.active:
        product = stripe_call(stripe.Product.modify, product.id, name=name, active=True)
    djstripe_sync(djstripe_models.Product, product)


def _metadata(obj: Any, key: str) -> str | None:
    metadata = obj.metadata
    return metadata[key] if metadata and key in metadata else None


def _price_ensure(plan: Plan, spec: PriceSpec, result: SyncResult) -> None:
    current = PlanPrice.objects.filter(plan=plan, lookup_key=spec.lookup_key, active=True).first()
    if current and current.fingerprint == spec.fingerprint:
        result.unchanged += 1
        return
    # Stripe may already hold the price (a run that died after creating it): adopt it.
    found = stripe_call(stripe.Price.list, lookup_keys=[spec.lookup_key], active=True, limit=1)
    stripe_price = next(
        (p for p in found.data if _metadata(p, "fingerprint") == spec.fingerprint), None
    )
    if stripe_price is None:
        stripe_price = stripe_call(
            stripe.Price.create,
            **spec.params,
            lookup_key=spec.lookup_key,
            transfer_lookup_key=True,
            nickname=f"{plan.name} {spec.role} {spec.usage_class}".strip(),
            metadata={
                "petstore_plan": plan.slug,
                "role": spec.role,
                "fingerprint": spec.fingerprint,
            },
            idempotency_key=stripe_key("price", spec.lookup_key, spec.fingerprint),
        )
        result.prices_created += 1
        result.lines.append(f"price {stripe_price.id} created for {spec.lookup_key}")
        djstripe_sync(
            djstripe_models.Price,
            stripe_call(stripe.Price.retrieve, stripe_price.id, expand=["tiers"]),
        )
    with transaction.atomic():
        for old in PlanPrice.objects.filter(plan=plan, lookup_key=spec.lookup_key, active=True):
            if old.stripe_price_id != stripe_price.id:
                djstripe_sync(
                    djstripe_models.Price,
                    stripe_call(stripe.Price.modify, old.stripe_price_id, active=False),
                )
                result.prices_archived += 1
                result.lines.append(f"price {old.stripe_price_id} archived")
            old.active = False
            old.save(update_fields=["active"])
        PlanPrice.objects.update_or_create(
            stripe_price_id=stripe_price.id,
            defaults={
                "plan": plan,
                "role": spec.role,
                "meter_event_name": spec.meter_event_name,
                "usage_class": spec.usage_class,
                "stripe_product_id": product_id(plan),
                "lookup_key": spec.lookup_key,
                "fingerprint": spec.fingerprint,
                "active": True,
            },
        )


def _retire(plan: Plan, keep: set[str], result: SyncResult) -> None:
    """Archive prices of roles the plan no longer has (e.g. it became hard-capped)."""
    for old in PlanPrice.objects.filter(plan=plan, active=True).exclude(lookup_key__in=keep):
        stripe_call(stripe.Price.modify, old.stripe_price_id, active=False)
        old.active = False
        old.save(update_fields=["active"])
        result.prices_archived += 1
        result.lines.append(f"price {old.stripe_price_id} archived ({old.lookup_key})")


def stripe_catalog_sync() -> SyncResult:
    result = SyncResult()
    meters = meters_ensure()
    for plan in Plan.objects.order_by("sort_order", "id"):
        specs = price_specs(plan, meters)
        if specs:
            _product_ensure(plan, result)
        for spec in specs:
            _price_ensure(plan, spec, result)
        _retire(plan, {spec.lookup_key for spec in specs}, result)
    return result


def plan_for_price_ids(price_ids: set[str]) -> Plan | None:
    """The plan a subscription's prices belong to (any known price, archived ones included)."""
    row = PlanPrice.objects.filter(stripe_price_id__in=price_ids).select_related("plan").first()
    return row.plan if row else None


def subscription_items(plan: Plan) -> list[dict[str, Any]]:
    """Items for a subscription to `plan`: the base fee (quantity 1) and its metered prices."""
    items = []
    for price in PlanPrice.objects.filter(plan=plan, active=True).order_by("role"):
        item: dict[str, Any] = {"price": price.stripe_price_id}
        if price.role == PlanPrice.Role.BASE:
            item["quantity"] = 1
        items.append(item)
    return items
