"""Prepaid credits: packs bought through Stripe Checkout, a plan's free monthly credit, the
balance, its burn-down and forecast, and the allowance the `prepaid` overage policy enforces.

**Where the balance lives.** Each grant is a Stripe *billing credit grant*
(`stripe.billing.CreditGrant`) scoped to metered prices (`applicability_config.scope.price_type
= metered`), not the customer balance: a grant pays only the usage lines of an invoice, never the
base fee (a prepaid customer's subscription fee is still charged to the card, and credits are not
spent on a fee the customer expects to pay anyway), and it never pays for the next credit pack
(one-time prices are outside its scope; the customer balance would pay any invoice, so a pack
bought with credits would be free). Stripe applies grants when an invoice is finalized, before the
card is charged: amount due = usage − credits (tests/billing/test_credits_stripe.py checks it to
the cent against the local Stripe server).

**The local ledger** (`billing.models.CreditEntry`) mirrors it: grants (+) and what credits paid
of each closed period (−, recorded at the period close). The balance a period starts with, plus
what was granted during it, is what pays that period's usage; the pricing engine computes what it
pays (`pricing.engine.credits`), so the estimate, the calculator, the hot path's allowance and the
invoice agree. A period not recorded yet (its close has not run) is computed the same way.

**The hot path** never reads this: on a prepaid plan the customer's grant in Redis carries the
allowance, the largest number of units of the period the included units plus the balance pay for
(`allowance_units`, read through METERING_CREDIT_ALLOWANCE when the grant is loaded); a change of
balance replaces the customer's token so the next request reloads it, and the admission script
refuses past it with `credits_exhausted` (`exhausted_details` fills the error).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import stripe
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

from accounts.models import Customer, OveragePolicy
from billing.installation import stripe_key
from billing.models import CreditEntry, PeriodClose
from billing.services import customer_for_stripe_id, stripe_customer_ensure
from billing.stripe_api import stripe_call
from billing.stripe_catalog import CURRENCY
from core.errors import ApplicationError
from core.money import money
from core.navigation import page_url
from core.periods import Period, current_period, period_containing
from metering.forecast import WINDOW_DAYS, daily_rate, history_daily_units
from metering.grants import bump_customer_token
from metering.selectors import UsageBreakdown, customer_usage
from pricing.engine import PricingError, Quote, Usage, plan_terms, quote_for_plan, round_money
from pricing.engine.credits import (
    credit_allowance,
    credits_applied,
    metered_charge,
    quote_with_credits,
)
from pricing.selectors import calls_by_class, customer_quote

logger = logging.getLogger(__name__)

ZERO = Decimal("0")
CENTS = Decimal(100)
SESSION_PLACEHOLDER = "{CHECKOUT_SESSION_ID}"
FORECAST_HORIZON_DAYS = 366
DAY = timedelta(days=1)


class UnknownCreditPack(ApplicationError):
    status_code = 400
    code = "unknown_credit_pack"
    default_message = "There is no such credit pack: `packs` lists them."


def credit_packs() -> dict[str, Decimal]:
    """The packs on sale: name → dollars (settings.CREDIT_PACKS)."""
    return {str(name): Decimal(str(amount)) for name, amount in settings.CREDIT_PACKS.items()}


def pack_amount(pack: str) -> Decimal:
    packs = credit_packs()
    if pack not in packs:
        names = ", ".join(packs)
        raise UnknownCreditPack(
            f"There is no credit pack {pack!r}: choose one of {names}.",
            extra={"param": "pack", "packs": list(packs)},
        )
    return packs[pack]


# --- the balance ------------------------------------------------------------------------------


def _first_period(customer_id: int) -> Period | None:
    first = (
        CreditEntry.objects.filter(customer_id=customer_id)
        .exclude(kind=CreditEntry.Kind.APPLIED)
        .order_by("created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    return None if first is None else period_containing(first)


def _period_usage(customer: Customer, period: Period) -> UsageBreakdown:
    return customer_usage(
        customer_id=customer.pk, start=period.start, end=period.end, ledger_if_redis_down=True
    )


def _quote(customer: Customer, usage: Usage) -> Quote | None:
    try:
        return quote_for_plan(customer.plan, usage)
    except PricingError:
        logger.exception("credits: plan %s has an invalid pricing", customer.plan.slug)
        return None


def _period_quote(customer: Customer, period: Period) -> Quote | None:
    usage = _period_usage(customer, period)
    return _quote(customer, Usage(units=usage.total.units, calls=calls_by_class(usage)))


def _granted_before(customer_id: int, moment: datetime) -> Decimal:
    total = (
        CreditEntry.objects.filter(customer_id=customer_id, created_at__lt=moment)
        .exclude(kind=CreditEntry.Kind.APPLIED)
        .aggregate(total=Sum("amount"))["total"]
    )
    return total or ZERO


def _monthly_pending(customer: Customer, period: Period) -> Decimal:
    """The plan's monthly credit of `period` when the beat task has not granted it yet."""
    credit = customer.plan.monthly_credit or ZERO
    if credit <= ZERO:
        return ZERO
    granted = CreditEntry.objects.filter(
        customer_id=customer.pk, kind=CreditEntry.Kind.MONTHLY, period=period.id
    ).exists()
    return ZERO if granted else credit


