"""What the benchmarks share: the environment of the app under test, and a PostgreSQL database
of their own, created and migrated on first use."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent


def bench_env(database_url: str, redis_url: str, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "DJANGO_SETTINGS_MODULE": "petstore.settings",
        "DEBUG": "false",
        "LOG_LEVEL": "WARNING",
        **extra,
    }


def psql(*args: str) -> str:
    return subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-tA", *args],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def ensure_database(database_url: str, env: dict[str, str]) -> None:
    """Create the bench's PostgreSQL database if missing, then migrate it."""
    if database_url.startswith("postgres"):
        name = database_url.rsplit("/", 1)[1]
        if not psql("-c", f"SELECT 1 FROM pg_database WHERE datname='{name}'"):
            psql("-c", f"CREATE DATABASE {name}")
    print("migrating the bench database (first time: about a minute)...", flush=True)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=BASE_DIR,
        env=env,
        check=True,
    )
