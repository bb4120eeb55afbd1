"""The same billing flows against Stripe's real test mode.

Skipped unless STRIPE_LIVE_SECRET_KEY holds a real `sk_test_` key (and the network reaches
api.stripe.com): `STRIPE_LIVE_SECRET_KEY=sk_test_… .venv/bin/python -m pytest -m stripe_live`.

Time moves with Stripe test clocks (a customer attached to a clock, its subscriptions follow it),
and the app's clock follows the test clock (time-machine), as the local server's does in the
rest of the suite. Stripe aggregates meter events asynchronously: each test waits (bounded) until
the meter's summary shows what was reported before acting on it. Checkout is created and read
through the API: paying on its hosted page needs a browser, which these tests do not drive.
"""

from __future__ import annotations

import os
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import stripe
import time_machine
from django.utils import timezone

from accounts.models import Customer, Plan
from accounts.services import customer_register
from billing.checkout import checkout_session_complete, checkout_subscription_start, portal_start
from billing.installation import installation_token
from billing.models import Installation, MeterReport
from billing.periods import billing_period_close
from billing.previews import plan_change_preview
from billing.reporting import usage_report_to_stripe, usage_report_until
from billing.services import stripe_customer_ensure, subscription_cancel, subscription_change
from billing.stripe_catalog import UNITS_METER, stripe_catalog_sync
from metering.models import UsageRecord

LIVE_KEY = os.environ.get("STRIPE_LIVE_SECRET_KEY", "")
WAIT_SECONDS = 120  # test clocks and meter aggregation are asynchronous at Stripe

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
    stripe_catalog_sync()


def _poll(check, what: str):
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(2)
    raise AssertionError(f"Stripe did not get there in {WAIT_SECONDS}s: {what}")


class StripeTestClock:
    """A Stripe test clock, and the app's clock (time-machine) following it."""

    def __init__(self, start: datetime):
        self.clock = stripe.test_helpers.TestClock.create(
            frozen_time=int(start.timestamp()), name=f"petstore {uuid.uuid4().hex[:8]}"
        )
        self._traveller = time_machine.travel(start, tick=False)
        self._coordinates = self._traveller.start()

    def advance(self, when: datetime) -> None:
        stripe.test_helpers.TestClock.advance(self.clock.id, frozen_time=int(when.timestamp()))
        _poll(
            lambda: stripe.test_helpers.TestClock.retrieve(self.clock.id).status == "ready",
            "test clock ready",
        )
        self._coordinates.move_to(when)

    def close(self) -> None:
        self._traveller.stop()
        stripe.test_helpers.TestClock.delete(self.clock.id)  # its customers go with it


@pytest.fixture
def test_clock(real_stripe):
    clocks: list[StripeTestClock] = []

    def start(when: datetime) -> StripeTestClock:
        clocks.append(StripeTestClock(when))
        return clocks[-1]

    yield start
    for clock in clocks:
        clock.close()


def clocked_customer(clock: StripeTestClock, plan: str = "free") -> Customer:
    customer, _ = customer_register(email=f"live-{uuid.uuid4().hex[:10]}@example.com")
    created = stripe.Customer.create(
        email=customer.email,
        test_clock=clock.clock.id,
        metadata={"petstore_customer_id": str(customer.pk)},
    )
    Customer.objects.filter(pk=customer.pk).update(stripe_customer_id=created.id)
    customer.refresh_from_db()
    if plan != "free":
        subscription_change(
            customer=customer, plan=Plan.objects.get(slug=plan), payment_method="pm_card_visa"
        )
        customer.refresh_from_db()
    return customer


def ledger(customer, hour: datetime, units: int) -> None:
    UsageRecord.objects.create(
        customer=customer,
        endpoint="GET /api/v1/pets",
        hour=hour.replace(minute=0, second=0, microsecond=0),
        calls=units,
        units=units,
    )


