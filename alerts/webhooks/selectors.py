"""Outbound webhooks, the reads: a customer's endpoints and an endpoint's delivery log."""

from __future__ import annotations

from accounts.models import Customer
from alerts.models import WebhookDelivery, WebhookEndpoint
from core.errors import NotFound

DELIVERY_LOG_LENGTH = 100


class WebhookNotFound(NotFound):
    default_message = "No such webhook endpoint."


def customer_endpoints(customer: Customer) -> list[WebhookEndpoint]:
    return list(WebhookEndpoint.objects.filter(customer=customer))


def customer_endpoint(customer: Customer, endpoint_id: int) -> WebhookEndpoint:
    """One of the customer's endpoints; WebhookNotFound for another's or a missing one."""
    endpoint = WebhookEndpoint.objects.filter(pk=endpoint_id, customer=customer).first()
    if endpoint is None:
        raise WebhookNotFound()
    return endpoint


def endpoint_deliveries(endpoint: WebhookEndpoint) -> list[WebhookDelivery]:
    """The latest deliveries to an endpoint, newest first."""
    return list(
        WebhookDelivery.objects.filter(endpoint=endpoint)
        .select_related("event")
        .order_by("-created_at", "-id")[:DELIVERY_LOG_LENGTH]
    )


def endpoint_delivery(endpoint: WebhookEndpoint, delivery_id: int) -> WebhookDelivery:
    delivery = (
        WebhookDelivery.objects.filter(pk=delivery_id, endpoint=endpoint)
        .select_related("endpoint", "event")
        .first()
    )
    if delivery is None:
        raise NotFound("No such delivery.")
    return delivery
