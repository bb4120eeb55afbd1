"""Benchmark: the usage flush (Redis → PostgreSQL ledger) on a backlog of pending buckets.

Seeds CUSTOMERS customers with one API key each in its own PostgreSQL database (created and
migrated if missing; reused when already seeded), then, in a redis-server of its own, a pending
hash per customer with BUCKETS endpoint × hour buckets (calls, units, and the key's last use),
every customer marked dirty, as the hot path leaves them. Then times `manage.py flush_usage` in a
child process and prints its wall time, buckets per second and peak memory (RSS, from the
child's rusage), with WORKERS processes at once (each works the shards the others are not
working). Checks that the ledger gained exactly what was seeded.

    .venv/bin/python bench/flush.py [--customers 100000] [--buckets 10] [--workers 1]
    .venv/bin/python bench/flush.py --customers 1000000 --buckets 1   # the worst case

Uses BENCH_FLUSH_DATABASE_URL (default: postgres://postgres@127.0.0.1:5432/petstore_bench_flush).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

from common import bench_env, ensure_database, psql

DATABASE_URL = os.environ.get(
    "BENCH_FLUSH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/petstore_bench_flush"
)
DB_NAME = DATABASE_URL.rsplit("/", 1)[1]
EMAIL_DOMAIN = "flush.bench"


def sql(statement: str) -> str:
    return psql("-d", DB_NAME, "-c", statement)


def seed_customers(n: int) -> list[tuple[int, int]]:
    """(customer id, key id) of the bench's first n customers, inserting what is missing."""
    have = int(sql(f"SELECT count(*) FROM accounts_customer WHERE email LIKE '%@{EMAIL_DOMAIN}'"))
    if have < n:
        started = time.monotonic()
        plan = sql("SELECT id FROM accounts_plan WHERE slug = 'pro'")
        sql(
            "INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, "
            "email, is_staff, is_active, date_joined) SELECT '!bench', false, "
            f"'b' || g || '@{EMAIL_DOMAIN}', '', '', 'b' || g || '@{EMAIL_DOMAIN}', false, true, "
            f"now() FROM generate_series({have + 1}, {n}) g"
        )
        sql(
            "INSERT INTO accounts_customer (email, name, created_at, plan_changed_at, "
            "stripe_customer_id, user_id, plan_id) SELECT u.email, 'bench', now(), now(), '', "
            f"u.id, {plan} FROM auth_user u WHERE u.email LIKE '%@{EMAIL_DOMAIN}' AND NOT "
            "EXISTS (SELECT 1 FROM accounts_customer c WHERE c.user_id = u.id)"
        )
        sql(
            "INSERT INTO accounts_apikey (name, prefix, key_hash, created_at, customer_id) "
            "SELECT 'bench', 'ps_live_B' || lpad(c.id::text, 10, '0'), md5(c.id::text) || "
            "md5(c.email), now(), c.id FROM accounts_customer c WHERE c.email LIKE "
            f"'%@{EMAIL_DOMAIN}' AND NOT EXISTS (SELECT 1 FROM accounts_apikey k WHERE "
            "k.customer_id = c.id)"
        )
        print(f"seeded {n - have:,} customers in {time.monotonic() - started:.0f}s", flush=True)
    rows = sql(
        "SELECT c.id, min(k.id) FROM accounts_customer c JOIN accounts_apikey k ON "
        f"k.customer_id = c.id WHERE c.email LIKE '%@{EMAIL_DOMAIN}' GROUP BY c.id "
        f"ORDER BY c.id LIMIT {n}"
    )
    return [tuple(int(v) for v in line.split("|")) for line in rows.splitlines()]


def seed_redis(url: str, customers: list[tuple[int, int]], buckets: int) -> int:
    """Pending hashes and dirty marks as the admission script leaves them; returns the units."""
    import redis

    from metering import store

    r = redis.Redis.from_url(url)
    r.flushdb()
    hour = int(time.time()) // 3600 * 3600 - 3600
    now = int(time.time())
    units = 0
    started = time.monotonic()
    for i in range(0, len(customers), 10_000):
        pipe = r.pipeline(transaction=False)
        by_shard: dict[int, list[int]] = {}
        for customer_id, key_id in customers[i : i + 10_000]:
            fields: dict[str, int] = {f"lastused|{key_id}": now}
            for b in range(buckets):
                fields[f"GET /api/v1/bench/{b}|{hour}|calls"] = 3
                fields[f"GET /api/v1/bench/{b}|{hour}|units"] = 5
                units += 5
            pipe.hset(store.pending_key(customer_id), mapping=fields)
            by_shard.setdefault(store.dirty_shard(customer_id), []).append(customer_id)
        for shard, ids in by_shard.items():
            pipe.sadd(store.dirty_key(shard), *ids)
        pipe.execute()
    print(
        f"seeded {len(customers) * buckets:,} pending buckets ({len(customers):,} customers) "
        f"in Redis in {time.monotonic() - started:.0f}s; used_memory "
        f"{r.info('memory')['used_memory'] / 2**20:.0f} MB",
        flush=True,
    )
    return units


def ledger_units() -> int:
    return int(sql("SELECT coalesce(sum(units), 0) FROM metering_usagerecord"))


def run_flush(env: dict[str, str], workers: int) -> tuple[float, int]:
    """Wall time of WORKERS flush processes started together, and the largest peak RSS (KB)."""
    shards = list(range(16))
    started = time.monotonic()
    procs = []
    for w in range(workers):
        # Each worker starts at its own shard and goes round: they meet only on busy shards.
        order = shards[w * 16 // workers :] + shards[: w * 16 // workers]
        procs.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "manage.py",
                    "flush_usage",
                    *(f"--shard={s}" for s in order),
                ],
                cwd=BASE_DIR,
                env=env,
            )
        )
    peak = 0
    for proc in procs:
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode:
            raise SystemExit(f"flush_usage failed ({proc.returncode})")
        peak = max(peak, usage.ru_maxrss)
    return time.monotonic() - started, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--buckets", type=int, default=10, help="buckets per customer")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--runs", type=int, default=1)
    options = parser.parse_args()

    from petstore.embedded_redis import start_redis_server

    redis_proc, redis_url = start_redis_server(appendonly=False)
    try:
        env = bench_env(DATABASE_URL, redis_url)
        os.environ.update(env)
        exists = psql("-c", f"SELECT 1 FROM pg_database WHERE datname='{DB_NAME}'")
        if not exists or not sql("SELECT 1 FROM pg_tables WHERE tablename = 'accounts_apikey'"):
            ensure_database(DATABASE_URL, env)
        import django

        django.setup()
        customers = seed_customers(options.customers)
        total = len(customers) * options.buckets
        for run in range(options.runs):
            sql("TRUNCATE metering_usagerecord, metering_flushedbatch")
            sql("UPDATE accounts_apikey SET last_used_at = NULL WHERE last_used_at IS NOT NULL")
            sql("VACUUM ANALYZE")
            units = seed_redis(redis_url, customers, options.buckets)
            seconds, peak_kb = run_flush(env, options.workers)
            landed = ledger_units()
            verdict = "exact" if landed == units else f"MISMATCH: {landed:,} of {units:,} units"
            print(
                f"run {run + 1}: {total:,} buckets of {len(customers):,} customers, "
                f"{options.workers} worker(s): {seconds:.1f}s, {total / seconds:,.0f} buckets/s, "
                f"peak RSS {peak_kb / 1024:.0f} MB per worker; ledger {verdict}",
                flush=True,
            )
    finally:
        redis_proc.terminate()
        redis_proc.wait(timeout=10)


if __name__ == "__main__":
    main()
