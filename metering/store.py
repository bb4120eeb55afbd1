"""Redis layout and Lua scripts of the metering hot path.

Per-customer keys carry the customer in a hash tag (`{cus_42}`), so every script touches one
slot and the layout shards on Redis Cluster:

    {cus_42}:cfg            authorisation token; changes whenever keys or plan change
    {cus_42}:grant          the customer's keys (by SHA-256) and its plan's limits, as loaded
                            under the token above (metering.grants)
    {cus_42}:rw             rate-limit window of the product's API: admissions per bucket
    {cus_42}:rw:acct        the same for the account endpoints (usage, keys, billing, webhooks)
    {cus_42}:q:202611       billable units of the period (hash field `units`), for quotas, and
                            each key's own (field `k<key id>`), for keys' monthly caps
    {cus_42}:pending        counters not yet in the ledger: `<endpoint>|<hour>|<counter>`
                            (calls, units, errors, refused_<reason>)
    {cus_42}:batch:<chunk>  pending counters moved out by a flush chunk, until applied
    {cus_42}:batch:<chunk>:adopted  a batch a recovering flush took over (nothing writes it again)
    {cus_42}:batches        names of this customer's unapplied batches
    {cus_42}:req:<bucket>   what became of each recent request (see "Request records" below)

Global keys, spread over DIRTY_SHARDS shards so that no node of a Redis Cluster carries all the
flush work (a customer's shard is `customer_id % DIRTY_SHARDS`; shard k's hash tag lies in the
k-th sixteenth of the slots, so an evenly split cluster gets an even share of shards):

    metering:dirty:{md<k>.<n>}    customers of shard k with pending counters
    metering:batches:{md<k>.<n>}  unapplied batches of shard k's customers, for crash recovery
    metering:catalog              version of plans and endpoints (one small key, read once a second)

A shard's dirty set and batch registry share their tag (one slot), so one script claims dirty
customers and registers their batches atomically (CLAIM_DIRTY_LUA). The unsharded
`metering:dirty` and `metering:batches` of earlier releases are drained into the shards by the
flush (metering.services.flush), so a deploy over live data loses no mark.

`REDIS_CLUSTER=true` makes REDIS_URL a seed node of a Redis Cluster (redis-py's RedisCluster):
every script above touches one customer's keys, or one shard's, so each runs on one node in one
round trip.
"""

from __future__ import annotations

import os
import threading

import redis
from django.conf import settings
from redis.backoff import NoBackoff
from redis.cluster import RedisCluster
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, RedisClusterException, RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

RULES_VERSION = "metering:catalog"  # the key predates metering/rules.py; kept across deploys

# The dirty sets and batch registries, sharded (see the module's docstring). Shard k's tag hashes
# into slots [1024·k, 1024·(k+1)) (tests/metering/test_store_layout.py checks it). Changing the
# number of shards strands the marks of the shards removed: it is part of the layout.
DIRTY_SHARDS = 16
_SHARD_TAGS = (
    "md0.13", "md1.10", "md2.20", "md3.23", "md4.3", "md5.0", "md6.43", "md7.40",
    "md8.20", "md9.23", "md10.40", "md11.43", "md12.1", "md13.2", "md14.23", "md15.20",
)  # fmt: skip
# The unsharded keys of earlier releases: the flush drains them into the shards.
LEGACY_DIRTY_SET = "metering:dirty"
LEGACY_BATCH_REGISTRY = "metering:batches"

Client = redis.Redis | RedisCluster

_client: Client | None = None
_client_lock = threading.Lock()


def cluster_mode() -> bool:
    return bool(getattr(settings, "REDIS_CLUSTER", False))


def new_client(url: str, *, cluster: bool | None = None) -> Client:
    """A client for `url`: a plain Redis, or (cluster mode, REDIS_CLUSTER) a RedisCluster that
    learns the slots from `url` as its seed node."""
    # Short timeouts and a single immediate retry (for a stale pooled connection): with Redis
    # down, a request must fail in milliseconds, not after a backoff.
    options = {
        "socket_connect_timeout": 0.5,
        "socket_timeout": 1.0,
        "health_check_interval": 30,
        "retry": Retry(NoBackoff(), 1),
        "decode_responses": True,
    }
    if cluster_mode() if cluster is None else cluster:
        try:
            return RedisCluster.from_url(url, **options)
        except RedisClusterException as exc:
            # No seed node answered (RedisCluster reads the slots on construction): the same
            # error as a plain Redis that is down, so callers fail closed (or open) alike.
            raise RedisConnectionError(str(exc)) from exc
    return redis.Redis.from_url(url, **options)