def period_balance(customer: Customer, period: Period) -> Decimal:
    """The credits that pay `period`'s usage: everything granted before its end (a pending
    monthly credit of the current period included), less what the credits paid of each earlier
    period (recorded at its close, else computed alike)."""
    first = _first_period(customer.pk)
    pending = _monthly_pending(customer, period) if period == current_period() else ZERO
    if first is None or first.start >= period.end:
        return pending
    recorded = dict(
        CreditEntry.objects.filter(
            customer_id=customer.pk, kind=CreditEntry.Kind.APPLIED
        ).values_list("period", "amount")
    )
    used = ZERO
    earlier = first
    while earlier.start < period.start:
        if earlier.id in recorded:
            used -= recorded[earlier.id]
        else:
            available = _granted_before(customer.pk, earlier.end) - used
            quote = _period_quote(customer, earlier)
            used += credits_applied(quote, available) if quote else ZERO
        earlier = earlier.next()
    return _granted_before(customer.pk, period.end) - used + pending


@dataclass
class CreditsSummary:
    balance: Decimal  # now: what is left after the period's usage so far
    period_balance: Decimal  # what pays this period's usage
    used_this_period: Decimal
    allowance_units: int | None  # prepaid plans: the period's cap (None: no limit)
    prepaid: bool
    burn_down: list[dict[str, Any]] = field(default_factory=list)
    runs_out_on: date | None = None
    forecast_method: str = ""
    daily_units: float | None = None
    forecast: list[dict[str, Any]] = field(default_factory=list)  # the rest of the period


def _charge(customer: Customer, units: int, balance: Decimal) -> Decimal:
    quote = _quote(customer, Usage(units=units))
    return credits_applied(quote, balance) if quote else ZERO


def allowance_for(customer: Customer, balance: Decimal) -> int | None:
    try:
        terms = plan_terms(customer.plan)
    except PricingError:
        logger.exception("credits: plan %s has an invalid pricing", customer.plan.slug)
        return customer.plan.included_units
    if customer.plan.included_units is None and terms.pricing.model == "none":
        return None
    return credit_allowance(terms, balance)


def allowance_units(customer_id: int, period: Period) -> int | None:
    """METERING_CREDIT_ALLOWANCE: a prepaid customer's cap of `period`, in units."""
    customer = Customer.objects.select_related("plan").get(pk=customer_id)
    return allowance_for(customer, period_balance(customer, period))


