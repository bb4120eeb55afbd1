"""Webhook deliveries as real HTTP requests to a receiver on loopback: the body, the signature,
one id per fact, retries on the backoff schedule, the 3-day window, disabling a dead endpoint,
resends, and the events emitted by the layers below (plan changes, usage alerts, quota)."""

from __future__ import annotations

import json
from datetime import timedelta
from itertools import pairwise

import pytest
from django.core import mail
from django.utils import timezone

from accounts import services as account_services
from accounts.models import Plan
from alerts.models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from alerts.services import usage_alerts_send
from alerts.webhooks import services
from alerts.webhooks.signing import signature_verify
from core.events import domain_event_emit
from tests.factories import UsageRecordFactory


def endpoint_for(client, url, events=("plan.changed",)):
    response = client.post("/api/v1/webhooks", {"url": url, "events": list(events)}, format="json")
    assert response.status_code == 201, response.content
    return WebhookEndpoint.objects.get(pk=response.json()["id"]), response.json()["secret"]


def emit(customer, source="test:1", event_type="plan.changed", data=None):
    return domain_event_emit(
        customer_id=customer.pk, event_type=event_type, source=source, data=data or {"n": 1}
    )


def attempt(delivery, now):
    return services.webhook_delivery_attempt(delivery_id=delivery.pk, now=now)


@pytest.mark.django_db
def test_a_plan_change_is_posted_signed_to_the_endpoint(business, receiver):
    endpoint, secret = endpoint_for(business, receiver.url)
    account_services.customer_change_plan(
        customer=business.customer, plan=Plan.objects.get(slug="enterprise")
    )
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    done = attempt(delivery, timezone.now())
    assert done.status == "succeeded" and done.attempts == 1 and done.last_response_code == 200
    assert done.last_latency_ms is not None
    [request] = receiver.requests
    assert request.path == "/hooks/petstore"
    assert request.headers["Content-Type"] == "application/json"
    assert signature_verify(request.headers["PetStore-Signature"], request.body, secret)
    assert not signature_verify(request.headers["PetStore-Signature"], request.body, "whsec_x")
    assert not signature_verify(request.headers["PetStore-Signature"], request.body + b" ", secret)
    body = json.loads(request.body)
    assert set(body) == {"id", "type", "created", "data"}
    assert body["type"] == "plan.changed" and body["id"].startswith("evt_")
    assert body["data"]["from_plan"] == "business" and body["data"]["to_plan"] == "enterprise"
    assert isinstance(body["created"], int)
    assert request.headers["PetStore-Event-Id"] == body["id"]


@pytest.mark.django_db
def test_only_subscribed_enabled_endpoints_of_a_webhooks_plan_get_events(business, owner, receiver):
    subscribed, _ = endpoint_for(business, receiver.url, ["plan.changed"])
    endpoint_for(business, receiver.url + "/other", ["invoice.paid"])
    disabled, _ = endpoint_for(business, receiver.url + "/off", ["plan.changed"])
    WebhookEndpoint.objects.filter(pk=disabled.pk).update(disabled_at=timezone.now())
    emit(business.customer)
    emit(owner.customer)  # Free: no webhooks
    assert list(WebhookDelivery.objects.values_list("endpoint_id", flat=True)) == [subscribed.pk]


@pytest.mark.django_db
def test_the_same_fact_emitted_twice_is_one_event_and_one_delivery(business, receiver):
    endpoint_for(business, receiver.url)
    first = emit(business.customer, source="plan-change:42")
    again = emit(business.customer, source="plan-change:42", data={"n": 2})
    other = emit(business.customer, source="plan-change:43")
    assert first.id == again.id != other.id
    assert WebhookEvent.objects.count() == 2
    assert WebhookDelivery.objects.count() == 2
    now = timezone.now()
    for delivery in WebhookDelivery.objects.all():
        attempt(delivery, now)
    ids = [json.loads(r.body)["id"] for r in receiver.requests]
    assert sorted(ids) == sorted({first.id, other.id})


@pytest.mark.django_db
def test_failed_attempts_are_retried_with_exponential_backoff_then_succeed(business, receiver):
    endpoint, secret = endpoint_for(business, receiver.url)
    emit(business.customer)
    delivery = WebhookDelivery.objects.get()
    t0 = delivery.created_at
    receiver.answer(500, 503, 302)
    assert attempt(delivery, t0).next_attempt_at == t0 + timedelta(minutes=1)
    endpoint.refresh_from_db()
    assert endpoint.failing_since == t0
    # Not due yet: neither the sweep nor a stray task attempts it.
    assert services.deliveries_due(now=t0 + timedelta(seconds=59)) == []
    assert attempt(delivery, t0 + timedelta(seconds=59)) is None
    assert len(receiver.requests) == 1
    t1 = t0 + timedelta(minutes=1)
    assert services.deliveries_due(now=t1) == [delivery.pk]
    assert attempt(delivery, t1).next_attempt_at == t1 + timedelta(minutes=2)
    t2 = t1 + timedelta(minutes=2)
    third = attempt(delivery, t2)  # a redirect is a failure: never followed
    assert third.last_response_code == 302 and "redirect" in third.last_error
    assert third.next_attempt_at == t2 + timedelta(minutes=4)
    t3 = t2 + timedelta(minutes=4)
    done = attempt(delivery, t3)
    assert (done.status, done.attempts, done.last_response_code) == ("succeeded", 4, 200)
    assert done.next_attempt_at is None
    endpoint.refresh_from_db()
    assert endpoint.failing_since is None
    # Every attempt carried the same event id (receivers deduplicate by it), each signed anew.
    bodies = {r.body for r in receiver.requests}
    assert len(receiver.requests) == 4 and len(bodies) == 1
    assert all(
        signature_verify(r.headers["PetStore-Signature"], r.body, secret) for r in receiver.requests
    )
    assert len({r.headers["PetStore-Event-Id"] for r in receiver.requests}) == 1


