"""Stripe webhook handlers. Our view (billing/webhooks/view.py) has verified the signature
against the endpoint's stored secret and dj-stripe has stored the event (once per event id: a
replayed event does not reach these handlers again).

The event's copy of the object is never acted on: each handler takes only the object's id from
it and re-reads the object from Stripe (the services below), under a lock on the customer, so
they are idempotent and tolerate stale and out-of-order delivery: the latest Stripe state wins.
"""

from __future__ import annotations

import logging

from djstripe.event_handlers import djstripe_receiver

from billing.checkout import checkout_session_complete
from billing.dunning import (
    payment_failure_forgive,
    payment_failure_record,
    payment_failure_resolve_if_paid,
)
from billing.services import subscription_sync
from billing.trials import trial_reminder_send

logger = logging.getLogger(__name__)


def _object_id(event) -> str | None:
    # `event.data` is dj-stripe's stored JSON (a plain dict), not a StripeObject.
    obj = event.data.get("object") if isinstance(event.data, dict) else None
    object_id = obj.get("id") if isinstance(obj, dict) else None
    if not isinstance(object_id, str) or not object_id:
        logger.warning("stripe event %s (%s) names no object", event.id, event.type)
        return None
    return object_id


@djstripe_receiver(
    [
        "customer.subscription.created",
        "customer.subscription.updated",
        "customer.subscription.deleted",
    ]
)
def subscription_changed_sync_plan(sender, event, **kwargs) -> None:
    if subscription_id := _object_id(event):
        subscription_sync(subscription_id=subscription_id)


@djstripe_receiver("invoice.payment_failed")
def invoice_payment_failed_start_dunning(sender, event, **kwargs) -> None:
    if invoice_id := _object_id(event):
        payment_failure_record(invoice_id=invoice_id, source_event_id=event.id)


@djstripe_receiver(["invoice.paid", "invoice.payment_succeeded"])
def invoice_paid_clear_dunning(sender, event, **kwargs) -> None:
    if invoice_id := _object_id(event):
        payment_failure_resolve_if_paid(invoice_id=invoice_id)


@djstripe_receiver(["invoice.voided", "invoice.marked_uncollectible"])
def invoice_forgiven_clear_dunning(sender, event, **kwargs) -> None:
    if invoice_id := _object_id(event):
        payment_failure_forgive(invoice_id=invoice_id)


@djstripe_receiver("checkout.session.completed")
def checkout_completed_sync(sender, event, **kwargs) -> None:
    if session_id := _object_id(event):
        checkout_session_complete(session_id=session_id)


@djstripe_receiver("customer.subscription.trial_will_end")
def trial_will_end_remind(sender, event, **kwargs) -> None:
    if subscription_id := _object_id(event):
        trial_reminder_send(subscription_id=subscription_id)
