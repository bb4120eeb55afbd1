"""The dashboard's webhooks pages: add an endpoint (its secret shown once), the plan gate, the
delivery log, enabling a disabled endpoint, deleting, and who may see what."""

from __future__ import annotations

import pytest
from django.utils import timezone

from alerts.models import WebhookEndpoint
from alerts.webhooks.secrets import secret_decrypt
from tests.conftest import web_client


@pytest.mark.django_db
def test_adding_an_endpoint_shows_its_secret_once(business):
    web = web_client(business.customer)
    response = web.post(
        "/dashboard/webhooks/",
        {"url": "http://127.0.0.1:9/hook", "events": ["plan.changed", "invoice.paid"]},
    )
    assert response.status_code == 302
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.events == ["plan.changed", "invoice.paid"]
    secret = secret_decrypt(endpoint.secret_encrypted)
    page = web.get("/dashboard/webhooks/").content.decode()
    assert secret in page and "Shown once" in page
    again = web.get("/dashboard/webhooks/").content.decode()
    assert secret not in again and "http://127.0.0.1:9/hook" in again


@pytest.mark.django_db
def test_a_bad_url_is_refused_on_the_form(business, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = False
    web = web_client(business.customer)
    response = web.post(
        "/dashboard/webhooks/", {"url": "http://10.0.0.1/", "events": ["plan.changed"]}
    )
    assert response.status_code == 400
    assert "private" in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.django_db
def test_plans_without_webhooks_are_told_to_upgrade(owner_web):
    page = owner_web.get("/dashboard/webhooks/")
    assert page.status_code == 200
    assert "not in the Free plan" in page.content.decode()
    response = owner_web.post(
        "/dashboard/webhooks/", {"url": "http://127.0.0.1:9/", "events": ["plan.changed"]}
    )
    assert response.status_code == 403
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.django_db
def test_enable_and_delete_an_endpoint(business, other_business):
    response = business.post(
        "/api/v1/webhooks",
        {"url": "http://127.0.0.1:9/", "events": ["plan.changed"]},
        format="json",
    )
    endpoint = WebhookEndpoint.objects.get(pk=response.json()["id"])
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        disabled_at=timezone.now(), disabled_reason="Every delivery attempt failed for 3 days."
    )
    web, stranger = web_client(business.customer), web_client(other_business.customer)
    page = web.get(f"/dashboard/webhooks/{endpoint.pk}/").content.decode()
    assert "failed for 3 days" in page and "Enable again" in page
    assert stranger.post(f"/dashboard/webhooks/{endpoint.pk}/enable/").status_code == 404
    assert web.post(f"/dashboard/webhooks/{endpoint.pk}/enable/").status_code == 302
    endpoint.refresh_from_db()
    assert endpoint.is_enabled
    assert stranger.post(f"/dashboard/webhooks/{endpoint.pk}/delete/").status_code == 404
    assert web.post(f"/dashboard/webhooks/{endpoint.pk}/delete/").status_code == 302
    assert not WebhookEndpoint.objects.exists()
