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
    {cus_42}:req:<bucket>   what became of each recent request (see "Request records" below)

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
from redis.exceptions import NoScriptError, RedisError
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


def request_key(customer_id: int, bucket: int) -> str:
    return f"{tag(customer_id)}:req:{bucket}"


def customer_of_batch(name: str) -> int:
    return int(name[len("{cus_") : name.index("}")])


# Request records. A script sent again for the same request (redis-py re-sends after a socket
# timeout, and a paused Redis runs every queued copy when it resumes) must count nothing. Each
# request carries a unique id (ARGV[9] of the admission, also its rate-limit member); the scripts
# record its fate in a per-customer hash bucketed by the client's clock, `{cus_N}:req:<bucket>`
# (one field per request, REQUEST_BUCKET_SECONDS per hash, expiring REQUEST_RECORD_TTL_SECONDS
# after its last write), and look it up first:
#
#     a<hour>  admitted and counted in the pending hour <hour>
#     r<hour>  refused by the rate limit   q<hour>  refused by the quota
#     f<hour>  admitted, then refunded (answered 4xx/5xx)
#     v<hour>  admitted, then voided       v        voided before any admission ran (tombstone)
#
# The bucket is chosen by the client once per request, so every copy of a script finds the same
# hash, and every key stays in the customer's slot (Redis Cluster). Memory: about 90 bytes per
# request (a 16-20 byte id and a 11-byte state in a hash table; about 35 bytes while a hash is
# small enough for a listpack), held for 5-6 minutes: bench/redis_durability.py measures it.
REQUEST_BUCKET_SECONDS = 60
REQUEST_RECORD_TTL_SECONDS = 300


def request_bucket(epoch_seconds: float) -> int:
    return int(epoch_seconds) // REQUEST_BUCKET_SECONDS


# Admission, in one round trip: check the authorisation token, the sliding-window rate limit and
# the quota, then count the request and record its fate. Returns {status, remaining,
# wait_or_reset_ms, period_units, hour, fresh}; status 0 ok, 1 rate limited, 2 quota exceeded,
# -1 stale token, -2 period unseeded (neither counts nor records anything), -3 voided before it
# ran. `fresh` is 1 when this call created the pending hash, or when it is a repeat of a request
# already decided (the first answer may have been lost): the caller then marks the customer dirty.
# KEYS: cfg, rl, period, pending, req. ARGV: token, limit, window, weight, included, block,
# label, key id, request id, record ttl.
METER_LUA = """
local limit = tonumber(ARGV[2])
local window = tonumber(ARGV[3])
local t = redis.call('TIME')
local sec = tonumber(t[1])
local now = sec * 1000 + math.floor(tonumber(t[2]) / 1000)
local seen = redis.call('HGET', KEYS[5], ARGV[9])
if seen then
  local state = string.sub(seen, 1, 1)
  if state == 'v' then return {-3} end
  local status = 0
  if state == 'r' then status = 1 elseif state == 'q' then status = 2 end
  local count = redis.call('ZCARD', KEYS[2])
  local oldest = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
  local reset = 0
  if oldest[2] then reset = tonumber(oldest[2]) + window - now end
  local used = tonumber(redis.call('HGET', KEYS[3], 'units') or '0')
  local remaining = limit - count
  if remaining < 0 then remaining = 0 end
  return {status, remaining, reset, used, tonumber(string.sub(seen, 2)), 1}
end
local token = redis.call('GET', KEYS[1])
if token ~= ARGV[1] then return {-1} end
local period_units = redis.call('HGET', KEYS[3], 'units')
if not period_units then return {-2} end
period_units = tonumber(period_units)
local hour = sec - (sec % 3600)
local weight = tonumber(ARGV[4])
local included = tonumber(ARGV[5])
local ttl = tonumber(ARGV[10])
local fresh = 0
if redis.call('EXISTS', KEYS[4]) == 0 then fresh = 1 end
local field = ARGV[7] .. '|' .. hour .. '|'
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[2])
if count >= limit then
  local oldest = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
  redis.call('HINCRBY', KEYS[4], field .. 'refused_rate_limit', 1)
  redis.call('HSET', KEYS[5], ARGV[9], 'r' .. hour)
  redis.call('EXPIRE', KEYS[5], ttl)
  return {1, 0, tonumber(oldest[2]) + window - now, period_units, hour, fresh}
end
if included >= 0 and ARGV[6] == '1' and period_units + weight > included then
  redis.call('HINCRBY', KEYS[4], field .. 'refused_quota', 1)
  redis.call('HSET', KEYS[5], ARGV[9], 'q' .. hour)
  redis.call('EXPIRE', KEYS[5], ttl)
  return {2, limit - count, 0, period_units, hour, fresh}
end
redis.call('ZADD', KEYS[2], now, ARGV[9])
redis.call('PEXPIRE', KEYS[2], window)
period_units = redis.call('HINCRBY', KEYS[3], 'units', weight)
redis.call('HINCRBY', KEYS[4], field .. 'calls', 1)
if weight ~= 0 then redis.call('HINCRBY', KEYS[4], field .. 'units', weight) end
redis.call('HSET', KEYS[4], 'lastused|' .. ARGV[8], sec)
redis.call('HSET', KEYS[5], ARGV[9], 'a' .. hour)
redis.call('EXPIRE', KEYS[5], ttl)
local oldest = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
return {0, limit - count - 1, tonumber(oldest[2]) + window - now, period_units, hour, fresh}
"""

