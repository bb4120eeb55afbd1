"""Pricing presets: whole plan catalogues, one per pricing strategy, loaded with
`manage.py load_pricing_preset NAME`. Each plan is in the shape of accounts.demo_plans.DEMO_PLANS.

Loading is idempotent: plans are matched by slug and saved only when a value differs; plans the
preset does not name are deactivated, never deleted (customers may still be on them), except
the sign-up plan `free`, which always stays active.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import transaction

from accounts.demo_plans import ALL_ENDPOINT_FEATURES, DEMO_PLANS
from accounts.models import Plan
from pricing.engine import PlanTerms, parse_pricing

SIGNUP_PLAN = "free"
# Everything a preset plan may set; a value it leaves out gets the default here, so that
# loading a preset fully determines the plan whatever an earlier preset had set.
PLAN_DEFAULTS: dict[str, Any] = {
    "sort_order": 0,
    "description": "",
    "self_serve": True,
    "is_active": True,
    "included_units": None,
    "overage_policy": "block",
    "pricing": {},
    "rate_limit_per_minute": 10,
    "max_keys": 2,
    "features": [],
}
_ALL = [*ALL_ENDPOINT_FEATURES]
_EVERYTHING = [*ALL_ENDPOINT_FEATURES, "advanced_analytics", "webhooks", "sla", "priority_support"]


@dataclass(frozen=True)
class Preset:
    name: str
    description: str
    plans: list[dict[str, Any]] = field(default_factory=list)


PRESETS: dict[str, Preset] = {
    preset.name: preset
    for preset in [
        Preset(
            "stack",
            "The default catalogue: Free 10K/month hard cap; Pro $49 incl. 50K then $0.001; "
            "Business $199 incl. 500K then $0.001; Enterprise custom.",
            DEMO_PLANS,
        ),
        Preset(
            "freemium",
            "Hard-capped tiers: upgrade to get more. Free 1,000 calls at 10 req/min; Pro $49, "
            "50,000 calls at 100 req/min; Enterprise $499, 1,000,000 calls at 1,000 req/min. "
            "Chosen here: max keys 2 / 5 / 50.",
            [
                {
                    "slug": "free",
                    "name": "Free",
                    "sort_order": 10,
                    "description": "1,000 calls a month, 10 req/min, basic endpoints, "
                    "community support.",
                    "monthly_price": Decimal("0.00"),
                    "included_units": 1_000,
                    "overage_policy": "block",
                    "rate_limit_per_minute": 10,
                    "max_keys": 2,
                    "features": [],
                },
                {
                    "slug": "pro",
                    "name": "Pro",
                    "sort_order": 20,
                    "description": "50,000 calls a month, 100 req/min, all endpoints.",
                    "monthly_price": Decimal("49.00"),
                    "included_units": 50_000,
                    "overage_policy": "block",
                    "rate_limit_per_minute": 100,
                    "max_keys": 5,
                    "features": _ALL,
                },
                {
                    "slug": "enterprise",
                    "name": "Enterprise",
                    "sort_order": 40,
                    "description": "1,000,000 calls a month, 1,000 req/min, webhooks, SLA.",
                    "monthly_price": Decimal("499.00"),
                    "included_units": 1_000_000,
                    "overage_policy": "block",
                    "rate_limit_per_minute": 1_000,
                    "max_keys": 50,
                    "features": [*_ALL, "webhooks", "sla"],
                },
            ],
        ),
        Preset(
            "pay-per-call",
            "No base fee, no quota: each call billed by class ($0.01 default, $0.005 read, "
            "$0.02 write, $0.10 image), 20% off a class's calls past 100K, 40% past 1M. "
            "Chosen here: 600 req/min, 10 keys.",
            [
                {
                    "slug": "payg",
                    "name": "Pay per call",
                    "sort_order": 20,
                    "description": "No monthly fee. $0.005 a read, $0.02 a write, $0.10 an "
                    "image, $0.01 other calls; 20% off past 100K calls, 40% past 1M.",
                    "monthly_price": Decimal("0.00"),
                    "included_units": None,
                    "overage_policy": "bill",
                    "pricing": {
                        "model": "per_class",
                        "class_prices": {
                            "default": "0.01",
                            "read": "0.005",
                            "write": "0.02",
                            "image": "0.10",
                        },
                        "volume_discounts": [
                            {"up_to": 100_000, "discount": "0"},
                            {"up_to": 1_000_000, "discount": "0.20"},
                            {"up_to": None, "discount": "0.40"},
                        ],
                    },
                    "rate_limit_per_minute": 600,
                    "max_keys": 10,
                    "features": _ALL,
                },
            ],
        ),
        Preset(
            "graduated",
            "No base fee, graduated usage: $0.01 a call up to 100,000, $0.005 up to 1,000,000, "
            "$0.003 beyond. Chosen here: all endpoints, 600 req/min, 10 keys.",
            [
                {
                    "slug": "metered",
                    "name": "Metered",
                    "sort_order": 20,
                    "description": "No monthly fee. $0.01 a call up to 100K, $0.005 up to 1M, "
                    "$0.003 beyond.",
                    "monthly_price": Decimal("0.00"),
                    "included_units": None,
                    "overage_policy": "bill",
                    "pricing": {
                        "model": "graduated",
                        "tiers": [
                            {"up_to": 100_000, "unit_price": "0.01"},
                            {"up_to": 1_000_000, "unit_price": "0.005"},
                            {"up_to": None, "unit_price": "0.003"},
                        ],
                    },
                    "rate_limit_per_minute": 600,
                    "max_keys": 10,
                    "features": _ALL,
                },
            ],
        ),
        Preset(
            "tiered",
            "Hard-capped tiers: Starter $29 (10,000 calls, 5 keys, basic analytics), Growth $99 "
            "(100,000 calls, 20 keys, advanced analytics, webhooks), Enterprise custom "
            "(unlimited). Chosen here: 60 / 300 / 10,000 req/min, Enterprise 100 keys.",
            [
                {
                    "slug": "starter",
                    "name": "Starter",
                    "sort_order": 20,
                    "description": "10,000 calls a month, 5 keys, basic analytics.",
                    "monthly_price": Decimal("29.00"),
                    "included_units": 10_000,
                    "overage_policy": "block",
                    "rate_limit_per_minute": 60,
                    "max_keys": 5,
                    "features": ["analytics"],
                },
                {
                    "slug": "growth",
                    "name": "Growth",
                    "sort_order": 30,
                    "description": "100,000 calls a month, 20 keys, advanced analytics, webhooks.",
                    "monthly_price": Decimal("99.00"),
                    "included_units": 100_000,
                    "overage_policy": "block",
                    "rate_limit_per_minute": 300,
                    "max_keys": 20,
                    "features": [*_ALL, "advanced_analytics", "webhooks"],
                },
                {
                    "slug": "enterprise",
                    "name": "Enterprise",
                    "sort_order": 40,
                    "self_serve": False,
                    "description": "Unlimited calls, custom price, SLA. Talk to us.",
                    "monthly_price": None,
                    "included_units": None,
                    "overage_policy": "bill",
                    "rate_limit_per_minute": 10_000,
                    "max_keys": 100,
                    "features": _EVERYTHING,
                },
            ],
        ),
        Preset(
            "hybrid",
            "Base fee plus usage: $49 a month including 10,000 calls, then $0.005 a call billed "
            "monthly in arrears. Chosen here: all endpoints, 300 req/min, 10 keys.",
            [
                {
                    "slug": "hybrid",
                    "name": "Hybrid",
                    "sort_order": 20,
                    "description": "$49 a month including 10,000 calls, then $0.005 a call, "
                    "billed monthly in arrears.",
                    "monthly_price": Decimal("49.00"),
                    "included_units": 10_000,
                    "overage_policy": "bill",
                    "pricing": {"model": "per_unit", "unit_price": "0.005"},
                    "rate_limit_per_minute": 300,
                    "max_keys": 10,
                    "features": _ALL,
                },
            ],
        ),
    ]
}


def preset_plan_fields(spec: dict[str, Any]) -> dict[str, Any]:
    """Every Plan field a preset entry sets (defaults filled in), after checking that the
    rating engine accepts its pricing: a bad preset fails before it touches the database."""
    fields = {**PLAN_DEFAULTS, **{k: v for k, v in spec.items() if k != "slug"}}
    PlanTerms(
        slug=spec["slug"],
        name=fields["name"],
        base_fee=fields["monthly_price"],
        included_units=fields["included_units"],
        overage_policy=fields["overage_policy"],
        pricing=parse_pricing(fields["pricing"]),
    )
    return fields


@dataclass
class PresetResult:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    deactivated: list[str] = field(default_factory=list)


def _signup_plan_fields() -> dict[str, Any]:
    return preset_plan_fields(next(p for p in DEMO_PLANS if p["slug"] == SIGNUP_PLAN))


@transaction.atomic
def preset_load(*, name: str) -> PresetResult:
    """Make the catalogue the preset's plans (plus Free). Saves only what differs, through
    Plan.save() so that metering's rule snapshot notices (its post_save receiver)."""
    preset = PRESETS[name]
    wanted = {spec["slug"]: preset_plan_fields(spec) for spec in preset.plans}
    result = PresetResult()
    if SIGNUP_PLAN not in wanted and not Plan.objects.filter(slug=SIGNUP_PLAN).exists():
        wanted[SIGNUP_PLAN] = _signup_plan_fields()  # sign-up needs it
    for slug, fields in wanted.items():
        plan = Plan.objects.select_for_update().filter(slug=slug).first()
        if plan is None:
            Plan.objects.create(slug=slug, **fields)
            result.created.append(slug)
            continue
        changed = [key for key, value in fields.items() if getattr(plan, key) != value]
        if changed:
            for key in changed:
                setattr(plan, key, fields[key])
            plan.save()
            result.updated.append(slug)
        else:
            result.unchanged.append(slug)
    keep = {*wanted, SIGNUP_PLAN}
    for plan in Plan.objects.select_for_update().filter(is_active=True).exclude(slug__in=keep):
        plan.is_active = False
        plan.save(update_fields=["is_active", "updated_at"])
        result.deactivated.append(plan.slug)
    free = Plan.objects.filter(slug=SIGNUP_PLAN, is_active=False).first()
    if free is not None:  # the sign-up plan always stays on offer
        free.is_active = True
        free.save(update_fields=["is_active", "updated_at"])
        result.updated.append(SIGNUP_PLAN)
    return result
