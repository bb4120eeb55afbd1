"""What a plan change will cost, asked of Stripe before the customer confirms.

The preview is Stripe's own (`invoices.create_preview` with the change as `subscription_details`
and a fixed `proration_date`), made after the customer's usage so far was flushed and reported,
so it shows the usage before the change at the old price exactly as the change will bill it. The
moment it was made travels with the confirmation, signed (`token`), and the change is applied
as of that moment: the invoice that follows equals the preview to the cent.

- An upgrade is invoiced at once: the preview is that invoice (`due_now`).
- A downgrade credits the unused time on the next invoice: the preview is the next invoice as
  it stands (`next_invoice`); usage after the change is added to it at the new plan's price.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import stripe
from django.core import signing
from django.utils import timezone

from accounts.models import Customer, Plan
from billing.errors import UsageNotReported
from billing.reporting import usage_report_until
from billing.services import live_subscription, plan_change_terms, swap_items
from billing.stripe_api import stripe_call

# How long a confirmation page may wait: the change is applied as of the preview's moment, so
# this bounds how far back that moment can be (and keeps it inside the billing period).
PREVIEW_MAX_AGE = timedelta(minutes=15)
_SALT = "billing.plan-change-preview"


@dataclass(frozen=True)
class PreviewLine:
    description: str
    quantity: int | None
    amount_cents: int


@dataclass(frozen=True)
class ChangePreview:
    kind: str  # due_now | next_invoice
    at: datetime
    total_cents: int
    amount_due_cents: int
    lines: tuple[PreviewLine, ...]
    next_payment_at: datetime | None
    token: str


def _when(epoch: int | None) -> datetime | None:
    return datetime.fromtimestamp(epoch, UTC) if epoch else None


def preview_token(*, customer: Customer, plan: Plan, at: datetime) -> str:
    return signing.dumps({"c": customer.pk, "p": plan.slug, "at": int(at.timestamp())}, salt=_SALT)


def preview_moment(token: str, *, customer: Customer, plan: Plan) -> datetime | None:
    """The moment a preview of this change was made, if `token` is one (for this customer and
    plan) and not older than PREVIEW_MAX_AGE; else None."""
    try:
        data = signing.loads(token or "", salt=_SALT, max_age=PREVIEW_MAX_AGE)
    except signing.BadSignature:
        return None
    if data.get("c") != customer.pk or data.get("p") != plan.slug:
        return None
    return datetime.fromtimestamp(int(data["at"]), UTC)


def _lines(invoice: Any) -> tuple[PreviewLine, ...]:
    return tuple(
        PreviewLine(line.description or "", line.quantity, line.amount)
        for line in invoice.lines.data
    )


def plan_change_preview(*, customer: Customer, plan: Plan) -> ChangePreview | None:
    """Stripe's preview of moving the customer's live subscription to `plan` now (None when
    there is no live subscription to change, or `plan` has no Stripe prices)."""
    customer = Customer.objects.select_related("plan").get(pk=customer.pk)
    current = live_subscription(customer)
    if current is None or not plan.is_paid:
        return None
    at = timezone.now().replace(microsecond=0)
    if usage_report_until(customer=customer, until=at).failed:
        raise UsageNotReported()
    terms = plan_change_terms(customer.plan, plan)
    invoice = stripe_call(
        stripe.Invoice.create_preview,
        customer=customer.stripe_customer_id,
        subscription=current.id,
        subscription_details={
            "items": swap_items(current, plan),
            "proration_behavior": terms["proration_behavior"],
            "proration_date": int(at.timestamp()),
        },
    )
    upgrade = terms["proration_behavior"] == "always_invoice"
    return ChangePreview(
        kind="due_now" if upgrade else "next_invoice",
        at=at,
        total_cents=invoice.total,
        amount_due_cents=invoice.amount_due,
        lines=_lines(invoice),
        next_payment_at=None if upgrade else _when(current["items"].data[0].current_period_end),
        token=preview_token(customer=customer, plan=plan, at=at),
    )
