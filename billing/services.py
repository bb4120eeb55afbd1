"""Billing writes: Stripe customers, payment methods, subscriptions (the only place that changes
them). Every Stripe call happens before any local change, so a Stripe error leaves local state
as it was."""

from __future__ import annotations

import logging
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import stripe
from django.db import transaction
from django.utils import timezone
from djstripe import models as djstripe_models

from accounts.models import Customer, Plan
from accounts.selectors import default_plan
from accounts.services import customer_change_plan, trial_convert
from billing.errors import (
    ContractPlan,
    InvalidPaymentMethod,
    NoSubscription,
    PaymentMethodRequired,
    PlanNotSelfServe,
    UsageNotReported,
)
from billing.installation import stripe_key
from billing.reporting import reports_send, usage_report_until
from billing.stripe_api import djstripe_sync, stripe_call, stripe_retrieve
from billing.stripe_catalog import plan_for_price_ids, subscription_items

# Paid periods are calendar months (UTC), like quotas and the usage API.
BILLING_CYCLE_ANCHOR = {"day_of_month": 1, "hour": 0, "minute": 0, "second": 0}
# Subscriptions that keep the plan: `past_due` keeps it through the dunning grace period.
LIVE_STATUSES = ("active", "trialing", "past_due")
PAYMENT_METHOD_RE = re.compile(r"^pm_[A-Za-z0-9_]{3,100}$")
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PaymentMethodInfo:
    id: str
    brand: str
    last4: str
    exp_month: int
    exp_year: int


@dataclass(frozen=True)
class SubscriptionState:
    plan_slug: str
    plan_name: str
    status: str  # active, past_due, canceled, ...
    current_period_end: datetime | None
    cancel_at_period_end: bool
    payment_method: PaymentMethodInfo | None
    stripe_subscription_id: str
    trial_end: datetime | None = None


# --- Stripe customer and payment methods -------------------------------------------------------


def stripe_customer_ensure(*, customer: Customer) -> str:
    """The customer's Stripe id, creating the Stripe customer on first need."""
    if customer.stripe_customer_id:
        return customer.stripe_customer_id
    created = stripe_call(
        stripe.Customer.create,
        email=customer.email,
        name=customer.name or None,
        metadata={
            "petstore_customer_id": str(customer.pk),
            "djstripe_subscriber": str(customer.pk),
        },
        idempotency_key=stripe_key("customer", customer.pk),
    )
    Customer.objects.filter(pk=customer.pk, stripe_customer_id="").update(
        stripe_customer_id=created.id
    )
    customer.refresh_from_db(fields=["stripe_customer_id"])
    djstripe_sync(djstripe_models.Customer, created)
    return customer.stripe_customer_id


def _payment_method_info(pm: Any) -> PaymentMethodInfo | None:
    if not pm or isinstance(pm, str) or "card" not in pm or not pm.card:
        return None
    card = pm.card
    return PaymentMethodInfo(pm.id, card.brand, card.last4, card.exp_month, card.exp_year)


def payment_method_set(*, customer: Customer, payment_method: str) -> PaymentMethodInfo:
    """Attach a payment method (e.g. a Stripe test id like pm_card_visa) and make it the
    default. CardDeclined (402) / InvalidPaymentMethod (400) on refusal."""
    if not PAYMENT_METHOD_RE.match(payment_method or ""):
        raise InvalidPaymentMethod("Give a payment method id such as pm_card_visa.")
    stripe_id = stripe_customer_ensure(customer=customer)
    attached = stripe_call(stripe.PaymentMethod.attach, payment_method, customer=stripe_id)
    stripe_call(
        stripe.Customer.modify, stripe_id, invoice_settings={"default_payment_method": attached.id}
    )
    djstripe_sync(djstripe_models.PaymentMethod, attached)
    return _payment_method_info(attached)


