"""A key's spend cap in units: what metering enforces (metering knows no money).

A customer may cap what one API key spends per period, in dollars (accounts.ApiKey's
`monthly_spend_cap`, on plans that bill overage or spend prepaid credits). The admission script
counts units, so the cap is translated here, with the rating engine, into the largest number of
units whose usage charge stays within it, and stored on the key (`spend_cap_units`) when the
cap is set, when the customer changes plan and when an operator edits the plan (receivers
below). docs/keys.md.

The key's units are priced as if none were included: the plan's included units belong to the
whole account, so a key cannot count on them, and pricing its units from the first unit of the
usage model means the overage charges this key causes never pass its cap, whatever the other
keys use.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from accounts.models import ApiKey, OveragePolicy, Plan
from accounts.signals import customer_access_changed
from pricing.engine import PlanTerms, PricingError, Usage, parse_pricing, quote_for_usage

# Past this many units a spend cap does not bind (free or near-free usage).
MAX_CAP_UNITS = 10**15


def spend_cap_units(plan: Any, cap: Decimal) -> int | None:
    """The most units a key may use so that their usage charge on `plan` is at most `cap`
    dollars; None when the spend cap cannot bind (a plan that does not bill overage, custom
    pricing, free usage, or invalid pricing)."""
    if plan.overage_policy not in (OveragePolicy.BILL, OveragePolicy.PREPAID):
        return None
    if plan.monthly_price is None:
        return None
    try:
        terms = PlanTerms(
            slug=plan.slug,
            name=plan.name,
            base_fee=Decimal("0"),
            included_units=None,
            overage_policy="bill",
            pricing=parse_pricing(plan.pricing),
        )
    except PricingError:
        return None

    def cost(units: int) -> Decimal:
        return quote_for_usage(terms, Usage(units=units)).total or Decimal("0")

    low, high = 0, 1  # cost(low) <= cap < cost(high)
    while cost(high) <= cap:
        low, high = high, high * 2
        if high > MAX_CAP_UNITS:
            return None
    while high - low > 1:
        middle = (low + high) // 2
        if cost(middle) <= cap:
            low = middle
        else:
            high = middle
    return low


def keys_spend_caps_refresh(*, customer_ids: list[int] | None = None, plan_id: int | None = None):
    """Recompute the unit equivalent of every spend cap of these customers (or of the customers
    on this plan), after their plan or its prices changed; customers whose keys changed get their
    grants replaced (after the commit)."""
    capped = ApiKey.objects.filter(monthly_spend_cap__isnull=False).select_related("customer__plan")
    if customer_ids is not None:
        capped = capped.filter(customer_id__in=customer_ids)
    if plan_id is not None:
        capped = capped.filter(customer__plan_id=plan_id)
    changed: set[int] = set()
    for api_key in capped:
        units = spend_cap_units(api_key.customer.plan, api_key.monthly_spend_cap)
        if units != api_key.spend_cap_units:
            ApiKey.objects.filter(pk=api_key.pk).update(spend_cap_units=units)
            changed.add(api_key.customer_id)
    for customer_id in sorted(changed):
        transaction.on_commit(
            lambda c=customer_id: customer_access_changed.send(sender=ApiKey, customer_id=c)
        )
    return changed


@receiver(post_save, sender=Plan)
def plan_saved_refresh_spend_caps(sender, instance: Plan, created: bool, **kwargs) -> None:
    if not created:
        keys_spend_caps_refresh(plan_id=instance.pk)
