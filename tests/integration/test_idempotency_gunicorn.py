"""Idempotency-Key across real processes: gunicorn with two sync workers on the test database and
the suite's Redis.

The first request with a key is held inside its endpoint by a lock the test takes on the pets
table (a pet created meanwhile waits, as behind a slow query), so the retry sent meanwhile is
answered by the other worker (the first one is busy): it must see the key in use."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import pytest
import requests
from django.db import connection, transaction

from metering import store
from metering.idempotency import record_key
from petstore.models import Pet
from tests.faults.conftest import wait_until
from tests.servers import gunicorn

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def server(django_db_setup):
    with gunicorn(workers=2) as url:
        yield url


@contextmanager
def pet_writes_held():
    """Until exit, no other connection can add a pet: PostgreSQL locks the table against
    writes, SQLite holds its one write lock (its busy timeout, 20 s, bounds the wait)."""
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("LOCK TABLE petstore_pet IN EXCLUSIVE MODE")
        else:
            cursor.execute("UPDATE petstore_pet SET name = name WHERE id = -1")
        yield


def test_a_retry_while_the_first_request_runs_is_409_in_use(server, make_customer):
    customer, raw = make_customer("pro")
    url = f"{server}/api/v1/pets"
    headers = {"X-API-Key": raw, "Idempotency-Key": "slow-create"}
    record = record_key(customer.pk, "slow-create")

    with ThreadPoolExecutor(max_workers=1) as pool:
        with pet_writes_held():
            running = pool.submit(
                requests.post, url, json={"name": "Rex"}, headers=headers, timeout=30
            )
            wait_until(lambda: store.client().exists(record), what="the first request's claim")
            retry = requests.post(url, json={"name": "Rex"}, headers=headers, timeout=30)
            other = requests.post(url, json={"name": "Max"}, headers=headers, timeout=30)
            assert not running.done()
        first = running.result(timeout=30)

    assert retry.status_code == 409 and retry.json()["error"] == "idempotency_key_in_use"
    assert other.status_code == 409 and other.json()["error"] == "idempotency_key_reused"
    assert first.status_code == 201 and "Idempotent-Replayed" not in first.headers
    replay = requests.post(url, json={"name": "Rex"}, headers=headers, timeout=30)
    assert replay.status_code == 201 and replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json() == first.json()
    assert Pet.objects.filter(owner=customer).count() == 1


def test_every_worker_replays_the_same_answer(server, make_customer):
    customer, raw = make_customer("pro")
    headers = {"X-API-Key": raw, "Idempotency-Key": "many"}
    url = f"{server}/api/v1/pets"
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(
            pool.map(
                lambda _: requests.post(url, json={"name": "Rex"}, headers=headers, timeout=30),
                range(12),
            )
        )
    created = [a for a in answers if a.status_code == 201]
    in_use = [a for a in answers if a.status_code == 409]
    assert len(created) + len(in_use) == 12
    assert {a.json()["error"] for a in in_use} <= {"idempotency_key_in_use"}
    assert len({a.json()["id"] for a in created}) == 1
    assert sum("Idempotent-Replayed" not in a.headers for a in created) == 1
    assert Pet.objects.filter(owner=customer).count() == 1
    usage = requests.get(f"{server}/api/v1/usage", headers={"X-API-Key": raw}, timeout=30).json()
    rows = {row["endpoint"]: row for row in usage["by_endpoint"]}
    assert (rows["POST /api/v1/pets"]["calls"], rows["POST /api/v1/pets"]["units"]) == (1, 2)
