"""Dunning against the local Stripe server: forgiving an invoice, subscriptions that have already
ended, Stripe's own automatic retries, contract customers, and who emails the customer."""

from __future__ import annotations

from datetime import timedelta

import pytest
import stripe
from django.core import mail

from accounts.models import Customer
from accounts.services import customer_change_plan
from billing.dunning import GRACE_PERIOD, dunning_run
from billing.models import PaymentFailure

SUBSCRIBE = "/api/v1/billing/subscribe"
HOUR = timedelta(hours=1)


def failing_renewal(api, webhooks) -> tuple[str, PaymentFailure]:
    """A Pro subscriber whose card starts failing: the renewal is unpaid, dunning starts."""
    response = api.post(SUBSCRIBE, {"plan": "pro", "payment_method": "pm_card_visa"}, format="json")
    assert response.status_code == 200, response.content
    sub_id = response.json()["subscription"]["subscription_id"]
    api.customer.refresh_from_db()
    failing = stripe.PaymentMethod.attach(
        "pm_card_chargeCustomerFail", customer=api.customer.stripe_customer_id
    )
    stripe.Subscription.modify(sub_id, default_payment_method=failing.id)
    webhooks.skip_all()
    webhooks.server.advance_period(sub_id)
    webhooks.deliver()
    return sub_id, PaymentFailure.objects.get(customer=api.customer)


def plan_of(customer) -> str:
    return Customer.objects.get(pk=customer.pk).plan.slug


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("forgive", "event", "resolution"),
    [
        (stripe.Invoice.void_invoice, "invoice.voided", "void"),
        (stripe.Invoice.mark_uncollectible, "invoice.marked_uncollectible", "uncollectible"),
    ],
)
def test_forgiving_the_invoice_keeps_the_subscription_and_the_plan(
    owner, webhooks, forgive, event, resolution
):
    sub_id, failure = failing_renewal(owner, webhooks)
    mail.outbox.clear()
    forgive(failure.stripe_invoice_id)  # support forgives it, or writes it off
    assert event in {e["type"] for e in webhooks.deliver()}
    failure.refresh_from_db()
    assert failure.resolution == resolution and not failure.is_open
    assert failure.downgraded_at is None
    # The grace period ends: nothing to chase, nothing cancelled, nobody moved to Free.
    result = dunning_run(now=failure.first_failed_at + GRACE_PERIOD + HOUR)
    assert result.downgraded == 0
    assert stripe.Subscription.retrieve(sub_id).status == "active"
    assert plan_of(owner.customer) == "pro"
    assert mail.outbox == []


@pytest.mark.django_db(transaction=True)
def test_dunning_forgives_an_invoice_voided_while_its_webhook_was_lost(owner, webhooks):
    sub_id, failure = failing_renewal(owner, webhooks)
    stripe.Invoice.void_invoice(failure.stripe_invoice_id)
    webhooks.skip_all()  # the event never arrived
    result = dunning_run(now=failure.first_failed_at + GRACE_PERIOD + HOUR)
    assert (result.forgiven, result.downgraded) == (1, 0)
    assert plan_of(owner.customer) == "pro"
    assert stripe.Subscription.retrieve(sub_id).status == "active"


@pytest.mark.django_db(transaction=True)
def test_an_ended_subscription_does_not_stop_the_run(make_customer, webhooks):
    """Three failures past their grace period; one subscription was cancelled meanwhile (by the
    customer, or by Stripe when its own retries ran out). All three are processed."""
    from tests.conftest import KeyClient

    failures = []
    for n in range(3):
        customer, raw = make_customer("free", f"late{n}@example.com")
        failures.append(failing_renewal(KeyClient(raw, customer), webhooks))
    already_ended, _ = failures[1]
    stripe.Subscription.cancel(already_ended)
    webhooks.skip_all()
    latest = max(f.first_failed_at for _s, f in failures)
    result = dunning_run(now=latest + GRACE_PERIOD + HOUR)
    assert (result.downgraded, result.errors) == (3, 0)
    for sub_id, failure in failures:
        failure.refresh_from_db()
        assert failure.downgraded_at is not None
        assert plan_of(failure.customer) == "free"
        assert stripe.Subscription.retrieve(sub_id).status == "canceled"


@pytest.mark.django_db(transaction=True)
def test_one_failure_that_stripe_refuses_does_not_stop_the_others(make_customer, webhooks):
    from tests.conftest import KeyClient

    failures = []
    for n in range(3):
        customer, raw = make_customer("free", f"late{n}@example.com")
        failures.append(failing_renewal(KeyClient(raw, customer), webhooks)[1])
    PaymentFailure.objects.filter(pk=failures[0].pk).update(stripe_invoice_id="in_gone")
    latest = max(f.first_failed_at for f in failures)
    result = dunning_run(now=latest + GRACE_PERIOD + HOUR)
    assert (result.downgraded, result.errors) == (2, 1)
    assert PaymentFailure.objects.get(pk=failures[0].pk).is_open  # tried again next hour


@pytest.mark.django_db(transaction=True)
def test_stripes_own_retries_do_not_shift_our_schedule(owner, webhooks):
    """With Stripe's automatic retries on (day 1, then day 3), each of its retries fails and
    raises the invoice's attempt_count; our schedule counts our own retries only: the day-1
    reminder still goes out on day 1, and we leave the charging to Stripe's planned retry."""
    webhooks.server.settings(payment_retry_days=[1, 2])
    _sub_id, failure = failing_renewal(owner, webhooks)
    assert len(mail.outbox) == 1  # "payment failed", ours, once
    webhooks.server.advance_to(webhooks.server.now() + 86400)  # Stripe's first retry fails
    assert "invoice.payment_failed" in {e["type"] for e in webhooks.deliver()}
    failure.refresh_from_db()
    assert (failure.attempt_count, failure.retries) == (2, 0)
    assert len(mail.outbox) == 1  # Stripe's retry emails nobody from here

    result = dunning_run(now=failure.first_failed_at + timedelta(days=1, hours=1))
    assert (result.reminded, result.retried) == (1, 0)  # reminded, not charged by us
    failure.refresh_from_db()
    assert failure.retries == 1
    assert stripe.Invoice.retrieve(failure.stripe_invoice_id).attempt_count == 2
    assert "Reminder" in mail.outbox[-1].subject
    # Our day-3 step is next, whatever Stripe's count says.
    assert dunning_run(now=failure.first_failed_at + timedelta(days=2, hours=1)).reminded == 0
    assert dunning_run(now=failure.first_failed_at + timedelta(days=3, hours=1)).reminded == 1


@pytest.mark.django_db(transaction=True)
def test_a_contract_customer_is_not_moved_to_free_by_dunning(owner, webhooks, plans):
    """Staff moved a Pro customer to an Enterprise contract; the leftover Pro subscription
    fails. At the end of the grace period it is cancelled, and the contract plan stays."""
    sub_id, failure = failing_renewal(owner, webhooks)
    customer_change_plan(customer=owner.customer, plan=plans["enterprise"], reason="sales")
    mail.outbox.clear()
    result = dunning_run(now=failure.first_failed_at + GRACE_PERIOD + HOUR)
    assert result.downgraded == 0
    assert plan_of(owner.customer) == "enterprise"
    assert stripe.Subscription.retrieve(sub_id).status == "canceled"
    failure.refresh_from_db()
    assert failure.resolution == "subscription_ended" and failure.downgraded_at is None
    assert mail.outbox == []
