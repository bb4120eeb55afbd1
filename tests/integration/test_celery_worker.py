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


@pytest.mark.django_db(transaction=True)
def test_a_webhook_is_delivered_and_retried_by_a_real_worker(make_customer, settings):
    """A plan change commits; its webhook is queued on commit and attempted by the worker (the
    receiver answers 500); the beat task finds the retry due and the worker delivers it."""
    from accounts import services as account_services
    from accounts.models import Plan
    from alerts.models import WebhookDelivery
    from alerts.tasks import webhook_deliveries_due
    from alerts.webhooks import services as webhook_services
    from alerts.webhooks.signing import signature_verify
    from tests.alerts.receiver import Receiver

    settings.WEBHOOK_RETRY_BASE_SECONDS = 1  # the first retry due a second later
    customer, _ = make_customer("business", "worker-hooks@example.com")
    with (
        Receiver() as receiver,
        start_worker(
            app, pool="solo", perform_ping_check=False, loglevel="WARNING", shutdown_timeout=10
        ),
    ):
        receiver.answer(500)
        endpoint = webhook_services.webhook_endpoint_create(
            customer=customer, url=receiver.url, events=["plan.changed"]
        )
        secret = endpoint[1]
        account_services.customer_change_plan(
            customer=customer, plan=Plan.objects.get(slug="enterprise")
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and len(receiver.requests) < 1:
            time.sleep(0.05)
        while time.monotonic() < deadline and WebhookDelivery.objects.get().attempts < 1:
            time.sleep(0.05)
        time.sleep(1.1)
        webhook_deliveries_due.delay()
        while time.monotonic() < deadline and WebhookDelivery.objects.get().status != "succeeded":
            time.sleep(0.05)
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("succeeded", 2)
    assert len(receiver.requests) == 2
    assert all(
        signature_verify(r.headers["PetStore-Signature"], r.body, secret) for r in receiver.requests
    )
