"""Metering across real processes: gunicorn with two workers, Redis and the test database."""

import random
import threading
import time
from collections import Counter

import pytest
import requests
from django.db.models import Sum

from accounts import services as account_services
from accounts.models import ApiKey, Plan
from core.periods import current_period
from metering import services, store
from metering.models import UsageRecord
from tests.servers import gunicorn

WEIGHTS = {"list": 1, "create": 2, "get": 1, "patch": 2, "missing": 0}


@pytest.mark.django_db(transaction=True)
def test_counts_are_exact_under_concurrency(make_customer):
    customer, raw = make_customer("business")  # 1,000 requests a minute
    headers = {"X-API-Key": raw}
    served: Counter = Counter()
    errors: Counter = Counter()
    lock = threading.Lock()
    stop_flushing = threading.Event()

    with gunicorn(workers=2) as url:
        seed = requests.post(f"{url}/api/v1/pets", json={"name": "seed"}, headers=headers)
        pet_id = seed.json()["id"]
        with lock:
            served["create"] += 1

        def hammer(worker: int) -> None:
            rng = random.Random(worker)
            session = requests.Session()
            session.headers.update(headers)
            for _ in range(40):
                kind = rng.choice(list(WEIGHTS))
                if kind == "list":
                    r = session.get(f"{url}/api/v1/pets")
                elif kind == "create":
                    r = session.post(f"{url}/api/v1/pets", json={"name": f"p{worker}"})
                elif kind == "get":
                    r = session.get(f"{url}/api/v1/pets/{pet_id}")
                elif kind == "patch":
                    r = session.patch(f"{url}/api/v1/pets/{pet_id}", json={"status": "sold"})
                else:
                    r = session.get(f"{url}/api/v1/pets/99999999")
                with lock:
                    if r.status_code < 400:
                        served[kind] += 1
                    else:
                        errors[r.status_code] += 1

        def flusher() -> None:
            from django.db import connection

            while not stop_flushing.is_set():
                services.usage_flush()
                time.sleep(0.05)
            connection.close()

        flush_thread = threading.Thread(target=flusher)
        flush_thread.start()
        threads = [threading.Thread(target=hammer, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        stop_flushing.set()
        flush_thread.join()

    expected_units = sum(WEIGHTS[kind] * n for kind, n in served.items())
    expected_calls = sum(served.values())
    assert set(errors) <= {404}
    assert served["missing"] == 0 and errors[404] > 0
    period_units = int(
        store.client().hget(store.period_key(customer.pk, current_period().id), "units")
    )
    assert period_units == expected_units

    services.usage_flush()
    ledger = UsageRecord.objects.filter(customer=customer).aggregate(
        calls=Sum("calls"), units=Sum("units"), errors=Sum("errors")
    )
    assert ledger == {"calls": expected_calls, "units": expected_units, "errors": errors[404]}


@pytest.mark.django_db(transaction=True)
def test_revocation_and_plan_change_reach_every_worker_at_once(make_customer):
    customer, raw = make_customer("free")
    headers = {"X-API-Key": raw}
    second, second_raw = account_services.api_key_create(customer=customer, name="second")
    with gunicorn(workers=2) as url:
        session = requests.Session()
        second_headers = {"X-API-Key": second_raw}
        # Warm both workers' caches (grants and plan) with both keys.
        for _ in range(4):
            assert session.get(f"{url}/api/v1/pets", headers=headers).status_code == 200
            assert session.get(f"{url}/api/v1/pets", headers=second_headers).status_code == 200
        assert session.get(f"{url}/api/v1/analytics", headers=headers).status_code == 403

        account_services.customer_change_plan(customer=customer, plan=Plan.objects.get(slug="pro"))
        started = time.monotonic()
        statuses = {
            session.get(f"{url}/api/v1/analytics", headers=headers).status_code for _ in range(6)
        }
        assert statuses == {200}, "the upgrade applies on the very next request everywhere"
        assert (
            session.get(f"{url}/api/v1/pets", headers=headers).headers["X-RateLimit-Limit"] == "100"
        )

        account_services.api_key_revoke(api_key=ApiKey.objects.get(pk=second.pk))
        statuses = {
            session.get(f"{url}/api/v1/pets", headers=second_headers).status_code for _ in range(6)
        }
        assert statuses == {401}
        assert time.monotonic() - started < 2.0
        assert session.get(f"{url}/api/v1/pets", headers=headers).status_code == 200