def exhausted_details(customer_id: int, period: Period, period_units: int) -> dict[str, Any]:
    """METERING_CREDITS_EXHAUSTED: the 429 credits_exhausted error's fields."""
    customer = Customer.objects.select_related("plan").get(pk=customer_id)
    start = period_balance(customer, period)
    left = round_money(start - _charge(customer, period_units, start))
    return {
        "message": f"Your prepaid credits are spent ({money(left)} left, less than this call "
        "costs): the call was not served. Buy credits to keep going: "
        f"{buy_credits_url()} (or POST /api/v1/billing/credits).",
        "balance": f"{left:.2f}",
        "buy_credits_url": buy_credits_url(),
    }


def buy_credits_url() -> str:
    return f"{page_url('plans')}#credits"


def _daily_balances(
    customer: Customer, period: Period, usage: UsageBreakdown, start_balance: Decimal, now
) -> list[dict[str, Any]]:
    grants = list(
        CreditEntry.objects.filter(
            customer_id=customer.pk,
            created_at__gte=period.start,
            created_at__lt=period.end,
        )
        .exclude(kind=CreditEntry.Kind.APPLIED)
        .values_list("created_at", "amount")
    )
    later = sum((amount for _, amount in grants), ZERO)
    pending = _monthly_pending(customer, period)
    opening = start_balance - later - pending
    rows, cumulative = [], 0
    day = period.start.date()
    today = now.astimezone(UTC).date()
    while day <= today:
        end = datetime.combine(day + DAY, datetime.min.time(), UTC)
        counts = usage.by_day.get(day)
        units = counts.units if counts else 0
        cumulative += units
        granted = opening + pending + sum((a for when, a in grants if when < end), ZERO)
        rows.append(
            {
                "date": day,
                "units": units,
                "granted": round_money(granted),
                "balance": round_money(granted - _charge(customer, cumulative, granted)),
            }
        )
        day += DAY
    return rows


def _metered(customer: Customer, units: float) -> Decimal | None:
    quote = _quote(customer, Usage(units=round(units)))
    return None if quote is None else metered_charge(quote)


def _run_out(
    customer: Customer, period: Period, used: int, balance: Decimal, rate: float, now: datetime
) -> date | None:
    """The first day the projected usage (`rate` units a day: metering.forecast's method) costs
    more than the credits, period after period (each new one bringing the plan's monthly
    credit); None with no usage, or beyond FORECAST_HORIZON_DAYS."""
    if rate <= 0:
        return None
    monthly = customer.plan.monthly_credit or ZERO
    units, available, moment = float(used), balance, now
    for _ in range(FORECAST_HORIZON_DAYS):
        following = moment + DAY
        if following >= period.end:
            units += rate * ((period.end - moment) / DAY)
            charge = _metered(customer, units)
            if charge is None:
                return None
            if charge > available:
                return (period.end - DAY).astimezone(UTC).date()
            available = available - charge + monthly
            period = period.next()
            units = rate * ((following - period.start) / DAY)
        else:
            units += rate
        charge = _metered(customer, units)
        if charge is None:
            return None
        if charge > available:
            return following.astimezone(UTC).date()
        moment = following
    return None


def _forecast_rows(
    customer: Customer, period: Period, used: int, balance: Decimal, rate: float, now: datetime
) -> list[dict[str, Any]]:
    """The projected balance at the end of each remaining day of the period."""
    rows = []
    day = now.astimezone(UTC).date() + DAY
    units = float(used)
    while datetime.combine(day, datetime.min.time(), UTC) < period.end:
        units += rate
        charge = _metered(customer, units)
        if charge is None:
            return []
        rows.append({"date": day, "balance": round_money(max(balance - charge, ZERO))})
        day += DAY
    return rows


