"""The prepaid cap under concurrency: two gunicorn workers of eight threads, twenty clients at
once, and exactly the allowance's units are served (the admission script checks and counts
atomically; tests/billing/test_prepaid.py covers the rest of the policy)."""

from __future__ import annotations

import threading
from collections import Counter
from decimal import Decimal

import pytest
import requests

from accounts.models import Plan
from billing.models import CreditEntry
from core.periods import current_period
from tests.factories import CustomerFactory
from tests.servers import gunicorn

PETS = "/api/v1/pets"


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
    statuses: Counter = Counter()
    errors: Counter = Counter()
    lock = threading.Lock()
    with gunicorn(workers=2, threads=8) as url:
        start = threading.Barrier(20)

        def burst() -> None:
            session = requests.Session()
            session.headers["X-API-Key"] = customer.raw_key
            start.wait(timeout=30)
            for _ in range(6):
                answer = session.get(f"{url}{PETS}", timeout=30)
                with lock:
                    statuses[answer.status_code] += 1
                    if answer.status_code == 429:
                        errors[answer.json()["error"]] += 1

        threads = [threading.Thread(target=burst) for _ in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        usage = requests.get(
            f"{url}/api/v1/usage", headers={"X-API-Key": customer.raw_key}, timeout=30
        ).json()
    assert statuses == {200: allowance, 429: 120 - allowance}
    assert errors == {"credits_exhausted": 120 - allowance}
    assert usage["units_used"] == allowance
