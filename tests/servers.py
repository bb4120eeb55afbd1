"""Real servers for tests that need more than one process: gunicorn against the test database
and the suite's Redis."""

from __future__ import annotations

import os
import threading
from collections import Counter
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests
from django.conf import settings
from django.db import connection

from petstore import launch


def test_database_url() -> str:
    """The URL of the database the tests run on (the test copy, not the configured one)."""
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    auth = quote(s["USER"] or "")
    if s.get("PASSWORD"):
        auth += ":" + quote(s["PASSWORD"])
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def server_env(**extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": test_database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "DJANGO_SETTINGS_MODULE": "petstore.settings",
        # Tests deliver webhooks to receivers on loopback (the SSRF guard has its own tests).
        "WEBHOOK_ALLOW_PRIVATE_URLS": "true",
        **extra,
    }


# One access-log line per request: method, path, status and User-Agent (tests/sdks reads it to
# tell which operations each SDK's suite called).
ACCESS_LOG_FORMAT = '%(m)s %(U)s %(s)s "%(a)s"'


@contextmanager
def gunicorn(
    workers: int = 2,
    port: int | None = None,
    access_log: Path | None = None,
    threads: int = 1,
    **extra_env: str,
):
    """gunicorn (petstore.launch) with `workers` processes (of `threads` threads each) on the
    test database and the suite's Redis, on `port` (default: a free one); yields its base URL.
    With `access_log`, every request is logged there in ACCESS_LOG_FORMAT."""
    options = ["--threads", str(threads)] if threads > 1 else []
    if access_log is not None:
        options += ["--access-logfile", str(access_log), "--access-logformat", ACCESS_LOG_FORMAT]
    env = server_env(**extra_env)
    with launch.gunicorn(env=env, workers=workers, port=port, options=options) as url:
        yield url


@dataclass
class Burst:
    statuses: Counter = field(default_factory=Counter)  # status code → how many
    errors: Counter = field(default_factory=Counter)  # the 429s' error codes → how many
    meanwhile: Any = None  # what `meanwhile` returned


def burst(
    url: str,
    api_key: str,
    *,
    clients: int,
    calls_each: int,
    path: str = "/api/v1/pets",
    meanwhile: Callable[[], Any] | None = None,
) -> Burst:
    """`clients` threads released at once, each sending `calls_each` GETs of `path` with
    `api_key` (one connection each) to the server at `url`; `meanwhile` runs in this thread
    while they do (another key's call, say)."""
    result = Burst()
    lock = threading.Lock()
    start = threading.Barrier(clients)

    def client() -> None:
        session = requests.Session()
        session.headers["X-API-Key"] = api_key
        start.wait(timeout=30)
        for _ in range(calls_each):
            response = session.get(f"{url}{path}", timeout=30)
            with lock:
                result.statuses[response.status_code] += 1
                if response.status_code == 429:
                    result.errors[response.json()["error"]] += 1

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    if meanwhile is not None:
        result.meanwhile = meanwhile()
    for thread in threads:
        thread.join(timeout=120)
    return result
