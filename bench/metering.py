"""Benchmark: what metering costs on the hot path, next to what the usual Django alternative
costs, in the same run on the same view.

Runs the app under gunicorn against real PostgreSQL and Redis and drives load with wrk from a
separate process, on the same pets list view three ways:
  (a) metered: GET /api/v1/pets with a key (grant lookup, rate limit, quota, counting: one Redis
      round trip);
  (b) unmetered: GET /bench/unmetered/pets, the same view with our key authentication but outside
      the metered prefix;
  (c) peer: GET /bench/peer/pets, the same view with djangorestframework-api-key's keys (looked up
      in the database) and DRF's ScopedRateThrottle on the django-redis cache, per key
      (petstore/bench_peer.py).
(b) and (c) exist only with METERING_BENCH_UNMETERED=true; (c) needs `pip install -e '.[bench]'`.

Figures: throughput under load (rounds interleaved, the order rotating, ratios taken per round
then the median), the server CPU each request costs (gunicorn workers and Redis, from /proc and
INFO: steadier than throughput on a shared machine), latency at low load (one connection), Redis
round trips per warm request, how many requests of a 100-request burst each admits against a
10/min limit under a threaded gunicorn, and Redis memory per customer at the Enterprise plan's
full rate with the sliding-log limiter of earlier releases and with the bucketed window of now.

    .venv/bin/python bench/metering.py [--duration 5] [--rounds 6] [--connections 8] [--workers 2]

Needs wrk (apt-get install wrk). Uses BENCH_DATABASE_URL (default: PostgreSQL database
petstore_bench on 127.0.0.1, created if missing) and its own redis-server (persistence off) unless
BENCH_REDIS_URL names one (flushed).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

import redis
import requests
from common import bench_env
from common import ensure_database as common_ensure_database

from petstore.embedded_redis import start_redis_server
from petstore.launch import gunicorn

DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/petstore_bench"
)
CLK_TCK = os.sysconf("SC_CLK_TCK")
SIDES = ("unmetered", "metered", "peer")


def env(redis_url: str, **extra: str) -> dict[str, str]:
    return bench_env(DATABASE_URL, redis_url, METERING_BENCH_UNMETERED="true", **extra)


@contextmanager
def bench_redis():
    """BENCH_REDIS_URL, or a redis-server of the bench's own (its CPU is then the bench's)."""
    url = os.environ.get("BENCH_REDIS_URL")
    if url:
        yield url, False
        return
    data_dir = Path(tempfile.mkdtemp(prefix="bench-redis-"))
    proc, url = start_redis_server(data_dir=data_dir, appendonly=False)
    try:
        yield url, True
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(data_dir, ignore_errors=True)


def django_script(redis_url: str, script: str, **extra: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()\n" + script],
        cwd=BASE_DIR,
        env=env(redis_url, **extra),
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode:
        raise RuntimeError(out.stderr)
    return json.loads(out.stdout.strip().splitlines()[-1])


PREPARE = """
import json
from accounts.models import Plan
from accounts import services
from petstore.models import Pet
from petstore.bench_peer import peer_key_create
from metering import store
store.client().flushdb()
plan, _ = Plan.objects.update_or_create(slug="bench", defaults=dict(
    name="Bench", monthly_price=None, included_units=None, overage_policy="bill",
    rate_limit_per_minute=10**9, max_keys=5, features=["images", "analytics"],
    is_active=False, self_serve=False))
from django.contrib.auth.models import User
User.objects.filter(username="bench@example.com").delete()
customer, raw = services.customer_register(email="bench@example.com", plan=plan)
Pet.objects.bulk_create([Pet(owner=customer, name=f"pet{i}") for i in range(20)])
print(json.dumps({"ours": raw, "peer": peer_key_create(customer.pk)}))
"""

# Fresh Free customers (10 requests a minute), each with one of our keys and one of the peer's.
PREPARE_LIMITED = """
import json, uuid
from accounts.models import Plan
from accounts import services
from petstore.bench_peer import peer_key_create
free = Plan.objects.get(slug="free")
pairs = []
for _ in range({n}):
    customer, raw = services.customer_register(
        email=f"limit-{{uuid.uuid4().hex[:10]}}@example.com", plan=free)
    pairs.append([raw, peer_key_create(customer.pk)])
