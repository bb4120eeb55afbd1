"""The Stripe server delivers signed webhooks over HTTP to the running app (no relay)."""

import pytest
import stripe
from djstripe.models import Event as DjstripeEvent

from accounts.models import Customer, Plan
from accounts.services import customer_register
from billing.services import subscription_change
from billing.webhooks.endpoint import webhook_endpoint_ensure


@pytest.mark.django_db(transaction=True)
def test_webhooks_are_delivered_signed_and_drive_the_plan(live_server, stripe_server):
    endpoint = webhook_endpoint_ensure(base_url=live_server.url)
    assert endpoint.url.startswith(live_server.url) and endpoint.secret.startswith("whsec_")
    assert webhook_endpoint_ensure(base_url=live_server.url).id == endpoint.id  # idempotent

    customer, _ = customer_register(email="hooks@example.com")
    subscription_change(
        customer=customer, plan=Plan.objects.get(slug="pro"), payment_method="pm_card_visa"
    )
    stripe_server.wait_for_webhooks(timeout=20)
    customer.refresh_from_db()
    stripe.Subscription.cancel(
        stripe.Subscription.list(customer=customer.stripe_customer_id).data[0].id
    )
    stripe_server.wait_for_webhooks(timeout=20)

    assert Customer.objects.get(pk=customer.pk).plan.slug == "free"
    deliveries = stripe_server.deliveries()
    assert deliveries and {d["status"] for d in deliveries} == {200}
    assert DjstripeEvent.objects.filter(type="customer.subscription.deleted").exists()
