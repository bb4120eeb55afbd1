"""The chunked flush: a crash between chunks, flush processes running at once on the shards, the
shard lock's fence, and a flush that wakes up after another adopted its work."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Sum

from metering import services, store
from metering.models import FlushedBatch, UsageRecord
from metering.services import flush
from metering.services.flush_locks import ShardLock, ShardLockLost
from tests.servers import server_env

PETS = "/api/v1/pets"


def ledger(customer_id: int) -> tuple[int, int]:
    totals = UsageRecord.objects.filter(customer_id=customer_id).aggregate(
        calls=Sum("calls"), units=Sum("units")
    )
    return totals["calls"] or 0, totals["units"] or 0


def call(client, served: dict) -> None:
    """One list (1 unit) and one create (2 units), counted as served when answered 2xx."""
    pk = client.customer.pk
    calls, units = served.get(pk, (0, 0))
    if client.get(PETS).status_code == 200:
        calls, units = calls + 1, units + 1
    if client.post(PETS, {"name": "p"}, format="json").status_code == 201:
        calls, units = calls + 1, units + 2
    served[pk] = (calls, units)


@pytest.fixture
def clients(make_customer):
    from tests.conftest import KeyClient

    made = []
    for _ in range(6):
        customer, raw = make_customer("pro")
        made.append(KeyClient(raw, customer))
    return made


def crash_at(monkeypatch, name: str, nth: int, *, after: bool = False) -> None:
    """The flush dies at the n-th call of one of its steps (before it runs, or right after)."""
    original = getattr(flush, name)
    calls = {"n": 0}

    def step(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == nth and not after:
            raise RuntimeError(f"flush killed before {name} #{nth}")
        result = original(*args, **kwargs)
        if calls["n"] == nth:
            raise RuntimeError(f"flush killed after {name} #{nth}")
        return result

    monkeypatch.setattr(flush, name, step)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("step", "after"),
    [("_flush_chunk", False), ("_apply_chunk", False), ("_apply_chunk", True), ("_forget", False)],
    ids=["after-take", "before-commit", "after-commit", "before-forget"],
)
def test_a_flush_killed_between_chunks_loses_nothing_and_doubles_nothing(
    clients, monkeypatch, step, after
):
    served: dict = {}
    for client in clients:
        call(client, served)
    crash_at(monkeypatch, step, 3, after=after)
    with pytest.raises(RuntimeError, match="flush killed"):
        services.usage_flush(chunk_size=1)
    # Some chunks made it, the rest did not: nothing is counted twice meanwhile.
    applied = sum(ledger(c.customer.pk)[0] for c in clients)
    assert 0 < applied < sum(calls for calls, _ in served.values())
    for client in clients:
        usage = client.get("/api/v1/usage")  # a call too (0 units)
        assert usage.json()["units_used"] == served[client.customer.pk][1]
        calls, units = served[client.customer.pk]
        served[client.customer.pk] = (calls + 1, units)
    monkeypatch.undo()
    for client in clients:  # traffic between the crash and the next flush
        call(client, served)
    services.usage_flush(chunk_size=1)
    assert {c.customer.pk: ledger(c.customer.pk) for c in clients} == served
    assert not store.registered_batches()
    assert not store.dirty_customers()


@pytest.mark.django_db
def test_a_flush_that_wakes_up_after_its_work_was_adopted_changes_nothing(clients):
    """A flush claimed customers, then stalled before taking them (its lock gone, it does not
    know yet). The next flush re-marks them and flushes them; the stalled one's late take finds
    its batch written off and moves nothing."""
    served: dict = {}
    client = clients[0]
    call(client, served)
    pk = client.customer.pk
    shard = store.dirty_shard(pk)
    stalled_chunk = "1700000000-stalledflush.0-0"
    claimed = store.claim_dirty_script()(
        keys=[store.dirty_key(shard), store.batch_registry_key(shard)], args=[10, stalled_chunk]
    )
    assert claimed == [str(pk)] and not store.is_dirty(pk)
    services.usage_flush()
    assert ledger(pk) == served[pk]
    call(client, served)  # new pending counters
    name = store.batch_key(pk, stalled_chunk)
    late = store.take_pending_script()(
        keys=[store.pending_key(pk), name, store.batches_key(pk), store.adopted_key(name)]
    )
    assert late == []
    assert store.client().exists(store.pending_key(pk))  # left for the next flush
    services.usage_flush()
    assert ledger(pk) == served[pk]


@pytest.mark.django_db(transaction=True)
def test_two_flush_processes_at_once_during_traffic_count_everything_once(clients):
    """Two `manage.py flush_usage` processes, started together and again while traffic goes on,
    working the shards from opposite ends in chunks of one customer."""
    served: dict = {}
    for client in clients:
        call(client, served)
    forward = [f"--shard={s}" for s in range(store.DIRTY_SHARDS)]
    env = server_env()
    outputs: list[str] = []
    for _ in range(2):
        procs = [
            subprocess.Popen(
                [sys.executable, "manage.py", "flush_usage", "--chunk-size=1", *shards],
                cwd=settings.BASE_DIR,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            for shards in (forward, forward[::-1])
        ]
        for client in clients:
            call(client, served)
        for proc in procs:
            out, _ = proc.communicate(timeout=120)
            assert proc.returncode == 0, out
            outputs.append(out)
    services.usage_flush()
    assert {c.customer.pk: ledger(c.customer.pk) for c in clients} == served
    assert not store.registered_batches()
    applied = [int(re.search(r"(\d+) applied", out).group(1)) for out in outputs]
    # The first round's two flushes applied each customer's batch once between them.
    assert applied[0] + applied[1] == len(clients)
    # One marker per chunk applied, and no chunk applied twice (the markers are unique).
    assert FlushedBatch.objects.count() == len(set(FlushedBatch.objects.values_list("key")))


@pytest.mark.django_db(transaction=True)
def test_a_flush_whose_connection_was_replaced_cannot_commit():
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's advisory lock; SQLite's flock dies with the process")
    lock = ShardLock(3)
    assert lock.acquire()
    connection.close()  # the session, and its lock, are gone; Django reconnects on next use
    other_done = threading.Event()
    got: list[bool] = []

    def other_flush():
        from django.db import connection as own

        other = ShardLock(3)
        got.append(other.acquire())
        other.release()
        own.close()
        other_done.set()

    thread = threading.Thread(target=other_flush)
    thread.start()
    thread.join(timeout=30)
    assert got == [True]
    with pytest.raises(ShardLockLost), transaction.atomic():
        lock.confirm()


@pytest.mark.django_db
def test_marks_and_batches_left_by_the_previous_release_are_flushed_once(clients):
    """Deployed over live data: a dirty mark in the old unsharded set, a batch an old flush took
    ten minutes ago and never applied, and one it applied but did not delete."""
    served: dict = {}
    a, b, c = (client.customer.pk for client in clients[:3])
    for client in clients[:3]:
        call(client, served)
    r = store.client()
    ten_minutes_ago = int(time.time()) - 600
    r.srem(store.dirty_key(store.dirty_shard(a)), a)
    r.sadd(store.LEGACY_DIRTY_SET, a)
    for pk in (b, c):
        old = f"{store.tag(pk)}:batch:{ten_minutes_ago}-oldrelease{pk}"
        r.srem(store.dirty_key(store.dirty_shard(pk)), pk)
        r.rename(store.pending_key(pk), old)
        r.sadd(store.batches_key(pk), old)
        r.sadd(store.LEGACY_BATCH_REGISTRY, old)
    # c's batch was applied by the old flush (its marker, one per batch then, and its rows).
    applied = f"{store.tag(c)}:batch:{ten_minutes_ago}-oldrelease{c}"
    rows, _, _ = flush._aggregate({applied: r.hgetall(applied)})
    with transaction.atomic():
        flush._upsert_usage(rows)
        FlushedBatch.objects.create(key=applied)
    services.usage_flush()
    assert {pk: ledger(pk) for pk in (a, b, c)} == {pk: served[pk] for pk in (a, b, c)}
    assert not store.registered_batches() and not store.dirty_customers()
    assert not r.exists(applied)
