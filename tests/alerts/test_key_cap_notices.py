"""A key reaching its own monthly cap: one `key.cap_reached` event (delivered as a signed
webhook) and one email per key and period, noticed off the hot path from the per-key ledger."""

from __future__ import annotations

import json

import pytest
from django.core import mail
from django.utils import timezone

from accounts import services as account_services
from accounts.models import ApiKey
from alerts.models import KeyCapNotice, WebhookDelivery, WebhookEndpoint, WebhookEvent
from alerts.services import usage_alerts_send
from alerts.webhooks import services as webhook_services
from core.periods import current_period
from metering.services import usage_flush
from tests.conftest import KeyClient

PETS = "/api/v1/pets"


@pytest.mark.django_db(transaction=True)
def test_a_key_reaching_its_cap_emits_one_event_and_one_email(business, receiver):
    response = business.post(
        "/api/v1/webhooks", {"url": receiver.url, "events": ["key.cap_reached"]}, format="json"
    )
    assert response.status_code == 201, response.content
    endpoint = WebhookEndpoint.objects.get(pk=response.json()["id"])
    key = ApiKey.objects.get(customer=business.customer)
    _, other_raw = account_services.api_key_create(customer=business.customer, name="other")
    business.patch(f"/api/v1/keys/{key.pk}", {"monthly_unit_cap": 3}, format="json")
    for _ in range(3):
        assert business.get(PETS).status_code == 200
    usage_flush()
    usage_alerts_send()
    assert KeyCapNotice.objects.count() == 1  # the cap is used up: noticed before any refusal
    assert business.get(PETS).status_code == 429
    assert KeyClient(other_raw).get(PETS).status_code == 200
    usage_flush()
    usage_alerts_send()
    usage_alerts_send()  # once, however often the check runs and the key is refused
    assert business.get(PETS).status_code == 429
    usage_flush()
    usage_alerts_send()

    notice = KeyCapNotice.objects.get()
    assert notice.key_id == key.pk and notice.period == current_period().id
    assert notice.cap == 3 and notice.units_used == 3 and notice.emailed_at is not None
    event = WebhookEvent.objects.get(type="key.cap_reached")
    assert event.data["key_id"] == key.pk and event.data["cap_units"] == 3
    assert event.data["units_used"] == 3 and event.data["monthly_unit_cap"] == 3
    assert event.data["renews_at"] == current_period().end.isoformat()

    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    done = webhook_services.webhook_delivery_attempt(delivery_id=delivery.pk, now=timezone.now())
    assert done.status == "succeeded"
    [request] = receiver.requests
    body = json.loads(request.body)
    assert body["type"] == "key.cap_reached" and body["data"]["key_id"] == key.pk

    [email] = [m for m in mail.outbox if "monthly cap" in m.subject]
    assert email.to == ["business@example.com"]
    assert "“default”" in email.subject
    assert "3 of 3 usage units" in email.body
    assert "429 key_cap_exceeded" in email.body and "other keys keep working" in email.body
    assert "/dashboard/keys/" in email.body


@pytest.mark.django_db(transaction=True)
def test_a_refusal_below_the_cap_is_noticed(business):
    """A 2-unit call refused with 1 unit left: the key never reaches its cap exactly, its
    refusal (refused_key_cap in the ledger) is what is noticed."""
    key = ApiKey.objects.get(customer=business.customer)
    business.patch(f"/api/v1/keys/{key.pk}", {"monthly_unit_cap": 3}, format="json")
    assert business.post(PETS, {"name": "a"}, format="json").status_code == 201
    usage_flush()
    usage_alerts_send()
    assert not KeyCapNotice.objects.exists()  # 2 of 3
    assert business.post(PETS, {"name": "b"}, format="json").status_code == 429
    usage_flush()
    usage_alerts_send()
    notice = KeyCapNotice.objects.get()
    assert notice.units_used == 2 and notice.cap == 3


@pytest.mark.django_db(transaction=True)
def test_an_uncapped_key_gets_no_notice(business):
    for _ in range(3):
        assert business.get(PETS).status_code == 200
    usage_flush()
    usage_alerts_send()
    assert not KeyCapNotice.objects.exists()
    assert not WebhookEvent.objects.filter(type="key.cap_reached").exists()
