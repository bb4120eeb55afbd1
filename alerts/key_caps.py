"""Keys' own monthly caps, the notices: when a key first reaches its cap in a period, a
`key.cap_reached` event (which outbound webhooks deliver) and an email, once per key and period.

Off the hot path: the admission script only refuses and counts (`refused_key_cap`, per key, in
the pending counters); the flush carries those counters into the per-key ledger
(metering.models.KeyUsage), and this check, run with the usage alerts every minute
(alerts.services.usage_alerts_send), reads the ledger: a capped key whose units reached its cap,
or which was refused by it, gets its notice. Exactly once as for usage alerts: the notice row's
unique constraint (key, period) records it with its event in one transaction; the email claims
the row (`emailed_at`) and is retried by later runs if it fails.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q, Sum
from django.utils import timezone

from accounts.models import ApiKey
from alerts.models import AlertSettings, KeyCapNotice
from core.email import email_send
from core.events import domain_event_emit
from core.navigation import page_url
from core.periods import Period, period_from_id
from metering.models import KeyUsage

logger = logging.getLogger(__name__)

EMAIL_RETRY_WINDOW = timedelta(hours=24)


def _capped_keys_reached(customer_ids: list[int], period: Period) -> list[tuple[ApiKey, int]]:
    """(key, units used) of the capped keys of these customers that reached their cap this
    period (by the ledger) and have no notice yet."""
    capped = {
        api_key.pk: api_key
        for api_key in ApiKey.objects.filter(customer_id__in=customer_ids).filter(
            Q(monthly_unit_cap__isnull=False) | Q(spend_cap_units__isnull=False)
        )
    }
    if not capped:
        return []
    noticed = set(
        KeyCapNotice.objects.filter(key_id__in=capped, period=period.id).values_list(
            "key_id", flat=True
        )
    )
    usage = (
        KeyUsage.objects.filter(
            key_id__in=set(capped) - noticed,
            day__gte=period.start.date(),
            day__lt=period.end.date(),
        )
        .values("key_id")
        .annotate(units=Sum("units"), refused=Sum("refused_key_cap"))
    )
    reached = []
    for row in usage:
        api_key = capped[row["key_id"]]
        cap = api_key.unit_cap
        if cap is not None and (row["units"] >= cap or row["refused"] > 0):
            reached.append((api_key, row["units"]))
    return reached


def key_cap_reached_record(*, api_key: ApiKey, period: Period, units_used: int) -> int | None:
    """Record that a key reached its cap, with its `key.cap_reached` event: once per key and
    period. Returns the new notice's id, None if it existed."""
    cap = api_key.unit_cap
    try:
        with transaction.atomic():
            notice = KeyCapNotice.objects.create(
                customer_id=api_key.customer_id,
                key=api_key,
                period=period.id,
                cap=cap,
                units_used=units_used,
            )
            domain_event_emit(
                customer_id=api_key.customer_id,
                event_type="key.cap_reached",
                source=f"key-cap:{api_key.pk}:{period.id}",
                data={
                    "key_id": api_key.pk,
                    "key_name": api_key.name,
                    "key_prefix": api_key.prefix,
                    "period": period.label,
                    "cap_units": cap,
                    "monthly_unit_cap": api_key.monthly_unit_cap,
                    "monthly_spend_cap": (
                        None
                        if api_key.monthly_spend_cap is None
                        else f"{api_key.monthly_spend_cap:.2f}"
                    ),
                    "units_used": units_used,
                    "renews_at": period.end.isoformat(),
                },
            )
    except IntegrityError:  # another worker recorded it first
        return None
    return notice.pk


def key_cap_email(notice: KeyCapNotice) -> None:
    """templates/alerts/emails/key_cap_reached.txt"""
    period = period_from_id(notice.period)
    email_send(
        to=notice.customer.email,
        template="alerts/emails/key_cap_reached",
        context={
            "customer": notice.customer,
            "key": notice.key,
            "cap": notice.cap,
            "units_used": notice.units_used,
            "resets_on": period.end,
            "keys_url": page_url("keys"),
        },
        subject=f"[Pet Store API] Your API key “{notice.key.name}” reached its monthly cap",
    )


def key_cap_email_claim(*, notice_id: int) -> bool:
    """Email a notice unless another worker did or is doing it. True if this call sent it."""
    with transaction.atomic():
        claimed = KeyCapNotice.objects.filter(pk=notice_id, emailed_at__isnull=True).update(
            emailed_at=timezone.now()
        )
        if not claimed:
            return False
        notice = KeyCapNotice.objects.select_related("customer", "key").get(pk=notice_id)
        key_cap_email(notice)  # a failure rolls the claim back: the next run retries
    return True


def key_caps_notify(*, customer_ids: list[int], period: Period, now: datetime) -> tuple[int, int]:
    """Record (with its event) and email each key that reached its cap this period, once.
    Returns (recorded, emailed)."""
    recorded = []
    for i in range(0, len(customer_ids), 2000):
        for api_key, units in _capped_keys_reached(customer_ids[i : i + 2000], period):
            notice_id = key_cap_reached_record(api_key=api_key, period=period, units_used=units)
            if notice_id is not None:
                recorded.append(notice_id)
    unsent = KeyCapNotice.objects.filter(
        period=period.id, emailed_at__isnull=True, created_at__gte=now - EMAIL_RETRY_WINDOW
    ).values_list("pk", "customer_id")
    muted = set(
        AlertSettings.objects.filter(
            customer_id__in={c for _, c in unsent}, email_enabled=False
        ).values_list("customer_id", flat=True)
    )
    emailed = 0
    for notice_id, customer_id in sorted(unsent):
        if customer_id in muted:
            continue
        try:
            emailed += key_cap_email_claim(notice_id=notice_id)
        except Exception:
            logger.exception("key cap notice %s: email failed; retried on the next run", notice_id)
    return len(recorded), emailed
