"""Meter events Stripe accepts and then cannot bill come back as v2 thin events, delivered by
the local Stripe server to the event destination `setup_stripe` registers and verified by
stripe-python's own parsing: the report is marked failed with the reason, staff are told, and it
is sent again once its cause is fixed."""

from __future__ import annotations

import io

import pytest
import stripe
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from accounts.models import Customer
from billing.meter_errors import meter_reports_retry
from billing.models import EventDestination, MeterReport, ThinEvent
from billing.reporting import usage_report_to_stripe
from billing.stripe_catalog import UNITS_METER
from billing.tasks import report_usage_to_stripe
from billing.webhooks.thin import event_destination_ensure
from tests.billing.test_stripe_usage import (
    LATER,
    add_ledger_usage,
    meter_total,
    register_and_subscribe,
)

pytestmark = pytest.mark.django_db(transaction=True)  # staff emails leave on commit


@pytest.fixture
def staff(settings):
    settings.ADMINS = [("ops@example.com", "ops@example.com")]


def test_an_unknown_customer_fails_the_report_tells_staff_and_is_retried_once_fixed(
    client, thin_events, staff, admin_client
):
    api = register_and_subscribe(client)
    real_id = api.customer.stripe_customer_id
    # Someone pasted a wrong Stripe id on the customer: Stripe accepts the event, then cannot
    # find the customer.
    Customer.objects.filter(pk=api.customer.pk).update(stripe_customer_id="cus_mistyped")
    add_ledger_usage(api.customer, 60_000)
    assert usage_report_to_stripe(now=timezone.now() + LATER).sent == 1
    (report,) = MeterReport.objects.all()
    assert report.reported_at is not None and report.failed_at is None
    mail.outbox.clear()

    assert [r.status_code for r in thin_events.deliver()] == [200]
    report.refresh_from_db()
    assert report.failed_at is not None
    assert report.error_code == "meter_event_customer_not_found"
    assert "cus_mistyped" in report.last_error
    (email,) = mail.outbox
    assert email.to == ["ops@example.com"] and "usage not billed" in email.subject
    assert (
        report.identifier in email.body and "/admin/billing/meterreport/?failed=yes" in email.body
    )
    # A redelivery is not consumed twice; a tampered body is refused.
    assert [r.status_code for r in thin_events.deliver()] == [200]
    assert len(mail.outbox) == 1 and ThinEvent.objects.count() == 1
    assert [r.status_code for r in thin_events.deliver(tamper=True)] == [400]

    page = admin_client.get("/admin/billing/meterreport/", {"failed": "yes"}, follow=True)
    html = page.content.decode()
    assert (
        "refused by Stripe and are not billed" in html and "meter_event_customer_not_found" in html
    )

    assert meter_reports_retry().waiting == 1  # nothing fixed yet: nothing sent
    Customer.objects.filter(pk=api.customer.pk).update(stripe_customer_id=real_id)
    outcome = report_usage_to_stripe.apply().get()
    assert (outcome["retried"], outcome["sent"]) == (1, 1)
    report.refresh_from_db()
    assert report.identifier.endswith("-r1") and report.failed_at is None
    assert report.stripe_customer_id == real_id
    assert meter_total(api.customer) == 60_000


def test_an_archived_meter_fails_the_report_until_it_is_active_again(client, thin_events):
    api = register_and_subscribe(client)
    meter = next(
        m for m in stripe.billing.Meter.list(limit=100).data if m.event_name == UNITS_METER
    )
    stripe.billing.Meter.deactivate(meter.id)
    add_ledger_usage(api.customer, 1_000)
    usage_report_to_stripe(now=timezone.now() + LATER)
    thin_events.deliver()
    (report,) = MeterReport.objects.all()
    assert report.error_code == "archived_meter"
    assert meter_reports_retry().waiting == 1
    stripe.billing.Meter.reactivate(meter.id)
    assert meter_reports_retry().retried == 1
    assert usage_report_to_stripe(now=timezone.now() + LATER).sent == 1
    assert meter_total(api.customer) == 1_000


def test_setup_stripe_registers_the_destination_once(stripe_server, settings):
    settings.SITE_URL = "http://127.0.0.1:8102"
    for _ in range(2):
        call_command("setup_stripe", base_url="http://127.0.0.1:8102", stdout=io.StringIO())
    (destination,) = EventDestination.objects.all()
    assert destination.url.startswith("http://127.0.0.1:8102/stripe/events/")
    assert destination.secret.startswith("whsec_")
    found = stripe.StripeClient(
        stripe.api_key, base_addresses={"api": stripe.api_base}
    ).v2.core.event_destinations.list()
    assert [d.id for d in found.data] == [destination.stripe_id]
    assert event_destination_ensure(base_url="http://127.0.0.1:8102") == destination
