"""A real `manage.py flush_usage` process killed by SIGKILL mid-way, then a normal flush:
nothing lost, nothing doubled. No hook in the code makes the kill points deterministic: the
ledger is locked (another database connection) so that the flush stops at its transaction, and
Redis is paused so that it stops right after committing, before it deletes its batches."""

from __future__ import annotations

import signal
import subprocess
import sys
from contextlib import contextmanager

import pytest
from django.conf import settings
from django.db import connections

from metering import services, store
from metering.models import FlushedBatch
from tests.faults.conftest import ledger_totals, wait_until
from tests.servers import server_env

PETS = "/api/v1/pets"
FLUSH_CLIENT = "fault-flush"  # the Redis client name of the flush process under test


@contextmanager
def ledger_locked():
    """Another connection holds the lock a flush's transaction needs until the block ends."""
    other = connections.create_connection("default")
    other.ensure_connection()
    raw = other.connection
    cursor = raw.cursor()
    if other.vendor == "sqlite":
        cursor.execute("BEGIN IMMEDIATE")  # the flush's IMMEDIATE transaction waits for it
    else:
        cursor.execute("BEGIN")
        cursor.execute("LOCK TABLE metering_flushedbatch IN ACCESS EXCLUSIVE MODE")
    try:
        yield
    finally:
        cursor.execute("ROLLBACK")
        other.close()


def start_flush(redis_url: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "manage.py", "flush_usage"],
        cwd=settings.BASE_DIR,
        env=server_env(REDIS_URL=f"{redis_url}?client_name={FLUSH_CLIENT}"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def at_ledger_step(r, customer_id: int) -> bool:
    """The flush has taken the customer's counters (its pending hash is gone: the take script
    returns the batch's counters, and the flush's next step is the ledger's transaction)."""
    connected = any(c.get("name") == FLUSH_CLIENT for c in r.client_list())
    return connected and not r.exists(store.pending_key(customer_id))


def traffic(client, n: int = 4) -> None:
    for _ in range(n):
        assert client.post(PETS, {"name": "p"}, format="json").status_code == 201  # 2 units
        assert client.get(PETS).status_code == 200  # 1 unit
    assert client.get(f"{PETS}/999999").status_code == 404  # an error, 0 units


def kill(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL  # killed by us, not finished or failed


@pytest.mark.django_db(transaction=True)
def test_flush_killed_after_taking_the_counters_loses_nothing(pro_client, app_on_own_redis):
    customer_id = pro_client.customer.pk
    traffic(pro_client)
    r = app_on_own_redis.client()
    with ledger_locked():
        proc = start_flush(app_on_own_redis.url)
        wait_until(lambda: at_ledger_step(r, customer_id), what="the flush to reach the ledger")
        kill(proc)
    # The counters left the pending hash for a batch that nothing applied.
    assert not r.exists(store.pending_key(customer_id))
    assert len(store.registered_batches()) == 1
    assert ledger_totals(customer_id) == {"calls": 0, "units": 0, "errors": 0}
    traffic(pro_client, n=1)  # traffic between the crash and the next flush
    services.usage_flush()
    assert ledger_totals(customer_id) == {"calls": 10, "units": 15, "errors": 2}
    assert not store.registered_batches()


@pytest.mark.django_db(transaction=True)
def test_flush_killed_after_its_commit_doubles_nothing(pro_client, app_on_own_redis):
    customer_id = pro_client.customer.pk
    traffic(pro_client)
    r = app_on_own_redis.client()
    with ledger_locked():
        proc = start_flush(app_on_own_redis.url)
        wait_until(lambda: at_ledger_step(r, customer_id), what="the flush to reach the ledger")
        app_on_own_redis.pause()
    try:
        # The lock is gone: the flush commits, then stalls deleting its batches from Redis.
        wait_until(FlushedBatch.objects.exists, timeout=10, what="the flush's commit")
        kill(proc)
    finally:
        app_on_own_redis.resume()
    assert ledger_totals(customer_id) == {"calls": 8, "units": 12, "errors": 1}
    traffic(pro_client, n=1)
    services.usage_flush()  # finds the applied batch (if still there) and only forgets it
    assert ledger_totals(customer_id) == {"calls": 10, "units": 15, "errors": 2}
    assert not store.registered_batches()
