"""Benchmark: how throughput scales with web workers, and from one Redis node to a Redis Cluster.

Runs the app under gunicorn with 1, 2 and 4 workers against real PostgreSQL and, in turn, a
single redis-server and a local Redis Cluster of 3 masters (petstore/redis_cluster.py, the same
binary), and drives GET /api/v1/pets (metered: key, rate limit, quota, counting) with wrk from a
separate process, the requests spread over KEYS customers (so their keys spread over the
cluster's slots). Each configuration runs RUNS times; the medians are printed, with the ratio to
one worker on one node. A flush process runs meanwhile, as beat would run it.

    .venv/bin/python bench/scale.py [--duration 8] [--runs 3] [--connections 16] [--keys 64]

Needs wrk (apt-get install wrk). Uses BENCH_SCALE_DATABASE_URL (default: PostgreSQL database
petstore_bench_scale on 127.0.0.1, created and migrated if missing). On a machine with fewer
cores than workers + Redis + PostgreSQL + wrk, the curve flattens where the cores run out: the
figures say what one machine does, docs/scaling.md what adding machines does.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

from common import bench_env, ensure_database, psql

from petstore.embedded_redis import start_redis_server
from petstore.launch import gunicorn
from petstore.redis_cluster import start_redis_cluster

DATABASE_URL = os.environ.get(
    "BENCH_SCALE_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/petstore_bench_scale"
)
DB_NAME = DATABASE_URL.rsplit("/", 1)[1]

PREPARE = """
import json, sys
import django; django.setup()
from django.contrib.auth.models import User
from accounts import services
from accounts.models import Plan
from metering import store
store.client().flushdb()
plan, _ = Plan.objects.update_or_create(slug="bench", defaults=dict(
    name="Bench", monthly_price=None, included_units=None, overage_policy="bill",
    rate_limit_per_minute=10**9, max_keys=5, features=["images", "analytics"],
    is_active=False, self_serve=False))
User.objects.filter(username__endswith="@scale.bench").delete()
keys = []
for n in range(int(sys.argv[1])):
    customer, raw = services.customer_register(email=f"c{n}@scale.bench", plan=plan)
    keys.append(raw)
print(json.dumps(keys))
"""

WRK_SCRIPT = """
local keys = {%s}
local n = 0
request = function()
  n = n + 1
  return wrk.format("GET", "/api/v1/pets", {["X-API-Key"] = keys[(n %% #keys) + 1]})
end
"""


def prepare(env: dict[str, str], keys: int) -> list[str]:
    import json

    out = subprocess.run(
        [sys.executable, "-c", PREPARE, str(keys)],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_wrk(url: str, script: Path, duration: int, connections: int) -> tuple[float, int]:
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "-s", str(script), url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rps, int(non2xx.group(1)) if non2xx else 0


def flushing(env: dict[str, str], stop: threading.Event) -> threading.Thread:
    """`manage.py flush_usage` every 10 s while the load runs, as beat would."""

    def loop() -> None:
        while not stop.wait(10):
            subprocess.run(
                [sys.executable, "manage.py", "flush_usage"],
                cwd=BASE_DIR,
                env=env,
                stdout=subprocess.DEVNULL,
                check=False,
            )

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    return thread


def measure(
    label: str, env: dict[str, str], options, script_dir: Path
) -> dict[int, tuple[float, int]]:
    keys = prepare(env, options.keys)
    script = script_dir / f"keys-{label}.lua"
    script.write_text(WRK_SCRIPT % ", ".join(f'"{k}"' for k in keys))
    figures: dict[int, tuple[float, int]] = {}
    stop = threading.Event()
    flusher = flushing(env, stop)
    try:
        for workers in (1, 2, 4):
            with gunicorn(env=env, workers=workers) as url:
                run_wrk(f"{url}/api/v1/pets", script, 2, options.connections)  # warm up
                rates, refused = [], 0
                for _ in range(options.runs):
                    rps, non2xx = run_wrk(
                        f"{url}/api/v1/pets", script, options.duration, options.connections
                    )
                    rates.append(rps)
                    refused += non2xx
                figures[workers] = (statistics.median(rates), refused)
                print(
                    f"  {label:>22}, {workers} web worker(s): median {figures[workers][0]:7.0f}"
                    f" req/s over {options.runs} runs ({', '.join(f'{r:.0f}' for r in rates)})"
                    + (f"; {refused} non-2xx" if refused else ""),
                    flush=True,
                )
    finally:
        stop.set()
        flusher.join(timeout=60)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=8)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--keys", type=int, default=64)
    options = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is missing: apt-get install -y wrk")
    base = bench_env(DATABASE_URL, "redis://unused", DEBUG="false")
    exists = psql("-c", f"SELECT 1 FROM pg_database WHERE datname='{DB_NAME}'")
    if not exists or not psql(
        "-d", DB_NAME, "-c", "SELECT 1 FROM pg_tables WHERE tablename = 'accounts_apikey'"
    ):
        node, node_url = start_redis_server(appendonly=False)
        try:
            ensure_database(DATABASE_URL, {**base, "REDIS_URL": node_url})
        finally:
            node.terminate()
    print(
        f"{os.cpu_count()} CPU cores; wrk -t2 -c{options.connections}, {options.duration}s x "
        f"{options.runs} runs per figure, {options.keys} customers' keys round-robin",
        flush=True,
    )
    results: dict[str, dict[int, tuple[float, int]]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as scratch:
        node, node_url = start_redis_server(appendonly=False)
        try:
            results["one Redis node"] = measure(
                "one Redis node", {**base, "REDIS_URL": node_url}, options, Path(scratch)
            )
        finally:
            node.terminate()
            node.wait(timeout=10)
        cluster = start_redis_cluster(3)
        broker, broker_url = start_redis_server(appendonly=False)
        try:
            cluster_env = {
                **base,
                "REDIS_URL": cluster.url,
                "REDIS_CLUSTER": "true",
                "CELERY_BROKER_URL": broker_url,
            }
            results["Redis Cluster, 3 masters"] = measure(
                "Redis Cluster, 3 masters", cluster_env, options, Path(scratch)
            )
        finally:
            cluster.stop()
            broker.terminate()
            broker.wait(timeout=10)
    baseline = results["one Redis node"][1][0]
    print("\nreq/s (median)            1 worker   2 workers   4 workers   (x one worker, one node)")
    for label, figures in results.items():
        cells = "  ".join(
            f"{figures[w][0]:7.0f} {figures[w][0] / baseline:4.2f}x" for w in (1, 2, 4)
        )
        print(f"{label:24} {cells}")


if __name__ == "__main__":
    main()
