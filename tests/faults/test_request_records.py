"""Admission, refund and void are idempotent per request: a script that reaches Redis twice
(re-sent after a timeout, or queued in a paused Redis) counts once, and a void settles a request
whatever order it meets the admission in. Scripts are replayed exactly as the app sent them."""

import time

import pytest
from redis.exceptions import RedisError

from accounts.keys import hash_key
from core.periods import current_period
from metering import services, store
from metering.grants import grant_for_key, grant_load
from metering.models import RequestVoid
from metering.rules import rules
from tests.faults.conftest import ledger_totals

PETS = "/api/v1/pets"


def counters(server, customer_id: int) -> dict:
    r = server.client()
    pending = {
        k: v for k, v in r.hgetall(store.pending_key(customer_id)).items() if "lastused" not in k
    }
    units = r.hget(store.period_key(customer_id, current_period().id), "units")
    return {
        "pending": pending,
        "period_units": units,
        "rate_window": r.hgetall(store.rate_key(customer_id)),
    }


def replay(args: tuple):
    """Send a recorded EVALSHA again, as redis-py's retry or a queued copy would."""
    return store.client().execute_command(*args)


@pytest.mark.django_db
def test_an_admission_sent_again_counts_nothing_and_answers_the_same(
    pro_client, app_on_own_redis, script_spy
):
    assert pro_client.get(PETS).status_code == 200
    admission = script_spy.sent[0]
    before = counters(app_on_own_redis, pro_client.customer.pk)
    again = replay(admission)
    assert again[0] == 0  # admitted, as the first time
    assert counters(app_on_own_redis, pro_client.customer.pk) == before


@pytest.mark.django_db
def test_a_refund_sent_again_gives_back_nothing_more(pro_client, app_on_own_redis, script_spy):
    assert pro_client.get(f"{PETS}/999999").status_code == 404
    refund = script_spy.sent[1]
    before = counters(app_on_own_redis, pro_client.customer.pk)
    replay(refund)
    assert counters(app_on_own_redis, pro_client.customer.pk) == before
    services.usage_flush()
    assert ledger_totals(pro_client.customer.pk) == {"calls": 0, "units": 0, "errors": 1}


def _admit(client, route="api/v1/pets", method="GET"):
    return services.request_admit(raw_key=client.raw_key, method=method, route=route)


@pytest.mark.django_db
def test_a_void_gives_back_an_admitted_request_once(pro_client, app_on_own_redis):
    admission = _admit(pro_client, method="POST")  # 2 units
    services.request_void(admission.counted)
    services.request_void(admission.counted)  # recorded once
    assert RequestVoid.objects.count() == 1
    assert services.usage_flush().voids_applied == 1
    assert not RequestVoid.objects.exists()
    # The same void again (a flush that died before deleting its rows) changes nothing.
    services.request_void(admission.counted)
    services.usage_flush()
    assert ledger_totals(pro_client.customer.pk) == {"calls": 0, "units": 0, "errors": 1}
    units = app_on_own_redis.client().hget(
        store.period_key(pro_client.customer.pk, admission.period.id), "units"
    )
    assert units == "0"


@pytest.mark.django_db
def test_a_void_after_a_refund_changes_nothing(pro_client, app_on_own_redis):
    admission = _admit(pro_client, method="POST")
    services.request_finish(admission, 500)  # refunded
    services.request_void(admission.counted)
    services.usage_flush()
    assert ledger_totals(pro_client.customer.pk) == {"calls": 0, "units": 0, "errors": 1}


@pytest.mark.django_db
def test_a_void_before_its_admission_runs_leaves_a_tombstone(pro_client, app_on_own_redis):
    # The order a paused Redis may run them in: the void (sent after the request gave up)
    # first, then the admission that was queued before it.
    grant = grant_for_key(pro_client.raw_key)
    grant_load(grant.customer_id)
    rule = rules.endpoint("POST", "api/v1/pets")
    counted = services.CountedRequest(
        grant.customer_id,
        "late:1",
        store.request_bucket(time.time()),
        current_period().id,
        rule.label,
        rule.weight,
    )
    services.period_seed(customer_id=grant.customer_id, period=current_period())
    services.request_void(counted)
    services.voids_apply()
    before = counters(app_on_own_redis, grant.customer_id)
    result = store.meter(*services.admission_call(counted, hash_key(pro_client.raw_key)))
    assert result == [-3]
    assert counters(app_on_own_redis, grant.customer_id) == before
    services.usage_flush()
    assert ledger_totals(grant.customer_id) == {"calls": 0, "units": 0, "errors": 0}


@pytest.mark.django_db
def test_a_lost_admission_answer_is_voided_when_redis_is_back(pro_client, app_on_own_redis):
    # Redis counted the request, then died before the answer was read: the 503's void waits
    # in the database while Redis is down and is applied by the first flush after.
    admission = _admit(pro_client, method="POST")
    app_on_own_redis.kill()
    response = pro_client.post(PETS, {"name": "x"}, format="json")
    assert response.status_code == 503
    services.request_void(admission.counted)  # the request whose answer was lost
    with pytest.raises(RedisError):
        services.usage_flush()
    # This one, and the 503 just answered if its script went out before the connection failed.
    waiting = RequestVoid.objects.count()
    assert waiting >= 1
    app_on_own_redis.start()  # same port, same AOF
    result = services.usage_flush()
    assert result.voids_applied == waiting
    assert not RequestVoid.objects.exists()
    assert ledger_totals(pro_client.customer.pk) == {"calls": 0, "units": 0, "errors": 1}


@pytest.mark.django_db
def test_request_records_are_small_and_expire(make_customer, app_on_own_redis):
    customer, raw = make_customer("enterprise")
    grant_load(customer.pk)
    period = current_period()
    services.period_seed(customer_id=customer.pk, period=period)
    bucket = store.request_bucket(time.time())
    n = 2000
    for _ in range(n):
        counted = services.CountedRequest(
            customer.pk, services.admission._request_member(), bucket, period.id, "GET /x", 1
        )
        assert store.meter(*services.admission_call(counted, hash_key(raw)))[0] == 0
    r = app_on_own_redis.client()
    key = store.request_key(customer.pk, bucket)
    assert r.hlen(key) == n
    per_request = r.memory_usage(key, samples=0) / n
    assert per_request < 100, per_request  # bytes per request, kept for the record's TTL
    assert 0 < r.ttl(key) <= store.REQUEST_RECORD_TTL_SECONDS
