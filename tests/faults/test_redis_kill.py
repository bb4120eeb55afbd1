"""Redis killed (SIGKILL) and restarted on the same AOF during traffic against a real gunicorn:
no 500, no 503 billed, counting resumes exactly, and with `appendfsync everysec` the loss is
bounded by the last seconds of traffic (docs/operations.md, "What a crash of Redis loses")."""

import shutil
import time
from pathlib import Path

import pytest
import redis

from metering import services
from petstore.embedded_redis import start_embedded_redis
from tests.faults.conftest import RedisProcess, Traffic, ledger_totals, use_redis, wait_until
from tests.servers import gunicorn

OK = {200, 201}
ANSWERS = {200, 201, 404, 503}  # 404: the missing pet; 503: metering unavailable


@pytest.fixture
def enterprise(make_customer):
    return make_customer("enterprise")  # no quota, 10,000 calls a minute: nothing refused


def _server(tmp_path, appendfsync: str) -> RedisProcess:
    return RedisProcess(tmp_path / "redis", appendfsync=appendfsync).start()


@pytest.mark.django_db(transaction=True)
def test_redis_killed_and_restarted_during_traffic_bills_exactly_what_was_served(
    enterprise, tmp_path, monkeypatch, settings
):
    customer, raw = enterprise
    # `always`: a reply leaves only once its write is on disk, so nothing acknowledged is lost
    # and the ledger must match the answers exactly.
    redis_server = _server(tmp_path, "always")
    use_redis(redis_server.url, monkeypatch, settings)
    try:
        with gunicorn(workers=2, REDIS_URL=redis_server.url) as url:
            traffic = Traffic(url, raw).start()
            traffic.wait_for(150)
            killed_at = time.monotonic()
            redis_server.kill()
            traffic.wait_for(20, since=killed_at, statuses={503})
            restarted_at = time.monotonic()
            redis_server.start()
            traffic.wait_for(150, since=restarted_at, statuses=OK)
            traffic.stop()
        services.usage_flush()
    finally:
        redis_server.stop()
    assert traffic.statuses() <= ANSWERS  # never a 500
    assert traffic.count(statuses={503}) >= 20
    totals = ledger_totals(customer.pk)
    assert totals["units"] == traffic.served_units()
    assert totals["calls"] == traffic.calls_billed()


@pytest.mark.django_db(transaction=True)
def test_a_kill_with_aof_everysec_loses_at_most_the_last_seconds(
    enterprise, tmp_path, monkeypatch, settings
):
    customer, raw = enterprise
    redis_server = _server(tmp_path, "everysec")
    use_redis(redis_server.url, monkeypatch, settings)
    try:
        with gunicorn(workers=2, REDIS_URL=redis_server.url) as url:
            traffic = Traffic(url, raw).start()
            started_at = time.monotonic()
            # Well past the 2.5 s of the bound below, so that the bound says something.
            wait_until(
                lambda: time.monotonic() - started_at > 5 and traffic.count() >= 300,
                timeout=60,
                what="5 s of traffic",
            )
            killed_at = time.monotonic()
            redis_server.kill()
            traffic.stop()
        redis_server.start()  # the same data directory: what the AOF kept
        services.usage_flush()
    finally:
        redis_server.stop()
    assert traffic.statuses() <= ANSWERS
    served = traffic.served_units()
    lost = served - ledger_totals(customer.pk)["units"]
    # everysec: Redis writes the AOF before it replies, fsyncs it every second, and may hold a
    # write back at most 2 s while an fsync is slow; a killed process loses only what was not
    # written. So the loss is at most what was answered in the last 2 s (+ requests in flight).
    last_seconds = traffic.served_units(since=killed_at - 2.5)
    print(
        f"\nAOF everysec, kill -9 after {killed_at - started_at:.1f} s of traffic: {lost} of "
        f"{served} units lost (bound: {last_seconds}, the last 2.5 s)"
    )
    assert last_seconds < served
    assert 0 <= lost <= last_seconds


def test_the_embedded_redis_keeps_its_counters_across_a_kill():
    # `make run` and the test suite's own Redis: AOF with fsync every second.
    proc, url = start_embedded_redis()
    data_dir = None
    try:
        r = redis.Redis.from_url(url, decode_responses=True)
        assert r.config_get("appendonly") == {"appendonly": "yes"}
        assert r.config_get("appendfsync") == {"appendfsync": "everysec"}
        data_dir = Path(r.config_get("dir")["dir"])
        r.hincrby("{cus_1}:pending", "GET /api/v1/pets|0|units", 7)
        proc.kill()
        proc.wait(timeout=10)
        proc, url = start_embedded_redis(r.connection_pool.connection_kwargs["port"], data_dir)
        assert r.hget("{cus_1}:pending", "GET /api/v1/pets|0|units") == "7"
    finally:
        proc.kill()
        proc.wait(timeout=10)
        if data_dir is not None:
            shutil.rmtree(data_dir, ignore_errors=True)
