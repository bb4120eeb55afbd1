"""Billing writes: Stripe customers, payment methods, subscriptions (the only place that changes
them). Every Stripe call happens before any local change, so a Stripe error leaves local state
as it was."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from accounts.models import Customer, Plan


@dataclass(frozen=True)
class PaymentMethodInfo:
    id: str
    brand: str
    last4: str
    exp_month: int
    exp_year: int


@dataclass(frozen=True)
class SubscriptionState:
    plan_slug: str
    plan_name: str
    status: str  # active, past_due, canceled, ...
    current_period_end: datetime | None
    cancel_at_period_end: bool
    payment_method: PaymentMethodInfo | None
    stripe_subscription_id: str


def payment_method_set(*, customer: Customer, payment_method: str) -> PaymentMethodInfo:
    """Attach a payment method (e.g. a Stripe test id like pm_card_visa) and make it the
    default. CardDeclined (402) / InvalidPaymentMethod (400) on refusal."""
    raise NotImplementedError


def subscription_change(
    *, customer: Customer, plan: Plan, payment_method: str | None = None
) -> SubscriptionState | None:
    """Subscribe, upgrade or downgrade (with proration). Choosing Free cancels the paid
    subscription at period end. Returns the subscription state (None when on Free)."""
    raise NotImplementedError


def subscription_cancel(*, customer: Customer) -> SubscriptionState:
    """Cancel the paid subscription at the end of the period (the plan stays until then)."""
    raise NotImplementedError
