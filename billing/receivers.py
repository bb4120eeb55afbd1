"""Stripe webhook handlers (dj-stripe verifies the signature and stores the event first).

Each handler re-reads the current state from Stripe rather than trusting the event's copy, so
they are idempotent and tolerate out-of-order delivery: the latest Stripe state wins.
"""

from __future__ import annotations

import logging

from djstripe.event_handlers import djstripe_receiver

from accounts.models import Customer
from billing.dunning import payment_failure_record, payment_failure_resolve
from billing.services import customer_plan_sync

logger = logging.getLogger(__name__)


def _customer_of(event) -> Customer | None:
    stripe_customer_id = (event.data.get("object") or {}).get("customer")
    if isinstance(stripe_customer_id, dict):
        stripe_customer_id = stripe_customer_id.get("id")
    customer = (
        Customer.objects.select_related("plan")
        .filter(stripe_customer_id=stripe_customer_id)
        .first()
        if stripe_customer_id
        else None
    )
    if customer is None:
        logger.warning("stripe event %s for unknown customer %s", event.id, stripe_customer_id)
    return customer


@djstripe_receiver(
    [
        "customer.subscription.created",
        "customer.subscription.updated",
        "customer.subscription.deleted",
    ]
)
def subscription_changed_sync_plan(sender, event, **kwargs) -> None:
    customer = _customer_of(event)
    if customer is not None:
        customer_plan_sync(customer=customer, reason="stripe")


@djstripe_receiver("invoice.payment_failed")
def invoice_payment_failed_start_dunning(sender, event, **kwargs) -> None:
    customer = _customer_of(event)
    if customer is not None:
        payment_failure_record(customer=customer, invoice_id=event.data["object"]["id"])


@djstripe_receiver(["invoice.paid", "invoice.payment_succeeded"])
def invoice_paid_clear_dunning(sender, event, **kwargs) -> None:
    payment_failure_resolve(invoice_id=event.data["object"]["id"])
