"""The webhooks API: endpoints with a secret shown once, the plan's feature gate, who may touch
what, validation, the limit, and the routes being free account endpoints."""

from __future__ import annotations

import pytest

from alerts.models import WebhookEndpoint
from alerts.webhooks.secrets import secret_decrypt
from alerts.webhooks.services import MAX_ENDPOINTS
from core.events import EVENT_TYPES
from core.periods import current_period
from metering.selectors import customer_usage

URL = "/api/v1/webhooks"


def create(client, url="http://127.0.0.1:9/hook", events=("plan.changed",)):
    return client.post(URL, {"url": url, "events": list(events)}, format="json")


@pytest.mark.django_db
def test_create_answers_the_secret_once_and_stores_it_encrypted(business):
    response = create(business, events=["invoice.paid", "plan.changed", "invoice.paid"])
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) >= {"id", "url", "events", "secret", "enabled", "created_at"}
    assert body["url"] == "http://127.0.0.1:9/hook"
    assert body["events"] == ["plan.changed", "invoice.paid"]  # once each, catalogue order
    assert body["secret"].startswith("whsec_") and len(body["secret"]) > 40
    stored = WebhookEndpoint.objects.get(pk=body["id"])
    assert body["secret"] not in stored.secret_encrypted
    assert secret_decrypt(stored.secret_encrypted) == body["secret"]
    listed = business.get(URL).json()["results"]
    assert [e["id"] for e in listed] == [body["id"]]
    assert "secret" not in listed[0]


@pytest.mark.django_db
def test_every_event_type_of_the_catalogue_can_be_subscribed(business):
    response = create(business, events=list(EVENT_TYPES))
    assert response.status_code == 201
    assert response.json()["events"] == list(EVENT_TYPES)
    assert "key.cap_reached" in response.json()["events"]


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["get", "post", "delete"])
def test_plans_without_webhooks_get_403_feature_not_in_plan(owner, pro_client, method):
    for client in (owner, pro_client):  # Free and Pro do not list Webhooks
        path = f"{URL}/1" if method == "delete" else URL
        kwargs = {"data": {"url": "http://127.0.0.1:9/", "events": ["plan.changed"]}}
        response = getattr(client, method)(
            path, format="json", **(kwargs if method == "post" else {})
        )
        assert response.status_code == 403
        body = response.json()
        assert body["error"] == "feature_not_in_plan"
        assert body["upgrade_url"].startswith("http")
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.django_db
def test_an_endpoint_is_deleted_by_its_owner_only(business, other_business):
    endpoint_id = create(business).json()["id"]
    assert other_business.delete(f"{URL}/{endpoint_id}").status_code == 404
    assert other_business.get(URL).json()["results"] == []
    assert business.delete(f"{URL}/{endpoint_id}").status_code == 204
    assert business.delete(f"{URL}/{endpoint_id}").status_code == 404
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ({"url": "http://127.0.0.1:9/", "events": []}, "validation_error"),
        ({"url": "http://127.0.0.1:9/", "events": ["invoice.exploded"]}, "validation_error"),
        ({"url": "http://127.0.0.1:9/"}, "validation_error"),
        ({"url": "ftp://127.0.0.1/x", "events": ["plan.changed"]}, "invalid_webhook_url"),
        ({"url": "not a url", "events": ["plan.changed"]}, "invalid_webhook_url"),
        ({"url": "http://user:pw@127.0.0.1/", "events": ["plan.changed"]}, "invalid_webhook_url"),
        ({"url": "http://" + "a" * 2050, "events": ["plan.changed"]}, "validation_error"),
        (
            {"url": "http://127.0.0.1:9/", "events": ["plan.changed"], "secret": "x"},
            "validation_error",
        ),
        ({"url": 42, "events": ["plan.changed"]}, "validation_error"),
        (
            {"url": "http://no-such-host.invalid/", "events": ["plan.changed"]},
            "invalid_webhook_url",
        ),
    ],
)
def test_bad_input_is_a_clear_400(business, payload, code):
    response = business.post(URL, payload, format="json")
    assert response.status_code == 400
    assert response.json()["error"] == code
    assert response.json()["message"]
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.django_db
def test_an_account_has_at_most_the_limit_of_endpoints(business):
    for n in range(MAX_ENDPOINTS):
        assert create(business, url=f"http://127.0.0.1:9/{n}").status_code == 201
    response = create(business)
    assert response.status_code == 409
    assert response.json()["error"] == "webhook_limit_reached"
    assert WebhookEndpoint.objects.count() == MAX_ENDPOINTS


@pytest.mark.django_db
def test_webhook_calls_are_free_account_calls(business):
    create(business)
    business.get(URL)
    period = current_period()
    usage = customer_usage(customer_id=business.customer.pk, start=period.start, end=period.end)
    assert usage.by_endpoint["POST /api/v1/webhooks"].calls == 1
    assert usage.by_endpoint["GET /api/v1/webhooks"].calls == 1
    assert usage.total.units == 0


@pytest.mark.django_db
def test_the_schema_documents_the_operations(client):
    schema = client.get("/api/schema/", {"format": "json"}).json()
    webhooks = schema["paths"]["/api/v1/webhooks"]
    assert webhooks["get"]["operationId"] == "webhooks_list"
    assert webhooks["post"]["operationId"] == "webhooks_create"
    assert schema["paths"]["/api/v1/webhooks/{pk}"]["delete"]["operationId"] == "webhooks_destroy"
    assert {"201", "400", "401", "403", "409"} <= set(webhooks["post"]["responses"])
    assert webhooks["post"]["x-feature"] == "webhooks" and webhooks["post"]["x-cost"] == 0
    request = schema["components"]["schemas"]["WebhookEndpointCreateRequest"]
    assert request["properties"]["url"]["maxLength"] == 2048
    assert request["properties"]["events"]["minItems"] == 1
    assert request["additionalProperties"] is False
    responses = webhooks["post"]["responses"]
    assert "invalid_webhook_url" in responses["400"]["description"]
    assert "feature_not_in_plan" in responses["403"]["description"]
    assert "webhook_limit_reached" in responses["409"]["description"]
    params = {p["name"] for p in webhooks["post"].get("parameters", [])}
    assert "Idempotency-Key" in params
