"""Meter events that Stripe accepted (200) and then could not bill.

Stripe checks a meter event's customer, meter and value after accepting it, and reports what it
could not bill asynchronously, as v2 thin events to an event destination:
`v1.billing.meter.error_report_triggered` (the meter exists; e.g. no such customer, an invalid
value, an archived meter) and `v1.billing.meter.no_meter_found`. `setup_stripe` registers the
destination (billing/webhooks/thin.py receives it, verified through stripe-python's own
`parse_event_notification`); here each event is consumed once:

- the full event is fetched (`fetch_event`), and every MeterReport its sample errors name (by
  identifier) is marked failed with the code and message: its usage is not billed;
- staff are emailed (ADMINS) and the admin's meter report list says so until it is resolved;
- `meter_reports_retry` (each hourly report run) sends a failed report again, under a new
  identifier, once its cause is fixed: the customer's Stripe id changed, or the meter is active.

Stripe lists sample errors, not necessarily all of them (`error_count` says how many there were):
reports it does not name stay as sent, and the reconciliation (console) shows their drift.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import stripe
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from billing.models import MeterReport, ThinEvent
from billing.reporting import MAX_AGE
from billing.stripe_api import stripe_call
from core.email import email_staff

logger = logging.getLogger(__name__)

METER_ERROR_EVENTS = (
    "v1.billing.meter.error_report_triggered",
    "v1.billing.meter.no_meter_found",
)
# Fixed by changing the customer's Stripe id (the mapping), or by an active meter.
CUSTOMER_ERRORS = {"meter_event_customer_not_found", "meter_event_no_customer_defined"}
METER_ERRORS = {"archived_meter", "no_meter"}


def stripe_client() -> stripe.StripeClient:
    """A client on the same key, version and address as the module-level configuration
    (billing/stripe_api.py): v2 event destinations and thin events are read through it."""
    return stripe.StripeClient(
        stripe.api_key or settings.STRIPE_TEST_SECRET_KEY,
        base_addresses={"api": stripe.api_base},
        stripe_version=stripe.api_version or settings.STRIPE_API_VERSION,
    )


@dataclass(frozen=True)
class SampleError:
    code: str
    message: str
    identifier: str


def _samples(event: Any) -> tuple[int, list[SampleError]]:
    reason = event.data.reason
    samples = [
        # `["request"]`: `.request` is StripeObject's own method, not the field.
        SampleError(error_type.code, sample.error_message, sample["request"]["identifier"])
        for error_type in reason.error_types
        for sample in error_type.sample_errors
    ]
    return reason.error_count, samples


@transaction.atomic
def thin_event_consume(notification: Any) -> ThinEvent | None:
    """Consume one verified thin event notification, once per event id (None: seen before).
    Atomic: if fetching the event fails, nothing is kept and Stripe's redelivery retries."""
    related = notification.related_object
    try:
        with transaction.atomic():
            row = ThinEvent.objects.create(
                event_id=notification.id,
                type=notification.type,
                related_object=related.id if related else "",
            )
    except IntegrityError:
        return None
    if notification.type not in METER_ERROR_EVENTS:
        logger.info("thin event %s (%s) ignored", notification.id, notification.type)
        return row
    event = stripe_call(notification.fetch_event)
    error_count, samples = _samples(event)
    now = timezone.now()
    failed = []
    for sample in samples:
        report = MeterReport.objects.filter(identifier=sample.identifier).first()
        if report is None:
            continue
        MeterReport.objects.filter(pk=report.pk).update(
            failed_at=now, error_code=sample.code[:64], last_error=sample.message[:500]
        )
        failed.append(report)
    row.summary = (
        f"{error_count} error(s), {len(failed)} of our reports marked failed: "
        + ", ".join(sorted({s.code for s in samples}))
    )[:500]
    row.save(update_fields=["summary"])
    logger.error("stripe refused meter events: %s (%s)", row.summary, notification.id)
    context = {
        "event": row,
        "summary": event.data.developer_message_summary,
        "error_count": error_count,
        "samples": samples,
        "reports": failed,
        "unnamed": max(error_count - len(failed), 0),
        "site_url": settings.SITE_URL,
    }
    transaction.on_commit(
        lambda: email_staff(template="billing/emails/meter_errors", context=context)
    )
    return row


@dataclass
class RetryResult:
    retried: int = 0
    waiting: int = 0


def _active_meters() -> set[str]:
    meters = stripe_call(stripe.billing.Meter.list, limit=100).auto_paging_iter()
    return {meter.event_name for meter in meters if meter.status == "active"}


def meter_reports_retry(*, now: datetime | None = None) -> RetryResult:
    """Send again, under a new identifier, each failed report whose cause has been fixed (and
    that Stripe still accepts: 35 days); the others wait."""
    now = now or timezone.now()
    result = RetryResult()
    failed = list(
        MeterReport.objects.filter(failed_at__isnull=False)
        .exclude(error_code="meter_event_invalid_value")  # our bug: a retry cannot fix it
        .select_related("customer")
        .order_by("pk")[:1000]
    )
    active: set[str] | None = None
    for report in failed:
        if report.timestamp and report.timestamp < now - MAX_AGE:
            result.waiting += 1
            continue
        stripe_customer_id = report.customer.stripe_customer_id
        if report.error_code in CUSTOMER_ERRORS:
            fixed = bool(stripe_customer_id) and stripe_customer_id != report.stripe_customer_id
        elif report.error_code in METER_ERRORS:
            active = _active_meters() if active is None else active
            fixed = report.event_name in active and bool(stripe_customer_id)
        else:
            fixed = False
        if not fixed:
            result.waiting += 1
            continue
        base = report.identifier.rsplit("-r", 1)[0] if report.retries else report.identifier
        MeterReport.objects.filter(pk=report.pk, failed_at__isnull=False).update(
            identifier=f"{base}-r{report.retries + 1}",
            stripe_customer_id=stripe_customer_id,
            retries=report.retries + 1,
            reported_at=None,
            failed_at=None,
            last_error=f"retried after {report.error_code}: {report.last_error}"[:500],
            error_code="",
        )
        result.retried += 1
    return result
