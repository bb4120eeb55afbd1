"""Registering this site's webhook endpoint with Stripe (used by `setup_stripe`)."""

from __future__ import annotations

import uuid

import stripe
from django.conf import settings
from django.urls import reverse
from djstripe.models import WebhookEndpoint

from billing.stripe_api import djstripe_sync, stripe_call, stripe_retrieve


def webhook_endpoint_ensure(*, base_url: str) -> WebhookEndpoint:
    """A Stripe webhook endpoint for every event, delivering to dj-stripe's view on `base_url`,
    with its signing secret stored where dj-stripe verifies signatures. Idempotent."""
    base_url = base_url.rstrip("/")
    for endpoint in WebhookEndpoint.objects.filter(url__startswith=base_url).exclude(secret=""):
        if stripe_retrieve(stripe.WebhookEndpoint.retrieve, endpoint.id) is not None:
            return endpoint
        endpoint.delete()  # Stripe forgot it (e.g. a fresh local Stripe server)
    endpoint_uuid = uuid.uuid4()
    path = reverse("djstripe:djstripe_webhook_by_uuid", kwargs={"uuid": endpoint_uuid})
    created = stripe_call(
        stripe.WebhookEndpoint.create,
        url=f"{base_url}{path}",
        enabled_events=["*"],
        api_version=settings.STRIPE_API_VERSION,
        metadata={"djstripe_uuid": str(endpoint_uuid)},
    )
    endpoint = djstripe_sync(WebhookEndpoint, created)
    endpoint.secret = created["secret"]
    endpoint.djstripe_uuid = endpoint_uuid
    endpoint.save(update_fields=["secret", "djstripe_uuid"])
    return endpoint
