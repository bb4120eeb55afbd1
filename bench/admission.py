"""Benchmark: admission cost against the number of active keys.

Calls the real admission (metering.services.request_admit, then request_finish with a 200) in
this process, round-robin over 1,000, 100,000 and 1,000,000 keys of as many customers, and prints
the microseconds per call at each size. Earlier releases kept grants in a per-process cache of
50,000 entries: past that, every call reloaded its key from the database (issue 13: 120 µs up to
50k keys, 2,088 µs at 100k). Now the grant is found in Redis inside the admission's one round
trip, so the cost should not move with the number of keys.

The customers' grants are seeded into Redis in bulk, exactly as metering.grants writes them on a
load (grant_fields), with their authorisation token, the period's quota counter and a pending
hash (as for customers already active since the last flush); a warm request of a customer never
touches the database, so the customers exist in Redis only. Keys are walked in a stride that
visits each at most once per pass at the larger sizes, so consecutive calls touch data far apart;
the measured customers are called once first (unmeasured), so that every size measures customers
already active this minute. All customers are seeded first; then rounds interleave the sizes
(medians printed), so that drift on a shared machine hits them alike.

    .venv/bin/python bench/admission.py [--calls 20000] [--rounds 3] [--sizes 1000,100000,1000000]
        [--key-caps]

`--key-caps` gives every key its own monthly cap (never reached), so that each admission also
runs the key-cap check (docs/keys.md): one more HGET than an uncapped key's.

Starts its own redis-server (persistence off; about 1 GB at 1M customers) and uses
BENCH_DATABASE_URL (default: PostgreSQL database petstore_bench) for the plan catalogue.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

from common import bench_env
from common import ensure_database as common_ensure_database

from petstore.embedded_redis import start_redis_server

DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/petstore_bench"
)
STRIDE = 7_919  # a prime: consecutive calls land far apart in the key space
SEED_BATCH = 5_000


def routed_key(customer_id: int) -> str:
    """A well-formed routed key (accounts.keys' format) for a seeded customer."""
    from accounts import keys

    body = keys._base62(customer_id * 2_654_435_761 % 62**20, 32)  # distinct, not secret
    text = f"ps_live_{body}_{keys._base62(customer_id)}"
    return text + keys._checksum(text)


def seed(
    first: int, last: int, plan, plans_version: str, period_id: str, key_caps: bool = False
) -> list[str]:
    """Customers first..last: grant, token, quota counter and pending hash in Redis."""
    from accounts.keys import hash_key
    from metering import store
    from metering.grants import REDIS_GRANT_TTL_SECONDS, grant_fields, key_record

    r = store.client()
    raw_keys = []
    for start in range(first, last + 1, SEED_BATCH):
        pipe = r.pipeline(transaction=False)
        for customer_id in range(start, min(start + SEED_BATCH, last + 1)):
            raw = routed_key(customer_id)
            raw_keys.append(raw)
            record = key_record(customer_id, expires_at=None, revoked=False)
            digest = hash_key(raw)
            fields = grant_fields(
                plan=plan,
                plans_version=plans_version,
                first_call_recorded=True,
                key_records={digest: record},
                key_caps={digest: 10**12} if key_caps else None,
            )
            grant = store.grant_key(customer_id)
            pipe.set(store.cfg_key(customer_id), "t")
            mapping = dict(zip(fields[::2], fields[1::2], strict=True))
            pipe.hset(grant, mapping={"tok": "t", **mapping})
            pipe.expire(grant, REDIS_GRANT_TTL_SECONDS)
            pipe.hset(store.period_key(customer_id, period_id), "units", 0)
            pipe.hset(store.pending_key(customer_id), "seeded", 1)
        pipe.execute()
    return raw_keys


def measure(raw_keys: list[str], size: int, calls: int, *, warm: bool) -> dict[str, float]:
    from metering import services, store

    r = store.client()

    def run(n: int) -> float:
        started = time.perf_counter()
        for i in range(n):
            raw = raw_keys[(i * STRIDE) % size]
            admission = services.request_admit(raw_key=raw, method="GET", route="api/v1/pets")
            services.request_finish(admission, 200)
        return (time.perf_counter() - started) / n * 1e6

    if warm:
        # The same customers once each first, so that every size measures customers already
        # active this minute (their rate window and request records exist), not first calls.
        run(calls)
    cpu_before = r.info("cpu")
    us = run(calls)
    cpu_after = r.info("cpu")
    redis_cpu = sum(cpu_after[f] - cpu_before[f] for f in ("used_cpu_sys", "used_cpu_user"))
    return {"us": us, "redis_us": redis_cpu / calls * 1e6}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--sizes", default="1000,100000,1000000")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--key-caps", action="store_true", help="every key has its own cap")
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))

    data_dir = Path(tempfile.mkdtemp(prefix="bench-admission-"))
    proc, redis_url = start_redis_server(data_dir=data_dir, appendonly=False)
    try:
        os.environ.update(bench_env(DATABASE_URL, redis_url))
        common_ensure_database(DATABASE_URL, dict(os.environ))
        import django

        django.setup()
        from accounts.models import Plan
        from core.periods import current_period
        from metering import store
        from metering.grants import grants
        from metering.rules import rules

        plan = rules.plan(Plan.objects.get(slug="enterprise").pk)
        plans_version = rules.current_plans_version()
        period_id = current_period().id
        started = time.monotonic()
        raw_keys = seed(1, sizes[-1], plan, plans_version, period_id, key_caps=args.key_caps)
        print(f"seeded {sizes[-1]:,} customers in {time.monotonic() - started:.0f} s", flush=True)
        for size in sizes:
            measure(raw_keys, size, args.calls, warm=True)
        # Rounds interleave the sizes, so that drift on a shared machine hits them alike.
        results: dict[int, list[dict[str, float]]] = {size: [] for size in sizes}
        for round_no in range(args.rounds):
            for size in sizes if round_no % 2 == 0 else sizes[::-1]:
                results[size].append(measure(raw_keys, size, args.calls, warm=False))
        memory = store.client().info("memory")
        print()
        print(
            f"admission (request_admit + request_finish), {args.calls:,} calls per size and "
            f"round, {args.rounds} rounds interleaved (medians), round-robin over the keys"
            f"{', each with its own monthly cap' if args.key_caps else ''}:"
        )
        for size in sizes:
            runs = results[size]
            per_round = ", ".join(f"{run['us']:.0f}" for run in runs)
            us = statistics.median(run["us"] for run in runs)
            redis_us = statistics.median(run["redis_us"] for run in runs)
            print(
                f"  {size:>9,} active keys: {us:6.1f} µs per call (rounds: {per_round}), "
                f"Redis CPU {redis_us:.1f} µs per call"
            )
        print(
            f"Redis used {int(memory['used_memory']) / 2**20:,.0f} MB for {sizes[-1]:,} customers"
        )
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(
            f"grants cached in this process: {len(grants._grants)} (peak RSS {rss:.0f} MB, "
            "most of it the bench's own list of raw keys)"
        )
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        shutil.rmtree(data_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
