"""Fault tests: a redis-server process of the test's own that the test pauses (SIGSTOP), kills
(SIGKILL) and restarts, with the app's real client and its real timeouts. Never the suite's
Redis, never the machine's. Every wait is bounded."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis
from django.db.models import Sum

from metering import store
from metering.catalogue import catalogue
from metering.grants import grants
from metering.models import UsageRecord
from petstore.embedded_redis import start_redis_server
from petstore.ports import free_port


class RedisProcess:
    """One redis-server on a fixed port and data directory, so that it can be restarted as the
    same server (what it finds in its AOF is what survived)."""

    def __init__(self, data_dir: Path, *, appendonly: bool = True, appendfsync: str = "everysec"):
        self.port = free_port()
        self.data_dir = data_dir
        self.appendonly = appendonly
        self.appendfsync = appendfsync
        self.proc: subprocess.Popen | None = None
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._paused = False

    def start(self) -> RedisProcess:
        self.proc, self.url = start_redis_server(
            self.port, self.data_dir, appendonly=self.appendonly, appendfsync=self.appendfsync
        )
        return self

    def client(self) -> redis.Redis:
        """A client for the test's own reads (generous timeout, not the app's)."""
        return redis.Redis.from_url(self.url, socket_timeout=10, decode_responses=True)

    def pause(self) -> None:
        os.kill(self.proc.pid, signal.SIGSTOP)
        self._paused = True

    def resume(self) -> None:
        os.kill(self.proc.pid, signal.SIGCONT)
        self._paused = False

    def resume_after(self, seconds: float) -> threading.Timer:
        timer = threading.Timer(seconds, self.resume)
        timer.start()
        return timer

    @contextmanager
    def paused_for(self, seconds: float):
        """Paused now, resumed `seconds` later by a timer; on exit, resumed for sure."""
        self.pause()
        timer = self.resume_after(seconds)
        try:
            yield
        finally:
            timer.join(timeout=seconds + 5)
            if self._paused:
                self.resume()

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        if self._paused:
            self.resume()
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)


@pytest.fixture
def own_redis(tmp_path):
    server = RedisProcess(tmp_path / "redis").start()
    yield server
    server.stop()


def use_redis(url: str, monkeypatch, settings) -> None:
    """Point this process's metering client and Django's cache at `url`."""
    monkeypatch.setattr(store, "_client", store.new_client(url))
    monkeypatch.setattr(store.scripts, "_scripts", {})
    settings.CACHES = {
        "default": {**settings.CACHES["default"], "LOCATION": url},
    }
    grants.clear()
    catalogue.invalidate()


@pytest.fixture
def app_on_own_redis(own_redis, monkeypatch, settings):
    """The app under test (in this process) talks to `own_redis` only."""
    use_redis(own_redis.url, monkeypatch, settings)
    yield own_redis
    grants.clear()
    catalogue.invalidate()


class ScriptSpy:
    """Records every EVALSHA this process sends through redis-py (the library's own send, not
    a component of ours), and can stall or kill the server just before a given command goes
    out, which makes "Redis fails during this very call" deterministic."""

    def __init__(self) -> None:
        self.sent: list[tuple] = []
        self._trigger = None
        self.timers: list[threading.Timer] = []

    def pause_before(self, nth: int, server: RedisProcess, seconds: float) -> None:
        """Stop the server for `seconds` just before the n-th EVALSHA is sent."""

        def trigger(command: str) -> bool:
            if command == "EVALSHA" and len(self.sent) == nth:
                server.pause()
                self.timers.append(server.resume_after(seconds))
                return True
            return False

        self._trigger = trigger

    def kill_before(self, command: str, server: RedisProcess) -> None:
        """Kill the server just before the first `command` (e.g. MULTI) is sent."""

        def trigger(sent: str) -> bool:
            if sent == command:
                server.kill()
                return True
            return False

        self._trigger = trigger

    def seen(self, args: tuple) -> None:
        if args and str(args[0]).upper() == "EVALSHA":
            self.sent.append(args)

    def sending(self, packed) -> None:
        """Every write to a socket (single commands and pipelines): its first command's name."""
        first = packed if isinstance(packed, bytes | str) else (packed[0] if packed else b"")
        first = first.encode() if isinstance(first, str) else bytes(first)
        parts = first.split(b"\r\n")
        command = parts[2].decode().upper() if len(parts) > 2 else ""
        if self._trigger is not None and self._trigger(command):
            self._trigger = None

    def wait_resumed(self) -> None:
        for timer in self.timers:
            timer.join(timeout=30)


