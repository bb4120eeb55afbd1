"""Usage alerts, the writes: a customer's thresholds, and recording and emailing each threshold
crossed once per period (the `send_usage_alerts` task, every minute)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Customer, OveragePolicy, PlanChange
from alerts.forecasts import forecast_alerts_send
from alerts.key_caps import key_caps_notify
from alerts.models import DEFAULT_ALERT_THRESHOLDS, AlertSettings, PeriodNotice, UsageAlert
from core.email import email_send
from core.errors import ApplicationError
from core.events import domain_event_emit
from core.navigation import page_url, upgrade_url
from core.periods import Period, period_containing, period_from_id
from metering import store
from metering.models import UsageRecord
from metering.selectors import customer_period_units

logger = logging.getLogger(__name__)

MAX_THRESHOLDS = 5


class InvalidThresholds(ApplicationError):
    code = "invalid_thresholds"


class InvalidSpendThreshold(ApplicationError):
    code = "invalid_spend_threshold"


MAX_SPEND_THRESHOLD = Decimal("1000000")


@transaction.atomic
def alert_settings_update(
    *,
    customer: Customer,
    thresholds: list[int],
    email_enabled: bool,
    forecast_enabled: bool = True,
    spend_threshold: Decimal | None = None,
) -> AlertSettings:
    """Save a customer's alert settings: usage thresholds (percent of the included units),
    emails, forecast warnings and the spend threshold (USD, None: none)."""
    if spend_threshold is not None and not (
        Decimal("0.01") <= spend_threshold <= MAX_SPEND_THRESHOLD
        and spend_threshold == spend_threshold.quantize(Decimal("0.01"))
    ):
        raise InvalidSpendThreshold(
            f"The spend threshold is an amount in dollars and cents, up to {MAX_SPEND_THRESHOLD:,}."
        )
    cleaned = sorted(set(thresholds))
    if not cleaned or len(cleaned) > MAX_THRESHOLDS:
        raise InvalidThresholds(f"Give between 1 and {MAX_THRESHOLDS} thresholds.")
    if any(not isinstance(t, int) or t < 1 or t > 500 for t in cleaned):
        raise InvalidThresholds("Thresholds are whole percentages between 1 and 500.")
    settings, _ = AlertSettings.objects.update_or_create(
        customer=customer,
        defaults={
            "thresholds": cleaned,
            "email_enabled": email_enabled,
            "forecast_enabled": forecast_enabled,
            "spend_threshold": spend_threshold,
        },
    )
    return settings


# --- Sending: each threshold once per period, by Celery (alerts.tasks.send_usage_alerts) ---------
#
# Exactly once comes from the database, not from the scheduler:
# 1. a crossing is recorded by inserting its UsageAlert row under the (customer, period,
#    threshold) unique constraint (INSERT … ON CONFLICT DO NOTHING RETURNING id): of any number
#    of racing workers, one inserts it;
# 2. a row is emailed inside a transaction that first claims it with a conditional
#    `UPDATE … SET emailed_at = now WHERE emailed_at IS NULL`: a concurrent claimer waits on the
#    row lock, then updates nothing and skips it. If sending fails or the worker dies before the
#    commit, the claim rolls back and the next run sends it (rows with emailed_at NULL are
#    retried for EMAIL_RETRY_WINDOW).

# The key's name predates the alerts app; it stays so that a deploy keeps the last run.
LAST_RUN_KEY = "billing:usage-alerts:last-run"
# Ledger rows are written by hour and flushed every few seconds: looking back an hour before the
# last completed run covers the flush lag and clock skew between workers.
CANDIDATE_LOOKBACK = timedelta(hours=1)
# An alert that could not be emailed (worker crash, mail server down) is retried this long.
EMAIL_RETRY_WINDOW = timedelta(hours=24)
CHUNK = 2000


@dataclass
class AlertRun:
    period: str
    candidates: int = 0
    recorded: int = 0
    emailed: int = 0
    exhausted: int = 0
    forecasts: int = 0
    forecasts_emailed: int = 0
    key_caps: int = 0
    key_caps_emailed: int = 0


def _last_run() -> datetime | None:
    value = store.client().get(LAST_RUN_KEY)
    return datetime.fromtimestamp(float(value), UTC) if value else None


def _last_run_set(started: datetime) -> None:
    r = store.client()
    previous = r.get(LAST_RUN_KEY)
    if previous is None or float(previous) < started.timestamp():
        r.set(LAST_RUN_KEY, started.timestamp())


def usage_alert_candidates(*, period: Period, since: datetime | None) -> set[int]:
    """Customers whose usage (or alert settings, or plan) may have changed since `since`: those
    with counters in Redis not yet in the ledger, read first (a flush moves them to the ledger),
    then those with ledger rows in the hours since. Without `since`: all with usage this
    period."""
    ids = store.dirty_customers()
    ids |= {store.customer_of_batch(name) for name in store.registered_batches()}
    start = period.start
    if since is not None:
        start = max(start, since.replace(minute=0, second=0, microsecond=0) - CANDIDATE_LOOKBACK)
        changed = since - CANDIDATE_LOOKBACK
        ids |= set(
            AlertSettings.objects.filter(updated_at__gte=changed).values_list(
                "customer_id", flat=True
            )
        )
        ids |= set(
            PlanChange.objects.filter(changed_at__gte=changed).values_list("customer_id", flat=True)
        )
    ids |= set(
        UsageRecord.objects.filter(hour__gte=start, hour__lt=period.end)
        .values_list("customer_id", flat=True)
        .distinct()
    )
    return ids


def _period_units(customers: list[Customer], period: Period) -> dict[int, int]:
    """Units of the period: the quota counter in Redis (pipelined),
    else the exact ledger + Redis breakdown when the counter is not seeded."""
    pipe = store.client().pipeline(transaction=False)
    for customer in customers:
        pipe.hget(store.period_key(customer.pk, period.id), "units")
    units: dict[int, int] = {}
    for customer, value in zip(customers, pipe.execute(), strict=True):
        if value is None:
            value = customer_period_units(customer_id=customer.pk, period=period)
        units[customer.pk] = int(value)
    return units


def _record(rows: list[tuple]) -> list[tuple[int, int, int]]:
    """Insert alert rows, skipping those that exist; returns (id, customer id, threshold) of
    the rows this call inserted."""
    if not rows:
        return []
    table = connection.ops.quote_name(UsageAlert._meta.db_table)
    values = ", ".join(["(%s, %s, %s, %s, %s, %s)"] * len(rows))
    params = [v for row in rows for v in row]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (customer_id, period, threshold, units_used, included_units, "  # noqa: S608
            f"created_at) VALUES {values} ON CONFLICT (customer_id, period, threshold) "
            "DO NOTHING RETURNING id, customer_id, threshold",
            params,
        )
        return [tuple(row) for row in cursor.fetchall()]


def _usage_alerts_record(rows: list[tuple], period: Period) -> list[int]:
    """Insert the crossings and tell the customers' systems (`usage.threshold_reached`), in one
    transaction: an alert is recorded with its webhook event or not at all."""
    by_key = {(row[0], row[2]): row for row in rows}
    with transaction.atomic():
        inserted = _record(rows)
        for _, customer_id, threshold in inserted:
            _, _, _, used, included, _ = by_key[(customer_id, threshold)]
            domain_event_emit(
                customer_id=customer_id,
                event_type="usage.threshold_reached",
                source=f"usage-alert:{customer_id}:{period.id}:{threshold}",
                data={
                    "period": period.label,
                    "threshold_percent": threshold,
                    "units_used": used,
                    "included_units": included,
                },
            )
    return [alert_id for alert_id, _, _ in inserted]


def quota_exhausted_record(*, customer: Customer, period: Period, units: int) -> bool:
    """The plan's included units are used up: once per period, a `quota.exhausted` webhook
    event (the usage alert at 100%, if the customer set one, is the email). True if new."""
    included = customer.plan.included_units
    with transaction.atomic():
        _, created = PeriodNotice.objects.get_or_create(
            customer=customer,
            period=period.id,
            kind=PeriodNotice.Kind.QUOTA_EXHAUSTED,
            defaults={"data": {"units_used": units, "included_units": included}},
        )
        if created:
            domain_event_emit(
                customer_id=customer.pk,
                event_type="quota.exhausted",
                source=f"quota-exhausted:{customer.pk}:{period.id}",
                data={
                    "period": period.label,
                    "units_used": units,
                    "included_units": included,
                    "hard_cap": customer.plan.overage_policy == OveragePolicy.BLOCK,
                    "renews_at": period.end.isoformat(),
                },
            )
    return created


def usage_alert_email(alert: UsageAlert) -> None:
    """Send one alert's email (templates/alerts/emails/usage_alert.txt and .html)."""
    customer, plan = alert.customer, alert.customer.plan
    period = period_from_id(alert.period)
    context = {
        "customer": customer,
        "plan": plan,
        "threshold": alert.threshold,
        "units_used": alert.units_used,
        "included_units": alert.included_units,
        "period": period,
        "resets_on": period.end,
        "hard_cap": plan.overage_policy == OveragePolicy.BLOCK,
        "reached": alert.threshold >= 100,
        "upgrade_url": upgrade_url(),
        "dashboard_url": page_url("dashboard"),
    }
    if context["reached"]:
        subject = f"You have used {alert.threshold}% of your {plan.name} plan's monthly usage"
    else:
        subject = f"Usage alert: {alert.threshold}% of your {plan.name} plan's monthly usage"
    email_send(
        to=customer.email,
        template="alerts/emails/usage_alert",
        context=context,
        subject=f"[Pet Store API] {subject}",
        html=True,
    )


