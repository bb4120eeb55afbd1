"""Metered usage → Stripe Billing Meter events.

The ledger is reported by hour. Each report is first written as a `MeterReport` row with a
deterministic identifier (installation, customer, meter, hour and the cumulative value reported
for that hour) and the event's timestamp, then sent; it is marked sent only once Stripe accepted
it (or said it already has that identifier). So a retried, duplicated or crashed run sends every
identifier again at most, and Stripe counts each once.

Three callers, one rule ("report what the ledger holds before `until`"):

- `report_usage_to_stripe` (hourly): the hours that have settled (15 minutes after they end);
- a plan change (`usage_report_before_change`): everything up to the change, the current
  partial hour included, timestamped before it, so that Stripe bills it at the old price
  (flexible billing mode invoices a swapped metered price's usage at the change);
- the period close (`billing_period_close`, billing/periods.py): the whole closed month, its
  last minutes included, while Stripe keeps the renewal invoice a draft.

A partial hour is reported as far as it goes; the rest of the hour is reported later as the
difference, under a new identifier (the cumulative value grows), timestamped after the change.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

import stripe
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Sum
from django.utils import timezone

from accounts.models import Customer, PlanChange
from billing.installation import stripe_key
from billing.models import MeterReport, PlanPrice
from billing.stripe_catalog import UNITS_METER
from metering.models import UsageRecord
from metering.services import usage_flush
from pricing.selectors import billing_classes

logger = logging.getLogger(__name__)

# An hour is settled when its last request has been flushed (USAGE_FLUSH_SECONDS) and any
# refund of a request admitted in it has landed: a quarter of an hour is far beyond both.
SETTLE_DELAY = timedelta(minutes=15)
# Stripe accepts meter events up to 35 days old.
MAX_AGE = timedelta(days=34)
SECOND = timedelta(seconds=1)


def hour_floor(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


@dataclass
class ReportResult:
    created: int = 0
    sent: int = 0
    already_known: int = 0
    failed: int = 0


def _hourly_values(
    customer: Customer, meters: dict[str, str], since: datetime, until: datetime
) -> dict[tuple[str, datetime], int]:
    """Meter event name × hour → the value the ledger holds for it (hours starting before
    `until`: a partial hour counts as far as the ledger has it)."""
    values: dict[tuple[str, datetime], int] = defaultdict(int)
    rows = (
        UsageRecord.objects.filter(customer=customer, hour__gte=since, hour__lt=until)
        .values("hour", "endpoint")
        .annotate(calls=Sum("calls"), units=Sum("units"))
    )
    classes = billing_classes() if set(meters) - {UNITS_METER} else {}
    for row in rows:
        if UNITS_METER in meters:
            values[(UNITS_METER, row["hour"])] += row["units"] or 0
        else:
            usage_class = classes.get(row["endpoint"], "default")
            if usage_class is None:
                continue
            event_name = meters.get(usage_class) or meters.get("default")
            if event_name:
                values[(event_name, row["hour"])] += row["calls"] or 0
    return values


def plan_meters(plan_id: int) -> dict[str, str]:
    """{event name: event name} for unit plans; {class: event name} for class-priced plans."""
    meters = {}
    for price in PlanPrice.objects.filter(plan_id=plan_id, active=True, role="usage"):
        key = price.usage_class or price.meter_event_name
        meters[key] = price.meter_event_name
    return meters


def plan_in_force(customer: Customer, moment: datetime) -> tuple[int, datetime]:
    """The plan the customer was on at `moment`, and since when (from the plan history: a
    period closed after the customer moved to Free is still reported at its plan)."""
    later = (
        PlanChange.objects.filter(customer=customer, changed_at__gt=moment)
        .order_by("changed_at", "pk")
        .first()
    )
    if later is None:
        return customer.plan_id, customer.plan_changed_at
    before = (
        PlanChange.objects.filter(customer=customer, changed_at__lte=moment)
        .order_by("-changed_at", "-pk")
        .first()
    )
    return later.from_plan_id, before.changed_at if before else customer.created_at


def event_timestamp(hour: datetime, *, plan_start: datetime, until: datetime) -> datetime:
    """Where a report of `hour` sits: its last second, or just before `until` when the hour is
    still running (a plan change reports before the swap), and never in the future (Stripe
    refuses more than 5 minutes ahead); never before the plan began, since Stripe bills an
    event on the price in force at its timestamp."""
    latest = min(hour + timedelta(hours=1) - SECOND, until - SECOND, timezone.now())
    earliest = max(hour, plan_start.replace(microsecond=0) + SECOND)
    return max(earliest, latest).replace(microsecond=0)


def _candidates(until: datetime, customers: list[Customer] | None):
    if customers is not None:
        return [c for c in customers if c.stripe_customer_id]
    used = UsageRecord.objects.filter(
        customer=OuterRef("pk"), hour__gte=until - MAX_AGE, hour__lt=until
    )
    return Customer.objects.exclude(stripe_customer_id="").filter(Exists(used)).iterator()


def reports_prepare(
    *, now: datetime, until: datetime | None = None, customers: list[Customer] | None = None
) -> int:
    """Write the MeterReport rows for the ledger before `until` (default: the hours settled by
    `now`); returns how many were new."""
    until = until or hour_floor(now - SETTLE_DELAY)
    created = 0
    meters_by_plan: dict[int, dict[str, str]] = {}
    for customer in _candidates(until, customers):
        plan_id, plan_start = plan_in_force(customer, until - SECOND)
        if plan_id not in meters_by_plan:
            meters_by_plan[plan_id] = plan_meters(plan_id)
        meters = meters_by_plan[plan_id]
        if not meters:
            continue
        since = max(hour_floor(plan_start), hour_floor(until - MAX_AGE))
        reported: dict[tuple[str, datetime], int] = defaultdict(int)
        for event_name, hour, value in MeterReport.objects.filter(
            customer=customer, hour__gte=since
        ).values_list("event_name", "hour", "value"):
            reported[(event_name, hour)] += value
        for (event_name, hour), value in sorted(
            _hourly_values(customer, meters, since, until).items()
        ):
            delta = value - reported[(event_name, hour)]
            if delta < 0:
                logger.warning(
                    "usage of customer %s on %s at %s went down by %s after it was "
                    "reported; not billed back",
                    customer.pk,
                    event_name,
                    hour,
                    -delta,
                )
            if delta <= 0:
                continue
            cumulative = reported[(event_name, hour)] + delta
            try:
                with transaction.atomic():
                    MeterReport.objects.create(
                        customer=customer,
                        event_name=event_name,
                        hour=hour,
                        value=delta,
                        identifier=stripe_key(
                            customer.pk, event_name, f"{hour:%Y%m%d%H}", cumulative
                        ),
                        stripe_customer_id=customer.stripe_customer_id,
                        timestamp=event_timestamp(hour, plan_start=plan_start, until=until),
                    )
                created += 1
            except IntegrityError:  # a concurrent run wrote it: it will be sent once
                continue
    return created


def _legacy_timestamp(report: MeterReport) -> datetime:
    """Rows written before timestamps were stored: inside the hour, not before the plan."""
    earliest = max(report.hour, report.customer.plan_changed_at + SECOND)
    return min(earliest, report.hour + timedelta(minutes=59))


def reports_send(*, limit: int = 5000, customer: Customer | None = None) -> ReportResult:
    result = ReportResult()
    pending = MeterReport.objects.filter(reported_at__isnull=True).select_related("customer")
    if customer is not None:
        pending = pending.filter(customer=customer)
    for report in pending.order_by("hour", "pk")[:limit]:
        when = report.timestamp or _legacy_timestamp(report)
        try:
            stripe.billing.MeterEvent.create(
                event_name=report.event_name,
                payload={
                    "stripe_customer_id": report.stripe_customer_id,
                    "value": str(report.value),
                },
                identifier=report.identifier,
                timestamp=int(when.timestamp()),
            )
        except stripe.InvalidRequestError as exc:
            if "already exists" in (exc.user_message or str(exc)):
                result.already_known += 1  # sent by an earlier run that died before marking it
            else:
                _failed(report, exc, result)
                continue
        except stripe.StripeError as exc:
            _failed(report, exc, result)
            continue
        else:
            result.sent += 1
        MeterReport.objects.filter(pk=report.pk).update(
            reported_at=timezone.now(), attempts=report.attempts + 1
        )
    return result


def _failed(report: MeterReport, exc: Exception, result: ReportResult) -> None:
    result.failed += 1
    logger.error("meter event %s not accepted: %s", report.identifier, exc)
    MeterReport.objects.filter(pk=report.pk).update(
        attempts=report.attempts + 1, last_error=str(exc)[:500]
    )


def usage_report_to_stripe(*, now: datetime | None = None) -> ReportResult:
    now = now or timezone.now()
    created = reports_prepare(now=now)
    result = reports_send()
    result.created = created
    return result


def usage_report_until(*, customer: Customer, until: datetime) -> ReportResult:
    """Flush the counters, then report and send everything of this customer's ledger before
    `until` (the current partial hour included). Used before a plan change."""
    usage_flush()
    created = reports_prepare(now=until, until=until, customers=[customer])
    result = reports_send(customer=customer)
    result.created = created
    return result
