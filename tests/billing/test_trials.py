"""Free trials against the local Stripe server: Pro for 14 days without a card, once per
customer; the reminder three days before the end (once); the end without a card (back to Free)
and with one (paid from then on); the metrics' view of it."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
import stripe
from django.core import mail
from django.db import IntegrityError, connection, transaction

from accounts.models import Customer, Plan, PlanChange
from billing.models import Trial
from billing.services import payment_method_set, stripe_customer_ensure
from billing.trials import trial_reminders_due
from tests.billing.test_plan_change_usage import ledger

SUBSCRIBE = "/api/v1/billing/subscribe"
USAGE = "/api/v1/usage"
START = datetime(2027, 3, 10, 9, 0, tzinfo=UTC)
TRIAL_END = START + timedelta(days=14)


def plan_of(customer) -> str:
    return Customer.objects.get(pk=customer.pk).plan.slug


def start_trial(api, **extra):
    response = api.post(SUBSCRIBE, {"plan": "pro", "trial": True, **extra}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


@pytest.mark.django_db
def test_a_trial_starts_without_a_card(owner, clock):
    clock.move_to(START)
    body = start_trial(owner)
    assert body["plan"] == "pro"
    sub = body["subscription"]
    assert sub["status"] == "trialing" and sub["payment_method"] is None
    assert sub["trial_end"] == "2027-03-24T09:00:00Z"
    stripe_sub = stripe.Subscription.retrieve(sub["subscription_id"])
    assert stripe_sub.trial_settings.end_behavior.missing_payment_method == "cancel"
    assert stripe_sub.payment_settings.save_default_payment_method == "on_subscription"
    (invoice,) = stripe.Invoice.list(customer=stripe_sub.customer).data
    assert invoice.total == 0  # nothing to pay during the trial
    (change,) = PlanChange.objects.filter(customer=owner.customer, reason="trial")
    assert change.to_plan.slug == "pro" and change.to_mrr == 0  # MRR leaves trials out
    trial = Trial.objects.get(customer=owner.customer)
    assert trial.ends_at == TRIAL_END and trial.stripe_subscription_id == stripe_sub.id
    # The usage estimate of a trialing period: nothing billed.
    ledger(owner.customer, START + timedelta(hours=1), 80_000)
    bill = owner.get(USAGE).json()["estimated_bill"]
    assert bill["total"] == "0.00" and bill["lines"][-1]["kind"] == "trial"


@pytest.mark.django_db
def test_one_trial_per_customer(owner, stripe_server):
    start_trial(owner)
    owner.post("/api/v1/billing/cancel")
    again = owner.post(SUBSCRIBE, {"plan": "pro", "trial": True}, format="json")
    assert again.status_code == 409
    assert again.json()["error"] == "trial_already_used" and again.json()["message"]
    # The database is the guard, not the check before it.
    with pytest.raises(IntegrityError), transaction.atomic():
        Trial.objects.create(
            customer=owner.customer, plan=Plan.objects.get(slug="pro"), ends_at=START
        )


@pytest.mark.django_db(transaction=True)
def test_concurrent_trial_requests_start_one_trial(owner, stripe_server):
    stripe_customer_ensure(customer=owner.customer)  # the race is about the trial, not this
    results = []

    def request():
        try:
            response = owner.post(SUBSCRIBE, {"plan": "pro", "trial": True}, format="json")
            results.append(response.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=request) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [200, 409]
    assert Trial.objects.filter(customer=owner.customer).count() == 1
    live = stripe.Subscription.list(
        customer=Customer.objects.get(pk=owner.customer.pk).stripe_customer_id
    )
    assert len(live.data) == 1


@pytest.mark.django_db
def test_a_plan_without_a_trial_is_refused(owner, stripe_server):
    response = owner.post(SUBSCRIBE, {"plan": "business", "trial": True}, format="json")
    assert response.status_code == 400
    assert response.json()["error"] == "trial_not_available"
    assert plan_of(owner.customer) == "free" and not Trial.objects.exists()
    response = owner.post(SUBSCRIBE, {"plan": "pro", "trial": "yes"}, format="json")
    assert response.status_code == 400  # JSON booleans only


@pytest.mark.django_db(transaction=True)
def test_without_a_card_the_trial_ends_on_free_after_one_reminder(owner, clock, webhooks):
    clock.move_to(START)
    sub_id = start_trial(owner)["subscription"]["subscription_id"]
    webhooks.deliver()
    mail.outbox.clear()

    # Three days before the end, Stripe says the trial will end: one email.
    clock.server.advance_to(int((TRIAL_END - timedelta(days=3)).timestamp()) + 60)
    clock.follow_stripe()
    delivered = webhooks.deliver()
    assert "customer.subscription.trial_will_end" in {e["type"] for e in delivered}
    (email,) = mail.outbox
    assert email.to == [owner.customer.email]
    assert "March 24, 2027" in email.body and "not added a card" in email.body
    # Replayed, or the beat task after it: no second email.
    (event,) = clock.server.events("customer.subscription.trial_will_end")
    webhooks.post({**event, "id": event["id"] + "_replay"})
    assert trial_reminders_due() == 0
    assert len(mail.outbox) == 1
    assert plan_of(owner.customer) == "pro"

    # The trial ends with no card: Stripe cancels, the webhook moves the customer to Free.
    clock.server.advance_to(int(TRIAL_END.timestamp()) + 60)
    clock.follow_stripe()
    assert "customer.subscription.deleted" in {e["type"] for e in webhooks.deliver()}
    assert stripe.Subscription.retrieve(sub_id).status == "canceled"
    assert plan_of(owner.customer) == "free"
    ended = PlanChange.objects.filter(customer=owner.customer).order_by("-changed_at", "-id")[0]
    assert ended.reason == "trial_ended" and ended.from_mrr == 0
    assert all(
        i.amount_paid == 0 for i in stripe.Invoice.list(customer=ended.customer.stripe_customer_id)
    )


@pytest.mark.django_db(transaction=True)
def test_a_card_added_during_the_trial_continues_into_paid(owner, clock, webhooks):
    clock.move_to(START)
    sub_id = start_trial(owner)["subscription"]["subscription_id"]
    clock.move_to(START + timedelta(days=5))
    payment_method_set(customer=owner.customer, payment_method="pm_card_visa")
    clock.server.advance_to(int((TRIAL_END - timedelta(days=3)).timestamp()) + 60)
    clock.follow_stripe()
    webhooks.deliver()
    (email,) = mail.outbox
    assert "Your card is on file" in email.body

    # The first paid invoice is a draft for an hour (Stripe's finalization grace), then paid.
    clock.server.advance_to(int(TRIAL_END.timestamp()) + 2 * 3600)
    clock.follow_stripe()
    webhooks.deliver()
    sub = stripe.Subscription.retrieve(sub_id)
    assert sub.status == "active"
    assert plan_of(owner.customer) == "pro"
    paid = [i for i in stripe.Invoice.list(subscription=sub_id).data if i.amount_paid > 0]
    assert len(paid) == 1  # the first paid period, prorated to April 1
    (converted,) = PlanChange.objects.filter(customer=owner.customer, reason="trial_converted")
    assert converted.from_mrr == 0 and converted.to_mrr == 49
    # Delivered again, the events change nothing.
    webhooks.skip_all()
    assert PlanChange.objects.filter(customer=owner.customer).count() == 3  # signup, trial, paid


@pytest.mark.django_db
def test_changing_plan_during_the_trial_ends_it_paid(owner, stripe_server):
    sub_id = start_trial(owner)["subscription"]["subscription_id"]
    response = owner.post(
        SUBSCRIBE, {"plan": "business", "payment_method": "pm_card_visa"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["subscription"]["status"] == "active"
    assert stripe.Subscription.retrieve(sub_id).trial_end is not None
    assert plan_of(owner.customer) == "business"
    last = PlanChange.objects.filter(customer=owner.customer).order_by("-changed_at", "-id")[0]
    assert (last.reason, last.from_mrr, last.to_mrr) == ("trial_converted", 0, 199)
    paid = [i for i in stripe.Invoice.list(subscription=sub_id).data if i.amount_paid > 0]
    assert paid  # the new plan is paid for from now


@pytest.mark.django_db
def test_a_paying_customer_gets_no_trial_and_keeps_it_for_later(owner, stripe_server):
    paid = owner.post(
        SUBSCRIBE, {"plan": "business", "payment_method": "pm_card_visa"}, format="json"
    )
    assert paid.status_code == 200, paid.content
    response = owner.post(SUBSCRIBE, {"plan": "pro", "trial": True}, format="json")
    assert response.status_code == 400 and response.json()["error"] == "trial_not_available"
    assert not Trial.objects.exists() and plan_of(owner.customer) == "business"
