"""The prepaid cap under concurrency: two gunicorn workers of eight threads, twenty clients at
once, and exactly the allowance's units are served (the admission script checks and counts
atomically; tests/billing/test_prepaid.py covers the rest of the policy)."""

from __future__ import annotations

from decimal import Decimal

import pytest
import requests

from accounts.models import Plan
from billing.models import CreditEntry
from core.periods import current_period
from tests.factories import CustomerFactory
from tests.servers import burst, gunicorn


@pytest.mark.django_db(transaction=True)
def test_a_burst_through_threaded_gunicorn_admits_exactly_the_allowance():
    plan = Plan.objects.create(
        slug="prepaid",
        name="Prepaid",
        monthly_price=Decimal("0.00"),
        included_units=10,
        overage_policy="prepaid",
        pricing={"model": "per_unit", "unit_price": "0.01"},
        rate_limit_per_minute=10_000,
    )
    customer = CustomerFactory(email="burst@example.com", plan=plan)
    CreditEntry.objects.create(
        customer=customer, kind="purchase", amount=Decimal("0.27"), period=current_period().id
    )
    allowance = 10 + 27
    with gunicorn(workers=2, threads=8) as url:
        result = burst(url, customer.raw_key, clients=20, calls_each=6)
        usage = requests.get(
            f"{url}/api/v1/usage", headers={"X-API-Key": customer.raw_key}, timeout=30
        ).json()
    assert result.statuses == {200: allowance, 429: 120 - allowance}
    assert result.errors == {"credits_exhausted": 120 - allowance}
    assert usage["units_used"] == allowance
