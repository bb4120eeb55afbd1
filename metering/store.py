"""Redis layout and Lua scripts of the metering hot path.

Per-customer keys carry the customer in a hash tag (`{cus_42}`), so every script touches one
slot and the layout shards on Redis Cluster:

    {cus_42}:cfg            authorisation token; changes whenever keys or plan change
    {cus_42}:rl             sliding-window log of admitted requests (sorted set, score = ms)
    {cus_42}:q:202611       billable units of the period (hash field `units`), for quotas
    {cus_42}:pending        counters not yet in the ledger: `<endpoint>|<hour>|<counter>`
                            (calls, units, errors, refused_<reason>)
    {cus_42}:batch:<flush>  pending counters moved out by a flush, until applied
    {cus_42}:batches        names of this customer's unapplied batches

Global keys: `metering:dirty` (customers with pending counters), `metering:batches` (every
unapplied batch, for crash recovery) and `metering:catalog` (version of plans and endpoints).
"""

from __future__ import annotations

import os
import threading

import redis
from django.conf import settings
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

DIRTY_SET = "metering:dirty"
BATCH_REGISTRY = "metering:batches"
CATALOG_VERSION = "metering:catalog"

_client: redis.Redis | None = None
_client_lock = threading.Lock()


def new_client(url: str) -> redis.Redis:
    # Short timeouts and a single immediate retry (for a stale pooled connection): with Redis
    # down, a request must fail in milliseconds, not after a backoff.
    return redis.Redis.from_url(
        url,
        socket_connect_timeout=0.5,
        socket_timeout=1.0,
        health_check_interval=30,
        retry=Retry(NoBackoff(), 1),
        decode_responses=True,
    )


def client() -> redis.Redis:
    """One connection pool per process (fork-safe: redis-py reconnects after a fork)."""
    global _client
    if _client is None:
        with _client_lock:
            if _client is None:
                _client = new_client(settings.REDIS_URL)
    return _client


def tag(customer_id: int) -> str:
    return f"{{cus_{customer_id}}}"


def cfg_key(customer_id: int) -> str:
    return f"{tag(customer_id)}:cfg"


def rate_key(customer_id: int) -> str:
    return f"{tag(customer_id)}:rl"


def period_key(customer_id: int, period_id: str) -> str:
    return f"{tag(customer_id)}:q:{period_id}"


def pending_key(customer_id: int) -> str:
    return f"{tag(customer_id)}:pending"


def batch_key(customer_id: int, flush_id: str) -> str:
    return f"{tag(customer_id)}:batch:{flush_id}"


def batches_key(customer_id: int) -> str:
    return f"{tag(customer_id)}:batches"


def customer_of_batch(name: str) -> int:
    return int(name[len("{cus_") : name.index("}")])


# Admission, in one round trip: check the authorisation token, the sliding-window rate limit and
# the quota, then count the request. Returns {status, remaining, wait_or_reset_ms, period_units,
# hour, fresh}; status 0 ok, 1 rate limited, 2 quota exceeded, -1 stale token, -2 period unseeded.
# `fresh` is 1 when this call created the pending hash (the caller then marks the customer dirty).
METER_LUA = """
local token = redis.call('GET', KEYS[1])
if token ~= ARGV[1] then return {-1} end
local period_units = redis.call('HGET', KEYS[3], 'units')
if not period_units then return {-2} end
period_units = tonumber(period_units)
local t = redis.call('TIME')
local sec = tonumber(t[1])
local now = sec * 1000 + math.floor(tonumber(t[2]) / 1000)
local hour = sec - (sec % 3600)
local limit = tonumber(ARGV[2])
local window = tonumber(ARGV[3])
local weight = tonumber(ARGV[4])
local included = tonumber(ARGV[5])
local fresh = 0
if redis.call('EXISTS', KEYS[4]) == 0 then fresh = 1 end
local field = ARGV[7] .. '|' .. hour .. '|'
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[2])
if count >= limit then
  local oldest = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
  redis.call('HINCRBY', KEYS[4], field .. 'refused_rate_limit', 1)
  return {1, 0, tonumber(oldest[2]) + window - now, period_units, hour, fresh}
end
if included >= 0 and ARGV[6] == '1' and period_units + weight > included then
  redis.call('HINCRBY', KEYS[4], field .. 'refused_quota', 1)
  return {2, limit - count, 0, period_units, hour, fresh}
end
redis.call('ZADD', KEYS[2], now, ARGV[9])
redis.call('PEXPIRE', KEYS[2], window)
period_units = redis.call('HINCRBY', KEYS[3], 'units', weight)
redis.call('HINCRBY', KEYS[4], field .. 'calls', 1)
if weight ~= 0 then redis.call('HINCRBY', KEYS[4], field .. 'units', weight) end
redis.call('HSET', KEYS[4], 'lastused|' .. ARGV[8], sec)
local oldest = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
return {0, limit - count - 1, tonumber(oldest[2]) + window - now, period_units, hour, fresh}
"""

