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
    a component of ours), and can pause the server just before the n-th one goes out, which
    makes "Redis stalls during this very call" deterministic."""

    def __init__(self) -> None:
        self.sent: list[tuple] = []
        self._pause_at: int | None = None
        self._pause_for = 0.0
        self._server: RedisProcess | None = None
        self.timers: list[threading.Timer] = []

    def pause_before(self, nth: int, server: RedisProcess, seconds: float) -> None:
        self._pause_at, self._server, self._pause_for = nth, server, seconds

    def seen(self, args: tuple) -> None:
        if not args or str(args[0]).upper() != "EVALSHA":
            return
        self.sent.append(args)
        if self._pause_at == len(self.sent):
            self._server.pause()
            self.timers.append(self._server.resume_after(self._pause_for))

    def wait_resumed(self) -> None:
        for timer in self.timers:
            timer.join(timeout=30)


@pytest.fixture
def script_spy(monkeypatch):
    spy = ScriptSpy()
    original = redis.connection.AbstractConnection.send_command

    def send_command(self, *args, **kwargs):
        spy.seen(args)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(redis.connection.AbstractConnection, "send_command", send_command)
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