def usage_alert_email_claim(*, alert_id: int) -> bool:
    """Email an alert unless another worker did or is doing it. True if this call sent it."""
    with transaction.atomic():
        claimed = UsageAlert.objects.filter(pk=alert_id, emailed_at__isnull=True).update(
            emailed_at=timezone.now()
        )
        if not claimed:
            return False
        alert = UsageAlert.objects.select_related("customer__plan").get(pk=alert_id)
        # Inside the transaction: a failure rolls the claim back and the next run retries.
        usage_alert_email(alert)
    return True


def _email_allowed(customer_ids: set[int]) -> set[int]:
    disabled = set(
        AlertSettings.objects.filter(customer_id__in=customer_ids, email_enabled=False).values_list(
            "customer_id", flat=True
        )
    )
    return customer_ids - disabled


def usage_alerts_send(*, now: datetime | None = None) -> AlertRun:
    """Record every threshold crossed this period and email each alert once. Safe to run in
    any number of workers at once, and to re-run after a crash."""
    now = now or timezone.now()
    period = period_containing(now)
    run = AlertRun(period=period.id)
    candidates = sorted(usage_alert_candidates(period=period, since=_last_run()))
    run.candidates = len(candidates)
    inserted: list[int] = []
    for i in range(0, len(candidates), CHUNK):
        customers = list(
            Customer.objects.filter(
                pk__in=candidates[i : i + CHUNK], plan__included_units__gt=0
            ).select_related("plan")
        )
        if not customers:
            continue
        ids = [c.pk for c in customers]
        thresholds = {
            s.customer_id: s.thresholds for s in AlertSettings.objects.filter(customer_id__in=ids)
        }
        existing = set(
            UsageAlert.objects.filter(customer_id__in=ids, period=period.id).values_list(
                "customer_id", "threshold"
            )
        )
        exhausted_before = set(
            PeriodNotice.objects.filter(
                customer_id__in=ids, period=period.id, kind=PeriodNotice.Kind.QUOTA_EXHAUSTED
            ).values_list("customer_id", flat=True)
        )
        units = _period_units(customers, period)
        rows = []
        created_at = connection.ops.adapt_datetimefield_value(now)
        for customer in customers:
            included = customer.plan.included_units
            for threshold in sorted(set(thresholds.get(customer.pk, DEFAULT_ALERT_THRESHOLDS))):
                crossed = units[customer.pk] * 100 >= included * int(threshold)
                if crossed and (customer.pk, threshold) not in existing:
                    used = units[customer.pk]
                    rows.append((customer.pk, period.id, threshold, used, included, created_at))
            if units[customer.pk] >= included and customer.pk not in exhausted_before:
                run.exhausted += quota_exhausted_record(
                    customer=customer, period=period, units=units[customer.pk]
                )
        inserted += _usage_alerts_record(rows, period)
    run.recorded = len(inserted)
    # Ours first, then any left unsent by a worker that died (or whose email failed).
    pending = list(
        UsageAlert.objects.filter(
            period=period.id, emailed_at__isnull=True, created_at__gte=now - EMAIL_RETRY_WINDOW
        )
        .exclude(pk__in=inserted)
        .values_list("pk", "customer_id")
    )
    new = list(UsageAlert.objects.filter(pk__in=inserted).values_list("pk", "customer_id"))
    allowed = _email_allowed({customer_id for _, customer_id in new + pending})
    for alert_id, customer_id in sorted(new) + sorted(pending):
        if customer_id not in allowed:
            continue
        try:
            run.emailed += usage_alert_email_claim(alert_id=alert_id)
        except Exception:
            logger.exception("usage alert %s: email failed; retried on the next run", alert_id)
    # Keys' own caps: every candidate, whatever its plan's quota (docs/keys.md).
    run.key_caps, run.key_caps_emailed = key_caps_notify(
        customer_ids=candidates, period=period, now=now
    )
    _last_run_set(now)
    return run


def forecast_alerts_run(*, now: datetime | None = None) -> AlertRun:
    """Forecast alerts for every customer with usage this period (the `send_forecast_alerts`
    task, hourly: a forecast moves slowly, and a quota warned about days ahead loses nothing to
    an hour; checking every active customer every minute would cost a usage read each)."""
    now = now or timezone.now()
    period = period_containing(now)
    run = AlertRun(period=period.id)
    candidates = sorted(usage_alert_candidates(period=period, since=None))
    run.candidates = len(candidates)
    run.forecasts, run.forecasts_emailed = forecast_alerts_send(
        customer_ids=candidates, period=period, now=now
    )
    return run
