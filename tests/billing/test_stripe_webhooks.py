"""Signed webhooks through dj-stripe's endpoint drive plan changes and dunning."""

from datetime import timedelta

import pytest
import stripe
from django.core import mail
from django.utils import timezone

from accounts.models import Customer
from billing.dunning import GRACE_PERIOD, dunning_run
from billing.models import PaymentFailure

SUBSCRIBE = "/api/v1/billing/subscribe"


def subscribe(client, plan="pro", card="pm_card_visa"):
    response = client.post(SUBSCRIBE, {"plan": plan, "payment_method": card}, format="json")
    assert response.status_code == 200, response.content
    client.customer.refresh_from_db()
    return response.json()["subscription"]["subscription_id"]


def plan_of(customer) -> str:
    return Customer.objects.get(pk=customer.pk).plan.slug


@pytest.mark.django_db
def test_subscription_deleted_moves_the_customer_to_free(owner, webhooks):
    sub_id = subscribe(owner)
    webhooks.deliver()
    assert plan_of(owner.customer) == "pro"
    stripe.Subscription.cancel(sub_id)
    delivered = webhooks.deliver()
    assert "customer.subscription.deleted" in {e["type"] for e in delivered}
    assert plan_of(owner.customer) == "free"


@pytest.mark.django_db
def test_out_of_order_events_leave_the_latest_state(owner, webhooks):
    sub_id = subscribe(owner)
    created = webhooks.server.events("customer.subscription.created")
    webhooks.skip_all()
    stripe.Subscription.cancel(sub_id)
    webhooks.deliver()
    assert plan_of(owner.customer) == "free"
    # The old "created" event arrives late: the handler re-reads Stripe, which says cancelled.
    assert webhooks.post(created[0]).status_code == 200
    assert plan_of(owner.customer) == "free"


@pytest.mark.django_db
def test_a_plan_change_made_in_stripe_reaches_us(owner, webhooks):
    """Support changed the subscription in Stripe's dashboard: the webhook moves the plan."""
    from billing.models import PlanPrice

    sub_id = subscribe(owner)
    webhooks.deliver()
    sub = stripe.Subscription.retrieve(sub_id)
    business = [
        {"price": p.stripe_price_id} | ({"quantity": 1} if p.role == "base" else {})
        for p in PlanPrice.objects.filter(plan__slug="business", active=True)
    ]
    stripe.Subscription.modify(
        sub_id,
        proration_behavior="none",
        items=[{"id": item.id, "deleted": True} for item in sub["items"].data] + business,
    )
    webhooks.deliver()
    assert plan_of(owner.customer) == "business"


@pytest.mark.django_db
def test_bad_signatures_are_refused(owner, webhooks):
    sub_id = subscribe(owner)
    webhooks.skip_all()
    stripe.Subscription.cancel(sub_id)
    (event,) = webhooks.server.events("customer.subscription.deleted")
    response = webhooks.post(event, secret="whsec_not_the_right_secret")
    assert response.status_code == 400
    assert plan_of(owner.customer) == "pro"


@pytest.mark.django_db(transaction=True)  # emails leave on commit
def test_payment_failure_emails_and_dunning_downgrades_after_grace(owner, webhooks):
    sub_id = subscribe(owner, card="pm_card_visa")
    # The card starts failing; the next renewal cannot be paid.
    failing = stripe.PaymentMethod.attach(
        "pm_card_chargeCustomerFail", customer=owner.customer.stripe_customer_id
    )
    stripe.Customer.modify(
        owner.customer.stripe_customer_id, invoice_settings={"default_payment_method": failing.id}
    )
    stripe.Subscription.modify(sub_id, default_payment_method=failing.id)
    webhooks.skip_all()
    mail.outbox.clear()
    webhooks.server.advance_period(sub_id)
    delivered = {e["type"] for e in webhooks.deliver()}
    assert "invoice.payment_failed" in delivered
    failure = PaymentFailure.objects.get(customer=owner.customer)
    assert failure.is_open and failure.amount_due > 0
    assert len(mail.outbox) == 1 and "failed" in mail.outbox[0].subject
    assert mail.outbox[0].to == [owner.customer.email]
    assert plan_of(owner.customer) == "pro"  # past_due keeps the plan during the grace period
    webhooks.deliver()  # replays are harmless
    assert PaymentFailure.objects.count() == 1 and len(mail.outbox) == 1

    # Day 1: our retry fails again, the customer gets a reminder.
    result = dunning_run(now=failure.first_failed_at + timedelta(days=1, hours=1))
    assert (result.retried, result.reminded, result.downgraded) == (1, 1, 0)
    assert "Reminder" in mail.outbox[-1].subject
    # After the grace period, still unpaid: cancelled in Stripe and downgraded to Free.
    result = dunning_run(now=failure.first_failed_at + GRACE_PERIOD + timedelta(hours=1))
    assert result.downgraded == 1
    assert plan_of(owner.customer) == "free"
    assert stripe.Subscription.retrieve(sub_id).status == "canceled"
    failure.refresh_from_db()
    assert failure.downgraded_at is not None
    assert "Free plan" in mail.outbox[-1].subject
    webhooks.deliver()
    assert plan_of(owner.customer) == "free"


@pytest.mark.django_db(transaction=True)
def test_payment_succeeded_clears_dunning(owner, webhooks):
    sub_id = subscribe(owner)
    failing = stripe.PaymentMethod.attach(
        "pm_card_chargeCustomerFail", customer=owner.customer.stripe_customer_id
    )
    stripe.Subscription.modify(sub_id, default_payment_method=failing.id)
    webhooks.skip_all()
    webhooks.server.advance_period(sub_id)
    webhooks.deliver()
    failure = PaymentFailure.objects.get(customer=owner.customer)
    # The customer fixes the card in the portal; paying the invoice fires payment_succeeded.
    good = stripe.PaymentMethod.attach("pm_card_visa", customer=owner.customer.stripe_customer_id)
    stripe.Subscription.modify(sub_id, default_payment_method=good.id)
    stripe.Invoice.pay(failure.stripe_invoice_id, payment_method=good.id)
    mail.outbox.clear()
    webhooks.deliver()
    failure.refresh_from_db()
    assert failure.resolved_at is not None and not failure.is_open
    assert failure.resolution == "paid"
    assert mail.outbox == []  # Stripe's receipt is the customer's one email about the payment
    assert dunning_run(now=timezone.now() + GRACE_PERIOD * 2).downgraded == 0
    assert plan_of(owner.customer) == "pro"


@pytest.mark.django_db
def test_stripe_events_do_not_move_a_contract_plan(owner, webhooks, plans):
    """Staff moved a Pro customer to Enterprise; its Pro subscription still renews in Stripe
    until staff cancel it: its events leave the contract plan alone."""
    from accounts.services import customer_change_plan

    sub_id = subscribe(owner)
    webhooks.deliver()
    customer_change_plan(customer=owner.customer, plan=plans["enterprise"], reason="sales")
    webhooks.server.advance_period(sub_id)
    assert "customer.subscription.updated" in {e["type"] for e in webhooks.deliver()}
    assert plan_of(owner.customer) == "enterprise"
    stripe.Subscription.cancel(sub_id)
    webhooks.deliver()
    assert plan_of(owner.customer) == "enterprise"
