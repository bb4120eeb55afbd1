"""The Django cache on a Redis Cluster (core/redis_cache.py): django-redis with our cluster
client, against a real 3-master cluster; keys of the same test land on several nodes."""

from __future__ import annotations

import pytest
from django_redis.cache import RedisCache
from redis.cluster import RedisCluster

from core.redis_cache import ClusterConnectionFactory


@pytest.fixture
def cluster_cache(local_redis_cluster):
    cache = RedisCache(
        local_redis_cluster.url,
        {
            "KEY_PREFIX": "cache-test",
            "OPTIONS": {"CLIENT_CLASS": "core.redis_cache.ClusterClient", "SOCKET_TIMEOUT": 2},
        },
    )
    yield cache
    cache.clear()


def test_cache_operations_route_each_key_to_its_node(cluster_cache, local_redis_cluster):
    keys = [f"k{n}" for n in range(30)]
    cluster_cache.set_many({key: n for n, key in enumerate(keys)}, timeout=60)
    assert cluster_cache.get_many(keys) == {key: n for n, key in enumerate(keys)}
    assert cluster_cache.add("counter", 1, timeout=60) is True
    assert cluster_cache.add("counter", 5, timeout=60) is False
    assert cluster_cache.incr("counter", 2) == 3
    assert cluster_cache.get("missing", "default") == "default"
    cluster_cache.delete_many(keys[:10])
    assert cluster_cache.get_many(keys[:12]) == {"k10": 10, "k11": 11}
    # The keys really are spread: more than one master holds some.
    raw = RedisCluster.from_url(local_redis_cluster.url)
    try:
        holders = {raw.get_node_from_key(cluster_cache.make_key(k)).name for k in keys}
    finally:
        raw.close()
    assert len(holders) == 3


def test_an_unreachable_cluster_raises_what_a_down_redis_raises(free_port_url):
    from redis.exceptions import ConnectionError as RedisConnectionError

    cache = RedisCache(
        free_port_url, {"OPTIONS": {"CLIENT_CLASS": "core.redis_cache.ClusterClient"}}
    )
    with pytest.raises(RedisConnectionError):
        cache.get("anything")
    assert not ClusterConnectionFactory._clusters.get(free_port_url)


@pytest.fixture
def free_port_url():
    from petstore.ports import free_port

    return f"redis://127.0.0.1:{free_port()}/0"
