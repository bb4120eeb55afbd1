"""Forecast alerts, the writes: warn a customer days ahead, once per period, when the forecast of
its usage (metering.forecast) passes the plan's quota, or when the forecast bill (priced by
pricing, as the usage API's `bill_at_period_end`) passes the spend threshold it set. By email
(unless emails are off) and as webhook events `usage.forecast_exceeds_quota` and
`usage.forecast_exceeds_spend`.

Once per period and kind comes from PeriodNotice's unique constraint; the notice, its webhook
event and the claim of its email follow the usage alerts' rules (alerts/services.py). Run by
`send_forecast_alerts` (hourly) over the customers with usage this period.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import Customer, OveragePolicy
from alerts.models import AlertSettings, PeriodNotice
from core.email import email_send
from core.events import domain_event_emit
from core.money import money
from core.navigation import page_url, upgrade_url
from core.periods import Period
from metering.forecast import Forecast, customer_forecast, projected_breakdown
from metering.selectors import customer_usage
from pricing.selectors import usage_estimate

logger = logging.getLogger(__name__)

# A notice whose email could not be sent (mail server down) is retried this long.
EMAIL_RETRY_WINDOW = timedelta(hours=24)
KIND_EVENTS = {
    PeriodNotice.Kind.FORECAST_QUOTA: "usage.forecast_exceeds_quota",
    PeriodNotice.Kind.FORECAST_SPEND: "usage.forecast_exceeds_spend",
}


def _notice_record(
    *, customer: Customer, period: Period, kind: str, data: dict, now: datetime
) -> PeriodNotice | None:
    """Record the notice and emit its webhook event together; None if it exists already."""
    try:
        with transaction.atomic():
            notice = PeriodNotice.objects.create(
                customer=customer, period=period.id, kind=kind, data=data, created_at=now
            )
            domain_event_emit(
                customer_id=customer.pk,
                event_type=KIND_EVENTS[kind],
                source=f"period-notice:{customer.pk}:{period.id}:{kind}",
                data={"period": period.label, **data},
                created=now,
            )
    except IntegrityError:  # another worker recorded it first
        return None
    return notice


def forecast_alert_email(notice: PeriodNotice) -> None:
    customer = notice.customer
    plan = customer.plan
    quota = notice.kind == PeriodNotice.Kind.FORECAST_QUOTA
    context = {
        "customer": customer,
        "plan": plan,
        "quota": quota,
        "data": notice.data,
        "exhausted_at": (
            datetime.fromisoformat(notice.data["quota_exhausted_at"])
            if notice.data.get("quota_exhausted_at")
            else None
        ),
        "hard_cap": plan.overage_policy == OveragePolicy.BLOCK,
        "upgrade_url": upgrade_url(),
        "dashboard_url": page_url("dashboard"),
    }
    if quota:
        subject = f"At this rate you will pass your {plan.name} plan's quota this month"
    else:
        subject = (
            f"At this rate this month's bill will pass {notice.data['spend_threshold_display']}"
        )
    email_send(
        to=customer.email,
        template="alerts/emails/forecast_alert",
        context=context,
        subject=f"[Pet Store API] {subject}",
    )


def forecast_alert_email_claim(*, notice_id: int) -> bool:
    """Email a notice unless another worker did or is doing it. True if this call sent it."""
    with transaction.atomic():
        claimed = PeriodNotice.objects.filter(pk=notice_id, emailed_at__isnull=True).update(
            emailed_at=timezone.now()
        )
        if not claimed:
            return False
        notice = PeriodNotice.objects.select_related("customer__plan").get(pk=notice_id)
        forecast_alert_email(notice)
    return True


def _quota_data(forecast: Forecast, used: int, included: int) -> dict:
    return {
        "method": forecast.method,
        "units_used": used,
        "included_units": included,
        "units_at_period_end": forecast.units_at_period_end,
        "quota_exhausted_at": forecast.quota_exhausted_at.isoformat(),
    }


def customer_forecast_alerts(
    *, customer: Customer, settings: AlertSettings | None, period: Period, now: datetime
) -> list[PeriodNotice]:
    """The forecast notices this customer's usage calls for now, recorded (new ones only)."""
    if settings is not None and not settings.forecast_enabled:
        return []
    kinds = set(
        PeriodNotice.objects.filter(customer=customer, period=period.id).values_list(
            "kind", flat=True
        )
    )
    threshold = settings.spend_threshold if settings is not None else None
    included = customer.plan.included_units
    want_quota = included is not None and PeriodNotice.Kind.FORECAST_QUOTA not in kinds
    want_spend = threshold is not None and PeriodNotice.Kind.FORECAST_SPEND not in kinds
    if not (want_quota or want_spend):
        return []
    breakdown = customer_usage(customer_id=customer.pk, start=period.start, end=period.end)
    forecast = customer_forecast(customer, breakdown, period, now)
    if not forecast.sufficient_history:
        return []
    used = breakdown.total.units
    notices = []
    exhausted = forecast.quota_exhausted_at
    # Ahead of time only: once the quota is used up, quota.exhausted and the 100% alert speak.
    if want_quota and used < included and exhausted is not None and now < exhausted < period.end:
        notice = _notice_record(
            customer=customer,
            period=period,
            kind=PeriodNotice.Kind.FORECAST_QUOTA,
            data=_quota_data(forecast, used, included),
            now=now,
        )
        notices.append(notice)
    if want_spend and forecast.units_at_period_end is not None:
        bill = usage_estimate(
            customer, projected_breakdown(breakdown, forecast.units_at_period_end)
        )
        total = Decimal(bill["total"]) if bill and bill["total"] is not None else None
        if total is not None and total >= threshold:
            notice = _notice_record(
                customer=customer,
                period=period,
                kind=PeriodNotice.Kind.FORECAST_SPEND,
                data={
                    "method": forecast.method,
                    "units_used": used,
                    "units_at_period_end": forecast.units_at_period_end,
                    "bill_at_period_end": bill,
                    "spend_threshold": f"{threshold:.2f}",
                    "spend_threshold_display": money(threshold),
                    "currency": bill.get("currency", "usd"),
                },
                now=now,
            )
            notices.append(notice)
    return [n for n in notices if n is not None]


