"""The same billing flow against Stripe's real test mode.

Skipped unless STRIPE_LIVE_SECRET_KEY holds a real `sk_test_` key (and the network reaches
api.stripe.com): `STRIPE_LIVE_SECRET_KEY=sk_test_… .venv/bin/python -m pytest -m stripe_live`.
"""

import os
from datetime import timedelta

import pytest
import stripe
from django.utils import timezone

from accounts.models import Plan
from accounts.services import customer_register
from billing.reporting import usage_report_to_stripe
from billing.services import subscription_cancel, subscription_change
from billing.stripe_catalog import stripe_catalog_sync
from metering.models import UsageRecord

LIVE_KEY = os.environ.get("STRIPE_LIVE_SECRET_KEY", "")

pytestmark = [
    pytest.mark.stripe_live,
    pytest.mark.skipif(
        not LIVE_KEY.startswith("sk_test_"),
        reason="needs a real Stripe test-mode key in STRIPE_LIVE_SECRET_KEY",
    ),
]


@pytest.fixture
def real_stripe(settings, monkeypatch):
    monkeypatch.setattr(stripe, "api_base", "https://api.stripe.com")
    monkeypatch.setattr(stripe, "api_key", LIVE_KEY)
    settings.STRIPE_TEST_SECRET_KEY = LIVE_KEY


@pytest.mark.django_db
def test_subscribe_report_preview_cancel_on_stripe_test_mode(real_stripe):
    stripe_catalog_sync()
    assert stripe_catalog_sync().prices_created == 0  # idempotent on the real API too
    customer, _ = customer_register(email=f"live-{timezone.now():%Y%m%d%H%M%S}@example.com")
    state = subscription_change(
        customer=customer, plan=Plan.objects.get(slug="pro"), payment_method="pm_card_visa"
    )
    assert state.status == "active"
    customer.refresh_from_db()
    UsageRecord.objects.create(
        customer=customer,
        endpoint="GET /api/v1/pets",
        hour=timezone.now().replace(minute=0, second=0, microsecond=0),
        calls=51_000,
        units=51_000,
    )
    result = usage_report_to_stripe(now=timezone.now() + timedelta(hours=2))
    assert result.sent == 1 and result.failed == 0
    preview = stripe.Invoice.create_preview(customer=customer.stripe_customer_id)
    assert preview.total >= 4900
    assert subscription_cancel(customer=customer).cancel_at_period_end is True
