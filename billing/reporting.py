"""Metered usage → Stripe Billing Meter events (`report_usage_to_stripe`, hourly).

The ledger is reported by hour once an hour is settled (no flush or refund can touch it any
more). Each report is first written as a `MeterReport` row with a deterministic identifier
(customer, meter, hour and the cumulative value reported), then sent; it is marked done only
once Stripe accepted it (or said it already has that identifier). So a retried, duplicated or
crashed run sends every identifier again at most, and Stripe counts each once.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

import stripe
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

from accounts.models import Customer
from billing.models import MeterReport, PlanPrice
from billing.stripe_catalog import UNITS_METER
from metering.models import UsageRecord
from pricing.selectors import billing_classes

logger = logging.getLogger(__name__)

# An hour is settled when its last request has been flushed (USAGE_FLUSH_SECONDS) and any
# refund of a request admitted in it has landed: a quarter of an hour is far beyond both.
SETTLE_DELAY = timedelta(minutes=15)
# Stripe accepts meter events up to 35 days old.
MAX_AGE = timedelta(days=34)


def _hour_floor(moment: datetime) -> datetime:
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
    """Meter event name × hour → the value the ledger holds for it."""
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


def _plan_meters(plan_id: int) -> dict[str, str]:
    """{event name: event name} for unit plans; {class: event name} for class-priced plans."""
    meters = {}
    for price in PlanPrice.objects.filter(plan_id=plan_id, active=True, role="usage"):
        key = price.usage_class or price.meter_event_name
        meters[key] = price.meter_event_name
    return meters


def reports_prepare(*, now: datetime) -> int:
    """Write the MeterReport rows the ledger calls for; returns how many were new."""
    until = _hour_floor(now - SETTLE_DELAY)
    created = 0
    customers = (
        Customer.objects.exclude(stripe_customer_id="")
        .filter(plan__prices__active=True, plan__prices__role="usage")
        .distinct()
    )
    for customer in customers:
        meters = _plan_meters(customer.plan_id)
        since = max(_hour_floor(customer.plan_changed_at), until - MAX_AGE)
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
            identifier = f"petstore-{customer.pk}-{event_name}-{hour:%Y%m%d%H}-{value}"
            try:
                with transaction.atomic():
                    MeterReport.objects.create(
                        customer=customer,
                        event_name=event_name,
                        hour=hour,
                        value=delta,
                        identifier=identifier,
                        stripe_customer_id=customer.stripe_customer_id,
                    )
                created += 1
            except IntegrityError:  # a concurrent run wrote it: it will be sent once
                continue
    return created


def _timestamp(report: MeterReport) -> int:
    """Inside the report's hour, never before the plan started: Stripe bills an event in the
    subscription period its timestamp falls in."""
    earliest = max(report.hour, report.customer.plan_changed_at + timedelta(seconds=1))
    return int(min(earliest, report.hour + timedelta(minutes=59)).timestamp())


def reports_send(*, limit: int = 5000) -> ReportResult:
    result = ReportResult()
    pending = (
        MeterReport.objects.filter(reported_at__isnull=True)
        .select_related("customer")
        .order_by("hour", "pk")[:limit]
    )
    for report in pending:
        try:
            stripe.billing.MeterEvent.create(
                event_name=report.event_name,
                payload={
                    "stripe_customer_id": report.stripe_customer_id,
                    "value": str(report.value),
                },
                identifier=report.identifier,
                timestamp=_timestamp(report),
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
