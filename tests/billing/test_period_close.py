"""The month's last hour: usage in the last minute of a period lands on that period's invoice.

The local Stripe server keeps a renewal invoice a draft for the account's finalization grace
period (one hour, as Stripe does by default) and then finalizes it; usage arriving after that is
billed nowhere. The hourly report sends an hour 15 minutes after it ends at the earliest, at
whatever minute its schedule runs: at 00:10 the last hour is not settled yet, at 01:10 the
invoice is final. `close_billing_periods` reports the closed period in full right after its end.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import stripe

from accounts.models import Plan
from billing.models import MeterReport, PeriodClose
from billing.periods import billing_period_close
from billing.reporting import usage_report_to_stripe
from billing.services import subscription_change
from billing.tasks import close_billing_periods
from tests.billing.test_plan_change_usage import ledger, metered_lines, usage_cents

pytestmark = pytest.mark.django_db

APRIL_1 = datetime(2027, 4, 1, tzinfo=UTC)


def test_usage_in_the_last_minute_lands_on_the_periods_invoice(make_customer, clock):
    clock.move_to(datetime(2027, 3, 20, 9, 0, tzinfo=UTC))
    customer, _ = make_customer("free")
    subscription_change(
        customer=customer, plan=Plan.objects.get(slug="pro"), payment_method="pm_card_visa"
    )
    customer.refresh_from_db()
    sub = stripe.Subscription.list(customer=customer.stripe_customer_id).data[0]
    ledger(customer, datetime(2027, 3, 25, 10, tzinfo=UTC), 50_000)
    clock.move_to(datetime(2027, 3, 31, 23, 59, 30, tzinfo=UTC))
    ledger(customer, datetime(2027, 3, 31, 23, tzinfo=UTC), 7_000)  # the last minute

    # The period ends: Stripe opens the renewal invoice as a draft, for an hour.
    (draft_id,) = clock.server.advance_period(sub.id, finalize=False)["invoices"]
    assert clock.follow_stripe() == APRIL_1
    draft = stripe.Invoice.retrieve(draft_id)
    assert (
        draft.status == "draft" and draft.automatically_finalizes_at == APRIL_1.timestamp() + 3600
    )
    assert billing_period_close() is None  # not a minute after the end yet

    clock.move_to(datetime(2027, 4, 1, 0, 1, tzinfo=UTC))
    usage_report_to_stripe()  # an hourly run now: the last hour has not settled
    assert not MeterReport.objects.filter(hour__gte=datetime(2027, 3, 31, 23, tzinfo=UTC))
    closed = close_billing_periods.apply().get()
    assert closed == {"period": "202703", "created": 1}
    (last,) = MeterReport.objects.filter(hour=datetime(2027, 3, 31, 23, tzinfo=UTC))
    assert last.value == 7_000 and last.reported_at is not None
    assert last.timestamp == datetime(2027, 3, 31, 23, 59, 59, tzinfo=UTC)
    # Once per period, however many workers or runs.
    assert billing_period_close() is None
    assert close_billing_periods.apply().get() is None
    assert PeriodClose.objects.get(period="202703").closed_at is not None

    # Stripe finalizes the draft when the grace period ends: the last minute is on it.
    clock.server.advance_to(int(APRIL_1.timestamp()) + 3601)
    invoice = stripe.Invoice.retrieve(draft_id)
    assert invoice.status == "paid"
    assert metered_lines(invoice) == [(57_000, usage_cents("pro", 57_000))]
    assert usage_cents("pro", 57_000) == 700


def test_a_failed_send_leaves_the_period_open_for_the_next_run(make_customer, clock, monkeypatch):
    clock.move_to(datetime(2027, 3, 20, 9, 0, tzinfo=UTC))
    customer, _ = make_customer("free")
    subscription_change(
        customer=customer, plan=Plan.objects.get(slug="pro"), payment_method="pm_card_visa"
    )
    ledger(customer, datetime(2027, 3, 31, 23, tzinfo=UTC), 1_000)
    clock.move_to(datetime(2027, 4, 1, 0, 2, tzinfo=UTC))

    def unavailable(**kwargs):
        raise stripe.APIConnectionError("connection refused")

    monkeypatch.setattr(stripe.billing.MeterEvent, "create", unavailable)
    failed = billing_period_close()
    assert failed is not None and failed.failed == 1
    assert PeriodClose.objects.get(period="202703").closed_at is None
    monkeypatch.undo()
    retried = billing_period_close()
    assert retried is not None and (retried.created, retried.sent, retried.failed) == (0, 1, 0)
    assert PeriodClose.objects.get(period="202703").closed_at is not None
