"""Reconciliation: our ledger against what Stripe counted and billed, customer by customer, for one
month (`/admin/reconciliation/`, `/admin/reconciliation.json?month=YYYY-MM`).

Per customer (with a Stripe customer and a plan that bills usage during the month):

- `ledger_units`: the ledger's usage in the hours our reporting covers (the month, while the plan
  billed usage, from the hour the plan began; the hour of a change counted once);
- `reported_units`: what our MeterReports sent and Stripe did not refuse since;
- `stripe_units`: Stripe's own meter totals for the month (meter event summaries);
- `invoiced_cents`: the usage lines of Stripe's invoices for the month (a plan change's invoice,
  the renewal draft or final; for the month still running, the upcoming invoice's preview);
- `quoted_cents`: our pricing engine's usage charge for the same usage, plan by plan (a plan
  change restarts the included units and tiers, as Stripe's flexible billing mode does; a free
  trial's usage is billed by neither);
- `discount_cents`: what promotion codes took off those invoices (shown, not drift: the usage
  lines compared above are before discounts);
- prepaid credits (customers with any): `credits_granted_cents` in the month (our ledger),
  `credits_applied_cents` what they paid of its usage (the ledger's record at the period
  close, else the engine), `stripe_credits_cents` what Stripe's invoices took from credit
  grants, and `credits_drift_cents` = Stripe − ours (added to the month's `drift_cents`).

Per customer, `drift_units` = |ledger − reported| + |reported − Stripe| and `drift_cents` =
invoiced − quoted; the month's totals add up their absolute values (opposite drifts of two
customers do not cancel out). Zero when every hour was flushed, reported and invoiced. The JSON
also says `customers_left_out` (beyond the page's cap) and `computed_at`.

Cost: per customer, one meter-summary call per meter its plans use (one on the default plans)
and one invoice list (two for the running month: the preview), so about two Stripe calls per
customer, sequential. The page and JSON compute at most `MAX_CUSTOMERS` customers (the largest
reporters first) and cache the result for `CACHE_SECONDS`; `manage.py reconcile_stripe --month`
covers every customer, for accounts larger than that (and runs from beat daily).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
from collections import defaultdict
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import stripe
from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import Q, Sum
from django.utils import timezone

from accounts.models import Customer, Plan, PlanChange
from billing.credits import credits_granted, credits_paid
from billing.models import CreditEntry, MeterReport, PlanPrice
from billing.reporting import hour_floor, plan_meters
from billing.stripe_api import StripeRequestError, stripe_call
from console.models import ReconciliationAlert
from core.email import email_staff
from core.periods import Period
from metering.models import UsageRecord
from pricing.engine import PricingError, Usage, quote_for_plan

logger = logging.getLogger(__name__)

MAX_CUSTOMERS = 200
CACHE_SECONDS = 600


@dataclass
class CustomerRow:
    customer_id: int
    ledger_units: int
    reported_units: int
    stripe_units: int
    invoiced_cents: int
    quoted_cents: int
    drift_units: int
    drift_cents: int
    credits_granted_cents: int = 0
    credits_applied_cents: int = 0  # what our ledger (the engine) says credits paid
    stripe_credits_cents: int = 0  # what Stripe's invoices took from credit grants
    credits_drift_cents: int = 0
    discount_cents: int = 0  # promotion codes' discounts on the month's invoices (not drift)


@dataclass(frozen=True)
class Span:
    plan: Plan
    start: datetime
    end: datetime
    trial: bool = False  # a free trial: Stripe bills none of its usage, nor does the quote


def plan_spans(customer: Customer, period: Period) -> list[Span]:
    """The customer's plans during the period, from the plan history."""
    changes = list(
        PlanChange.objects.filter(customer=customer, changed_at__lt=period.end)
        .select_related("to_plan")
        .order_by("changed_at", "pk")
    )
    plan = changes[0].to_plan if changes else customer.plan
    trial = bool(changes) and changes[0].reason == "trial"
    start = period.start
    spans: list[Span] = []
    for change in changes:
        if change.changed_at <= period.start:
            plan, trial = change.to_plan, change.reason == "trial"
            continue
        spans.append(Span(plan, start, change.changed_at, trial))
        plan, start, trial = change.to_plan, change.changed_at, change.reason == "trial"
    spans.append(Span(plan, start, period.end, trial))
    return [s for s in spans if s.end > s.start]


def _ledger(customer: Customer, span: Span, meters: dict[str, str]) -> dict[datetime, int]:
    """Hour → the meter value the ledger holds (units, or calls on class-priced plans)."""
    rows = (
        UsageRecord.objects.filter(
            customer=customer, hour__gte=hour_floor(span.start), hour__lt=span.end
        )
        .values("hour")
        .annotate(units=Sum("units"), calls=Sum("calls"))
    )
    measure = "units" if any(key == name for key, name in meters.items()) else "calls"
    return {row["hour"]: row[measure] or 0 for row in rows}


def _usage_cents(plan: Plan, units: int) -> int:
    try:
        quote = quote_for_plan(plan, Usage(units=units))
    except PricingError:
        return 0
    usage = sum((line.amount or Decimal(0) for line in quote.lines if line.kind != "base"), 0)
    return int(Decimal(usage) * 100)


