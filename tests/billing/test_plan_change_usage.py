"""A plan change in the middle of a period with usage on both sides, end to end against the local
Stripe server: ledger → meter events → Stripe's preview (what the plan-change page shows) → the
invoices that follow, to the cent, and the usage lines equal to our pricing engine's quote for
the usage on each side of the change.

Stripe's rule (flexible billing mode, which we set on every subscription): swapping a metered
price invoices the usage reported so far at the old price, at the change; the new price bills
only the usage after it. So the usage before the change must reach Stripe before the swap, the
current partial hour included: the hourly report would have sent it only an hour later, at the
new price or not at all.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import stripe
from django.db.models import F

from accounts.models import Customer, Plan
from billing.models import MeterReport
from billing.reporting import usage_report_to_stripe
from billing.services import subscription_change
from metering.models import UsageRecord
from metering.services import usage_flush
from pricing.engine import Usage, quote_for_plan
from tests.conftest import web_client

pytestmark = pytest.mark.django_db

MARCH_1 = datetime(2027, 3, 1, 1, 0, tzinfo=UTC)


def at(day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2027, 3, day, hour, minute, tzinfo=UTC)


def ledger(customer, hour: datetime, units: int) -> None:
    """Usage as flushes write it (Redis keeps real time, so a moved clock cannot make it)."""
    hour = hour.replace(minute=0, second=0, microsecond=0)
    record, _ = UsageRecord.objects.get_or_create(
        customer=customer, endpoint="GET /api/v1/pets", hour=hour
    )
    UsageRecord.objects.filter(pk=record.pk).update(
        calls=F("calls") + units, units=F("units") + units
    )


def usage_cents(plan_slug: str, units: int) -> int:
    """Our pricing engine's charge for `units` of usage on a plan (its base fee left out)."""
    quote = quote_for_plan(Plan.objects.get(slug=plan_slug), Usage(units=units))
    usage = sum(line.amount for line in quote.lines if line.kind != "base")
    return int(usage * 100)


def lines(invoice) -> list[tuple[str, int | None, int]]:
    return sorted((line.description, line.quantity, line.amount) for line in invoice.lines.data)


def metered_lines(invoice) -> list[tuple[int, int]]:
    return sorted(
        (line.quantity, line.amount)
        for line in invoice.lines.data
        if stripe.Price.retrieve(line.pricing.price_details.price).recurring.usage_type == "metered"
    )


def subscribed(make_customer, clock, plan: str) -> Customer:
    clock.move_to(MARCH_1)
    customer, _ = make_customer("free")
    subscription_change(
        customer=customer, plan=Plan.objects.get(slug=plan), payment_method="pm_card_visa"
    )
    customer.refresh_from_db()
    sub = stripe.Subscription.list(customer=customer.stripe_customer_id).data[0]
    assert sub.billing_mode.type == "flexible"  # stated explicitly, not the API's default
    return customer


def confirm_on_the_page(customer, slug: str):
    """The plan-change page: its preview, then the confirmation with the preview's token."""
    client = web_client(customer)
    page = client.get(f"/dashboard/billing/plan/{slug}/")
    assert page.status_code == 200
    preview = page.context["preview"]
    assert preview is not None
    total = page.content.decode()
    assert f"${Decimal(preview.amount_due_cents) / 100:,.2f}" in total
    done = client.post(
        f"/dashboard/billing/plan/{slug}/", {"payment_method": "", "preview": preview.token}
    )
    assert done.status_code == 302, done.content.decode()
    return preview


