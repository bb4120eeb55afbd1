"""Entering a card: Stripe Checkout and the Stripe customer portal.

- `checkout_subscription_start`: a Checkout Session in `subscription` mode for a paid plan (an
  upgrade from Free, or a change that needs a card): Stripe's hosted page takes the card, pays
  the first invoice and creates the subscription (flexible billing mode, anchored to the 1st).
- `checkout_setup_start`: a Checkout Session in `setup` mode to change the card. Stripe attaches
  the card but does not make it the default: `checkout_session_complete` does, from the
  SetupIntent (for the customer and for the live subscription).
- `portal_start`: a customer portal session (update the card, cancel at period end, invoices).

A `payment` session buys a pack of prepaid credits (billing/credits.py).

`checkout_session_complete` runs on the success redirect (the customer's own session only) and
on `checkout.session.completed`; it re-reads the session from Stripe and is idempotent, so
whichever comes first does the work and the other changes nothing.

Sessions carry `client_reference_id` and metadata naming our customer and plan, so that trials,
promotion codes or credits (`discounts`, `allow_promotion_codes`, `subscription_data[trial_*]`)
can be added to `_subscription_session_params` without changing the flow.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

import stripe
from django.utils import timezone
from djstripe import models as djstripe_models

from accounts.models import Customer, Plan
from billing.credits import credits_purchase_complete
from billing.errors import PlanNotSelfServe
from billing.installation import stripe_key
from billing.promotions import promotion_redeemed
from billing.reporting import usage_report_until
from billing.services import (
    LIVE_STATUSES,
    contract_plan_refuse,
    customer_for_stripe_id,
    customer_plan_sync,
    stripe_customer_ensure,
)
from billing.stripe_api import djstripe_sync, stripe_call, stripe_retrieve
from billing.stripe_catalog import CURRENCY, subscription_items
from core.periods import current_period
from pricing.models import PromotionCode

logger = logging.getLogger(__name__)

SESSION_PLACEHOLDER = "{CHECKOUT_SESSION_ID}"


def _success_url(url: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}session_id={SESSION_PLACEHOLDER}"


def _subscription_session_params(customer: Customer, plan: Plan) -> dict[str, Any]:
    metadata = {"petstore_customer_id": str(customer.pk), "petstore_plan": plan.slug}
    return {
        "line_items": subscription_items(plan),
        "subscription_data": {
            "billing_mode": {"type": "flexible"},
            # Periods are calendar months (UTC): the first one is prorated to the 1st.
            "billing_cycle_anchor": int(current_period().end.timestamp()),
            "metadata": metadata,
        },
        "metadata": metadata,
        # The customer may type a promotion code on Stripe's page (billing.promotions).
        "allow_promotion_codes": True,
    }


def checkout_subscription_start(
    *, customer: Customer, plan: Plan, success_url: str, cancel_url: str
) -> str:
    """The hosted Checkout page's URL for subscribing `customer` to `plan`."""
    customer = Customer.objects.select_related("plan").get(pk=customer.pk)
    contract_plan_refuse(customer)
    if not plan.is_active or not plan.self_serve or not plan.is_paid:
        raise PlanNotSelfServe()
    if not subscription_items(plan):
        raise PlanNotSelfServe("This plan is not on sale yet (its prices are not in Stripe).")
    session = stripe_call(
        stripe.checkout.Session.create,
        mode="subscription",
        customer=stripe_customer_ensure(customer=customer),
        client_reference_id=str(customer.pk),
        success_url=_success_url(success_url),
        cancel_url=cancel_url,
        **_subscription_session_params(customer, plan),
        idempotency_key=stripe_key("checkout", customer.pk, uuid.uuid4().hex),
    )
    return session.url