print(json.dumps({{"pairs": pairs, "limit": free.rate_limit_per_minute}}))
"""


def ensure_database(redis_url: str) -> None:
    common_ensure_database(DATABASE_URL, env(redis_url))


# --- measuring ---------------------------------------------------------------------------------


def percentile_ms(wrk_output: str, percentile: int) -> float:
    number, unit = re.search(rf"\s{percentile}%\s+([\d.]+)(us|ms|s|m)\b", wrk_output).groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def run_wrk(url: str, header: str, duration: float, connections: int) -> dict[str, float]:
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{duration:g}s", "--latency", "-H", header, url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    if os.environ.get("BENCH_VERBOSE"):
        print(out, flush=True)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx:
        raise RuntimeError(f"{non2xx.group(1)} non-2xx responses from {url}:\n{out}")
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "requests": int(re.search(r"(\d+) requests in", out).group(1)),
        "p50": percentile_ms(out, 50),
        "p99": percentile_ms(out, 99),
    }


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime


def gunicorn_workers(port: int) -> list[int]:
    """The worker processes of the gunicorn listening on `port`: forked from the master, they
    share its command line; the master is the one whose parent does not."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if "gunicorn" in cmdline and f"127.0.0.1:{port}" in cmdline:
            parents[int(entry.name)] = int(stat[1])
    return [pid for pid, parent in parents.items() if parent in parents]


class CpuMeter:
    """CPU seconds spent by the gunicorn workers and by Redis between two readings."""

    def __init__(self, workers: list[int], redis_url: str) -> None:
        self.workers = workers
        self.redis = redis.Redis.from_url(redis_url)

    def read(self) -> tuple[float, float]:
        info = self.redis.info("cpu")
        redis_cpu = info["used_cpu_sys"] + info["used_cpu_user"]
        return sum(_cpu_seconds(pid) for pid in self.workers), redis_cpu


def redis_commands_per_request(redis_url: str, url: str, key: str, n: int = 300) -> dict:
    """MONITOR a warm sample: commands sent by clients vs run inside Lua scripts."""
    r = redis.Redis.from_url(redis_url)
    db = r.connection_pool.connection_kwargs.get("db", 0)
    session = requests.Session()
    session.headers["X-API-Key"] = key
    for _ in range(50):  # warm every worker's caches
        session.get(f"{url}/api/v1/pets")
    lines: list[str] = []
    stop = threading.Event()
    monitor_conn = redis.Redis.from_url(redis_url)

    def monitor() -> None:
        with monitor_conn.monitor() as m:
            for command in m.listen():
                if stop.is_set():
                    break
                lines.append(f"{command['db']} {command['client_type']} {command['command']}")

    thread = threading.Thread(target=monitor, daemon=True)
    thread.start()
    time.sleep(0.3)
    for _ in range(n):
        assert session.get(f"{url}/api/v1/pets").status_code == 200
    time.sleep(0.3)
    stop.set()
    r.ping()  # wakes the monitor loop
    thread.join(timeout=2)
    mine = [line for line in lines if line.startswith(f"{db} ")]
    from_clients = [line for line in mine if " lua " not in line and "PING" not in line]
    return {
        "round_trips": len(from_clients) / n,
        "in_script": len([line for line in mine if " lua " in line]) / n,
    }


