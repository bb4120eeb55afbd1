from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.module_loading import import_string

from accounts.models import ApiKey, Customer, Plan, PlanChange

DEFAULT_PLAN_SLUG = "free"


def default_plan() -> Plan:
    return Plan.objects.get(slug=DEFAULT_PLAN_SLUG)


def plan_catalogue(*, self_serve_only: bool = False) -> QuerySet[Plan]:
    plans = Plan.objects.filter(is_active=True)
    return plans.filter(self_serve=True) if self_serve_only else plans


def plan_mrr(plan: Plan | None) -> Decimal:
    """The recurring base fee a plan contributes per month (custom prices count as 0 until a
    contract amount is known)."""
    if plan is None or plan.monthly_price is None:
        return Decimal("0.00")
    return plan.monthly_price


def keys_usage(customer_id: int) -> dict:
    """Each key's usage this period ({key id: counts with `calls`, `units`}), from metering
    (settings.ACCOUNTS_KEYS_USAGE: accounts does not import metering)."""
    return import_string(settings.ACCOUNTS_KEYS_USAGE)(customer_id)


def customer_on_trial(customer: Customer) -> bool:
    """The customer's current plan came with a free trial that has not ended or been paid for
    yet: its last plan change is a `trial` to that plan (billing records the trial's end)."""
    last = (
        PlanChange.objects.filter(customer_id=customer.pk)
        .order_by("-changed_at", "-id")
        .values_list("reason", "to_plan_id")
        .first()
    )
    return last is not None and last[0] == "trial" and last[1] == customer.plan_id


def customer_for_user(user) -> Customer | None:
    if not getattr(user, "is_authenticated", False):
        return None
    return Customer.objects.select_related("plan").filter(user=user).first()


def customer_for_request(request) -> Customer | None:
    """dj-stripe's subscriber callback: the customer behind a web request."""
    return customer_for_user(request.user)


def active_keys(customer: Customer) -> QuerySet[ApiKey]:
    """Keys that authenticate now: not revoked and not past a rotation's grace period."""
    return customer.api_keys.filter(revoked_at__isnull=True).filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now())
    )


def customer_keys(customer: Customer) -> QuerySet[ApiKey]:
    return customer.api_keys.all()