def test_the_retry_schedule_spans_three_days(settings):
    created = timezone.now()
    now, attempts, times = created, 0, []
    while now is not None:
        attempts += 1
        times.append(now - created)
        now = services.next_attempt_at(created_at=created, failed_attempts=attempts, now=now)
    assert times[1:6] == [timedelta(minutes=m) for m in (1, 3, 7, 15, 31)]
    gaps = [b - a for a, b in pairwise(times)]
    assert all(later >= earlier for earlier, later in pairwise(gaps[:-1]))
    assert max(gaps) == timedelta(hours=12)
    assert times[-1] == timedelta(days=3)
    assert attempts == 16


@pytest.mark.django_db
def test_an_endpoint_failing_for_three_days_is_disabled_and_its_owner_emailed(
    business, receiver, django_capture_on_commit_callbacks
):
    endpoint, _ = endpoint_for(business, receiver.url)
    emit(business.customer, source="a")
    first = WebhookDelivery.objects.get()
    receiver.answer(*[500] * 20)
    now = first.created_at
    with django_capture_on_commit_callbacks(execute=True):
        emit(business.customer, source="b")  # a second delivery, pending when it is disabled
        second = WebhookDelivery.objects.exclude(pk=first.pk).get()
        WebhookDelivery.objects.filter(pk=second.pk).update(next_attempt_at=now + timedelta(days=9))
        while (current := attempt(first, now)) is not None and current.next_attempt_at:
            endpoint.refresh_from_db()
            assert endpoint.is_enabled  # not before the 3 days are over
            now = current.next_attempt_at
    first.refresh_from_db()
    assert first.status == "failed" and first.attempts == 16
    endpoint.refresh_from_db()
    assert not endpoint.is_enabled and endpoint.disabled_at == first.created_at + timedelta(days=3)
    second.refresh_from_db()
    assert second.status == "failed" and second.last_error == "endpoint disabled"
    [email] = mail.outbox
    assert email.to == [business.customer.email] and endpoint.url in email.body
    emit(business.customer, source="c")  # nothing more is sent to a disabled endpoint
    assert WebhookDelivery.objects.count() == 2
    assert len(receiver.requests) == 16


@pytest.mark.django_db
def test_one_success_within_the_window_keeps_the_endpoint(business, receiver):
    endpoint, _ = endpoint_for(business, receiver.url)
    emit(business.customer, source="a")
    first = WebhookDelivery.objects.get()
    t0 = first.created_at
    receiver.answer(500)
    assert attempt(first, t0).attempts == 1
    emit(business.customer, source="b")
    second = WebhookDelivery.objects.get(attempts=0)
    attempt(second, t0 + timedelta(days=2))  # answered 200
    endpoint.refresh_from_db()
    assert endpoint.failing_since is None and endpoint.is_enabled


@pytest.mark.django_db(transaction=True)
def test_resend_from_the_dashboard_delivers_the_same_event_again(business, receiver, celery_eager):
    from tests.conftest import web_client

    endpoint, _ = endpoint_for(business, receiver.url)
    web = web_client(business.customer)
    account_services.customer_change_plan(  # queued on commit, attempted by the (eager) task
        customer=business.customer, plan=Plan.objects.get(slug="enterprise")
    )
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "succeeded" and len(receiver.requests) == 1
    page = web.get(f"/dashboard/webhooks/{endpoint.pk}/")
    assert page.status_code == 200
    assert delivery.event_id in page.content.decode() and "Resend" in page.content.decode()
    response = web.post(f"/dashboard/webhooks/{endpoint.pk}/deliveries/{delivery.pk}/resend/")
    assert response.status_code == 302
    assert len(receiver.requests) == 2
    assert receiver.requests[0].body == receiver.requests[1].body
    delivery.refresh_from_db()
    assert delivery.attempts == 2 and delivery.status == "succeeded"
    # Another customer cannot see or resend it.
    stranger = web_client(
        account_services.customer_register(
            email="s@example.com", plan=Plan.objects.get(slug="business")
        )[0]
    )
    assert stranger.get(f"/dashboard/webhooks/{endpoint.pk}/").status_code == 404
    assert (
        stranger.post(
            f"/dashboard/webhooks/{endpoint.pk}/deliveries/{delivery.pk}/resend/"
        ).status_code
        == 404
    )


@pytest.mark.django_db
def test_usage_alerts_and_the_quota_emit_their_events_once(business, receiver):
    included = business.customer.plan.included_units
    # In the ledger before any call (a call seeds the quota counter from it).
    UsageRecordFactory(customer=business.customer, calls=included, units=included)
    endpoint_for(business, receiver.url, ["usage.threshold_reached", "quota.exhausted"])
    usage_alerts_send()
    usage_alerts_send()
    types = sorted(WebhookEvent.objects.values_list("type", flat=True))
    assert types == ["quota.exhausted", "usage.threshold_reached", "usage.threshold_reached"]
    thresholds = sorted(
        e.data["threshold_percent"]
        for e in WebhookEvent.objects.filter(type="usage.threshold_reached")
    )
    assert thresholds == [80, 100]
    exhausted = WebhookEvent.objects.get(type="quota.exhausted")
    assert exhausted.data["units_used"] == included