@pytest.fixture
def script_spy(monkeypatch):
    spy = ScriptSpy()
    connection = redis.connection.AbstractConnection
    original_send, original_send_packed = connection.send_command, connection.send_packed_command

    def send_command(self, *args, **kwargs):
        spy.seen(args)
        return original_send(self, *args, **kwargs)

    def send_packed_command(self, command, check_health=True):
        spy.sending(command)
        return original_send_packed(self, command, check_health)

    monkeypatch.setattr(connection, "send_command", send_command)
    monkeypatch.setattr(connection, "send_packed_command", send_packed_command)
    yield spy
    spy.wait_resumed()


def ledger_totals(customer_id: int) -> dict[str, int]:
    totals = UsageRecord.objects.filter(customer_id=customer_id).aggregate(
        calls=Sum("calls"), units=Sum("units"), errors=Sum("errors")
    )
    return {k: v or 0 for k, v in totals.items()}


def wait_until(predicate, timeout: float = 20.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


class Traffic:
    """Client threads calling the API of a running server with a mix of weights, recording
    when each answer came, its status and the units it was answered as billable for."""

    KINDS = {"list": 1, "create": 2, "missing": 0, "analytics": 5}

    def __init__(self, base_url: str, raw_key: str, *, threads: int = 4, per_thread: int = 3000):
        import requests

        self.base_url = base_url
        self.headers = {"X-API-Key": raw_key}
        self.answers: list[tuple[float, int, int]] = []  # (monotonic time, status, units)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._requests = requests
        self._threads = [
            threading.Thread(target=self._run, args=(n, per_thread), daemon=True)
            for n in range(threads)
        ]

    def _call(self, session, kind: str):
        url = f"{self.base_url}/api/v1"
        if kind == "list":
            return session.get(f"{url}/pets", timeout=30)
        if kind == "create":
            return session.post(f"{url}/pets", json={"name": "f"}, timeout=30)
        if kind == "missing":
            return session.get(f"{url}/pets/999999999", timeout=30)
        return session.get(f"{url}/analytics", timeout=30)

    def _run(self, n: int, count: int) -> None:
        import random

        rng = random.Random(n)
        session = self._requests.Session()
        session.headers.update(self.headers)
        kinds = list(self.KINDS)
        for _ in range(count):
            if self._stop.is_set():
                return
            kind = rng.choice(kinds)
            status = self._call(session, kind).status_code
            billed = self.KINDS[kind] if 200 <= status < 400 else 0
            with self._lock:
                self.answers.append((time.monotonic(), status, billed))

    def start(self) -> Traffic:
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)

    def count(self, *, since: float = 0.0, statuses=None) -> int:
        with self._lock:
            return sum(
                1 for t, s, _ in self.answers if t >= since and (statuses is None or s in statuses)
            )

    def wait_for(self, n: int, *, since: float = 0.0, statuses=None, timeout: float = 60) -> None:
        wait_until(
            lambda: self.count(since=since, statuses=statuses) >= n,
            timeout,
            f"{n} answers {statuses or ''} since {since:.1f}",
        )

    def served_units(self, *, since: float = 0.0) -> int:
        with self._lock:
            return sum(units for t, _, units in self.answers if t >= since)

    def statuses(self) -> set[int]:
        with self._lock:
            return {s for _, s, _ in self.answers}

    def calls_billed(self) -> int:
        with self._lock:
            return sum(1 for _, s, _ in self.answers if 200 <= s < 400)