# Undo the billable part of an admitted request that ended in 4xx/5xx: the request stays counted
# as an error, its units and call leave the billable counters and the quota.
REFUND_LUA = """
local fresh = 0
if redis.call('EXISTS', KEYS[2]) == 0 then fresh = 1 end
local weight = tonumber(ARGV[1])
if weight ~= 0 and redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('HINCRBY', KEYS[1], 'units', -weight)
end
redis.call('HINCRBY', KEYS[2], ARGV[2] .. 'calls', -1)
if weight ~= 0 then redis.call('HINCRBY', KEYS[2], ARGV[2] .. 'units', -weight) end
redis.call('HINCRBY', KEYS[2], ARGV[2] .. 'errors', 1)
return fresh
"""

# Count a refusal decided before admission (revoked key, feature not in plan); ARGV[2] is the
# reason's counter (refused_key, refused_feature).
REFUSE_LUA = """
local fresh = 0
if redis.call('EXISTS', KEYS[1]) == 0 then fresh = 1 end
local sec = tonumber(redis.call('TIME')[1])
redis.call('HINCRBY', KEYS[1], ARGV[1] .. '|' .. (sec - (sec % 3600)) .. '|' .. ARGV[2], 1)
return fresh
"""

# Flush step: atomically take a customer's pending counters as a named batch.
TAKE_PENDING_LUA = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('RENAME', KEYS[1], KEYS[2])
redis.call('SADD', KEYS[3], KEYS[2])
return 1
"""


class _Scripts:
    """Scripts registered lazily against the process's client; calls go by EVALSHA (redis-py
    falls back to EVAL once if the server lost its script cache)."""

    def __init__(self) -> None:
        self._scripts: dict[str, redis.commands.core.Script] = {}

    def get(self, name: str, source: str):
        script = self._scripts.get(name)
        if script is None:
            script = self._scripts[name] = client().register_script(source)
        return script


scripts = _Scripts()


def meter_script():
    return scripts.get("meter", METER_LUA)


def refund_script():
    return scripts.get("refund", REFUND_LUA)


def refuse_script():
    return scripts.get("refuse", REFUSE_LUA)


def take_pending_script():
    return scripts.get("take_pending", TAKE_PENDING_LUA)


_held = threading.local()


def _held_connection():
    """A connection this thread keeps for the hot path (re-taken after a fork or when the
    client changes): the pool's check-out and return cost a third of a warm round trip."""
    owner = (os.getpid(), client())
    if getattr(_held, "owner", None) != owner:
        _held.conn = owner[1].connection_pool.get_connection()
        _held.owner = owner
    return _held.conn


def meter(keys: list[str], args: list) -> list:
    """Run the admission script: EVALSHA on the held connection, loading the script if the
    server lost it, reconnecting once if the connection went stale."""
    script = meter_script()
    conn = _held_connection()
    for attempt in range(3):
        try:
            conn.send_command("EVALSHA", script.sha, len(keys), *keys, *args)
            return conn.read_response()
        except NoScriptError:
            client().script_load(METER_LUA)
        except (RedisConnectionError, RedisTimeoutError):
            conn.disconnect()
            if attempt:
                raise
    raise RedisConnectionError("admission script could not be run")