def client() -> Client:
    """One client per process (fork-safe: redis-py reconnects after a fork)."""
    global _client
    if _client is None:
        with _client_lock:
            if _client is None:
                _client = new_client(settings.REDIS_URL)
    return _client


def dirty_shard(customer_id: int) -> int:
    return customer_id % DIRTY_SHARDS


def dirty_key(shard: int) -> str:
    return f"metering:dirty:{{{_SHARD_TAGS[shard]}}}"


def batch_registry_key(shard: int) -> str:
    return f"metering:batches:{{{_SHARD_TAGS[shard]}}}"


def mark_dirty(*customer_ids: int) -> None:
    """Mark customers as having pending counters (one SADD per shard concerned)."""
    by_shard: dict[int, set[int]] = {}
    for customer_id in customer_ids:
        by_shard.setdefault(dirty_shard(customer_id), set()).add(customer_id)
    if len(by_shard) == 1:
        ((shard, ids),) = by_shard.items()
        client().sadd(dirty_key(shard), *ids)
        return
    pipe = client().pipeline(transaction=False)
    for shard, ids in by_shard.items():
        pipe.sadd(dirty_key(shard), *ids)
    pipe.execute()


def is_dirty(customer_id: int) -> bool:
    return bool(client().sismember(dirty_key(dirty_shard(customer_id)), customer_id))


def dirty_customers() -> set[int]:
    """Every customer marked dirty, in every shard (and the legacy set)."""
    pipe = client().pipeline(transaction=False)
    for shard in range(DIRTY_SHARDS):
        pipe.smembers(dirty_key(shard))
    pipe.smembers(LEGACY_DIRTY_SET)
    return {int(member) for members in pipe.execute() for member in members}


def registered_batches() -> set[str]:
    """Every registered (not yet forgotten) batch name, in every shard (and the legacy set)."""
    pipe = client().pipeline(transaction=False)
    for shard in range(DIRTY_SHARDS):
        pipe.smembers(batch_registry_key(shard))
    pipe.smembers(LEGACY_BATCH_REGISTRY)
    return {name for names in pipe.execute() for name in names}


def tag(customer_id: int) -> str:
    return f"{{cus_{customer_id}}}"


def cfg_key(customer_id: int) -> str:
    return f"{tag(customer_id)}:cfg"


def grant_key(customer_id: int) -> str:
    return f"{tag(customer_id)}:grant"


def rate_key(customer_id: int, *, account: bool = False) -> str:
    # `rw`, not the sorted set `rl` of earlier releases: a rolling deploy runs both at once.
    return f"{tag(customer_id)}:rw:acct" if account else f"{tag(customer_id)}:rw"


def period_key(customer_id: int, period_id: str) -> str:
    return f"{tag(customer_id)}:q:{period_id}"


def pending_key(customer_id: int) -> str:
    return f"{tag(customer_id)}:pending"


def batch_key(customer_id: int, flush_id: str) -> str:
    return f"{tag(customer_id)}:batch:{flush_id}"


def adopted_key(batch: str) -> str:
    """The mark a recovering flush leaves on a batch it adopted (same slot as the batch)."""
    return f"{batch}:adopted"


def batches_key(customer_id: int) -> str:
    return f"{tag(customer_id)}:batches"


def request_key(customer_id: int, bucket: int) -> str:
    return f"{tag(customer_id)}:req:{bucket}"


def customer_of_batch(name: str) -> int:
    return int(name[len("{cus_") : name.index("}")])


