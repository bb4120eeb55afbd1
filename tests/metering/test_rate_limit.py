import time

import pytest

from core.periods import current_period
from metering import services, store
from metering.errors import RateLimited
from metering.services import admission

PETS = "/api/v1/pets"


@pytest.mark.django_db
def test_free_plan_allows_10_per_minute_then_429(owner):
    for i in range(10):
        response = owner.get(PETS)
        assert response.status_code == 200
        assert response["X-RateLimit-Remaining"] == str(9 - i)
    refused = owner.get(PETS)
    assert refused.status_code == 429
    body = refused.json()
    assert body["error"] == "rate_limit_exceeded"
    assert body["limit"] == 10 and body["window"] == "60s"
    assert body["upgrade_url"].endswith("/pricing/")
    assert 55 <= int(refused["Retry-After"]) <= 60
    assert refused["X-RateLimit-Remaining"] == "0"
    assert refused["X-RateLimit-Limit"] == "10"
    # Refused requests are counted for analytics, never billed.
    assert (
        store.client().hget(store.period_key(owner.customer.pk, current_period().id), "units")
        == "10"
    )


@pytest.mark.django_db
def test_limit_holds_in_every_sliding_window_no_boundary_burst(owner, monkeypatch):
    """With a 2 s window and 10 requests allowed, hammer for 5 s: in *every* 2 s span at most
    10 requests get through, so a window boundary never admits 2× the limit.

    Redis admits request i at some instant inside [sent_i, answered_i]. The limiter promises
    that admissions i and i+10 are at least one window apart, hence answered_{i+10} - sent_i
    >= 2 s, whatever the latency of this (possibly loaded) machine."""
    monkeypatch.setattr(admission, "WINDOW_MS", 2000)
    admitted: list[tuple[float, float]] = []
    deadline = time.monotonic() + 5.0
    while time.monotonic() < deadline:
        sent = time.monotonic()
        if owner.get(PETS).status_code == 200:
            admitted.append((sent, time.monotonic()))
        time.sleep(0.01)
    assert len(admitted) >= 20  # it did refill: not just one burst
    for i in range(len(admitted) - 10):
        assert admitted[i + 10][1] - admitted[i][0] >= 2.0


@pytest.mark.django_db
def test_retry_after_is_honest(owner, monkeypatch):
    """Retry-After is the wait rounded up to whole seconds: the slot frees after more than
    Retry-After - 1 seconds and at most Retry-After seconds."""
    monkeypatch.setattr(admission, "WINDOW_MS", 3000)
    for _ in range(10):
        assert owner.get(PETS).status_code == 200
    refused = owner.get(PETS)
    refused_at = time.monotonic()
    assert refused.status_code == 429
    wait = int(refused["Retry-After"])
    assert 1 <= wait <= 3
    if wait >= 2:  # still inside the window a little before Retry-After - 1
        time.sleep(max(refused_at + wait - 1 - 0.3 - time.monotonic(), 0))
        assert owner.get(PETS).status_code == 429
    time.sleep(max(refused_at + wait + 0.1 - time.monotonic(), 0))
    assert owner.get(PETS).status_code == 200


@pytest.mark.django_db
def test_reset_and_retry_after_count_down_to_the_oldest_request_leaving(owner, redis_client):
    # Nine requests admitted 50 s ago (one 1 s bucket, its last admission 50 s ago): one slot
    # left, and the window frees up when they are a minute old, in 10 s.
    seconds, micros = redis_client.time()
    then_ms = seconds * 1000 + micros // 1000 - 50_000
    bucket = then_ms // 1000
    key = store.rate_key(owner.customer.pk)
    offset = then_ms % 1000
    state = {bucket: 9, f"{bucket}t": offset, "n": 9, "f": bucket, "ft": offset}
    redis_client.hset(key, mapping=state)
    admitted = owner.get(PETS)
    assert admitted.status_code == 200
    assert admitted["X-RateLimit-Remaining"] == "0"
    assert admitted["X-RateLimit-Reset"] == "10"
    refused = owner.get(PETS)
    assert refused.status_code == 429
    assert refused["Retry-After"] == "10"
    assert refused.json()["retry_after"] == 10


@pytest.mark.django_db
def test_limits_are_per_customer(owner, stranger):
    for _ in range(10):
        owner.get(PETS)
    assert owner.get(PETS).status_code == 429
    assert stranger.get(PETS).status_code == 200


@pytest.mark.django_db
def test_paid_plans_have_higher_limits(pro_client):
    response = pro_client.get(PETS)
    assert response["X-RateLimit-Limit"] == "100"
    assert response["X-RateLimit-Remaining"] == "99"


@pytest.mark.django_db
def test_the_window_state_does_not_grow_with_the_limit(make_customer, monkeypatch, redis_client):
    """Thousands of admissions across more than a window leave at most two fields per bucket
    (61 buckets) and three more: no member per request as the sorted-set log had."""
    monkeypatch.setattr(admission, "WINDOW_MS", 1200)  # 60 buckets of 20 ms, as a minute of 1 s
    customer, raw = make_customer("enterprise")  # 10,000 a window
    admitted = 0
    deadline = time.monotonic() + 2.5
    while time.monotonic() < deadline:
        try:
            services.request_admit(raw_key=raw, method="GET", route="api/v1/pets")
        except RateLimited:
            continue
        admitted += 1
    key = store.rate_key(customer.pk)
    assert admitted > 300
    assert redis_client.hlen(key) <= 2 * 61 + 3
    assert int(redis_client.hget(key, "n")) < admitted  # old buckets left the count
    assert redis_client.memory_usage(key, samples=0) < 3000
    assert 0 < redis_client.pttl(key) <= 1200 + 2 * 20