def forecast_alerts_send(
    *, customer_ids: list[int], period: Period, now: datetime
) -> tuple[int, int]:
    """Forecast notices for these customers, then email every notice of the period not emailed
    yet (new ones, and those whose email failed, for a day): (recorded, emailed)."""
    settings_by_customer = {
        s.customer_id: s for s in AlertSettings.objects.filter(customer_id__in=customer_ids)
    }
    done: dict[int, set[str]] = {}
    for customer_id, kind in PeriodNotice.objects.filter(
        customer_id__in=customer_ids, period=period.id, kind__in=list(KIND_EVENTS)
    ).values_list("customer_id", "kind"):
        done.setdefault(customer_id, set()).add(kind)
    recorded = emailed = 0
    customers = Customer.objects.filter(pk__in=customer_ids).select_related("plan")
    for customer in customers.iterator(chunk_size=2000):
        if len(done.get(customer.pk, ())) == len(KIND_EVENTS):
            continue
        try:
            recorded += len(
                customer_forecast_alerts(
                    customer=customer,
                    settings=settings_by_customer.get(customer.pk),
                    period=period,
                    now=now,
                )
            )
        except Exception:
            logger.exception("forecast alerts of customer %s failed; retried next run", customer.pk)
    pending = (
        PeriodNotice.objects.filter(
            period=period.id,
            kind__in=list(KIND_EVENTS),
            emailed_at__isnull=True,
            created_at__gte=now - EMAIL_RETRY_WINDOW,
        )
        .exclude(customer__alert_settings__email_enabled=False)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    for notice_id in pending:
        try:
            emailed += forecast_alert_email_claim(notice_id=notice_id)
        except Exception:
            logger.exception("forecast notice %s: email failed; retried next run", notice_id)
    return recorded, emailed
