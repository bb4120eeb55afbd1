"""Benchmark: what metering costs on the hot path.

Runs the app under gunicorn (same worker count both ways) against real PostgreSQL and Redis and
drives load with wrk from a separate process, on the same pets list view:
  (a) metered: GET /api/v1/pets with a key (authentication, rate limit, quota, counting);
  (b) unmetered: GET /bench/unmetered/pets, the same view with the same key authentication but
      outside the metered prefix (exists only when METERING_BENCH_UNMETERED=true).
Then samples Redis with MONITOR to count the commands one warm metered request sends.

    .venv/bin/python bench/metering.py [--duration 10] [--connections 16] [--workers 2]

Needs wrk (apt-get install wrk). Uses BENCH_DATABASE_URL (default: PostgreSQL database
petstore_bench on 127.0.0.1, created if missing) and BENCH_REDIS_URL (default db 12 of the
local Redis, flushed).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

from common import bench_env
from common import ensure_database as common_ensure_database

from petstore.launch import gunicorn

DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/petstore_bench"
)
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")


def env() -> dict[str, str]:
    return bench_env(DATABASE_URL, REDIS_URL, METERING_BENCH_UNMETERED="true")


def ensure_database() -> None:
    common_ensure_database(DATABASE_URL, env())


def prepare_customer() -> str:
    """A customer on an unlimited bench plan (no 429s in the way), with 20 pets."""
    script = """
import django; django.setup()
from accounts.models import Plan
from accounts import services
from petstore.models import Pet
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
print(raw)
"""
    out = subprocess.run(
        [sys.executable, "-c", script],
        cwd=BASE_DIR,
        env=env(),
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip().splitlines()[-1]


def percentile_ms(wrk_output: str, percentile: int) -> float:
    number, unit = re.search(rf"\s{percentile}%\s+([\d.]+)(us|ms|s|m)\b", wrk_output).groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def run_wrk(url: str, key: str, duration: int, connections: int) -> dict[str, float]:
    out = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{connections}",
            f"-d{duration}s",
            "--latency",
            "-H",
            f"X-API-Key: {key}",
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    print(out, flush=True) if os.environ.get("BENCH_VERBOSE") else None
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50, p99 = percentile_ms(out, 50), percentile_ms(out, 99)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx:
        raise RuntimeError(f"{non2xx.group(1)} non-2xx responses from {url}:\n{out}")
    return {"rps": rps, "p50": p50, "p99": p99}


def redis_commands_per_request(base_url: str, key: str, requests_n: int = 300) -> dict:
    """MONITOR a warm sample: commands sent by clients vs run inside Lua scripts."""
    import redis
    import requests

    r = redis.Redis.from_url(REDIS_URL)
    db = r.connection_pool.connection_kwargs.get("db", 0)
    session = requests.Session()
    session.headers["X-API-Key"] = key
    for _ in range(50):  # warm every worker's caches
        session.get(f"{base_url}/api/v1/pets")
    lines: list[str] = []
    stop = threading.Event()
    monitor_conn = redis.Redis.from_url(REDIS_URL)

    def monitor() -> None:
        with monitor_conn.monitor() as m:
            for command in m.listen():
                if stop.is_set():
                    break
                lines.append(f"{command['db']} {command['client_type']} {command['command']}")

    thread = threading.Thread(target=monitor, daemon=True)
    thread.start()
    time.sleep(0.3)
    for _ in range(requests_n):
        assert session.get(f"{base_url}/api/v1/pets").status_code == 200
    time.sleep(0.3)
    stop.set()
    r.ping()  # wakes the monitor loop
    thread.join(timeout=2)
    mine = [line for line in lines if line.startswith(f"{db} ")]
    from_clients = [line for line in mine if " lua " not in line and "PING" not in line]
    in_scripts = [line for line in mine if " lua " in line]
    evalsha = [line for line in from_clients if "EVALSHA" in line.upper()]
    return {
        "round_trips": len(from_clients) / requests_n,
        "evalsha": len(evalsha) / requests_n,
        "in_script": len(in_scripts) / requests_n,
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=int, default=6)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        print("bench/metering.py needs wrk: apt-get install wrk", file=sys.stderr)
        return 2

    ensure_database()
    key = prepare_customer()
    with gunicorn(env=env(), workers=args.workers) as url:
        metered_url, unmetered_url = f"{url}/api/v1/pets", f"{url}/bench/unmetered/pets"
        for target in (metered_url, unmetered_url):  # warm up caches and connections
            run_wrk(target, key, 2, args.connections)
        results: dict[str, list[dict]] = {"metered": [], "unmetered": []}
        # Interleaved, alternating which side goes first, so drift on this shared machine
        # hits both sides alike; the ratio is taken per round, then the median.
        for round_no in range(args.rounds):
            order = ["unmetered", "metered"] if round_no % 2 == 0 else ["metered", "unmetered"]
            for side in order:
                target = metered_url if side == "metered" else unmetered_url
                results[side].append(run_wrk(target, key, args.duration, args.connections))
        commands = redis_commands_per_request(url, key)

    def summary(name: str) -> dict[str, float]:
        runs = results[name]
        return {k: statistics.median(run[k] for run in runs) for k in ("rps", "p50", "p99")}

    metered, unmetered = summary("metered"), summary("unmetered")
    print()
    print(
        f"gunicorn workers: {args.workers}, wrk: 1 thread x {args.connections} connections, "
        f"{args.rounds} x {args.duration}s per side (medians)"
    )
    print(f"{'':12}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}")
    for name, figures in (("unmetered", unmetered), ("metered", metered)):
        print(f"{name:12}{figures['rps']:>10.0f}{figures['p50']:>10.2f}{figures['p99']:>10.2f}")
    ratios = [
        m["rps"] / u["rps"] for m, u in zip(results["metered"], results["unmetered"], strict=True)
    ]
    print(
        f"metered/unmetered throughput ratio: {statistics.median(ratios):.3f} "
        f"(per round: {', '.join(f'{r:.2f}' for r in ratios)})"
    )
    print(
        f"added p50: {metered['p50'] - unmetered['p50']:+.2f} ms   "
        f"added p99: {metered['p99'] - unmetered['p99']:+.2f} ms"
    )
    print(
        f"Redis round trips per warm metered request: {commands['round_trips']:.3f} "
        f"(EVALSHA {commands['evalsha']:.3f}; commands run inside the script: "
        f"{commands['in_script']:.1f})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
