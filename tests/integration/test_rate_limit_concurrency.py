"""The rate limit's bound under concurrency: never more than the limit admitted in any window,
however many threads and processes ask at once (metering.store, "Rate limit")."""

import threading
import time

import pytest
import requests

from metering import services
from metering.errors import RateLimited
from metering.services import admission
from tests.servers import burst, gunicorn

PETS = "/api/v1/pets"


@pytest.mark.django_db(transaction=True)
def test_a_burst_through_threaded_gunicorn_admits_exactly_the_limit(make_customer):
    """100 requests at once from 20 threads to 2 workers x 8 threads: the Free plan's 10 are
    admitted, not one more (DRF's throttle on a shared cache admits up to 21: bench/metering.py)."""
    _, raw = make_customer("free")
    with gunicorn(workers=2, threads=8) as url:
        statuses = burst(url, raw, clients=20, calls_each=5).statuses
        usage = requests.get(f"{url}/api/v1/usage", headers={"X-API-Key": raw}, timeout=30)
    assert statuses == {200: 10, 429: 90}
    by_endpoint = {row["endpoint"]: row for row in usage.json()["by_endpoint"]}
    assert by_endpoint["GET /api/v1/pets"]["calls"] == 10
    assert by_endpoint["GET /api/v1/pets"]["refused_rate_limit"] == 90


def _worst_window_count(admitted: list[tuple[float, float]], window: float) -> int:
    """The most admissions that could have fallen in one window. Redis admitted each request at
    some instant inside [sent, answered]; a window starting at a request's send time can hold
    every later-sent request answered less than `window` after that."""
    worst = 0
    for sent, _ in admitted:
        inside = [a for s, a in admitted if s >= sent and a - sent < window]
        worst = max(worst, len(inside))
    return worst


@pytest.mark.django_db
def test_no_window_ever_holds_more_than_the_limit_under_threads(owner, monkeypatch):
    """8 threads hammer a 10-per-2-s limit for 4 s: the window refills (more than 10 get
    through in all) but no 2 s span ever holds more than 10 admissions."""
    monkeypatch.setattr(admission, "WINDOW_MS", 2000)
    services.request_admit(raw_key=owner.raw_key, method="GET", route="api/v1/pets")  # warm
    time.sleep(2.1)
    admitted: list[tuple[float, float]] = []
    lock = threading.Lock()
    deadline = time.monotonic() + 4.0

    def hammer() -> None:
        while time.monotonic() < deadline:
            sent = time.monotonic()
            try:
                services.request_admit(raw_key=owner.raw_key, method="GET", route="api/v1/pets")
            except RateLimited:
                time.sleep(0.005)
                continue
            with lock:
                admitted.append((sent, time.monotonic()))

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert len(admitted) >= 20  # it refilled
    assert _worst_window_count(admitted, 2.0) <= 10
