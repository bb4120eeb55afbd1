"""The ledger flush: idempotent, crash-safe, safe to run concurrently."""

import threading

import pytest
from django.db.models import Sum

from metering import services, store
from metering.models import FlushedBatch, UsageRecord
from metering.services import flush

PETS = "/api/v1/pets"


def ledger_totals(customer):
    totals = UsageRecord.objects.filter(customer=customer).aggregate(
        calls=Sum("calls"), units=Sum("units"), errors=Sum("errors"), refused=Sum("refused")
    )
    return {k: v or 0 for k, v in totals.items()}


def traffic(client, n=5):
    for _ in range(n):
        client.post(PETS, {"name": "p"}, format="json")  # 2 units
        client.get(PETS)  # 1 unit
    client.get(f"{PETS}/999999")  # error, 0 units


@pytest.mark.django_db
def test_flush_moves_counters_and_is_idempotent(pro_client, redis_client):
    traffic(pro_client)
    result = services.usage_flush()
    assert result.batches_applied == 1
    assert ledger_totals(pro_client.customer) == {
        "calls": 10,
        "units": 15,
        "errors": 1,
        "refused": 0,
    }
    assert not redis_client.exists(store.pending_key(pro_client.customer.pk))
    assert len(store.registered_batches()) == 0
    again = services.usage_flush()
    assert again.batches_applied == 0
    assert ledger_totals(pro_client.customer)["units"] == 15


@pytest.mark.django_db
def test_flush_records_last_used_at(pro_client):
    from accounts.models import ApiKey

    key = ApiKey.objects.get(customer=pro_client.customer)
    assert key.last_used_at is None
    pro_client.get(PETS)
    services.usage_flush()
    key.refresh_from_db()
    assert key.last_used_at is not None


@pytest.mark.django_db
def test_crash_after_taking_counters_before_commit_is_finished_next_time(
    pro_client, redis_client, monkeypatch
):
    traffic(pro_client)

    def crash(rows):
        raise RuntimeError("worker killed mid-flush")

    monkeypatch.setattr(flush, "_upsert_usage", crash)
    with pytest.raises(RuntimeError):
        services.usage_flush()
    # The counters left the pending hash but nothing reached the ledger, and the batch waits.
    assert not redis_client.exists(store.pending_key(pro_client.customer.pk))
    assert len(store.registered_batches()) == 1
    assert ledger_totals(pro_client.customer)["units"] == 0
    assert not FlushedBatch.objects.exists()
    # Usage stays exact meanwhile: the API reads unapplied batches too.
    assert pro_client.get("/api/v1/usage").json()["units_used"] == 15

    monkeypatch.undo()
    traffic(pro_client, n=1)  # new traffic between the crash and the retry
    services.usage_flush()
    assert ledger_totals(pro_client.customer) == {
        "calls": 13,
        "units": 18,
        "errors": 2,
        "refused": 0,
    }
    assert len(store.registered_batches()) == 0


@pytest.mark.django_db
def test_crash_after_commit_before_cleanup_does_not_double_count(
    pro_client, redis_client, monkeypatch
):
    traffic(pro_client)

    def crash(*args):
        raise RuntimeError("worker killed after its commit")

    monkeypatch.setattr(flush, "_forget", crash)
    with pytest.raises(RuntimeError):
        services.usage_flush()
    # ...killed there: the ledger has the batch, Redis still holds it.
    assert ledger_totals(pro_client.customer)["units"] == 15
    (left,) = store.registered_batches()
    assert redis_client.exists(left)
    assert pro_client.get("/api/v1/usage").json()["units_used"] == 15
    monkeypatch.undo()
    services.usage_flush()
    assert ledger_totals(pro_client.customer)["units"] == 15
    assert not redis_client.exists(left)
    assert not store.registered_batches()
    assert pro_client.get("/api/v1/usage").json()["units_used"] == 15


@pytest.mark.django_db(transaction=True)
def test_concurrent_flushes_during_traffic_count_everything_once(pro_client):
    """Flushes racing each other and the traffic: the ledger ends equal to what was served."""
    stop = threading.Event()
    errors: list[BaseException] = []

    def flusher():
        from django.db import connection

        try:
            while not stop.is_set():
                services.usage_flush()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=flusher) for _ in range(3)]
    for t in threads:
        t.start()
    served_units = 0
    for _ in range(30):
        if pro_client.get(PETS).status_code == 200:
            served_units += 1
        if pro_client.post(PETS, {"name": "p"}, format="json").status_code == 201:
            served_units += 2
    stop.set()
    for t in threads:
        t.join()
    assert not errors
    services.usage_flush()
    assert served_units == 90
    assert ledger_totals(pro_client.customer)["units"] == served_units
    assert ledger_totals(pro_client.customer)["calls"] == 60


@pytest.mark.django_db
def test_refund_after_a_flush_took_the_counters_still_nets_out(pro_client, redis_client):
    """A request admitted before a flush and failing after it: its refund lands in a new
    pending hash (marked dirty) and the next flush nets the ledger back."""
    admission = services.request_admit(
        raw_key=pro_client.raw_key, method="GET", route="api/v1/pets"
    )
    services.usage_flush()
    assert ledger_totals(pro_client.customer)["units"] == 1
    services.request_finish(admission, 500)
    assert store.is_dirty(pro_client.customer.pk)
    services.usage_flush()
    assert ledger_totals(pro_client.customer) == {"calls": 0, "units": 0, "errors": 1, "refused": 0}
