"""Metered usage: the ledger reported to Stripe's Billing Meter, and the bill that results."""

from datetime import timedelta
from decimal import Decimal

import pytest
import stripe
from django.db.models import F
from django.utils import timezone

from accounts.models import Plan
from billing.models import MeterReport
from billing.reporting import reports_prepare, reports_send, usage_report_to_stripe
from billing.stripe_catalog import UNITS_METER
from metering.models import UsageRecord
from metering.services import usage_flush
from pricing.engine import Usage, quote_for_plan
from tests.conftest import KeyClient

LATER = timedelta(hours=2)  # reports are sent once an hour has settled


def register_and_subscribe(client, plan="pro") -> KeyClient:
    raw = client.post(
        "/api/v1/auth/register", {"email": f"{plan}@shop.example"}, content_type="application/json"
    ).json()["api_key"]
    api = KeyClient(raw)
    subscribed = api.post(
        "/api/v1/billing/subscribe", {"plan": plan, "payment_method": "pm_card_visa"}, format="json"
    )
    assert subscribed.status_code == 200, subscribed.content
    from accounts.models import Customer

    api.customer = Customer.objects.get(email=f"{plan}@shop.example")
    return api


def meter_total(customer, event_name=UNITS_METER) -> int:
    meter = next(m for m in stripe.billing.Meter.list(limit=100).data if m.event_name == event_name)
    now = int(timezone.now().timestamp()) // 60 * 60
    summaries = stripe.billing.Meter.list_event_summaries(
        meter.id,
        customer=customer.stripe_customer_id,
        start_time=now - 40 * 86400,
        end_time=now + 7200,
    )
    return int(sum(s.aggregated_value for s in summaries.data))


def add_ledger_usage(customer, units: int) -> None:
    """Usage as flushes would have written it (a real client would need hours to make it)."""
    hour = timezone.now().replace(minute=0, second=0, microsecond=0)
    record, _ = UsageRecord.objects.get_or_create(
        customer=customer, endpoint="GET /api/v1/pets", hour=hour
    )
    UsageRecord.objects.filter(pk=record.pk).update(
        calls=F("calls") + units, units=F("units") + units
    )


@pytest.mark.django_db
def test_subscribe_call_report_and_the_invoice_shows_base_plus_overage(client, stripe_server):
    api = register_and_subscribe(client)
    for _ in range(3):
        assert api.get("/api/v1/pets").status_code == 200  # 3 units
        assert api.post("/api/v1/pets", {"name": "Rex"}, format="json").status_code == 201
    usage_flush()
    add_ledger_usage(api.customer, 128_000 - 9)
    assert sum(r.units for r in UsageRecord.objects.filter(customer=api.customer)) == 128_000

    result = usage_report_to_stripe(now=timezone.now() + LATER)
    assert result.sent == 1 and result.failed == 0
    assert meter_total(api.customer) == 128_000

    preview = stripe.Invoice.create_preview(customer=api.customer.stripe_customer_id)
    engine = quote_for_plan(Plan.objects.get(slug="pro"), Usage(units=128_000))
    assert engine.total == Decimal("127.00")
    assert Decimal(preview.total) / 100 == engine.total
    amounts = sorted(line.amount for line in preview.lines.data)
    assert amounts == [4900, 7800]  # next month's base fee + this month's 78,000 extra calls


@pytest.mark.django_db
def test_running_the_report_twice_reports_nothing_twice(client, stripe_server):
    api = register_and_subscribe(client)
    add_ledger_usage(api.customer, 60_000)
    first = usage_report_to_stripe(now=timezone.now() + LATER)
    second = usage_report_to_stripe(now=timezone.now() + LATER)
    assert (first.created, first.sent) == (1, 1)
    assert (second.created, second.sent, second.already_known) == (0, 0, 0)
    assert meter_total(api.customer) == 60_000
    # More usage in the same hour later on: only the difference is reported.
    add_ledger_usage(api.customer, 5_000)
    third = usage_report_to_stripe(now=timezone.now() + LATER)
    assert (third.created, third.sent) == (1, 1)
    assert meter_total(api.customer) == 65_000
    assert sorted(MeterReport.objects.values_list("value", flat=True)) == [5_000, 60_000]


@pytest.mark.django_db
def test_a_report_run_that_died_is_resumed_without_double_billing(
    client, stripe_server, monkeypatch
):
    api = register_and_subscribe(client)
    add_ledger_usage(api.customer, 70_000)
    reports_prepare(now=timezone.now() + LATER)
    report = MeterReport.objects.get()
    # The event reached Stripe but the worker died before recording it.
    stripe.billing.MeterEvent.create(
        event_name=report.event_name,
        identifier=report.identifier,
        payload={"stripe_customer_id": report.stripe_customer_id, "value": str(report.value)},
    )
    result = reports_send()
    assert (result.sent, result.already_known) == (0, 1)
    assert meter_total(api.customer) == 70_000
    assert MeterReport.objects.get().reported_at is not None


@pytest.mark.django_db
def test_stripe_down_leaves_reports_to_resume(client, stripe_server, monkeypatch):
    api = register_and_subscribe(client)
    add_ledger_usage(api.customer, 51_000)

    def unavailable(**kwargs):
        raise stripe.APIConnectionError("connection refused")

    monkeypatch.setattr(stripe.billing.MeterEvent, "create", unavailable)
    failed = usage_report_to_stripe(now=timezone.now() + LATER)
    assert failed.failed == 1
    report = MeterReport.objects.get()
    assert report.reported_at is None and report.attempts == 1 and report.last_error
    monkeypatch.undo()
    resumed = usage_report_to_stripe(now=timezone.now() + LATER)
    assert (resumed.created, resumed.sent) == (0, 1)
    assert meter_total(api.customer) == 51_000


@pytest.mark.django_db
def test_the_current_hour_waits_until_it_has_settled(client, stripe_server):
    api = register_and_subscribe(client)
    add_ledger_usage(api.customer, 1_000)
    assert usage_report_to_stripe().created == 0
    assert usage_report_to_stripe(now=timezone.now() + LATER).created == 1


@pytest.mark.django_db
def test_free_customers_report_nothing(owner, stripe_server):
    add_ledger_usage(owner.customer, 5_000)
    assert usage_report_to_stripe(now=timezone.now() + LATER).created == 0
