"""Writes for accounts: registration, keys, plan changes. The only place that changes them."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from accounts import keys
from accounts.errors import EmailTaken, KeyLimitReached, SpendCapNotAvailable
from accounts.models import ApiKey, Customer, OveragePolicy, Plan, PlanChange
from accounts.selectors import active_keys, customer_on_trial, default_plan, plan_mrr
from accounts.signals import customer_access_changed
from core.events import domain_event_emit
from core.navigation import upgrade_url

MAX_ROTATION_GRACE = timedelta(days=7)
# Plans on which a key may have a spend cap: those billing usage above the quota.
SPEND_CAP_POLICIES = (OveragePolicy.BILL, OveragePolicy.PREPAID)
UNSET: object = object()


def _access_changed(customer_id: int) -> None:
    transaction.on_commit(
        lambda: customer_access_changed.send(sender=Customer, customer_id=customer_id)
    )


def normalize_email(email: str) -> str:
    return email.strip().lower()


@transaction.atomic
def customer_register(
    *, email: str, password: str | None = None, name: str = "", plan: Plan | None = None
) -> tuple[Customer, str]:
    """Create user, customer (on Free unless told) and a first key. Returns the raw key once."""
    email = normalize_email(email)
    if Customer.objects.filter(email__iexact=email).exists():
        raise EmailTaken()
    plan = plan or default_plan()
    now = timezone.now()
    try:
        with transaction.atomic():
            user = get_user_model().objects.create_user(
                username=email, email=email, password=password
            )
            customer = Customer.objects.create(
                user=user, email=email, name=name, plan=plan, created_at=now, plan_changed_at=now
            )
    except IntegrityError as exc:  # a concurrent sign-up with the same email won the race
        raise EmailTaken() from exc
    PlanChange.objects.create(
        customer=customer,
        from_plan=None,
        to_plan=plan,
        to_mrr=plan_mrr(plan),
        reason="signup",
        changed_at=now,
    )
    _, raw = api_key_create(customer=customer, name="default")
    return customer, raw


@transaction.atomic
def api_key_create(
    *, customer: Customer, name: str = "default", enforce_limit: bool = True
) -> tuple[ApiKey, str]:
    """Issue a key. The raw key is returned here and never again (only its hash is stored)."""
    # Lock the customer so two concurrent creations cannot both squeeze under the limit.
    locked = Customer.objects.select_for_update().select_related("plan").get(pk=customer.pk)
    if enforce_limit:
        count = active_keys(locked).count()
        if count >= locked.plan.max_keys:
            raise KeyLimitReached(
                f"Your {locked.plan.name} plan allows {locked.plan.max_keys} active keys and you "
                f"have {count}. Revoke a key or upgrade your plan.",
                extra={
                    "limit": locked.plan.max_keys,
                    "upgrade_url": upgrade_url(),
                },
            )
    for _ in range(5):
        generated = keys.generate_key(settings.API_KEY_MODE, locked.pk)
        try:
            with transaction.atomic():
                api_key = ApiKey.objects.create(
                    customer=locked,
                    name=name.strip() or "default",
                    prefix=generated.prefix,
                    key_hash=generated.hashed,
                )
            return api_key, generated.raw
        except IntegrityError:  # lookup-prefix collision: astronomically rare, draw again
            continue
    raise RuntimeError("could not draw a unique API key prefix")


@transaction.atomic
def api_key_revoke(*, api_key: ApiKey) -> ApiKey:
    updated = ApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    api_key.refresh_from_db()
    if updated:
        _access_changed(api_key.customer_id)
    return api_key


@transaction.atomic
def api_key_rotate(*, api_key: ApiKey, grace: timedelta = timedelta(0)) -> tuple[ApiKey, str]:
    """Replace a key with a new one of the same name. The old key stops working now, or at the
    end of `grace` so that clients can switch over without downtime."""
    if grace < timedelta(0) or grace > MAX_ROTATION_GRACE:
        raise ValueError("grace must be between 0 and 7 days")
    new_key, raw = api_key_create(customer=api_key.customer, name=api_key.name, enforce_limit=False)
    now = timezone.now()
    if grace:
        ApiKey.objects.filter(pk=api_key.pk).update(expires_at=now + grace)
    else:
        ApiKey.objects.filter(pk=api_key.pk).update(revoked_at=now)
    api_key.refresh_from_db()
    _access_changed(api_key.customer_id)
    return new_key, raw


def spend_cap_units(plan: Plan, cap: Decimal | None) -> int | None:
    """A spend cap's unit equivalent at the plan's prices, from the pricing layer
    (settings.ACCOUNTS_SPEND_CAP_UNITS: accounts knows no prices)."""
    if cap is None:
        return None
    return import_string(settings.ACCOUNTS_SPEND_CAP_UNITS)(plan, cap)


@transaction.atomic
def api_key_caps_set(
    *, api_key: ApiKey, monthly_unit_cap: object = UNSET, monthly_spend_cap: object = UNSET
) -> ApiKey:
    """Set (a positive value) or remove (None) a key's monthly unit cap and/or spend cap; a
    field left UNSET is kept. The metering enforces the lower of the two in units: the spend
    cap's unit equivalent is stored with it. The key's grant is replaced after the commit."""
    locked = ApiKey.objects.select_for_update().select_related("customer__plan").get(pk=api_key.pk)
    if monthly_unit_cap is not UNSET:
        if monthly_unit_cap is not None and (
            isinstance(monthly_unit_cap, bool)
            or not isinstance(monthly_unit_cap, int)
            or monthly_unit_cap < 1
        ):
            raise ValueError("monthly_unit_cap must be a positive integer or None")
        locked.monthly_unit_cap = monthly_unit_cap
    if monthly_spend_cap is not UNSET:
        plan = locked.customer.plan
        if monthly_spend_cap is not None:
            if not isinstance(monthly_spend_cap, Decimal) or monthly_spend_cap <= 0:
                raise ValueError("monthly_spend_cap must be a positive Decimal or None")
            if plan.overage_policy not in SPEND_CAP_POLICIES:
                raise SpendCapNotAvailable(
                    f"The {plan.name} plan does not bill overage (it refuses usage above its "
                    "quota), so a key cannot have a spend cap on it. Set monthly_unit_cap "
                    "instead.",
                    extra={"plan": plan.slug},
                )
        locked.monthly_spend_cap = monthly_spend_cap
        locked.spend_cap_units = spend_cap_units(plan, monthly_spend_cap)
    locked.save(update_fields=["monthly_unit_cap", "monthly_spend_cap", "spend_cap_units"])
    _access_changed(locked.customer_id)
    return locked


@transaction.atomic
def customer_change_plan(
    *, customer: Customer, plan: Plan, reason: str = "self_serve", when=None
) -> Customer:
    """Move a customer to a plan and record the change (with its MRR) in the history.

    Trials: a move with reason `trial` brings no MRR (a trialing plan is not paid yet); a move
    away from a plan still on its trial takes none away: `trial_converted` to a paid plan,
    `trial_ended` to a free one (`trial_convert` records the trial going on into its paid
    period on the same plan)."""
    locked = Customer.objects.select_for_update().select_related("plan").get(pk=customer.pk)
    if locked.plan_id == plan.pk:
        return locked
    when = when or timezone.now()
    previous = locked.plan
    trialing = customer_on_trial(locked)
    if trialing and reason != "trial":
        # Off the trial: to a paid plan (a change of plan during the trial ends it, paid), or
        # back to a free one.
        reason = "trial_converted" if plan.is_paid else "trial_ended"
    change = PlanChange.objects.create(
        customer=locked,
        from_plan=locked.plan,
        to_plan=plan,
        from_mrr=Decimal("0.00") if trialing else plan_mrr(locked.plan),
        to_mrr=Decimal("0.00") if reason == "trial" else plan_mrr(plan),
        reason=reason,
        changed_at=when,
    )
    locked.plan = plan
    locked.plan_changed_at = when
    locked.save(update_fields=["plan", "plan_changed_at"])
    # Spend caps follow the new plan's prices (none binds on a plan that does not bill overage).
    for api_key in ApiKey.objects.filter(customer=locked, monthly_spend_cap__isnull=False):
        api_key.spend_cap_units = spend_cap_units(plan, api_key.monthly_spend_cap)
        api_key.save(update_fields=["spend_cap_units"])
    _access_changed(locked.pk)
    customer.plan = plan
    customer.plan_changed_at = when
    domain_event_emit(
        customer_id=locked.pk,
        event_type="plan.changed",
        source=f"plan-change:{change.pk}",
        data={
            "from_plan": previous.slug,
            "to_plan": plan.slug,
            "reason": reason,
            "changed_at": when.isoformat(),
        },
        created=when,
    )
    return locked


def trial_convert(*, customer: Customer, when=None) -> PlanChange | None:
    """The customer's trial became a paid subscription on the same plan: its MRR starts now
    (a `trial_converted` change). Idempotent: None when the customer is not on a trial."""
    locked = Customer.objects.select_for_update().select_related("plan").get(pk=customer.pk)
    if not customer_on_trial(locked):
        return None
    when = when or timezone.now()
    change = PlanChange.objects.create(
        customer=locked,
        from_plan=locked.plan,
        to_plan=locked.plan,
        from_mrr=Decimal("0.00"),
        to_mrr=plan_mrr(locked.plan),
        reason="trial_converted",
        changed_at=when,
    )
    domain_event_emit(
        customer_id=locked.pk,
        event_type="plan.changed",
        source=f"plan-change:{change.pk}",
        data={
            "from_plan": locked.plan.slug,
            "to_plan": locked.plan.slug,
            "reason": "trial_converted",
            "changed_at": when.isoformat(),
        },
        created=when,
    )
    return change


def customer_record_first_call(*, customer_id: int, when) -> bool:
    """Record the first successful call, once per customer ever. True if this call was it."""
    return bool(
        Customer.objects.filter(pk=customer_id, first_call_at__isnull=True).update(
            first_call_at=when
        )
    )