def burst(url: str, header: tuple[str, str], requests_n: int = 100, threads_n: int = 20) -> int:
    """`requests_n` requests at once from `threads_n` threads: how many were answered 200."""
    statuses: Counter = Counter()
    lock = threading.Lock()
    start = threading.Barrier(threads_n)

    def run() -> None:
        session = requests.Session()
        session.headers[header[0]] = header[1]
        start.wait(timeout=30)
        for _ in range(requests_n // threads_n):
            status = session.get(url, timeout=30).status_code
            with lock:
                statuses[status] += 1

    threads = [threading.Thread(target=run) for _ in range(threads_n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    unexpected = set(statuses) - {200, 429}
    if unexpected:
        raise RuntimeError(f"unexpected statuses from {url}: {statuses}")
    return statuses[200]


def limiter_memory(redis_url: str, rate: int = 10_000) -> dict[str, int]:
    """Bytes of rate-limit state one customer holds at `rate` requests a minute: the sorted-set
    log of earlier releases (one member per admitted request of the last minute, as its script
    wrote them) and the bucketed window of now, driven through the real admission script over a
    whole window (a 6 s window has the same 60 buckets as a minute; only time is compressed)."""
    from metering import store

    r = redis.Redis.from_url(redis_url, decode_responses=True)
    now_ms = int(time.time() * 1000)
    log_key = "{cus_1}:rl"
    pipe = r.pipeline(transaction=False)
    for i in range(rate):  # request id `<12 hex>:<n>`, score = the ms it was admitted
        pipe.zadd(log_key, {f"0123456789ab:{i}": now_ms - 60_000 + i * 60_000 // rate})
    pipe.execute()
    customer = 2
    digest = "d" * 64
    r.set(store.cfg_key(customer), "t")
    r.hset(
        store.grant_key(customer),
        mapping={"tok": "t", "plan": 1, "pv": "v", "lim": rate, "inc": -1, "blk": "0"}
        | {"feat": ",", digest: "1|0"},
    )
    r.hset(store.period_key(customer, "209901"), "units", 0)
    sha = r.script_load(store.METER_LUA)
    window_ms = 6000
    started = time.monotonic()
    i = 0
    while time.monotonic() - started < window_ms / 1000 + 0.2:
        keys = [
            store.cfg_key(customer),
            store.grant_key(customer),
            store.rate_key(customer),
            store.period_key(customer, "209901"),
            store.pending_key(customer),
            store.request_key(customer, 0),
        ]
        args = [digest, "v", window_ms, 1, "", "GET /api/v1/pets", f"m:{i}", 300, "", ""]
        result = r.evalsha(sha, len(keys), *keys, *args)
        i += 1
        # Paced at the full rate: `rate` admissions per window.
        time.sleep(max(started + i * window_ms / 1000 / rate - time.monotonic(), 0))
        if result[0] not in (0, 1):
            raise RuntimeError(f"admission script answered {result}")
    return {
        "log": r.memory_usage(log_key, samples=0),
        "log_members": r.zcard(log_key),
        "window": r.memory_usage(store.rate_key(customer), samples=0),
        "window_fields": r.hlen(store.rate_key(customer)),
        "grant": r.memory_usage(store.grant_key(customer), samples=0),
    }


# --- the run -----------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--low-load-seconds", type=int, default=3)
    parser.add_argument("--bursts", type=int, default=3)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        print("bench/metering.py needs wrk: apt-get install wrk", file=sys.stderr)
        return 2
    try:
        import rest_framework_api_key  # noqa: F401
    except ImportError:
        print("bench/metering.py needs the peer: pip install -e '.[bench]'", file=sys.stderr)
        return 2

    with bench_redis() as (redis_url, own_redis):
        ensure_database(redis_url)
        keys = django_script(redis_url, PREPARE)
        headers = {
            "metered": f"X-API-Key: {keys['ours']}",
            "unmetered": f"X-API-Key: {keys['ours']}",
            "peer": f"Authorization: Api-Key {keys['peer']}",
        }
        results: dict[str, list[dict]] = {side: [] for side in SIDES}
        low: dict[str, list[dict]] = {side: [] for side in SIDES}
        with gunicorn(env=env(redis_url), workers=args.workers) as url:
            targets = {
                "metered": f"{url}/api/v1/pets",
                "unmetered": f"{url}/bench/unmetered/pets",
                "peer": f"{url}/bench/peer/pets",
            }
            cpu = CpuMeter(gunicorn_workers(int(url.rsplit(":", 1)[1])), redis_url)
            plain = redis.Redis.from_url(redis_url)

            def clear_peer_history() -> None:
                # DRF's throttle keeps every request of the window in one list: start each peer
                # round from an empty one, as a customer's first minute would.
                for name in plain.scan_iter("*throttle_bench_peer*"):
                    plain.delete(name)

            for side in SIDES:  # warm up caches and connections
                run_wrk(targets[side], headers[side], 2, args.connections)
            for round_no in range(args.rounds):
                order = SIDES[round_no % 3 :] + SIDES[: round_no % 3]
                if round_no % 2:
                    order = order[::-1]
                for side in order:
                    clear_peer_history()
                    before = cpu.read()
                    run = run_wrk(targets[side], headers[side], args.duration, args.connections)
                    after = cpu.read()
                    run["worker_us"] = (after[0] - before[0]) / run["requests"] * 1e6
                    run["redis_us"] = (after[1] - before[1]) / run["requests"] * 1e6
                    results[side].append(run)
            for round_no in range(3):
                for side in SIDES if round_no % 2 == 0 else SIDES[::-1]:
                    clear_peer_history()
                    run = run_wrk(targets[side], headers[side], args.low_load_seconds, 1)
                    low[side].append(run)
            commands = redis_commands_per_request(redis_url, url, keys["ours"])

        limited = django_script(
            redis_url, PREPARE_LIMITED.format(n=args.bursts), BENCH_PEER_RATE="10/min"
        )
        admitted: dict[str, list[int]] = {"ours": [], "peer": []}
        with gunicorn(
            env=env(redis_url, BENCH_PEER_RATE="10/min"),
            workers=2,
            options=["--threads", "8"],
        ) as url:
            for ours, peer in limited["pairs"]:
                admitted["ours"].append(burst(f"{url}/api/v1/pets", ("X-API-Key", ours)))
                admitted["peer"].append(
                    burst(f"{url}/bench/peer/pets", ("Authorization", f"Api-Key {peer}"))
                )
        memory = limiter_memory(redis_url)

    def median(side: str, field: str, source=results) -> float:
        return statistics.median(run[field] for run in source[side])

    def ratios(side: str) -> list[float]:
        return [
            s["rps"] / u["rps"] for s, u in zip(results[side], results["unmetered"], strict=True)
        ]

    print()
    print(
        f"gunicorn: {args.workers} sync workers; wrk: 1 thread x {args.connections} connections, "
        f"{args.rounds} x {args.duration:g} s per side, interleaved (medians); Redis: "
        f"{'its own redis-server' if own_redis else redis_url}"
    )
    print(
        f"{'':11}{'req/s':>8}{'p50 ms':>8}{'p99 ms':>8}{'worker CPU':>12}{'Redis CPU':>11}"
        f"{'  (µs per request)'}"
    )
    for side in SIDES:
        print(
            f"{side:11}{median(side, 'rps'):>8.0f}{median(side, 'p50'):>8.2f}"
            f"{median(side, 'p99'):>8.2f}{median(side, 'worker_us'):>12.0f}"
            f"{median(side, 'redis_us'):>11.1f}"
        )
    for side in ("metered", "peer"):
        per_round = ratios(side)
        added_cpu = (
            median(side, "worker_us")
            + median(side, "redis_us")
            - median("unmetered", "worker_us")
            - median("unmetered", "redis_us")
        )
        print(
            f"{side}/unmetered throughput: {statistics.median(per_round):.3f} (per round: "
            f"{', '.join(f'{r:.2f}' for r in per_round)}); added server CPU "
            f"{added_cpu:+.0f} µs per request"
        )
    print("low load (1 connection, 3 rounds, medians):")
    for side in ("metered", "peer"):
        print(
            f"  {side}: added p50 {median(side, 'p50', low) - median('unmetered', 'p50', low):+.3f}"
            f" ms, added p99 {median(side, 'p99', low) - median('unmetered', 'p99', low):+.3f} ms"
        )
    print(
        f"Redis round trips per warm metered request: {commands['round_trips']:.3f} "
        f"(commands run inside the script: {commands['in_script']:.1f})"
    )
    print(
        f"burst of 100 requests at once (20 threads) against a {limited['limit']}/min limit, "
        "gunicorn 2 workers x 8 threads, admitted:"
    )
    print(f"  ours: {admitted['ours']}   peer (DRF ScopedRateThrottle): {admitted['peer']}")
    print(f"  peer over-admission: up to {max(admitted['peer']) / limited['limit']:.1f}x the limit")
    print("Redis memory per customer at the Enterprise plan's full rate (10,000 a minute):")
    print(
        f"  rate limit, sliding log of earlier releases: {memory['log']:,} bytes "
        f"({memory['log_members']:,} members)"
    )
    print(
        f"  rate limit, bucketed window now: {memory['window']:,} bytes "
        f"({memory['window_fields']} fields), plus the grant: {memory['grant']:,} bytes"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
