"""Real servers for tests that need more than one process: gunicorn against the test database
and the suite's Redis."""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

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