def credits_summary(customer: Customer, *, now: datetime | None = None) -> CreditsSummary:
    now = now or timezone.now()
    customer = Customer.objects.select_related("plan").get(pk=customer.pk)
    period = period_containing(now)
    start = period_balance(customer, period)
    usage = _period_usage(customer, period)
    quote = _quote(customer, Usage(units=usage.total.units, calls=calls_by_class(usage)))
    spent = credits_applied(quote, start) if quote else ZERO
    prepaid = customer.plan.overage_policy == OveragePolicy.PREPAID
    history = history_daily_units(customer_id=customer.pk, period=period, breakdown=usage, now=now)
    today = now.astimezone(UTC).date()
    days = [today - timedelta(days=n) for n in range(WINDOW_DAYS, 0, -1)]
    first_call = customer.first_call_at or customer.created_at
    days = [d for d in days if d >= first_call.astimezone(UTC).date()]
    # Under a day of usage there is no rate to project (metering.forecast says the same).
    rate = daily_rate([history.get(d, 0) for d in days])
    method = (
        f"mean daily units of the last {len(days)} complete day"
        f"{'s' if len(days) != 1 else ''}, priced by the engine"
        if days
        else "insufficient history: under a day of usage, so no run-out forecast yet"
    )
    runs_out = None
    if start > ZERO:
        runs_out = _run_out(customer, period, usage.total.units, start, rate, now)
        if quote is not None and spent < metered_charge(quote):
            runs_out = today  # the usage already costs more than the credits pay
    return CreditsSummary(
        balance=round_money(start - spent),
        period_balance=round_money(start),
        used_this_period=spent,
        allowance_units=allowance_for(customer, start) if prepaid else None,
        prepaid=prepaid,
        burn_down=_daily_balances(customer, period, usage, start, now),
        runs_out_on=runs_out,
        forecast=_forecast_rows(customer, period, usage.total.units, start, rate, now),
        forecast_method=method,
        daily_units=round(rate, 2) if days else None,  # None: under a day of usage
    )


def customer_has_credits(customer: Customer) -> bool:
    return (customer.plan.monthly_credit or ZERO) > ZERO or CreditEntry.objects.filter(
        customer_id=customer.pk
    ).exists()


def usage_estimate(customer: Customer, breakdown: UsageBreakdown) -> dict[str, Any] | None:
    """METERING_USAGE_ESTIMATOR: the estimated bill (pricing.selectors.usage_estimate's shape)
    with a credits line when the customer has credits: the engine's credits, as invoiced."""
    usage = Usage(units=breakdown.total.units, calls=calls_by_class(breakdown))
    quote = customer_quote(customer, usage)  # with a trial or a promotion code's discount
    if quote is None:
        return None
    if customer_has_credits(customer):
        quote = quote_with_credits(quote, period_balance(customer, current_period()))
    return {**quote.to_dict(), "suggestion": None}


# --- buying credits ---------------------------------------------------------------------------


def _pack_price_id(pack: str, amount: Decimal) -> str:
    """The one-time Stripe Price of a pack (created on first sale, found by lookup key)."""
    cents = int(amount * CENTS)
    lookup_key = f"petstore_credits_{pack}_{cents}"
    found = stripe_call(stripe.Price.list, lookup_keys=[lookup_key], active=True, limit=1).data
    if found:
        return found[0].id
    return stripe_call(
        stripe.Price.create,
        currency=CURRENCY,
        unit_amount=cents,
        lookup_key=lookup_key,
        product_data={"name": f"Prepaid API credits {money(amount)}"},
        metadata={"petstore_credit_pack": pack},
        idempotency_key=stripe_key("credit-pack-price", pack, cents),
    ).id


def _success_url(url: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}session_id={SESSION_PLACEHOLDER}"