def checkout_setup_start(*, customer: Customer, success_url: str, cancel_url: str) -> str:
    """The hosted Checkout page's URL for entering a new card."""
    session = stripe_call(
        stripe.checkout.Session.create,
        mode="setup",
        currency=CURRENCY,
        customer=stripe_customer_ensure(customer=customer),
        client_reference_id=str(customer.pk),
        success_url=_success_url(success_url),
        cancel_url=cancel_url,
        metadata={"petstore_customer_id": str(customer.pk)},
        idempotency_key=stripe_key("checkout-setup", customer.pk, uuid.uuid4().hex),
    )
    return session.url


def portal_start(*, customer: Customer, return_url: str) -> str:
    """The Stripe customer portal's URL for this customer."""
    contract_plan_refuse(Customer.objects.select_related("plan").get(pk=customer.pk))
    session = stripe_call(
        stripe.billing_portal.Session.create,
        customer=stripe_customer_ensure(customer=customer),
        return_url=return_url,
    )
    return session.url


def _default_card_set(customer: Customer, payment_method_id: str) -> None:
    stripe_call(
        stripe.Customer.modify,
        customer.stripe_customer_id,
        invoice_settings={"default_payment_method": payment_method_id},
    )
    subscriptions = stripe_call(
        stripe.Subscription.list, customer=customer.stripe_customer_id, status="all", limit=20
    )
    for subscription in subscriptions.data:
        # A subscription's own default would still be charged instead: it moves too.
        if subscription.status in LIVE_STATUSES and subscription.default_payment_method:
            stripe_call(
                stripe.Subscription.modify,
                subscription.id,
                default_payment_method=payment_method_id,
            )
    djstripe_sync(
        djstripe_models.PaymentMethod,
        stripe_call(stripe.PaymentMethod.retrieve, payment_method_id),
    )


def _others_end(customer: Customer, keep: str) -> None:
    """A Checkout subscription replaces any other live one (a paid customer who needed a card):
    the old one's usage is reported, then it is cancelled, invoiced and prorated at once."""
    subscriptions = stripe_call(
        stripe.Subscription.list, customer=customer.stripe_customer_id, status="all", limit=20
    )
    others = [s for s in subscriptions.data if s.status in LIVE_STATUSES and s.id != keep]
    if others:
        usage_report_until(customer=customer, until=timezone.now())
    for subscription in others:
        stripe_call(stripe.Subscription.cancel, subscription.id, invoice_now=True, prorate=True)


def _redemptions_count(session: Any, customer: Customer) -> None:
    """A promotion code typed on the Checkout page: the customer's redemption, and its count
    re-read from Stripe."""
    for discount in session.discounts or []:
        code_id = discount.promotion_code if "promotion_code" in discount else None
        if code_id:
            promotion_redeemed(
                PromotionCode.objects.filter(stripe_promotion_code_id=code_id).first(), customer
            )


def checkout_session_complete(*, session_id: str, customer: Customer | None = None) -> Any:
    """A completed Checkout Session, re-read from Stripe: a `subscription` one syncs the plan
    (ending any other live subscription), a `setup` one makes its card the default. With
    `customer`, only that customer's session is acted on. Returns the session (None: unknown,
    not complete, or someone else's)."""
    session = stripe_retrieve(stripe.checkout.Session.retrieve, session_id, expand=["setup_intent"])
    if session is None or session.status != "complete":
        return None
    owner = customer_for_stripe_id(session.customer)
    if owner is None or (customer is not None and owner.pk != customer.pk):
        logger.warning("checkout session %s is not this customer's", session_id)
        return None
    if session.mode == "setup":
        intent = session.setup_intent
        if intent is not None and intent.status == "succeeded" and intent.payment_method:
            _default_card_set(owner, intent.payment_method)
    elif session.mode == "subscription" and session.subscription:
        _others_end(owner, keep=session.subscription)
        customer_plan_sync(customer=owner, reason="checkout")
        _redemptions_count(session, owner)
    elif session.mode == "payment":
        credits_purchase_complete(customer=owner, session=session)
    return session