# Give back the billable part of an admitted request, once: its units and call leave the
# billable counters and the quota, and it stays counted as an error. ARGV[5] says why:
#   'f' refund: the request was answered 4xx/5xx. Without a record nothing was counted (or Redis
#       lost it along with the counters), so there is nothing to give back.
#   'v' void: the request was answered without its admission or refund being confirmed (a
#       timeout). Without a record it writes a tombstone, so that an admission still queued in
#       a paused Redis counts nothing when it runs.
# Returns {outcome, fresh}: outcome 1 given back now, 0 nothing had been counted, 2 already
# settled before (refunded, voided or refused). `fresh` as in METER_LUA (1 also on a repeat).
# KEYS: period, pending, req. ARGV: weight, label, request id, record ttl, mode.
UNCOUNT_LUA = """
local seen = redis.call('HGET', KEYS[3], ARGV[3])
local ttl = tonumber(ARGV[4])
if not seen then
  if ARGV[5] == 'v' then
    redis.call('HSET', KEYS[3], ARGV[3], 'v')
    redis.call('EXPIRE', KEYS[3], ttl)
  end
  return {0, 0}
end
if string.sub(seen, 1, 1) ~= 'a' then return {2, 1} end
local hour = string.sub(seen, 2)
local fresh = 0
if redis.call('EXISTS', KEYS[2]) == 0 then fresh = 1 end
local weight = tonumber(ARGV[1])
local field = ARGV[2] .. '|' .. hour .. '|'
if weight ~= 0 and redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('HINCRBY', KEYS[1], 'units', -weight)
end
redis.call('HINCRBY', KEYS[2], field .. 'calls', -1)
if weight ~= 0 then redis.call('HINCRBY', KEYS[2], field .. 'units', -weight) end
redis.call('HINCRBY', KEYS[2], field .. 'errors', 1)
redis.call('HSET', KEYS[3], ARGV[3], ARGV[5] .. hour)
redis.call('EXPIRE', KEYS[3], ttl)
return {1, fresh}
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


def uncount_script():
    return scripts.get("uncount", UNCOUNT_LUA)


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


class ScriptUnanswered(RedisConnectionError):
    """A script was sent whole but no answer came back: Redis may have run it, or may still."""


def meter(keys: list[str], args: list) -> list:
    """Run the admission script: EVALSHA on the held connection, loading the script if the
    server lost it, and sending it once more on a fresh connection if the first went stale or
    timed out. Sending it again is safe: the script records the request id and a repeat counts
    nothing. Raises ScriptUnanswered when a copy was sent but no answer came back, another
    RedisError when none could be sent (nothing was counted)."""
    script = meter_script()
    conn = _held_connection()
    sent = False
    try:
        for attempt in range(3):
            try:
                conn.send_command("EVALSHA", script.sha, len(keys), *keys, *args)
                sent = True
                return conn.read_response()
            except NoScriptError:
                client().script_load(METER_LUA)
            except (RedisConnectionError, RedisTimeoutError):
                conn.disconnect()
                if attempt:
                    raise
        raise RedisConnectionError("admission script could not be run")
    except RedisError as exc:
        if sent:
            raise ScriptUnanswered(str(exc)) from exc
        raise