# Request records. A script sent again for the same request (redis-py re-sends after a socket
# timeout, and a paused Redis runs every queued copy when it resumes) must count nothing. Each
# request carries a unique id (ARGV[7] of the admission); the scripts record its fate in a
# per-customer hash bucketed by the client's clock, `{cus_N}:req:<bucket>` (one field per request,
# REQUEST_BUCKET_SECONDS per hash, expiring REQUEST_RECORD_TTL_SECONDS
# after its last write), and look it up first:
#
#     a<hour>  admitted and counted in the pending hour <hour>
#     r<hour>  refused by the rate limit   q<hour>  refused by the quota
#     p<hour>  refused: prepaid credits exhausted (counted as refused_quota)
#     g<hour>  refused: feature not in plan k<hour>  refused: key revoked or expired
#     u<hour>  refused: the key's own monthly cap
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


# Admission, in one round trip: find the presented key in the customer's grant, check that the
# grant is current, the feature gate, the rate limit and the quota, then count the request and
# record its fate. The checks run in that order and each refusal returns at once; a policy added
# later (a key's own monthly cap, prepaid credits) is one more check before "count", reading keys
# of the same customer's slot (KEYS) and fields of the grant (loaded by LOAD_GRANT_LUA).
#
# Returns {status, remaining, wait_or_reset_ms, period_units, hour, fresh, plan id, key id,
# first call recorded (1/0), limit}. Status 0 admitted; refused: 1 rate limit, 2 quota, 3 feature
# not in plan, 4 key revoked or expired, 6 prepaid credits exhausted (the grant's `blk` is 2:
# its `cred` allowance caps the period's units instead of `inc`), 7 the key's own monthly cap
# (then wait_or_reset_ms is the key's cap and period_units the key's units of the period).
# Refusals are counted and recorded like admissions.
# nothing counted: -1 grant missing or stale (load it and retry), -2 period unseeded (seed it and
# retry), -3 voided before it ran, -4 key not in the (current) grant, -5 {-5, plan id}: the grant's
# copy of the plan's limits is older than the caller's rules (retry with explicit limits).
# `fresh` is 1 when this call created the pending hash, or when it is a repeat of a request
# already decided (the first answer may have been lost): the caller then marks the customer dirty.
#
# The rate limit is a sliding window counted in RATE_BUCKETS buckets (see "Rate limit" below).
#
# KEYS: cfg, grant, rate window, period, pending, req.
# ARGV: 1 key digest, 2 plan limits version, 3 window ms, 4 weight, 5 feature ('' none), 6 label,
#       7 request id, 8 record ttl, 9 account limit ('' on product routes), 10 plan id of the
#       explicit limits ('' none), 11 rate limit, 12 included (-1 unlimited), 13 block (1/0),
#       14 features (',a,b,').
METER_LUA = """
local t = redis.call('TIME')
local sec = tonumber(t[1])
local now = sec * 1000 + math.floor(tonumber(t[2]) / 1000)
local token = redis.call('GET', KEYS[1])
local g = redis.call('HMGET', KEYS[2], 'tok', ARGV[1], 'plan', 'pv', 'lim', 'inc', 'blk', 'feat',
  'first', 'c' .. ARGV[1])
if not token or g[1] ~= token then return {-1} end
if not g[2] then return {-4} end
local plan = tonumber(g[3])
local limit, included, block, features = g[5], g[6], g[7], g[8]
if ARGV[10] ~= '' then
  if tonumber(ARGV[10]) ~= plan then return {-5, plan} end
  limit, included, block, features = ARGV[11], ARGV[12], ARGV[13], ARGV[14]
  redis.call('HSET', KEYS[2], 'pv', ARGV[2], 'lim', limit, 'inc', included, 'blk', block,
    'feat', features)
elseif g[4] ~= ARGV[2] then
  return {-5, plan}
end
local bar = string.find(g[2], '|', 1, true)
local key_id = tonumber(string.sub(g[2], 1, bar - 1))
local expires = tonumber(string.sub(g[2], bar + 1))
local first = 0
if g[9] then first = 1 end
limit = tonumber(limit)
if ARGV[9] ~= '' then limit = tonumber(ARGV[9]) end

-- Rate limit: admissions counted per bucket of `width` ms (field <bucket>: how many; field
-- <bucket>t: the ms offset in the bucket of its last one), plus `n`, their sum, `f`, the oldest
-- non-empty bucket, and `ft`, the offset of f's last admission. A bucket leaves the count one
-- window after its last admission, so a request is refused only while `limit` admissions of the
-- last window are counted: no window ever holds more than `limit` admissions, and a slot frees
-- exactly one window after the last admission of its bucket (at most one bucket later than
-- after the admission itself). State: at most 2 * (span + 1) + 3 small fields, whatever the
-- limit; a request usually reads `n f ft` and writes its bucket, nothing else.
local window = tonumber(ARGV[3])
local width = math.floor(window / 60)
if width < 1 then width = 1 end
local span = math.ceil(window / width)
local b = math.floor(now / width)
local lo = b - span
local cutoff = now - window
local function last_of(j)
  local offset = redis.call('HGET', KEYS[3], j .. 't')
  if offset then return j * width + tonumber(offset) end
  return j * width + width - 1
end
local st = redis.call('HMGET', KEYS[3], 'n', 'f', 'ft', b)
local n = tonumber(st[1]) or 0
local in_bucket = tonumber(st[4]) or 0  -- the current bucket never leaves below
local f = tonumber(st[2]) or b
local ft = f * width + (tonumber(st[3]) or width - 1)  -- the instant of f's last admission
if n > 0 and f <= lo + 1 then
  if f + span < lo then
    redis.call('DEL', KEYS[3])
    n = 0
  else
    -- Every bucket before lo is a window old; buckets lo and lo+1 (when the window is not a
    -- whole number of buckets) are once their last admission is; later ones are not yet.
    local last = lo - 1
    local lo_last = ft
    if f < lo then lo_last = last_of(lo) end
    if lo_last <= cutoff then
      last = lo
      if last_of(lo + 1) <= cutoff then last = lo + 1 end
    end
    if last >= f then
      local gone, fields = {}, {}
      for i = f, last do
        gone[#gone + 1] = i
        fields[#fields + 1] = i
        fields[#fields + 1] = i .. 't'
      end
      for _, c in ipairs(redis.call('HMGET', KEYS[3], unpack(gone))) do
        if c then n = n - tonumber(c) end
      end
      redis.call('HDEL', KEYS[3], unpack(fields))
      if n > 0 then
        local rest = {}
        for i = last + 1, b do rest[#rest + 1] = i end
        for i, c in ipairs(redis.call('HMGET', KEYS[3], unpack(rest))) do
          if c then f = last + i break end
        end
        ft = last_of(f)
      end
      redis.call('HSET', KEYS[3], 'n', n, 'f', f, 'ft', ft - f * width)
    end
  end
end
if n <= 0 then
  f = b
  ft = now
end

local function result(status, remaining, wait, units, hour, fresh)
  if remaining < 0 then remaining = 0 end
  return {status, remaining, wait, units, hour, fresh, plan, key_id, first, limit}
end

local seen = redis.call('HGET', KEYS[6], ARGV[7])
if seen then
  local state = string.sub(seen, 1, 1)
  if state == 'v' then return {-3} end
  local status = 0
  if state == 'r' then status = 1 elseif state == 'q' then status = 2
  elseif state == 'g' then status = 3 elseif state == 'k' then status = 4
  elseif state == 'p' then status = 6 end
  if state == 'u' then
    local key_used = tonumber(redis.call('HGET', KEYS[4], 'k' .. key_id) or '0')
    return result(7, limit - n, tonumber(g[10]) or 0, key_used, tonumber(string.sub(seen, 2)), 1)
  end
  local used = tonumber(redis.call('HGET', KEYS[4], 'units') or '0')
  local reset = 0
  if n > 0 then reset = ft + window - now end
  return result(status, limit - n, reset, used, tonumber(string.sub(seen, 2)), 1)
end

local hour = sec - (sec % 3600)
local ttl = tonumber(ARGV[8])
local fresh = 0
if redis.call('EXISTS', KEYS[5]) == 0 then fresh = 1 end
local field = ARGV[6] .. '|' .. hour .. '|'
local function refuse(status, reason, state, remaining, wait, units)
  redis.call('HINCRBY', KEYS[5], field .. reason, 1)
  redis.call('HSET', KEYS[6], ARGV[7], state .. hour)
  redis.call('EXPIRE', KEYS[6], ttl)
  return result(status, remaining, wait, units, hour, fresh)
end
if expires ~= 0 and expires <= sec then
  return refuse(4, 'refused_key', 'k', 0, 0, 0)
end
if ARGV[5] ~= '' and not string.find(features, ',' .. ARGV[5] .. ',', 1, true) then
  return refuse(3, 'refused_feature', 'g', 0, 0, 0)
end
local period_units = redis.call('HGET', KEYS[4], 'units')
if not period_units then return {-2} end
period_units = tonumber(period_units)

if n >= limit then
  local wait = window
  if n > 0 then
    local held = {}
    for i = f, b do held[#held + 1] = i end
    local left = n
    for i, c in ipairs(redis.call('HMGET', KEYS[3], unpack(held))) do
      if c then left = left - tonumber(c) end
      if left < limit then
        if i == 1 then wait = ft + window - now else wait = last_of(f + i - 1) + window - now end
        break
      end
    end
  end
  return refuse(1, 'refused_rate_limit', 'r', 0, wait, period_units)
end
local weight = tonumber(ARGV[4])
included = tonumber(included)
local refusal, state = 2, 'q'
if block == '2' and ARGV[9] == '' then
  -- Prepaid credits: the cap is the grant's credit allowance (units, -1 none) for the period
  -- whose counter it names (metering.grants); another period's is stale. Refused: status 6.
  local credit = redis.call('HMGET', KEYS[2], 'cred', 'credq')
  if credit[2] ~= KEYS[4] then return {-1} end
  included, block, refusal, state = tonumber(credit[1]), '1', 6, 'p'
end
if ARGV[9] == '' and included >= 0 and block == '1' and period_units + weight > included then
  return refuse(refusal, 'refused_quota', state, limit - n, 0, period_units)
end

-- The key's own monthly cap (grant field c<digest>, in units; metering.grants) against the key's
-- units of the period (field k<key id> of the period's hash). Product routes only: the account
-- endpoints cost nothing, and stay usable to raise the cap.
local key_cap = tonumber(g[10])
if key_cap and ARGV[9] == '' and weight > 0 then
  local key_used = tonumber(redis.call('HGET', KEYS[4], 'k' .. key_id) or '0')
  if key_used + weight > key_cap then
    redis.call('HINCRBY', KEYS[5], field .. 'key:' .. key_id .. ':refused_key_cap', 1)
    return refuse(7, 'refused_key_cap', 'u', limit - n, key_cap, key_used)
  end
end

-- Count it: the window, the quota, the key's units, the pending counters (the endpoint's and
-- the key's: `<endpoint>|<hour>|key:<key id>:calls`; read above or here, written in one command
-- each).
local offset = now - b * width
n = n + 1
if n == 1 then
  redis.call('HSET', KEYS[3], b, in_bucket + 1, b .. 't', offset, 'n', n, 'f', b, 'ft', offset)
  ft = now
elseif f == b then
  redis.call('HSET', KEYS[3], b, in_bucket + 1, b .. 't', offset, 'n', n, 'ft', offset)
  ft = now
else
  redis.call('HSET', KEYS[3], b, in_bucket + 1, b .. 't', offset, 'n', n)
end
if in_bucket == 0 then
  -- A new bucket: the window lives until it leaves (later buckets push that back again).
  redis.call('PEXPIRE', KEYS[3], (b + 1) * width + window - now + width)
end
local reset = ft + window - now
local used = 'lastused|' .. key_id
local kf = field .. 'key:' .. key_id .. ':'
if weight ~= 0 then
  period_units = period_units + weight
  redis.call('HSET', KEYS[4], 'units', period_units)
  redis.call('HINCRBY', KEYS[4], 'k' .. key_id, weight)
  local counts = redis.call('HMGET', KEYS[5], field .. 'calls', field .. 'units', kf .. 'calls',
    kf .. 'units')
  redis.call('HSET', KEYS[5], field .. 'calls', (tonumber(counts[1]) or 0) + 1,
    field .. 'units', (tonumber(counts[2]) or 0) + weight, kf .. 'calls',
    (tonumber(counts[3]) or 0) + 1, kf .. 'units', (tonumber(counts[4]) or 0) + weight, used, sec)
else
  redis.call('HINCRBY', KEYS[5], field .. 'calls', 1)
  redis.call('HINCRBY', KEYS[5], kf .. 'calls', 1)
  redis.call('HSET', KEYS[5], used, sec)
end
redis.call('HSET', KEYS[6], ARGV[7], 'a' .. hour)
redis.call('EXPIRE', KEYS[6], ttl)
return result(0, limit - n, reset, period_units, hour, fresh)
"""