def default_payment_method(customer: Customer) -> PaymentMethodInfo | None:
    if not customer.stripe_customer_id:
        return None
    stripe_customer = stripe_call(
        stripe.Customer.retrieve,
        customer.stripe_customer_id,
        expand=["invoice_settings.default_payment_method"],
    )
    return _payment_method_info(stripe_customer["invoice_settings"]["default_payment_method"])


# --- Subscriptions -----------------------------------------------------------------------------


def live_subscription(customer: Customer) -> Any | None:
    """The customer's newest subscription that keeps a paid plan, straight from Stripe."""
    if not customer.stripe_customer_id:
        return None
    subscriptions = stripe_call(
        stripe.Subscription.list,
        customer=customer.stripe_customer_id,
        status="all",
        limit=20,
        expand=["data.default_payment_method"],
    )
    live = [s for s in subscriptions.data if s.status in LIVE_STATUSES]
    return max(live, key=lambda s: s.created) if live else None


def _subscription_plan(subscription: Any) -> Plan | None:
    price_ids = {item.price.id for item in subscription["items"].data}
    plan = plan_for_price_ids(price_ids)
    if plan is None:
        metadata = subscription.metadata
        slug = metadata["petstore_plan"] if metadata and "petstore_plan" in metadata else None
        plan = Plan.objects.filter(slug=slug).first() if slug else None
    return plan


def subscription_state(subscription: Any, *, customer: Customer | None = None) -> SubscriptionState:
    """A subscription as the portal and API show it; the payment method is the subscription's
    own, else the customer's default (one more Stripe call, only then)."""
    plan = _subscription_plan(subscription)
    items = subscription["items"].data
    period_end = items[0].current_period_end if items else None
    pm = subscription.default_payment_method
    if isinstance(pm, str) or (pm is None and customer is not None):
        pm = default_payment_method(customer) if customer is not None else None
    else:
        pm = _payment_method_info(pm)
    return SubscriptionState(
        plan_slug=plan.slug if plan else "",
        plan_name=plan.name if plan else "",
        status=subscription.status,
        current_period_end=datetime.fromtimestamp(period_end, UTC) if period_end else None,
        cancel_at_period_end=bool(subscription.cancel_at_period_end),
        payment_method=pm,
        stripe_subscription_id=subscription.id,
        trial_end=(
            datetime.fromtimestamp(subscription.trial_end, UTC)
            if subscription.status == "trialing" and subscription.trial_end
            else None
        ),
    )


def contract_plan_refuse(customer: Customer) -> None:
    """A customer on a plan that is not self-serve (a contract, e.g. Enterprise) cannot change or
    cancel it itself, through the API or the portal: staff do, from the admin (which calls
    accounts.services.customer_change_plan directly). Raises ContractPlan (409)."""
    if not customer.plan.self_serve:
        raise ContractPlan.for_plan(customer.plan.name)


def _reason(old: Plan, new: Plan) -> str:
    if not old.monthly_price and new.monthly_price:
        return "subscribe"
    return "upgrade" if (new.monthly_price or 0) > (old.monthly_price or 0) else "downgrade"


def plan_change_terms(current_plan: Plan, plan: Plan) -> dict[str, str]:
    """How a change between two paid plans is made. An upgrade is invoiced (prorated) at once
    and must be paid for the change to happen; a downgrade credits the unused time on the next
    invoice. The preview (billing/previews.py) asks Stripe with the same terms."""
    upgrade = (plan.monthly_price or 0) > (current_plan.monthly_price or 0)
    return {
        "proration_behavior": "always_invoice" if upgrade else "create_prorations",
        "payment_behavior": "error_if_incomplete" if upgrade else "allow_incomplete",
    }


def swap_items(subscription: Any, plan: Plan) -> list[dict[str, Any]]:
    """The item changes that move a subscription to `plan`: every current item deleted (a
    metered one's usage so far is invoiced at its price: flexible billing mode), the plan's
    items added."""
    return [
        {"id": item.id, "deleted": True} for item in subscription["items"].data
    ] + subscription_items(plan)


