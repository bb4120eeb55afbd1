"""The rating engine and Stripe agree: for each pricing model, the engine's total for a usage
equals the invoice Stripe (the local server) previews for the same usage reported to its meters.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
import stripe
from django.core.management import call_command
from django.db.models import F
from django.utils import timezone

from accounts.models import Plan
from accounts.services import customer_register
from billing.reporting import usage_report_to_stripe
from billing.services import subscription_change
from billing.stripe_catalog import stripe_catalog_sync
from metering.models import UsageRecord
from pricing.engine import Usage, quote_for_plan

# (preset, plan, {endpoint label: calls}) — units follow the endpoint weights (1/2/10).
CASES = [
    ("stack", "pro", {"GET /api/v1/pets": 128_000}),
    ("stack", "business", {"GET /api/v1/pets": 400_000, "POST /api/v1/pets": 90_001}),
    ("graduated", "metered", {"GET /api/v1/pets": 1_500_000}),
    ("graduated", "metered", {"GET /api/v1/pets": 99_999}),
    ("hybrid", "hybrid", {"GET /api/v1/pets": 10_000, "POST /api/v1/pets": 3_333}),
    (
        "pay-per-call",
        "payg",
        {
            "GET /api/v1/pets": 150_000,
            "POST /api/v1/pets": 20_001,
            "POST /api/v1/pets/{pk}/image": 1_234,
        },
    ),
]

WEIGHTS = {
    "GET /api/v1/pets": (1, "read"),
    "POST /api/v1/pets": (2, "write"),
    "POST /api/v1/pets/{pk}/image": (10, "image"),
}


def add_usage(customer, endpoint: str, calls: int) -> None:
    weight, _ = WEIGHTS[endpoint]
    hour = timezone.now().replace(minute=0, second=0, microsecond=0)
    row, _ = UsageRecord.objects.get_or_create(customer=customer, endpoint=endpoint, hour=hour)
    UsageRecord.objects.filter(pk=row.pk).update(
        calls=F("calls") + calls, units=F("units") + calls * weight
    )


@pytest.mark.django_db
@pytest.mark.parametrize(("preset", "slug", "calls"), CASES)
def test_engine_total_equals_the_stripe_invoice(stripe_server, preset, slug, calls):
    call_command("load_pricing_preset", preset)
    stripe_catalog_sync()
    plan = Plan.objects.get(slug=slug)
    customer, _ = customer_register(email=f"{slug}@parity.example")
    subscription_change(customer=customer, plan=plan, payment_method="pm_card_visa")
    customer.refresh_from_db()
    for endpoint, count in calls.items():
        add_usage(customer, endpoint, count)

    assert usage_report_to_stripe(now=timezone.now() + timedelta(hours=2)).failed == 0
    preview = stripe.Invoice.create_preview(customer=customer.stripe_customer_id)

    units = sum(WEIGHTS[e][0] * n for e, n in calls.items())
    by_class: dict[str, int] = {}
    for endpoint, count in calls.items():
        by_class[WEIGHTS[endpoint][1]] = by_class.get(WEIGHTS[endpoint][1], 0) + count
    engine = quote_for_plan(plan, Usage(units=units, calls=by_class))
    # The preview bills next month's base fee and this month's usage: the engine's month.
    assert Decimal(preview.total) / 100 == engine.total, (engine.to_dict(), preview.lines.data)
