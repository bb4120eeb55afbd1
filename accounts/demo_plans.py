"""The demo plan catalogue (the `stack` preset): what `seed_plans` and the data migration load."""

from __future__ import annotations

from decimal import Decimal

ALL_ENDPOINT_FEATURES = ["images", "analytics"]

DEMO_PLANS: list[dict] = [
    {
        "slug": "free",
        "name": "Free",
        "sort_order": 10,
        "description": "Pet CRUD, 10,000 calls a month, forever free. No credit card.",
        "monthly_price": Decimal("0.00"),
        "included_units": 10_000,
        "overage_policy": "block",
        "pricing": {},
        "rate_limit_per_minute": 10,
        "max_keys": 2,
        "features": [],
    },
    {
        "slug": "pro",
        "name": "Pro",
        "sort_order": 20,
        "description": "All endpoints, 50,000 calls included, then $0.001 a call.",
        "monthly_price": Decimal("49.00"),
        "included_units": 50_000,
        "overage_policy": "bill",
        "pricing": {"model": "per_unit", "unit_price": "0.001"},
        "rate_limit_per_minute": 100,
        "max_keys": 5,
        "features": ALL_ENDPOINT_FEATURES,
        "trial_days": 14,
    },
    {
        "slug": "business",
        "name": "Business",
        "sort_order": 30,
        "description": "All endpoints and webhooks, 500,000 calls included, then $0.001 a call.",
        "monthly_price": Decimal("199.00"),
        "included_units": 500_000,
        "overage_policy": "bill",
        "pricing": {"model": "per_unit", "unit_price": "0.001"},
        "rate_limit_per_minute": 1000,
        "max_keys": 20,
        "features": [*ALL_ENDPOINT_FEATURES, "webhooks"],
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
        "pricing": {},
        "rate_limit_per_minute": 10_000,
        "max_keys": 100,
        "features": [
            *ALL_ENDPOINT_FEATURES,
            "advanced_analytics",
            "webhooks",
            "sla",
            "priority_support",
        ],
    },
]


def seed_plans(plan_model, *, overwrite: bool = False) -> tuple[int, int]:
    """Create missing demo plans (and with `overwrite`, reset existing ones). Idempotent."""
    created = updated = 0
    # A historical model (the data migration) may not have every field yet.
    known = {field.name for field in plan_model._meta.get_fields()}
    for spec in DEMO_PLANS:
        fields = {k: v for k, v in spec.items() if k != "slug" and k in known}
        plan, was_created = plan_model.objects.get_or_create(slug=spec["slug"], defaults=fields)
        if was_created:
            created += 1
        elif overwrite:
            for name, value in fields.items():
                setattr(plan, name, value)
            plan.save()
            updated += 1
    return created, updated
