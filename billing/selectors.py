"""Billing reads: the customer's subscription, invoices and open payment failure (Stripe is
read through the library; what it bills is priced by pricing.selectors)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import stripe

from accounts.models import Customer
from billing.models import PaymentFailure
from billing.stripe_api import stripe_call
from core.money import cents_to_dollars


def customer_subscription(customer: Customer):
    """The customer's current paid subscription as a `billing.services.SubscriptionState`, or
    None when the customer is on a free plan."""
    from billing.services import live_subscription, subscription_state

    subscription = live_subscription(customer)
    return subscription_state(subscription, customer=customer) if subscription else None


def _dollars(cents: int | None) -> str:
    return str(cents_to_dollars(cents))


def _when(epoch: int | None) -> datetime | None:
    return datetime.fromtimestamp(epoch, UTC) if epoch else None


def customer_invoices(customer: Customer, *, limit: int = 24) -> list[dict[str, Any]]:
    """The customer's invoices, newest first: id, number, status, total/amount_due/amount_paid
    (decimal strings in dollars), currency, period_start, period_end, created (datetimes),
    hosted_invoice_url."""
    if not customer.stripe_customer_id:
        return []
    invoices = stripe_call(stripe.Invoice.list, customer=customer.stripe_customer_id, limit=limit)
    return [
        {
            "id": invoice.id,
            "number": invoice.number or "",
            "status": invoice.status,
            "total": _dollars(invoice.total),
            "amount_due": _dollars(invoice.amount_due),
            "amount_paid": _dollars(invoice.amount_paid),
            "currency": invoice.currency,
            "period_start": _when(invoice.period_start),
            "period_end": _when(invoice.period_end),
            "created": _when(invoice.created),
            "hosted_invoice_url": invoice.hosted_invoice_url or "",
        }
        for invoice in invoices.data
    ]


def customer_open_payment_failure(customer: Customer):
    """The open `PaymentFailure` (unpaid invoice under dunning), or None."""
    return (
        PaymentFailure.objects.filter(
            customer=customer, resolved_at__isnull=True, downgraded_at__isnull=True
        )
        .order_by("-first_failed_at")
        .first()
    )
