"""A real Celery worker consuming from the Redis broker (not eager mode)."""

import time

import pytest
from celery.contrib.testing.worker import start_worker

from metering.models import UsageRecord
from metering.tasks import flush_usage
from petstore.celery import app


@pytest.mark.django_db(transaction=True)
def test_flush_usage_task_runs_on_a_real_worker(pro_client, redis_client):
    for _ in range(3):
        assert pro_client.get("/api/v1/pets").status_code == 200
    with start_worker(
        app, pool="solo", perform_ping_check=False, loglevel="WARNING", shutdown_timeout=10
    ):
        flush_usage.delay()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not UsageRecord.objects.exists():
            time.sleep(0.1)
    record = UsageRecord.objects.get(customer=pro_client.customer)
    assert (record.endpoint, record.calls, record.units) == ("GET /api/v1/pets", 3, 3)
