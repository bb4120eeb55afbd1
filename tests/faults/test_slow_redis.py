"""A slow Redis (paused by SIGSTOP mid-call) never bills twice and never bills a request it
answered with an error. The app's real client and timeouts (1 s, one re-send) run in this
process against a redis-server of the test's own."""

import pytest

from metering import services
from tests.faults.conftest import ledger_totals

ANALYTICS = "/api/v1/analytics"  # weight 5
PETS = "/api/v1/pets"


@pytest.fixture
def warm(pro_client, app_on_own_redis):
    """A pro customer whose first calls are counted and flushed: key, plan, catalogue and both
    scripts are cached, so the next call is the one-round-trip warm path."""
    assert pro_client.get(ANALYTICS).status_code == 200
    assert pro_client.get(f"{PETS}/999999").status_code == 404
    services.usage_flush()
    assert ledger_totals(pro_client.customer.pk) == {"calls": 1, "units": 5, "errors": 1}
    return pro_client


@pytest.mark.django_db
def test_a_call_during_a_short_pause_is_answered_and_counted_once(warm, own_redis, script_spy):
    # The admission times out after 1 s and is sent again; Redis resumes at 1.5 s and runs both.
    script_spy.pause_before(1, own_redis, seconds=1.5)
    response = warm.get(ANALYTICS)
    script_spy.wait_resumed()
    assert response.status_code == 200
    assert response["X-Usage-Cost"] == "5"
    assert len(script_spy.sent) >= 2  # the admission really was sent twice
    assert warm.get("/api/v1/usage").json()["units_used"] == 10  # a call too, of weight 0
    services.usage_flush()
    assert ledger_totals(warm.customer.pk) == {"calls": 3, "units": 10, "errors": 1}


@pytest.mark.django_db
def test_a_call_answered_503_during_a_long_pause_is_not_billed(warm, own_redis, script_spy):
    # Both sends time out (2 s) while Redis is stopped for 3 s: the answer is 503, and the
    # admission Redis still runs when it resumes must not count.
    script_spy.pause_before(1, own_redis, seconds=3.0)
    response = warm.get(ANALYTICS)
    assert response.status_code == 503
    assert response.json()["error"] == "metering_unavailable"
    script_spy.wait_resumed()
    own_redis.client().ping()  # resumed: whatever was queued has run
    services.usage_flush()
    assert warm.get("/api/v1/usage").json()["units_used"] == 5
    totals = ledger_totals(warm.customer.pk)
    assert (totals["calls"], totals["units"]) == (1, 5)


@pytest.mark.django_db
def test_a_refund_sent_again_after_a_timeout_gives_back_once(warm, own_redis, script_spy):
    # A 404 is refunded after the view; Redis stalls 1.5 s just as the refund goes out, so
    # redis-py sends it a second time and Redis runs both copies.
    script_spy.pause_before(2, own_redis, seconds=1.5)
    response = warm.get(f"{PETS}/999999")
    script_spy.wait_resumed()
    assert response.status_code == 404
    assert len(script_spy.sent) >= 3  # admission, refund, refund again
    services.usage_flush()
    assert ledger_totals(warm.customer.pk) == {"calls": 1, "units": 5, "errors": 2}


@pytest.mark.django_db
def test_a_refund_lost_in_a_long_pause_is_voided_not_doubled(warm, own_redis, script_spy):
    # The refund is never confirmed (3 s stall): the request is voided, and the void and the
    # refund Redis runs when it resumes give the units back once between them.
    script_spy.pause_before(2, own_redis, seconds=3.0)
    response = warm.get(f"{PETS}/999999")
    assert response.status_code == 404
    script_spy.wait_resumed()
    own_redis.client().ping()
    services.usage_flush()
    assert ledger_totals(warm.customer.pk) == {"calls": 1, "units": 5, "errors": 2}
