"""The servers a running `make run` started (its embedded Redis, the local Stripe server), so
that `manage.py` commands run beside it (shell, createsuperuser, seed_demo, a plan edited by
hand) reach the same servers rather than starting a throwaway Redis of their own: a plan saved
from a second process must bump the rules version the running app reads.

petstore.devrun writes `.run/services.env` once its servers are up and removes it when it
stops; manage.py reads it when REDIS_URL is not set. A file left behind by a killed run is
ignored: its Redis must accept a connection.
"""

from __future__ import annotations

import socket
from pathlib import Path
from urllib.parse import urlparse

BASE_DIR = Path(__file__).resolve().parent.parent
SERVICES_FILE = BASE_DIR / ".run" / "services.env"
KEYS = ("REDIS_URL", "STRIPE_API_BASE", "CELERY_BROKER_URL")


def services_write(env: dict[str, str], path: Path = SERVICES_FILE) -> None:
    lines = [f"{key}={env[key]}" for key in KEYS if env.get(key)]
    path.write_text("\n".join(lines) + "\n")


def services_forget(path: Path = SERVICES_FILE) -> None:
    path.unlink(missing_ok=True)


def _answers(url: str) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname, parsed.port or 6379), timeout=0.5):
            return True
    except OSError:
        return False


def running_services(path: Path = SERVICES_FILE) -> dict[str, str]:
    """The running `make run`'s server URLs, or {} when none is running."""
    try:
        text = path.read_text()
    except OSError:
        return {}
    found = dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
    found = {key: value for key, value in found.items() if key in KEYS}
    if not found.get("REDIS_URL") or not _answers(found["REDIS_URL"]):
        return {}
    return found