def subscription_change(
    *,
    customer: Customer,
    plan: Plan,
    payment_method: str | None = None,
    at: datetime | None = None,
    usage_reported: bool = False,
    discounts: list[dict[str, str]] | None = None,
) -> SubscriptionState | None:
    """Subscribe, upgrade or downgrade (with proration). Choosing Free cancels the paid
    subscription at period end. Returns the subscription state (None when on Free).

    A change between paid plans takes effect at `at` (default now; the plan-change page passes
    the moment its preview was made, so the invoice equals the preview): the usage recorded
    before it is flushed and reported to Stripe first (unless the preview already did,
    `usage_reported`), timestamped before `at`, so that Stripe bills it at the old price."""
    customer = Customer.objects.select_related("plan").get(pk=customer.pk)
    contract_plan_refuse(customer)
    if not plan.is_active or not plan.self_serve:
        raise PlanNotSelfServe()
    items = subscription_items(plan)
    if plan.is_paid and not items:
        raise PlanNotSelfServe("This plan is not on sale yet (its prices are not in Stripe).")
    current = live_subscription(customer)
    if not items:  # a free plan
        if current is None:
            customer_change_plan(customer=customer, plan=plan, reason="downgrade")
            return None
        return subscription_cancel(customer=customer)

    if payment_method:
        payment_method_set(customer=customer, payment_method=payment_method)
    elif current is None and default_payment_method(customer) is None:
        raise PaymentMethodRequired()

    stripe_id = stripe_customer_ensure(customer=customer)
    metadata = {"petstore_customer_id": str(customer.pk), "petstore_plan": plan.slug}
    # A promotion code (billing.promotions) applies to the subscription from now on.
    extra: dict[str, Any] = {"discounts": discounts} if discounts else {}
    if current is None:
        subscription = stripe_call(
            stripe.Subscription.create,
            customer=stripe_id,
            items=items,
            # No half-made subscription: if the first invoice cannot be paid, nothing is created.
            payment_behavior="error_if_incomplete",
            proration_behavior="create_prorations",
            # Stated, not left to the API version's default: a metered price swapped
            # mid-period bills the usage before the swap at the old price.
            billing_mode={"type": "flexible"},
            # Periods are calendar months (UTC), like quotas and the usage API.
            billing_cycle_anchor_config=BILLING_CYCLE_ANCHOR,
            metadata=metadata,
            expand=["latest_invoice", "default_payment_method"],
            idempotency_key=stripe_key("subscribe", customer.pk, uuid.uuid4().hex),
            **extra,
        )
    else:
        if _subscription_plan(current) == plan:
            if current.cancel_at_period_end:  # choosing the same plan again resumes it
                current = stripe_call(
                    stripe.Subscription.modify, current.id, cancel_at_period_end=False
                )
            return subscription_state(current, customer=customer)
        at = at or timezone.now()
        usage_report_before_change(customer=customer, at=at, reported=usage_reported)
        subscription = stripe_call(
            stripe.Subscription.modify,
            current.id,
            items=swap_items(current, plan),
            proration_date=int(at.timestamp()),
            **plan_change_terms(customer.plan, plan),
            cancel_at_period_end=False,
            metadata=metadata,
            expand=["latest_invoice", "default_payment_method"],
            # A plan change during a free trial ends the trial: the new plan is paid for now.
            **({"trial_end": "now"} if current.status == "trialing" else {}),
            **extra,
        )
    djstripe_sync(djstripe_models.Subscription, subscription)
    if subscription.status in LIVE_STATUSES:
        customer_change_plan(
            customer=customer, plan=plan, reason=_reason(customer.plan, plan), when=at
        )
    return subscription_state(subscription, customer=customer)


def usage_report_before_change(*, customer: Customer, at: datetime, reported: bool) -> None:
    """Everything the customer used before `at` reaches Stripe before the swap, or the change
    does not happen (UsageNotReported, 503): reported after the swap, Stripe would not bill it
    at the old price (it invoices the old price's usage at the change), nor at the new one
    (its timestamps are before it)."""
    if reported:  # the preview reported up to `at`: send only what is still pending
        result = reports_send(customer=customer)
    else:
        result = usage_report_until(customer=customer, until=at)
    if result.failed:
        raise UsageNotReported()