def test_upgrade_mid_period_bills_usage_before_at_the_old_price(make_customer, clock):
    customer = subscribed(make_customer, clock, "pro")
    ledger(customer, at(5, 12), 40_000)
    clock.move_to(at(6))
    assert usage_report_to_stripe().sent == 1  # the settled hour, reported as usual
    clock.move_to(at(11, 0, 30))
    ledger(customer, at(11, 0), 20_000)  # the current hour: not settled, not reported yet

    preview = confirm_on_the_page(customer, "business")

    customer.refresh_from_db()
    assert customer.plan.slug == "business"
    sub = stripe.Subscription.list(customer=customer.stripe_customer_id).data[0]
    invoice = stripe.Invoice.retrieve(sub.latest_invoice)
    assert invoice.billing_reason == "subscription_update" and invoice.status == "paid"
    # What the page showed is what was invoiced, line by line, to the cent.
    assert preview.kind == "due_now"
    assert (invoice.total, invoice.amount_due) == (preview.total_cents, preview.amount_due_cents)
    assert lines(invoice) == sorted(
        (line.description, line.quantity, line.amount_cents) for line in preview.lines
    )
    # The 60,000 units before the change (the partial hour included) at Pro's price, as our
    # engine prices them: 10,000 above the 50,000 included, at $0.001.
    assert metered_lines(invoice) == [(60_000, usage_cents("pro", 60_000))]
    assert usage_cents("pro", 60_000) == 1_000

    # After the change: more usage in the hour of the change, and later in the month.
    clock.move_to(at(11, 0, 50))
    ledger(customer, at(11, 0), 5_000)
    ledger(customer, at(20, 10), 30_000)
    clock.move_to(at(21))
    usage_report_to_stripe()
    renewal_preview = stripe.Invoice.create_preview(customer=customer.stripe_customer_id)
    stripe_server = clock.server
    renewal = stripe.Invoice.retrieve(stripe_server.advance_period(sub.id)["invoices"][0])
    assert renewal.total == renewal_preview.total and lines(renewal) == lines(renewal_preview)
    # Only the usage after the change is on Business (35,000, within its 500,000 included).
    assert metered_lines(renewal) == [(35_000, usage_cents("business", 35_000))]
    reported = sum(MeterReport.objects.filter(customer=customer).values_list("value", flat=True))
    assert reported == 95_000 == sum(UsageRecord.objects.values_list("units", flat=True))


def test_downgrade_mid_period_credits_and_bills_usage_on_each_plan_at_its_price(
    make_customer, clock
):
    customer = subscribed(make_customer, clock, "business")
    ledger(customer, at(8, 9), 550_000)
    clock.move_to(at(16, 0, 30))
    ledger(customer, at(16, 0), 50_000)

    preview = confirm_on_the_page(customer, "pro")

    customer.refresh_from_db()
    assert customer.plan.slug == "pro"
    assert preview.kind == "next_invoice"
    sub = stripe.Subscription.list(customer=customer.stripe_customer_id).data[0]
    pending = stripe.InvoiceItem.list(customer=customer.stripe_customer_id, pending=True).data
    # 600,000 units on Business: 100,000 above its 500,000 included, at Business's price.
    assert sorted((ii.quantity, ii.amount) for ii in pending if not ii.proration) == [
        (600_000, usage_cents("business", 600_000))
    ]
    assert usage_cents("business", 600_000) == 10_000

    clock.move_to(at(25, 14, 10))
    ledger(customer, at(25, 14), 70_000)
    clock.move_to(at(26))
    usage_report_to_stripe()
    renewal = stripe.Invoice.retrieve(clock.server.advance_period(sub.id)["invoices"][0])
    # The next invoice is what the page showed, plus the usage since the change at Pro's price
    # (70,000: 20,000 above Pro's 50,000 included).
    after = usage_cents("pro", 70_000)
    assert after == 2_000
    assert renewal.total == preview.total_cents + after
    assert metered_lines(renewal) == sorted([(600_000, 10_000), (70_000, after)])


def test_usage_not_yet_flushed_at_the_change_is_billed_at_the_old_price(
    owner, stripe_server, clock
):
    """Real API calls counted in Redis only (no flush ran) right before an upgrade through the
    API: the change flushes and reports them, so they are on the upgrade's invoice at Pro's
    price. (The clock is moved only by seconds: Redis counts in real time.)"""
    start = datetime.now(UTC).replace(microsecond=0)
    clock.move_to(start)
    subscription_change(
        customer=owner.customer, plan=Plan.objects.get(slug="pro"), payment_method="pm_card_visa"
    )
    owner.customer.refresh_from_db()
    ledger(owner.customer, start, 59_997)  # used earlier in the hour
    clock.move_to(start + timedelta(seconds=30))
    for _ in range(3):
        assert owner.get("/api/v1/pets").status_code == 200
    assert not UsageRecord.objects.filter(calls__lt=10).exists()  # still in Redis only
    upgraded = owner.post("/api/v1/billing/subscribe", {"plan": "business"}, format="json")
    assert upgraded.status_code == 200, upgraded.content
    invoice = stripe.Invoice.retrieve(
        stripe.Subscription.retrieve(upgraded.json()["subscription"]["subscription_id"])[
            "latest_invoice"
        ]
    )
    assert metered_lines(invoice) == [(60_000, usage_cents("pro", 60_000))]
    assert usage_flush().batches_applied == 0  # nothing was left behind
