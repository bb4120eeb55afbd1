"""Free trials: a paid plan for `Plan.trial_days` days without a card, once per customer.

- `trial_start`: a Stripe subscription that trials (`trial_period_days`), with
  `trial_settings[end_behavior][missing_payment_method]=cancel`: if no card was added when the
  trial ends, Stripe cancels it, and the `customer.subscription.deleted` webhook moves the
  customer back to the free plan (billing.services.customer_plan_sync re-reads Stripe). A card
  added during the trial (the card page: Checkout in setup mode, or the API's payment method)
  becomes the customer's default, so the subscription goes on into its first paid period (a
  `trial_converted` plan change: MRR counts from then).
- One trial per customer, enforced by the database: the `Trial` row (unique customer) is
  inserted in the same transaction as the Stripe call, so two concurrent requests cannot both
  start one, and a Stripe refusal leaves no row.
- `trial_reminder_send`: Stripe's `customer.subscription.trial_will_end` (three days before the
  end) emails the customer once (a conditional update claims the reminder); the beat task
  `send_trial_reminders` sends any reminder the webhook did not.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import stripe
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from djstripe import models as djstripe_models

from accounts.models import Customer, Plan
from accounts.services import customer_change_plan
from billing.errors import PlanNotSelfServe, TrialAlreadyUsed, TrialNotAvailable
from billing.installation import stripe_key
from billing.models import Trial
from billing.services import (
    BILLING_CYCLE_ANCHOR,
    SubscriptionState,
    contract_plan_refuse,
    default_payment_method,
    live_subscription,
    stripe_customer_ensure,
    subscription_state,
)
from billing.stripe_api import djstripe_sync, stripe_call, stripe_retrieve
from billing.stripe_catalog import subscription_items
from core.email import email_send
from core.money import money

logger = logging.getLogger(__name__)

REMINDER_BEFORE = timedelta(days=3)  # when Stripe sends customer.subscription.trial_will_end


def trial_start(
    *,
    customer: Customer,
    plan: Plan,
    discounts: list[dict[str, str]] | None = None,
) -> SubscriptionState:
    """Start the customer's free trial of `plan` (no card needed). TrialAlreadyUsed (409) if it
    had one; TrialNotAvailable (400) if the plan has no trial or the customer already pays."""
    customer = Customer.objects.select_related("plan").get(pk=customer.pk)
    contract_plan_refuse(customer)
    if not plan.is_active or not plan.self_serve or not plan.trial_days:
        raise TrialNotAvailable(f"The {plan.name} plan has no free trial.")
    items = subscription_items(plan)
    if not items:
        raise PlanNotSelfServe("This plan is not on sale yet (its prices are not in Stripe).")
    if Trial.objects.filter(customer=customer).exists():  # the quick answer; the row decides
        raise TrialAlreadyUsed()
    stripe_id = stripe_customer_ensure(customer=customer)
    now = timezone.now()
    try:
        with transaction.atomic():
            # First the row: a concurrent request for the same customer waits here until this
            # one commits, then fails on the unique customer (409), whatever Stripe says.
            trial = Trial.objects.create(
                customer=customer,
                plan=plan,
                started_at=now,
                ends_at=now + timedelta(days=plan.trial_days),
            )
            if live_subscription(customer) is not None:
                raise TrialNotAvailable(
                    "You already have a paid subscription: trials are for new plans."
                )
            subscription = _trial_subscription_create(customer, stripe_id, plan, items, discounts)
            trial.stripe_subscription_id = subscription.id
            trial.ends_at = datetime.fromtimestamp(subscription.trial_end, UTC)
            trial.save(update_fields=["stripe_subscription_id", "ends_at"])
            customer_change_plan(customer=customer, plan=plan, reason="trial", when=now)
    except IntegrityError as exc:  # another request started the trial first
        raise TrialAlreadyUsed() from exc
    djstripe_sync(djstripe_models.Subscription, subscription)
    return subscription_state(subscription, customer=customer)


def _trial_subscription_create(
    customer: Customer,
    stripe_id: str,
    plan: Plan,
    items: list[dict[str, Any]],
    discounts: list[dict[str, str]] | None,
) -> Any:
    params: dict[str, Any] = {}
    if discounts:
        params["discounts"] = discounts
    return stripe_call(
        stripe.Subscription.create,
        customer=stripe_id,
        items=items,
        trial_period_days=plan.trial_days,
        # No card at the end of the trial: Stripe cancels, and the webhook moves the customer
        # back to the free plan. A card given while subscribing is kept as the default.
        trial_settings={"end_behavior": {"missing_payment_method": "cancel"}},
        payment_settings={"save_default_payment_method": "on_subscription"},
        billing_mode={"type": "flexible"},
        # After the trial, paid periods are calendar months (the first one prorated to the 1st).
        billing_cycle_anchor_config=BILLING_CYCLE_ANCHOR,
        metadata={
            "petstore_customer_id": str(customer.pk),
            "petstore_plan": plan.slug,
            "petstore_trial": "true",
        },
        expand=["latest_invoice", "default_payment_method"],
        idempotency_key=stripe_key("trial", customer.pk, uuid.uuid4().hex),
        **params,
    )


def trial_reminder_send(*, subscription_id: str) -> bool:
    """Email the customer that its trial ends soon, once per trial (a replayed webhook, or the
    beat task after the webhook, sends nothing). Re-reads the subscription from Stripe: a trial
    that already ended or was paid for gets no reminder. True if this call sent it."""
    subscription = stripe_retrieve(stripe.Subscription.retrieve, subscription_id)
    if subscription is None or subscription.status != "trialing":
        return False
    trial = (
        Trial.objects.select_related("customer", "plan")
        .filter(stripe_subscription_id=subscription.id)
        .first()
    )
    if trial is None:
        logger.warning(
            "trial_will_end for a subscription with no trial of ours: %s", subscription_id
        )
        return False
    with transaction.atomic():
        claimed = Trial.objects.filter(pk=trial.pk, reminder_sent_at__isnull=True).update(
            reminder_sent_at=timezone.now()
        )
        if not claimed:
            return False
        customer = trial.customer
        has_card = bool(subscription.default_payment_method) or (
            default_payment_method(customer) is not None
        )
        ends_at = datetime.fromtimestamp(subscription.trial_end, UTC)
        email_send(
            to=customer.email,
            template="billing/emails/trial_ending",
            context={
                "customer": customer,
                "plan": trial.plan,
                "ends_at": ends_at,
                "has_card": has_card,
                "price": money(trial.plan.monthly_price),
                "site_url": settings.SITE_URL,
            },
        )
    return True


def trial_reminders_due(now: datetime | None = None) -> int:
    """The beat task's work: the reminder of every trial ending within three days that the
    webhook has not sent (Stripe down, a lost event). Returns how many were sent."""
    now = now or timezone.now()
    due = Trial.objects.filter(
        reminder_sent_at__isnull=True,
        ends_at__gt=now,
        ends_at__lte=now + REMINDER_BEFORE,
    ).exclude(stripe_subscription_id="")
    sent = 0
    for subscription_id in due.values_list("stripe_subscription_id", flat=True):
        try:
            sent += trial_reminder_send(subscription_id=subscription_id)
        except Exception:  # one customer's failure must not stop the others' reminders
            logger.exception("trial reminder for %s failed", subscription_id)
    return sent
