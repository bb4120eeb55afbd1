"""django-redis on a Redis Cluster (`REDIS_CLUSTER=true`).

django-redis has no cluster client; its maintainers leave that to a pluggable client class
(jazzband/django-redis#208), and redis-py's own `RedisCluster` does the routing. This is that
client, kept small: the connection factory hands django-redis one `RedisCluster` per seed URL
(which keeps a pool per node itself), and the few multi-key operations that plain Redis runs as
one command are split by slot. Everything else (get, set, add, incr, expire, delete,
delete_many, clear) is django-redis's own code on a client that routes each key to its node.
"""

from __future__ import annotations

import threading
from typing import Any

from django_redis.client import DefaultClient
from django_redis.exceptions import ConnectionInterrupted
from django_redis.pool import ConnectionFactory
from redis.cluster import RedisCluster
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisClusterException


class ClusterConnectionFactory(ConnectionFactory):
    _clusters: dict[str, RedisCluster] = {}  # per process, like django-redis's own pools
    _lock = threading.Lock()

    def connect(self, url: str) -> RedisCluster:
        with self._lock:
            cluster = self._clusters.get(url)
            if cluster is None:
                options: dict[str, Any] = {}
                for option, name in (
                    ("SOCKET_TIMEOUT", "socket_timeout"),
                    ("SOCKET_CONNECT_TIMEOUT", "socket_connect_timeout"),
                    ("PASSWORD", "password"),
                    ("USERNAME", "username"),
                ):
                    if self.options.get(option):
                        options[name] = self.options[option]
                try:
                    cluster = RedisCluster.from_url(url, **options)
                except RedisClusterException as exc:
                    # No seed node answered: raise what django-redis raises for a plain Redis
                    # that is down (its cache methods re-raise the cause), so callers that
                    # tolerate an outage tolerate this one.
                    cause = RedisConnectionError(str(exc))
                    raise ConnectionInterrupted(connection=None) from cause
                self._clusters[url] = cluster
            return cluster

    def disconnect(self, connection: RedisCluster) -> None:
        connection.disconnect_connection_pools()


class ClusterClient(DefaultClient):
    """django-redis's DefaultClient over a RedisCluster (CACHES' OPTIONS.CLIENT_CLASS)."""

    def __init__(self, server, params, backend) -> None:
        super().__init__(server, params, backend)
        self.connection_factory = ClusterConnectionFactory(self._options)

    def get_many(self, keys, version=None, client=None) -> dict:
        # MGET needs every key in one slot on a cluster: RedisCluster splits it by slot.
        if not keys:
            return {}
        if client is None:
            client = self.get_client(write=False)
        made = {self.make_key(key, version=version): key for key in keys}
        values = client.mget_nonatomic(list(made))
        return {
            made[key]: self.decode(value)
            for key, value in zip(made, values, strict=True)
            if value is not None
        }