def _meter_ids() -> dict[str, str]:
    meters = stripe_call(stripe.billing.Meter.list, limit=100).auto_paging_iter()
    return {meter.event_name: meter.id for meter in meters}


def _stripe_units(customer: Customer, period: Period, meter_ids: list[str]) -> int:
    total = 0
    for meter_id in meter_ids:
        summaries = stripe_call(
            stripe.billing.Meter.list_event_summaries,
            meter_id,
            customer=customer.stripe_customer_id,
            start_time=int(period.start.timestamp()),
            end_time=int(period.end.timestamp()),
        )
        total += sum(int(s.aggregated_value) for s in summaries.data)
    return total


def _usage_lines_cents(lines: Any, usage_prices: set[str], period: Period) -> int:
    start, end = int(period.start.timestamp()), int(period.end.timestamp())
    total = 0
    for line in lines:
        details = line.pricing.price_details if line.pricing else None
        if details is None or details.price not in usage_prices:
            continue
        if start <= line.period.start < end:
            total += line.amount
    return total


def _discounts_cents(invoice: Any) -> int:
    return sum(int(d.amount) for d in invoice.total_discount_amounts or [])


def _invoiced_cents(
    customer: Customer, period: Period, usage_prices: set[str], now
) -> tuple[int, int]:
    """The usage lines of the month's invoices, and the discounts on those invoices (cents)."""
    invoices = stripe_call(stripe.Invoice.list, customer=customer.stripe_customer_id, limit=100)
    # A month's usage is on invoices created during it (plan changes) or at its end (renewal).
    until = int((period.end + timedelta(days=1)).timestamp())
    month = [
        invoice
        for invoice in invoices.auto_paging_iter()
        if int(period.start.timestamp()) <= invoice.created <= until and invoice.status != "void"
    ]
    total = sum(
        _usage_lines_cents(invoice.lines.auto_paging_iter(), usage_prices, period)
        for invoice in month
    )
    discounts = sum(_discounts_cents(invoice) for invoice in month)
    if period.end > now:
        try:
            upcoming = stripe_call(
                stripe.Invoice.create_preview, customer=customer.stripe_customer_id
            )
        except StripeRequestError:  # no subscription to preview
            return total, discounts
        total += _usage_lines_cents(upcoming.lines.data, usage_prices, period)
        discounts += _discounts_cents(upcoming)
    return total, discounts


def _stripe_credits_cents(customer: Customer, period: Period, now) -> int:
    """Credit grants' part of the month's invoices (the upcoming one's for the running month)."""
    invoices = stripe_call(stripe.Invoice.list, customer=customer.stripe_customer_id, limit=100)
    until = int((period.end + timedelta(days=1)).timestamp())
    chosen = [
        invoice
        for invoice in invoices.auto_paging_iter()
        if int(period.start.timestamp()) <= invoice.created <= until and invoice.status != "void"
    ]
    if period.end > now:
        with contextlib.suppress(StripeRequestError):  # no subscription to preview
            chosen.append(
                stripe_call(stripe.Invoice.create_preview, customer=customer.stripe_customer_id)
            )
    return sum(
        credit.amount
        for invoice in chosen
        for credit in (invoice.total_pretax_credit_amounts or [])
        if credit.type == "credit_balance_transaction"
    )


def _credits(customer: Customer, period: Period, now) -> dict[str, int]:
    """Credits granted and applied in the month, ours against Stripe's (customers with credits
    only: one more invoice list)."""
    if not CreditEntry.objects.filter(customer=customer).exists():
        return {}
    granted = int(credits_granted(customer, period) * 100)
    ours = int(credits_paid(customer, period) * 100)
    theirs = _stripe_credits_cents(customer, period, now)
    return {
        "credits_granted_cents": granted,
        "credits_applied_cents": ours,
        "stripe_credits_cents": theirs,
        "credits_drift_cents": theirs - ours,
    }