# Write a customer's grant (its keys and its plan's limits, see metering.grants) if the
# customer's token is still the one read before the database was: a change committed meanwhile
# replaced the token, and this load is then dropped rather than left outdated.
# KEYS: cfg, grant. ARGV: token, ttl seconds, then the grant's field/value pairs.
LOAD_GRANT_LUA = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[2])
redis.call('HSET', KEYS[2], 'tok', ARGV[1], unpack(ARGV, 3))
redis.call('EXPIRE', KEYS[2], ARGV[2])
return 1
"""

# Give back the billable part of an admitted request, once: its units and call leave the
# billable counters and the quota, and it stays counted as an error. ARGV[5] says why:
#   'f' refund: the request was answered 4xx/5xx. Without a record nothing was counted (or Redis
#       lost it along with the counters), so there is nothing to give back.
#   'v' void: the request was answered without its admission or refund being confirmed (a
#       timeout). Without a record it writes a tombstone, so that an admission still queued in
#       a paused Redis counts nothing when it runs.
# The key's units (field k<key id> of the period's hash) and pending counters are given back too,
# the key found by its digest (ARGV[6]) in the grant (KEYS[4]); both optional (callers of earlier
# releases send neither).
# Returns {outcome, fresh}: outcome 1 given back now, 0 nothing had been counted, 2 already
# settled before (refunded, voided or refused). `fresh` as in METER_LUA (1 also on a repeat).
# KEYS: period, pending, req, grant. ARGV: weight, label, request id, record ttl, mode, digest.
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
local record = nil
if KEYS[4] and ARGV[6] and ARGV[6] ~= '' then record = redis.call('HGET', KEYS[4], ARGV[6]) end
if record then
  local key_id = string.sub(record, 1, string.find(record, '|', 1, true) - 1)
  local kf = field .. 'key:' .. key_id .. ':'
  if weight ~= 0 and redis.call('EXISTS', KEYS[1]) == 1 then
    redis.call('HINCRBY', KEYS[1], 'k' .. key_id, -weight)
  end
  redis.call('HINCRBY', KEYS[2], kf .. 'calls', -1)
  if weight ~= 0 then redis.call('HINCRBY', KEYS[2], kf .. 'units', -weight) end
end
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

# Seed a period's hash (cold path: its first call, or after Redis lost it) from the ledger: the
# customer's units and each key's, at once, unless another seed (or an admission after it) got
# there first. KEYS: period. ARGV: expiry (epoch seconds), units, then `k<key id>`/units pairs.
SEED_PERIOD_LUA = """
if redis.call('HEXISTS', KEYS[1], 'units') == 1 then return 0 end
redis.call('HSET', KEYS[1], 'units', ARGV[2], unpack(ARGV, 3))
redis.call('EXPIREAT', KEYS[1], ARGV[1])
return 1
"""

# Flush scripts (metering/services/flush.py). A flush works a chunk of customers at a time; the
# chunk's id (`<flush id>.<n>`) names each of its batches, `{cus_N}:batch:<chunk id>`, and its
# applied-marker in the ledger's database (metering.models.FlushedBatch).

# Claim up to ARGV[1] dirty customers of a shard for chunk ARGV[2]: pop them from the dirty set
# and register their batch names, atomically (one slot: the shard's tag). Returns their ids.
# KEYS: shard's dirty set, shard's batch registry.
CLAIM_DIRTY_LUA = """
local ids = redis.call('SPOP', KEYS[1], tonumber(ARGV[1]))
local names = {}
for i, id in ipairs(ids) do
  names[#names + 1] = '{cus_' .. id .. '}:batch:' .. ARGV[2]
  if #names == 500 or i == #ids then
    redis.call('SADD', KEYS[2], unpack(names))
    names = {}
  end
end
return ids
"""

# Take a customer's pending counters as the named batch; returns its fields (flat), or nothing
# (nothing pending, or the batch was written off by a recovering flush: `adopted_key`).
# KEYS: pending, batch, the customer's batch list, the batch's adopted mark.
TAKE_PENDING_LUA = """
if redis.call('EXISTS', KEYS[4]) == 1 then return {} end
if redis.call('EXISTS', KEYS[1]) == 0 then return {} end
redis.call('RENAME', KEYS[1], KEYS[2])
redis.call('SADD', KEYS[3], KEYS[2])
return redis.call('HGETALL', KEYS[2])
"""

# Forget an applied batch. KEYS: batch, the customer's batch list.
FORGET_BATCH_LUA = """
redis.call('DEL', KEYS[1])
redis.call('SREM', KEYS[2], KEYS[1])
return 1
"""

# Recovery: fold a batch of a chunk that was never applied into a batch of the recovering flush's
# own chunk (counters added, `lastused|` kept at the latest), and mark the old batch adopted for a
# day so that nothing (a flush that lost its lock and does not know it yet) writes it again.
# Returns 1 moved, 0 there was no such batch, -1 the new batch is itself marked adopted (this
# flush was overtaken: it leaves the old batch to the next one).
# KEYS: old batch, new batch, the customer's batch list, old's adopted mark, new's adopted mark.
ADOPT_BATCH_LUA = """
if redis.call('EXISTS', KEYS[5]) == 1 then return -1 end
redis.call('SET', KEYS[4], '1', 'EX', 86400)
local fields = redis.call('HGETALL', KEYS[1])
if #fields == 0 then
  redis.call('SREM', KEYS[3], KEYS[1])
  return 0
end
for i = 1, #fields, 2 do
  local name, value = fields[i], fields[i + 1]
  if string.sub(name, 1, 9) == 'lastused|' then
    local seen = redis.call('HGET', KEYS[2], name)
    if not seen or tonumber(seen) < tonumber(value) then
      redis.call('HSET', KEYS[2], name, value)
    end
  else
    redis.call('HINCRBY', KEYS[2], name, value)
  end
end
redis.call('DEL', KEYS[1])
redis.call('SREM', KEYS[3], KEYS[1])
redis.call('SADD', KEYS[3], KEYS[2])
return 1
"""

# What of a customer's usage is not in the ledger yet, as one snapshot: the pending counters,
# then each batch's name and counters. KEYS: pending, the customer's batch list.
UNAPPLIED_LUA = """
local out = {redis.call('HGETALL', KEYS[1])}
for _, name in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  out[#out + 1] = name
  out[#out + 1] = redis.call('HGETALL', name)
end
return out
"""


def chunk_of_batch(name: str) -> str:
    """The applied-marker of a batch: its chunk id, or (a batch of an earlier release, one
    marker per batch) its whole name."""
    flush_part = name.rsplit(":", 1)[1]
    return flush_part if "." in flush_part else name


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


def load_grant_script():
    return scripts.get("load_grant", LOAD_GRANT_LUA)


def uncount_script():
    return scripts.get("uncount", UNCOUNT_LUA)


def refuse_script():
    return scripts.get("refuse", REFUSE_LUA)


def seed_period_script():
    return scripts.get("seed_period", SEED_PERIOD_LUA)


def take_pending_script():
    return scripts.get("take_pending", TAKE_PENDING_LUA)


def claim_dirty_script():
    return scripts.get("claim_dirty", CLAIM_DIRTY_LUA)


def forget_batch_script():
    return scripts.get("forget_batch", FORGET_BATCH_LUA)


def adopt_batch_script():
    return scripts.get("adopt_batch", ADOPT_BATCH_LUA)


def unapplied_script():
    return scripts.get("unapplied", UNAPPLIED_LUA)


def run_scripts(script, calls: list[tuple[list[str], list]]) -> list:
    """Run `script` once per (keys, args), pipelined without a transaction (on a cluster, redis-py
    sends each node its share). A node that lost its script cache (restart, failover) answers
    NOSCRIPT: the script is loaded (on every master) and those calls sent again. Any other error
    is raised, after the whole pipeline ran."""
    r = client()
    results: list = [None] * len(calls)
    todo = list(range(len(calls)))
    for _ in range(2):
        pipe = r.pipeline(transaction=False)
        for i in todo:
            keys, args = calls[i]
            # execute_command: ClusterPipeline blocks its evalsha() method, not the command
            # (which it routes by the keys' slot).
            pipe.execute_command("EVALSHA", script.sha, len(keys), *keys, *args)
        missing = []
        for i, outcome in zip(todo, pipe.execute(raise_on_error=False), strict=True):
            if isinstance(outcome, NoScriptError):
                missing.append(i)
            elif isinstance(outcome, Exception):
                raise outcome
            else:
                results[i] = outcome
        if not missing:
            return results
        r.script_load(script.script)
        todo = missing
    raise RedisError("scripts could not be loaded")


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


class SentScript:
    """An admission script sent ahead (`meter_send`) whose answer is read later (`meter`): the
    web process does other work while Redis runs it. Until read, nothing else may use the
    thread's held connection."""

    __slots__ = ("conn", "ok")

    def __init__(self, conn, ok: bool) -> None:
        self.conn = conn
        self.ok = ok  # False: it could not be sent (nothing ran); `meter` sends it again


def meter_send(keys: list[str], args: list) -> SentScript:
    """Send the admission script without waiting for its answer (read it with `meter`). On a
    Redis Cluster nothing is sent ahead: `meter` runs it on the node of the customer's slot."""
    if cluster_mode():
        return SentScript(None, False)
    conn = _held_connection()
    try:
        conn.send_command("EVALSHA", meter_script().sha, len(keys), *keys, *args)
    except (RedisConnectionError, RedisTimeoutError):
        conn.disconnect()
        return SentScript(conn, False)
    return SentScript(conn, True)


def meter(keys: list[str], args: list, sent: SentScript | None = None) -> list:
    """Run the admission script: EVALSHA on the held connection (or read the answer of the copy
    `sent` ahead), loading the script if the server lost it, and sending it once more on a fresh
    connection if the first went stale or timed out. Sending it again is safe: the script
    records the request id and a repeat counts nothing. Raises ScriptUnanswered when a copy was
    sent but no answer came back, another RedisError when none could be sent (nothing was
    counted)."""
    script = meter_script()
    if cluster_mode():
        return _meter_on_cluster(script, keys, args)
    conn = _held_connection()
    was_sent = False
    try:
        for attempt in range(3):
            try:
                if attempt == 0 and sent is not None and sent.ok:
                    conn = sent.conn
                else:
                    conn.send_command("EVALSHA", script.sha, len(keys), *keys, *args)
                was_sent = True
                return conn.read_response()
            except NoScriptError:
                client().script_load(METER_LUA)
            except (RedisConnectionError, RedisTimeoutError):
                conn.disconnect()
                if attempt:
                    raise
        raise RedisConnectionError("admission script could not be run")
    except RedisError as exc:
        if was_sent:
            raise ScriptUnanswered(str(exc)) from exc
        raise


def _meter_on_cluster(script, keys: list[str], args: list) -> list:
    """meter() on a Redis Cluster: RedisCluster sends the script to the node of the customer's
    slot (following MOVED after a resharding). Whether a copy went out before a connection
    error is not known there, so any such error counts as unanswered (the request is voided
    unless it ends billable: a void of a request never counted leaves only a tombstone)."""
    try:
        try:
            return client().evalsha(script.sha, len(keys), *keys, *args)
        except NoScriptError:
            client().script_load(METER_LUA)
            return client().evalsha(script.sha, len(keys), *keys, *args)
    except (RedisConnectionError, RedisTimeoutError) as exc:
        raise ScriptUnanswered(str(exc)) from exc