def wait_for_meter(customer, start: datetime, end: datetime, expected: int) -> None:
    meter = next(
        m for m in stripe.billing.Meter.list(limit=100).data if m.event_name == UNITS_METER
    )

    def total():
        summaries = stripe.billing.Meter.list_event_summaries(
            meter.id,
            customer=customer.stripe_customer_id,
            start_time=int(start.timestamp()) // 60 * 60,
            end_time=(int(end.timestamp()) // 60 + 1) * 60,
        )
        return sum(s.aggregated_value for s in summaries.data) >= expected

    _poll(total, f"meter total {expected}")


def metered_lines(invoice) -> list[tuple[int, int]]:
    lines = []
    for line in invoice.lines.data:
        price = stripe.Price.retrieve(line.pricing.price_details.price)
        if price.recurring and price.recurring.usage_type == "metered":
            lines.append((line.quantity, line.amount))
    return sorted(lines)


@pytest.mark.django_db
def test_subscribe_report_preview_cancel_on_stripe_test_mode(real_stripe):
    assert stripe_catalog_sync().prices_created == 0  # idempotent on the real API too
    customer, _ = customer_register(email=f"live-{timezone.now():%Y%m%d%H%M%S}@example.com")
    state = subscription_change(
        customer=customer, plan=Plan.objects.get(slug="pro"), payment_method="pm_card_visa"
    )
    assert state.status == "active"
    customer.refresh_from_db()
    assert stripe.Subscription.retrieve(state.stripe_subscription_id).billing_mode.type == (
        "flexible"
    )
    ledger(customer, timezone.now(), 51_000)
    result = usage_report_to_stripe(now=timezone.now() + timedelta(hours=2))
    assert result.sent == 1 and result.failed == 0
    preview = stripe.Invoice.create_preview(customer=customer.stripe_customer_id)
    assert preview.total >= 4900
    assert subscription_cancel(customer=customer).cancel_at_period_end is True


@pytest.mark.django_db
def test_item_2_upgrade_mid_period_bills_usage_before_at_the_old_price(test_clock):
    start = datetime.now(UTC).replace(microsecond=0)
    clock = test_clock(start)
    customer = clocked_customer(clock, "pro")
    clock.advance(start + timedelta(days=2))
    ledger(customer, timezone.now(), 60_000)  # the current hour, not settled
    # Reported up to now (as the plan-change page does), and aggregated by Stripe before the
    # preview is asked for, so that the preview sees it.
    usage_report_until(customer=customer, until=timezone.now())
    wait_for_meter(customer, start, timezone.now(), 60_000)
    preview = plan_change_preview(customer=customer, plan=Plan.objects.get(slug="business"))
    subscription_change(
        customer=customer,
        plan=Plan.objects.get(slug="business"),
        at=preview.at,
        usage_reported=True,
    )
    sub = stripe.Subscription.list(customer=customer.stripe_customer_id).data[0]
    invoice = stripe.Invoice.retrieve(sub.latest_invoice)
    assert invoice.total == preview.total_cents
    assert metered_lines(invoice) == [(60_000, 1_000)]  # 10,000 above Pro's 50,000 at $0.001


@pytest.mark.django_db
def test_item_3_the_last_minute_lands_on_the_periods_invoice(test_clock):
    now = datetime.now(UTC).replace(microsecond=0)
    clock = test_clock(now)
    customer = clocked_customer(clock, "pro")
    sub = stripe.Subscription.list(customer=customer.stripe_customer_id).data[0]
    period_end = datetime.fromtimestamp(sub["items"].data[0].current_period_end, UTC)
    clock.advance(period_end - timedelta(minutes=1))
    ledger(customer, period_end - timedelta(minutes=1), 57_000)
    clock.advance(period_end + timedelta(minutes=2))  # the renewal is a draft for an hour
    closed = billing_period_close()
    assert closed is not None and closed.failed == 0
    wait_for_meter(customer, period_end - timedelta(hours=1), period_end, 57_000)
    clock.advance(period_end + timedelta(hours=2))
    renewal = _poll(
        lambda: next(
            (
                i
                for i in stripe.Invoice.list(customer=customer.stripe_customer_id).data
                if i.billing_reason == "subscription_cycle" and i.status != "draft"
            ),
            None,
        ),
        "the renewal finalized",
    )
    assert metered_lines(renewal) == [(57_000, 700)]


@pytest.mark.django_db
def test_item_5_a_reset_database_collides_with_nothing(real_stripe):
    customer, _ = customer_register(email=f"live-{uuid.uuid4().hex[:10]}@example.com")
    first = stripe_customer_ensure(customer=customer)
    first_token = installation_token()
    # Another request under the same key is refused by Stripe: the collision of old.
    with pytest.raises(stripe.IdempotencyError):
        stripe.Customer.create(
            email="someone-else@example.com",
            idempotency_key=f"petstore-{first_token}-customer-{customer.pk}",
        )
    Installation.objects.all().delete()
    MeterReport.objects.all().delete()
    Customer.objects.filter(pk=customer.pk).update(
        stripe_customer_id="", email=f"reset-{uuid.uuid4().hex[:10]}@example.com"
    )
    customer.refresh_from_db()
    second = stripe_customer_ensure(customer=customer)
    assert second != first and installation_token() != first_token
    for stripe_id in (first, second):
        stripe.Customer.delete(stripe_id)


@pytest.mark.django_db
def test_item_8_checkout_and_portal_sessions(real_stripe):
    customer, _ = customer_register(email=f"live-{uuid.uuid4().hex[:10]}@example.com")
    url = checkout_subscription_start(
        customer=customer,
        plan=Plan.objects.get(slug="pro"),
        success_url="https://example.com/dashboard/billing/checkout/done/",
        cancel_url="https://example.com/dashboard/billing/",
    )
    assert url.startswith("https://checkout.stripe.com/")
    customer.refresh_from_db()
    (session,) = stripe.checkout.Session.list(customer=customer.stripe_customer_id, limit=1).data
    assert session.mode == "subscription" and session.status == "open"
    assert session.client_reference_id == str(customer.pk)
    assert session.success_url.endswith("session_id={CHECKOUT_SESSION_ID}")
    assert checkout_session_complete(session_id=session.id, customer=customer) is None  # unpaid
    portal = portal_start(customer=customer, return_url="https://example.com/dashboard/billing/")
    assert portal.startswith("https://billing.stripe.com/")
    stripe.checkout.Session.expire(session.id)
    stripe.Customer.delete(customer.stripe_customer_id)


@pytest.mark.django_db
def test_a_trial_without_a_card_ends_on_free_on_stripe_test_mode(test_clock):
    from billing.services import customer_plan_sync
    from billing.trials import trial_start

    start = datetime.now(UTC).replace(microsecond=0)
    clock = test_clock(start)
    customer = clocked_customer(clock)
    state = trial_start(customer=customer, plan=Plan.objects.get(slug="pro"))
    assert state.status == "trialing" and state.trial_end is not None
    assert Customer.objects.get(pk=customer.pk).plan.slug == "pro"
    clock.advance(state.trial_end + timedelta(hours=2))
    assert stripe.Subscription.retrieve(state.stripe_subscription_id).status == "canceled"
    customer_plan_sync(customer=customer)  # what the customer.subscription.deleted webhook does
    assert Customer.objects.get(pk=customer.pk).plan.slug == "free"


@pytest.mark.django_db
def test_a_promotion_code_invoice_equals_the_quote_on_stripe_test_mode(test_clock):
    from decimal import Decimal

    from billing.promotions import promotion_code_sync
    from pricing.engine import Usage, quote_for_plan
    from pricing.models import PromotionCode

    start = datetime.now(UTC).replace(microsecond=0)
    clock = test_clock(start)
    customer = clocked_customer(clock)
    promotion = promotion_code_sync(
        PromotionCode.objects.create(
            code=f"LIVE{uuid.uuid4().hex[:8].upper()}",
            percent_off=Decimal("12.5"),
            duration="forever",
        )
    )
    pro = Plan.objects.get(slug="pro")
    subscription_change(
        customer=customer,
        plan=pro,
        payment_method="pm_card_visa",
        discounts=[{"promotion_code": promotion.stripe_promotion_code_id}],
    )
    customer.refresh_from_db()
    ledger(customer, timezone.now(), 128_005)
    usage_report_until(customer=customer, until=timezone.now())
    wait_for_meter(customer, start, timezone.now(), 128_005)
    # The next invoice: next month's base fee and this month's usage, both discounted.
    preview = stripe.Invoice.create_preview(customer=customer.stripe_customer_id)
    quote = quote_for_plan(pro, Usage(units=128_005), discount=promotion.discount)
    assert Decimal(preview.total) / 100 == quote.total