def subscription_cancel(*, customer: Customer) -> SubscriptionState:
    """Cancel the paid subscription at the end of the period (the plan stays until then)."""
    contract_plan_refuse(Customer.objects.select_related("plan").get(pk=customer.pk))
    current = live_subscription(customer)
    if current is None:
        raise NoSubscription()
    subscription = stripe_call(
        stripe.Subscription.modify,
        current.id,
        cancel_at_period_end=True,
        expand=["default_payment_method"],
    )
    djstripe_sync(djstripe_models.Subscription, subscription)
    return subscription_state(subscription, customer=customer)


def customer_plan_sync(*, customer: Customer, reason: str = "stripe") -> Plan:
    """Make the customer's plan what Stripe says now (webhooks call this). The customer row is
    locked before Stripe is read, so concurrent webhooks apply one after the other and the
    latest Stripe state wins, whatever order the events arrive in. A contract plan (not
    self-serve, e.g. Enterprise) is set by staff only: Stripe's subscriptions do not move it."""
    with transaction.atomic():
        locked = Customer.objects.select_for_update().select_related("plan").get(pk=customer.pk)
        if not locked.plan.self_serve:
            return locked.plan
        subscription = live_subscription(locked)
        plan = _subscription_plan(subscription) if subscription else None
        if plan is None:
            plan = default_plan() if not _keeps_unbilled_plan(locked) else locked.plan
        trialing = subscription is not None and subscription.status == "trialing"
        customer_change_plan(customer=locked, plan=plan, reason="trial" if trialing else reason)
        if subscription is not None and subscription.status == "active":
            trial_convert(customer=locked)  # a trial that went on into a paid period
    return plan


def customer_for_stripe_id(stripe_customer_id: Any, *, lock: bool = False) -> Customer | None:
    """Our customer behind a Stripe customer id (None, logged, if it is not one of ours). With
    `lock`, its row is locked until the transaction ends: webhooks about one customer then apply
    one after the other."""
    if not isinstance(stripe_customer_id, str) or not stripe_customer_id:
        return None
    customers = Customer.objects.select_related("plan")
    if lock:
        customers = customers.select_for_update()
    customer = customers.filter(stripe_customer_id=stripe_customer_id).first()
    if customer is None:
        logger.warning("stripe object of unknown customer %s", stripe_customer_id)
    return customer


def subscription_sync(*, subscription_id: str) -> Plan | None:
    """A `customer.subscription.*` webhook: re-read the subscription from Stripe to learn whose
    it is (never from the event's copy), then sync that customer's plan with Stripe's state."""
    subscription = stripe_retrieve(stripe.Subscription.retrieve, subscription_id)
    if subscription is None:
        logger.warning("stripe has no subscription %s", subscription_id)
        return None
    customer = customer_for_stripe_id(subscription["customer"])
    if customer is None:
        return None
    return customer_plan_sync(customer=customer, reason="stripe")


def _keeps_unbilled_plan(customer: Customer) -> bool:
    """A plan Stripe does not bill (Free, or a custom Enterprise deal set by staff) is not
    taken away because Stripe has no subscription."""
    return not customer.plan.is_paid or customer.plan.is_custom_priced


def payment_method_ids_for_test_cards() -> list[tuple[str, str]]:
    """Stripe's test payment methods offered in test mode (the portal's card picker)."""
    return [
        ("pm_card_visa", "Visa •••• 4242 (succeeds)"),
        ("pm_card_mastercard", "Mastercard •••• 4444 (succeeds)"),
        ("pm_card_chargeCustomerFail", "Visa •••• 0341 (attaches, later charges fail)"),
        ("pm_card_chargeDeclined", "Visa •••• 0002 (declined)"),
    ]
