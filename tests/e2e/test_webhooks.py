"""The webhooks pages in chromium: add an endpoint (its secret shown once), a delivery reaches a
real receiver, the delivery log shows it, and Resend sends it again."""

from __future__ import annotations

import json

from django.db import transaction

from accounts import services as account_services
from accounts.models import Plan
from alerts.models import WebhookDelivery
from alerts.webhooks.services import webhook_delivery_attempt
from alerts.webhooks.signing import signature_verify
from tests.alerts.receiver import Receiver
from tests.e2e.test_portal import PASSWORD, expect, log_in


def test_add_an_endpoint_see_its_deliveries_and_resend(page, transactional_db, screenshot):
    customer, _ = account_services.customer_register(
        email="hooks@example.com", password=PASSWORD, plan=Plan.objects.get(slug="business")
    )
    with Receiver() as receiver:
        log_in(page, "hooks@example.com")
        page.get_by_role("link", name="Webhooks").click()
        page.get_by_label("Endpoint URL").fill(receiver.url)
        page.get_by_role("button", name="Add endpoint").click()
        secret = page.get_by_test_id("new-webhook-secret").inner_text()
        assert secret.startswith("whsec_")
        screenshot(page, "webhooks")

        with transaction.atomic():
            account_services.customer_change_plan(
                customer=customer, plan=Plan.objects.get(slug="enterprise")
            )
        delivery = WebhookDelivery.objects.get()
        webhook_delivery_attempt(delivery_id=delivery.pk)
        [request] = receiver.requests
        assert signature_verify(request.headers["PetStore-Signature"], request.body, secret)
        assert json.loads(request.body)["type"] == "plan.changed"

        page.reload()  # the secret is gone
        expect()(page.get_by_test_id("new-webhook-secret")).to_have_count(0)
        page.get_by_role("link", name=receiver.url).click()
        row = page.locator(f'[data-delivery-id="{delivery.pk}"]')
        expect()(row).to_contain_text("plan.changed")
        expect()(row).to_contain_text("Succeeded")
        expect()(row).to_contain_text("200")
        row.get_by_role("button", name="Resend").click()
        expect()(page.get_by_text("queued for delivery again")).to_be_visible()
        webhook_delivery_attempt(delivery_id=delivery.pk)
        assert len(receiver.requests) == 2
        assert receiver.requests[1].body == request.body
