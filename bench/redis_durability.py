"""Benchmark: what Redis durability costs the admission script, and what request records cost.

Starts its own redis-server (the embedded one's binary and options) three ways, persistence off,
AOF `appendfsync everysec` (the default of `make run` and the documented production setting)
and AOF `appendfsync always`, and drives the real admission script (metering.store.METER_LUA,
with a fresh request id per call, as the app sends it) from several client processes, one
round trip at a time as web workers do. Rounds alternate the order of the modes so that drift
on a shared machine hits them alike; medians are printed. Then measures the memory the request
records take per request (metering.store, "Request records").

    .venv/bin/python bench/redis_durability.py [--seconds 4] [--clients 4] [--rounds 3]

The AOF lives under .run/bench-redis/ (a real disk: on tmpfs fsync costs nothing).
"""

from __future__ import annotations

import argparse
import multiprocessing
import shutil
import statistics
import sys
import time
import uuid
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

import redis

from petstore.embedded_redis import start_redis_server

CUSTOMER = 42
MODES = {"no AOF": (False, "everysec"), "everysec": (True, "everysec"), "always": (True, "always")}


DIGEST = "d" * 64  # the key's SHA-256 as the grant holds it


def _keys_and_args(bucket: int, request_id: str) -> tuple[list[str], list]:
    from metering import store

    keys = [
        store.cfg_key(CUSTOMER),
        store.grant_key(CUSTOMER),
        store.rate_key(CUSTOMER),
        store.period_key(CUSTOMER, "209901"),
        store.pending_key(CUSTOMER),
        store.request_key(CUSTOMER, bucket),
    ]
    # digest, plans version, window, weight, feature, label, request id, ttl, account limit,
    # explicit plan limits (none)
    args = [DIGEST, "v1", 60_000, 1, "", "GET /api/v1/pets", request_id]
    return keys, [*args, store.REQUEST_RECORD_TTL_SECONDS, "", ""]


def prepare(r: redis.Redis) -> str:
    from metering import store

    r.flushall()
    r.set(store.cfg_key(CUSTOMER), "t")
    # A grant as metering.grants.grant_fields writes it: an unlimited plan, one key.
    r.hset(
        store.grant_key(CUSTOMER),
        mapping={
            "tok": "t",
            "plan": 1,
            "pv": "v1",
            "lim": 10**9,
            "inc": -1,
            "blk": "0",
            "feat": ",",
            DIGEST: "1|0",
        },
    )
    r.hset(store.period_key(CUSTOMER, "209901"), "units", 0)
    return r.script_load(store.METER_LUA)


def client_loop(url: str, sha: str, seconds: float, out) -> None:
    r = redis.Redis.from_url(url)
    token = uuid.uuid4().hex[:12]
    bucket = int(time.time()) // 60
    latencies: list[float] = []
    n = 0
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        keys, args = _keys_and_args(bucket, f"{token}:{n}")
        started = time.perf_counter()
        r.evalsha(sha, len(keys), *keys, *args)
        latencies.append(time.perf_counter() - started)
        n += 1
    out.put(latencies)


def run_mode(name: str, seconds: float, clients: int, data_root: Path) -> dict[str, float]:
    appendonly, appendfsync = MODES[name]
    data_dir = data_root / name.replace(" ", "-")
    shutil.rmtree(data_dir, ignore_errors=True)
    proc, url = start_redis_server(
        data_dir=data_dir, appendonly=appendonly, appendfsync=appendfsync
    )
    try:
        sha = prepare(redis.Redis.from_url(url))
        queue: multiprocessing.Queue = multiprocessing.Queue()
        workers = [
            multiprocessing.Process(target=client_loop, args=(url, sha, seconds, queue))
            for _ in range(clients)
        ]
        for worker in workers:
            worker.start()
        latencies = [lat for _ in workers for lat in queue.get(timeout=seconds + 60)]
        for worker in workers:
            worker.join(timeout=30)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(data_dir, ignore_errors=True)
    latencies.sort()
    return {
        "rate": len(latencies) / seconds,
        "p50": latencies[len(latencies) // 2] * 1000,
        "p99": latencies[int(len(latencies) * 0.99)] * 1000,
    }


def record_bytes(data_root: Path) -> dict[str, float]:
    """Bytes per request of a request-record hash: a busy minute (hash table) and a quiet one
    (listpack, below Redis' hash-max-*-entries of 128)."""
    from metering import store

    data_dir = data_root / "memory"
    proc, url = start_redis_server(data_dir=data_dir, appendonly=False)
    try:
        r = redis.Redis.from_url(url)
        sha = prepare(r)
        figures = {}
        for label, n in (("busy (10,000 requests a minute)", 10_000), ("quiet (100)", 100)):
            bucket = hash(label) % 10**6
            token = uuid.uuid4().hex[:12]
            pipe = r.pipeline(transaction=False)
            for i in range(n):
                keys, args = _keys_and_args(bucket, f"{token}:{i}")
                pipe.evalsha(sha, len(keys), *keys, *args)
            pipe.execute()
            key = store.request_key(CUSTOMER, bucket)
            figures[label] = r.memory_usage(key, samples=0) / r.hlen(key)
        return figures
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(data_dir, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=4)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args()
    data_root = BASE_DIR / ".run" / "bench-redis"
    data_root.mkdir(parents=True, exist_ok=True)
    results: dict[str, list[dict[str, float]]] = {name: [] for name in MODES}
    names = list(MODES)
    for round_no in range(options.rounds):
        order = names if round_no % 2 == 0 else names[::-1]
        for name in order:
            results[name].append(run_mode(name, options.seconds, options.clients, data_root))
    print(
        f"\nadmission script, {options.clients} client processes, one call at a time, "
        f"{options.rounds} x {options.seconds:g} s per mode (medians)"
    )
    print(f"{'':10}{'calls/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'vs no AOF':>11}")
    base = statistics.median(run["rate"] for run in results["no AOF"])
    for name in names:
        runs = results[name]
        rate = statistics.median(run["rate"] for run in runs)
        p50 = statistics.median(run["p50"] for run in runs)
        p99 = statistics.median(run["p99"] for run in runs)
        print(f"{name:10}{rate:>10.0f}{p50:>10.3f}{p99:>10.3f}{rate / base:>11.2f}")
    print("\nrequest records (metering.store), bytes per request:")
    for label, value in record_bytes(data_root).items():
        print(f"  {label}: {value:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
