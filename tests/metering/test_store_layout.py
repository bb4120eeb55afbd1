"""The Redis layout on a cluster: every script touches one slot, the global keys are spread."""

from __future__ import annotations

import pytest
from redis.cluster import RedisCluster
from redis.crc import key_slot

from core.periods import current_period
from metering import store
from metering.idempotency import record_key
from metering.rules import PlanRules
from metering.services import CountedRequest, admission_call


def slots(keys) -> set[int]:
    return {key_slot(key.encode()) for key in keys}


def test_each_shard_tag_lies_in_its_sixteenth_of_the_slots():
    for shard in range(store.DIRTY_SHARDS):
        for key in (store.dirty_key(shard), store.batch_registry_key(shard)):
            assert key_slot(key.encode()) // 1024 == shard
    # A shard's dirty set and registry share a slot (one claim script touches both).
    for shard in range(store.DIRTY_SHARDS):
        assert len(slots([store.dirty_key(shard), store.batch_registry_key(shard)])) == 1


@pytest.mark.parametrize("customer_id", [1, 42, 99_999, 12_345_678])
def test_every_per_customer_script_stays_in_the_customers_slot(customer_id):
    period = current_period()
    plan = PlanRules(1, "pro", "Pro", 100, 1000, False, frozenset())
    counted = CountedRequest(customer_id, "r:1", 7, period.id, "GET /api/v1/pets", 1)
    batch = store.batch_key(customer_id, "1700000000-abc.3-0")
    adopted_into = store.batch_key(customer_id, "1700000001-def.3-0")
    calls = {
        "meter": admission_call(counted, "0" * 64)[0],
        "meter_account": admission_call(counted, "0" * 64, account=True, explicit=plan)[0],
        "grant_load": [store.cfg_key(customer_id), store.grant_key(customer_id)],
        "idempotency": [store.cfg_key(customer_id), record_key(customer_id, "retry-1")],
        "uncount": counted.uncount_keys(),
        "refuse": [store.pending_key(customer_id)],
        "take": [
            store.pending_key(customer_id),
            batch,
            store.batches_key(customer_id),
            store.adopted_key(batch),
        ],
        "forget": [batch, store.batches_key(customer_id)],
        "adopt": [
            batch,
            adopted_into,
            store.batches_key(customer_id),
            store.adopted_key(batch),
            store.adopted_key(adopted_into),
        ],
        "unapplied": [store.pending_key(customer_id), store.batches_key(customer_id)],
        "token": [store.cfg_key(customer_id)],
    }
    assert len(slots(key for keys in calls.values() for key in keys)) == 1


def test_shards_spread_over_every_master_of_a_cluster(local_redis_cluster):
    cluster = RedisCluster.from_url(local_redis_cluster.url, decode_responses=True)
    try:
        owners = [
            cluster.get_node_from_key(store.dirty_key(shard)).name
            for shard in range(store.DIRTY_SHARDS)
        ]
        masters = {node.name for node in cluster.get_primaries()}
    finally:
        cluster.close()
    assert set(owners) == masters
    # 16 shards over 3 masters with equal slot ranges: 5 or 6 each, no node with all the work.
    assert sorted(owners.count(m) for m in masters) == [5, 5, 6]
