"""Billing pages of the portal (billing owns the overview, plans, invoices, alerts and the
pricing page)."""

from billing.views.account import (
    alerts_page,
    billing_page,
    overview,
    payment_method,
    plan_change,
    subscription_cancel,
)
from billing.views.pricing import pricing_page

__all__ = [
    "alerts_page",
    "billing_page",
    "overview",
    "payment_method",
    "plan_change",
    "pricing_page",
    "subscription_cancel",
]