def credits_checkout_start(
    *, customer: Customer, pack: str, success_url: str, cancel_url: str
) -> Any:
    """A Checkout Session in payment mode for a credit pack (its `url` is Stripe's hosted page).
    The credits are granted when it completes (`credits_purchase_complete`)."""
    amount = pack_amount(pack)
    metadata = {
        "petstore_customer_id": str(customer.pk),
        "petstore_credit_pack": pack,
        "petstore_credit_amount": f"{amount:.2f}",
    }
    return stripe_call(
        stripe.checkout.Session.create,
        mode="payment",
        customer=stripe_customer_ensure(customer=customer),
        client_reference_id=str(customer.pk),
        line_items=[{"price": _pack_price_id(pack, amount), "quantity": 1}],
        success_url=_success_url(success_url),
        cancel_url=cancel_url,
        metadata=metadata,
        idempotency_key=stripe_key("credit-checkout", customer.pk, uuid.uuid4().hex),
    )


def _stripe_grant(customer: Customer, amount: Decimal, *, category: str, name: str, key: str):
    return stripe_call(
        stripe.billing.CreditGrant.create,
        customer=stripe_customer_ensure(customer=customer),
        name=name,
        category=category,
        amount={
            "type": "monetary",
            "monetary": {"currency": CURRENCY, "value": int(amount * CENTS)},
        },
        applicability_config={"scope": {"price_type": "metered"}},
        metadata={"petstore_customer_id": str(customer.pk)},
        idempotency_key=key,
    )


def _entry_once(lookup: dict[str, Any], defaults: dict[str, Any]) -> tuple[CreditEntry, bool]:
    try:
        with transaction.atomic():
            return CreditEntry.objects.get_or_create(**lookup, defaults=defaults)
    except IntegrityError:  # created meanwhile by the other of the redirect and the webhook
        return CreditEntry.objects.get(**lookup), False


def _balance_changed(customer_id: int) -> None:
    """The prepaid allowance in the customer's grant is outdated: reload it on the next request."""
    transaction.on_commit(lambda: bump_customer_token(customer_id))


def credits_purchase_complete(*, customer: Customer, session: Any) -> CreditEntry | None:
    """A completed payment-mode Checkout Session (re-read from Stripe by the caller): grant its
    pack's credits, once per session however often this runs (redirect, webhook, replays)."""
    if session.mode != "payment" or session.payment_status != "paid":
        return None
    metadata = session.metadata or {}
    if "petstore_credit_pack" not in metadata:
        return None
    existing = CreditEntry.objects.filter(source_id=session.id).first()
    if existing is not None:
        return existing
    amount = Decimal(session.amount_total) / CENTS  # what was paid, as Stripe says
    grant = _stripe_grant(
        customer,
        amount,
        category="paid",
        name=f"Prepaid credits {money(amount)}",
        key=stripe_key("credit-grant", session.id),
    )
    entry, created = _entry_once(
        {"source_id": session.id},
        {
            "customer": customer,
            "kind": CreditEntry.Kind.PURCHASE,
            "amount": amount,
            "period": current_period().id,
            "stripe_credit_grant_id": grant.id,
        },
    )
    if created:
        _balance_changed(customer.pk)
    return entry


def credits_session_complete(session: Any) -> CreditEntry | None:
    """Webhook path: the session's customer, then `credits_purchase_complete`."""
    owner = customer_for_stripe_id(session.customer)
    return None if owner is None else credits_purchase_complete(customer=owner, session=session)


# --- the period close: monthly credits and what credits paid -------------------------------------


def credits_monthly_grant(customer: Customer, period: Period) -> CreditEntry | None:
    """The plan's monthly credit for `period`, once (Stripe grant by idempotency key, ledger row
    by its unique constraint)."""
    credit = customer.plan.monthly_credit or ZERO
    if credit <= ZERO:
        return None
    lookup = {"customer": customer, "kind": CreditEntry.Kind.MONTHLY, "period": period.id}
    existing = CreditEntry.objects.filter(**lookup).first()
    if existing is not None:
        return existing
    grant = _stripe_grant(
        customer,
        credit,
        category="promotional",
        name=f"{customer.plan.name} monthly credit {period.label}",
        key=stripe_key("credit-monthly", customer.pk, period.id),
    )
    entry, created = _entry_once(
        lookup,
        {
            "amount": credit,
            "stripe_credit_grant_id": grant.id,
            "created_at": period.start,  # it is the period's, from its first day
        },
    )
    if created:
        _balance_changed(customer.pk)
    return entry


