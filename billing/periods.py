"""Closing a billing period: its last minutes reach Stripe before the renewal invoice is final.

Hourly reports send an hour no earlier than 15 minutes after it ends, on a schedule that is not
aligned with the clock, so the last hour of a month could reach Stripe up to 75 minutes after
the month ended; Stripe keeps a renewal invoice a draft for one hour by default (the account's
finalization grace period), and usage arriving after the invoice is final is not billed anywhere.

So at the end of each period (calendar months, UTC, like our subscriptions' anchor), as soon as
`close_billing_periods` runs (every minute), the counters are flushed and the whole closed
period, its last minutes included, is reported and sent, while the drafts wait; Stripe then
finalizes them itself when the grace period ends. A `PeriodClose` row makes it once per period:
several workers running it at once skip a row another one holds (SELECT … FOR UPDATE SKIP
LOCKED), and a close whose sending failed is retried by the next run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from billing.models import PeriodClose
from billing.reporting import reports_prepare, reports_send
from core.periods import period_containing
from metering.services import usage_flush

# Requests admitted in the period's last second are counted in Redis when it ends; a minute is
# well beyond their response time, and well inside Stripe's one-hour grace period.
CLOSE_DELAY = timedelta(minutes=1)


@dataclass(frozen=True)
class PeriodCloseResult:
    period: str
    created: int
    sent: int
    failed: int


def billing_period_close(*, now: datetime | None = None) -> PeriodCloseResult | None:
    """Close the period that ended last, once: None if it is closed (or being closed) already,
    or has not ended CLOSE_DELAY ago."""
    now = now or timezone.now()
    period = period_containing(now).previous()
    if now < period.end + CLOSE_DELAY:
        return None
    if PeriodClose.objects.filter(period=period.id, closed_at__isnull=False).exists():
        return None
    usage_flush()
    PeriodClose.objects.get_or_create(period=period.id)
    with transaction.atomic():
        row = (
            PeriodClose.objects.select_for_update(skip_locked=True)
            .filter(period=period.id, closed_at__isnull=True)
            .first()
        )
        if row is None:
            return None
        created = reports_prepare(now=now, until=period.end)
        sent = reports_send()
        row.reports += created
        if not sent.failed:
            row.closed_at = timezone.now()
        row.save(update_fields=["reports", "closed_at"])
    return PeriodCloseResult(period.id, created, sent.sent + sent.already_known, sent.failed)
