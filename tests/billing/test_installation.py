"""Idempotency keys and meter-event identifiers carry this installation's token.

Stripe remembers both for 24 hours. Derived from our primary keys alone, a database reset (or a
second installation on the same Stripe account) reuses them for other customers and other usage:
the customer's creation is refused (400 idempotency_error: same key, other parameters) and the
usage is dropped as already known. A database reset is what is simulated here: the same customer
id for someone else, a new `Installation` row, and the same hour of usage reported again.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import stripe
from django.contrib import admin
from django.urls import reverse
from django.utils import timezone

from accounts.models import Customer
from billing.installation import installation_token, stripe_key
from billing.models import Installation, MeterReport
from billing.reporting import usage_report_to_stripe
from billing.services import stripe_customer_ensure
from tests.billing.test_stripe_usage import add_ledger_usage, meter_total

pytestmark = pytest.mark.django_db

LATER = timedelta(hours=2)


def reset_database_keeping(customer, *, email: str) -> Customer:
    """What a fresh database (or another installation) looks like to Stripe: the same customer
    id, now someone else's, no meter reports, and a new installation row."""
    Installation.objects.all().delete()
    MeterReport.objects.all().delete()
    Customer.objects.filter(pk=customer.pk).update(stripe_customer_id="", email=email)
    return Customer.objects.get(pk=customer.pk)


def test_a_reset_database_reuses_no_key_nor_identifier(make_customer, stripe_server):
    first, _ = make_customer("pro", "first@example.com")
    first_stripe = stripe_customer_ensure(customer=first)
    add_ledger_usage(first, 60_000)
    first.refresh_from_db()
    assert usage_report_to_stripe(now=timezone.now() + LATER).sent == 1
    first_token = installation_token()
    (report,) = MeterReport.objects.all()
    assert report.identifier.startswith(f"petstore-{first_token}-{first.pk}-")

    second = reset_database_keeping(first, email="second@example.com")
    # Another request under the first installation's key: Stripe refuses it (the collision).
    with pytest.raises(stripe.IdempotencyError):
        stripe.Customer.create(
            email=second.email, idempotency_key=f"petstore-{first_token}-customer-{second.pk}"
        )
    second_stripe = stripe_customer_ensure(customer=second)
    assert installation_token() != first_token
    assert second_stripe != first_stripe
    assert stripe.Customer.retrieve(second_stripe).email == "second@example.com"

    second.refresh_from_db()
    result = usage_report_to_stripe(now=timezone.now() + LATER)
    assert (result.sent, result.already_known) == (1, 0)  # not dropped as "already known"
    assert meter_total(second) == 60_000
    assert meter_total(first) == 60_000


def test_the_token_is_made_once_and_shown_in_the_admin(admin_client):
    token = installation_token()
    assert installation_token() == token and Installation.objects.count() == 1
    assert stripe_key("customer", 7) == f"petstore-{token}-customer-7"
    assert admin.site.is_registered(Installation)
    page = admin_client.get(reverse("admin:billing_installation_changelist"))
    assert token in page.content.decode()