def credits_monthly_grant_all(*, now: datetime | None = None) -> int:
    """Grant every plan's monthly credit of the current period not granted yet (the beat task,
    every minute; idempotent). Returns how many were granted."""
    period = period_containing(now or timezone.now())
    customers = (
        Customer.objects.select_related("plan")
        .filter(plan__monthly_credit__gt=0)
        .exclude(credit_entries__kind=CreditEntry.Kind.MONTHLY, credit_entries__period=period.id)
    )
    granted = 0
    for customer in customers:
        try:
            if credits_monthly_grant(customer, period):
                granted += 1
        except ApplicationError:
            logger.exception("credits: monthly credit of customer %s not granted", customer.pk)
    return granted


def credits_period_settle(customer: Customer, period: Period) -> CreditEntry | None:
    """Record what the credits paid of a closed period (once)."""
    available = period_balance(customer, period)
    if available <= ZERO:
        return None
    quote = _period_quote(customer, period)
    applied = credits_applied(quote, available) if quote else ZERO
    entry, created = _entry_once(
        {"customer": customer, "kind": CreditEntry.Kind.APPLIED, "period": period.id},
        {"amount": -applied, "created_at": period.end},
    )
    if created:
        _balance_changed(customer.pk)
    return entry


def credits_periods_settle(*, period: Period) -> int:
    """Settle `period` (closed) for every customer with credits granted before its end."""
    settled = 0
    done = set(
        CreditEntry.objects.filter(kind=CreditEntry.Kind.APPLIED, period=period.id).values_list(
            "customer_id", flat=True
        )
    )
    ids = (
        CreditEntry.objects.filter(created_at__lt=period.end)
        .exclude(kind=CreditEntry.Kind.APPLIED)
        .values_list("customer_id", flat=True)
        .distinct()
    )
    for customer in Customer.objects.select_related("plan").filter(pk__in=set(ids) - done):
        if credits_period_settle(customer, period):
            settled += 1
    return settled


def credits_period_start(*, now: datetime | None = None) -> dict[str, int]:
    """The beat task's part (every minute, idempotent): grant the plans' monthly credits of the
    current period, and once the previous period is closed (billing.periods) record what the
    credits paid of it."""
    now = now or timezone.now()
    done: dict[str, int] = {}
    if granted := credits_monthly_grant_all(now=now):
        done["monthly_credits"] = granted
    previous = period_containing(now).previous()
    closed = PeriodClose.objects.filter(period=previous.id, closed_at__isnull=False).exists()
    if closed and (settled := credits_periods_settle(period=previous)):
        done["credits_settled"] = settled
    return done


def credits_granted(customer: Customer, period: Period) -> Decimal:
    """Credits granted during `period` (packs and monthly credits)."""
    total = (
        CreditEntry.objects.filter(
            customer=customer, created_at__gte=period.start, created_at__lt=period.end
        )
        .exclude(kind=CreditEntry.Kind.APPLIED)
        .aggregate(total=Sum("amount"))["total"]
    )
    return total or ZERO


def credits_paid(customer: Customer, period: Period) -> Decimal:
    """What the credits paid (or, for the running period, pay so far) of `period`'s usage: as
    recorded at its close, else as the engine prices it."""
    recorded = CreditEntry.objects.filter(
        customer=customer, kind=CreditEntry.Kind.APPLIED, period=period.id
    ).first()
    if recorded is not None:
        return -recorded.amount
    available = period_balance(customer, period)
    if available <= ZERO:
        return ZERO
    quote = _period_quote(customer, period)
    return credits_applied(quote, available) if quote else ZERO