def customer_reconciliation(
    customer: Customer, period: Period, *, meter_ids: dict[str, str], now
) -> CustomerRow | None:
    spans = [(span, plan_meters(span.plan.pk)) for span in plan_spans(customer, period)]
    spans = [(span, meters) for span, meters in spans if meters]
    reports = MeterReport.objects.filter(
        customer=customer, hour__gte=period.start, hour__lt=period.end
    )
    if not spans and not reports.exists():
        return None
    ledger: dict[datetime, int] = {}
    quoted = 0
    for index, (span, meters) in enumerate(spans):
        hours = _ledger(customer, span, meters)
        units = 0
        for hour, value in hours.items():
            if index + 1 < len(spans) and hour == hour_floor(spans[index + 1][0].start):
                # The hour of a change: what was reported before it is this plan's.
                before = (
                    reports.filter(hour=hour, timestamp__lt=spans[index + 1][0].start).aggregate(
                        total=Sum("value")
                    )["total"]
                    or 0
                )
                value_here = min(value, before)
            elif index > 0 and hour == hour_floor(span.start) and hour in ledger:
                value_here = value - ledger[hour]
            else:
                value_here = value
            units += value_here
            ledger[hour] = ledger.get(hour, 0) + value_here
        if not span.trial:
            quoted += _usage_cents(span.plan, units)
    ledger_units = sum(ledger.values())
    reported_units = (
        reports.filter(reported_at__isnull=False, failed_at__isnull=True).aggregate(
            total=Sum("value")
        )["total"]
        or 0
    )
    event_names = {name for _span, meters in spans for name in meters.values()}
    event_names |= set(reports.values_list("event_name", flat=True).distinct())
    stripe_units = _stripe_units(
        customer, period, [meter_ids[name] for name in sorted(event_names) if name in meter_ids]
    )
    usage_prices = set(
        PlanPrice.objects.filter(role=PlanPrice.Role.USAGE).values_list(
            "stripe_price_id", flat=True
        )
    )
    invoiced, discounts = _invoiced_cents(customer, period, usage_prices, now)
    return CustomerRow(
        customer_id=customer.pk,
        ledger_units=ledger_units,
        reported_units=reported_units,
        stripe_units=stripe_units,
        invoiced_cents=invoiced,
        quoted_cents=quoted,
        drift_units=abs(ledger_units - reported_units) + abs(reported_units - stripe_units),
        drift_cents=invoiced - quoted,
        discount_cents=discounts,
        **_credits(customer, period, now),
    )


def _customers(period: Period) -> list[Customer]:
    """Customers with a Stripe customer who used or were reported during the period, the
    largest reporters first."""
    used = UsageRecord.objects.filter(hour__gte=period.start, hour__lt=period.end).values(
        "customer_id"
    )
    reported: dict[int, int] = defaultdict(int)
    for customer_id, value in MeterReport.objects.filter(
        hour__gte=period.start, hour__lt=period.end
    ).values_list("customer_id", "value"):
        reported[customer_id] += value
    customers = (
        Customer.objects.exclude(stripe_customer_id="")
        .filter(Q(pk__in=used) | Q(pk__in=list(reported)))
        .select_related("plan")
    )
    return sorted(customers, key=lambda c: (-reported[c.pk], c.pk))


def month_reconciliation(period: Period, *, limit: int | None = None, now=None) -> dict[str, Any]:
    """The month's reconciliation as the JSON answers it (customers with drift first)."""
    now = now or timezone.now()
    customers = _customers(period)
    meter_ids = _meter_ids() if customers else {}
    rows = []
    for customer in customers[:limit] if limit else customers:
        row = customer_reconciliation(customer, period, meter_ids=meter_ids, now=now)
        if row is not None:
            rows.append(row)
    rows.sort(
        key=lambda r: (
            r.drift_units == 0 and r.drift_cents == 0 and r.credits_drift_cents == 0,
            r.customer_id,
        )
    )
    return {
        "month": period.label,
        "drift_units": sum(r.drift_units for r in rows),
        "drift_cents": sum(abs(r.drift_cents) + abs(r.credits_drift_cents) for r in rows),
        "credits_granted_cents": sum(r.credits_granted_cents for r in rows),
        "credits_applied_cents": sum(r.credits_applied_cents for r in rows),
        "customers": [asdict(r) for r in rows],
        "customers_left_out": max(len(customers) - limit, 0) if limit else 0,
        "computed_at": now.isoformat(),
    }


def cached_month_reconciliation(period: Period, *, refresh: bool = False) -> dict[str, Any]:
    key = f"console:reconciliation:{period.id}"
    result = None if refresh else cache.get(key)
    if result is None:
        result = month_reconciliation(period, limit=MAX_CUSTOMERS)
        cache.set(key, result, CACHE_SECONDS)
    return result


def drift_alert(result: dict[str, Any]) -> bool:
    """Email staff about a month's drift, once per month and drift (the same drift seen again,
    by the page or the daily run, sends nothing). True if an email went out."""
    drifting = [c for c in result["customers"] if c["drift_units"] or c["drift_cents"]]
    if not drifting:
        return False
    shape = [(c["customer_id"], c["drift_units"], c["drift_cents"]) for c in drifting]
    fingerprint = hashlib.sha256(json.dumps(shape).encode()).hexdigest()[:32]
    try:
        with transaction.atomic():
            ReconciliationAlert.objects.create(
                month=result["month"],
                fingerprint=fingerprint,
                drift_units=result["drift_units"],
                drift_cents=result["drift_cents"],
            )
    except IntegrityError:
        return False
    emails = dict(
        Customer.objects.filter(pk__in=[c["customer_id"] for c in drifting]).values_list(
            "pk", "email"
        )
    )
    context = {
        "result": result,
        "drifting": [{**c, "email": emails.get(c["customer_id"], "")} for c in drifting],
        "site_url": settings.SITE_URL,
    }
    transaction.on_commit(
        lambda: email_staff(template="console/emails/reconciliation_drift", context=context)
    )
    logger.error(
        "reconciliation %s: %s unit(s), %s cent(s) of drift over %s customer(s)",
        result["month"],
        result["drift_units"],
        result["drift_cents"],
        len(drifting),
    )
    return True
