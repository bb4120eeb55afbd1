"""Usage alerts: each threshold emailed exactly once per period, by any number of workers."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.core import mail
from django.db import connection

from accounts import services as account_services
from accounts.models import Plan, PlanChange
from alerts import selectors, services
from alerts.models import UsageAlert
from alerts.tasks import send_usage_alerts
from core.periods import current_period, month_period
from metering import store
from metering.models import UsageRecord

pytestmark = pytest.mark.django_db


@pytest.fixture
def tiny_plan(db) -> Plan:
    """10 units included, so that a few calls cross 80% and 100%."""
    return Plan.objects.create(
        slug="tiny",
        name="Tiny",
        monthly_price=Decimal("5.00"),
        included_units=10,
        overage_policy="bill",
        pricing={"model": "per_unit", "unit_price": "0.01"},
        rate_limit_per_minute=100_000,
        max_keys=2,
        features=["images", "analytics"],
    )


@pytest.fixture
def tiny(make_customer, tiny_plan):
    customer, raw = make_customer("free", "tiny@example.com")
    account_services.customer_change_plan(customer=customer, plan=tiny_plan, reason="test")
    customer.refresh_from_db()
    return customer, raw


def set_units(customer, units: int, period=None) -> None:
    """What the hot path leaves in Redis: the period's quota counter, and a dirty mark."""
    period = period or current_period()
    r = store.client()
    r.hset(store.period_key(customer.pk, period.id), "units", units)
    store.mark_dirty(customer.pk)


def emails_to(address: str) -> list:
    return [m for m in mail.outbox if address in m.to]


def thresholds_emailed(address: str) -> list[int]:
    return sorted(int(m.subject.split("%")[0].rsplit(" ", 1)[1]) for m in emails_to(address))


def test_nothing_below_the_first_threshold(tiny):
    customer, _ = tiny
    set_units(customer, 7)
    assert services.usage_alerts_send().recorded == 0
    assert mail.outbox == []
    assert selectors.current_alerts(customer) == []


def test_a_jump_past_two_thresholds_sends_both_once(tiny):
    customer, _ = tiny
    set_units(customer, 5)  # 50%
    services.usage_alerts_send()
    set_units(customer, 12)  # 120%: past 80% and 100% at once
    run = services.usage_alerts_send()
    assert (run.recorded, run.emailed) == (2, 2)
    assert thresholds_emailed(customer.email) == [80, 100]
    for _ in range(3):
        set_units(customer, 15)
        services.usage_alerts_send()
    assert len(mail.outbox) == 2
    banner = selectors.current_alerts(customer)
    assert [(a.threshold, a.units_used, a.included_units) for a in banner] == [
        (100, 12, 10),
        (80, 12, 10),
    ]
    assert all(a.emailed_at is not None for a in banner)
    message = emails_to(customer.email)[-1]
    assert "12 usage units" in message.body and "Tiny plan" in message.body
    assert message.alternatives and "text/html" in message.alternatives[0][1]
    assert f"{settings.SITE_URL}/pricing/" in message.body


def test_thresholds_cross_one_by_one(tiny):
    customer, _ = tiny
    for units, emailed in ((8, [80]), (9, [80]), (10, [80, 100]), (11, [80, 100])):
        set_units(customer, units)
        services.usage_alerts_send()
        assert thresholds_emailed(customer.email) == emailed


def test_the_next_period_fires_again(tiny):
    customer, _ = tiny
    period = current_period()
    set_units(customer, 10, period)
    services.usage_alerts_send()
    later = period.end + timedelta(hours=1)
    set_units(customer, 9, period.next())
    run = services.usage_alerts_send(now=later)
    assert run.recorded == 1
    assert thresholds_emailed(customer.email) == [80, 80, 100]
    assert sorted(UsageAlert.objects.values_list("period", "threshold")) == [
        (period.id, 80),
        (period.id, 100),
        (period.next().id, 80),
    ]


def test_custom_thresholds_from_the_customers_settings(tiny):
    customer, _ = tiny
    services.alert_settings_update(customer=customer, thresholds=[50, 150], email_enabled=True)
    set_units(customer, 12)
    services.usage_alerts_send()
    assert thresholds_emailed(customer.email) == [50]
    set_units(customer, 15)
    services.usage_alerts_send()
    assert thresholds_emailed(customer.email) == [50, 150]


def test_email_off_records_the_alert_for_the_banner_but_sends_nothing(tiny):
    customer, _ = tiny
    services.alert_settings_update(customer=customer, thresholds=[80, 100], email_enabled=False)
    set_units(customer, 10)
    run = services.usage_alerts_send()
    assert (run.recorded, run.emailed) == (2, 0)
    assert mail.outbox == []
    assert [a.threshold for a in selectors.current_alerts(customer)] == [100, 80]
    assert not UsageAlert.objects.filter(emailed_at__isnull=False).exists()


def test_unlimited_plans_get_no_alerts(make_customer, plans):
    customer, _ = make_customer("enterprise", "big@example.com")
    set_units(customer, 10**9)
    assert services.usage_alerts_send().recorded == 0
    assert not UsageAlert.objects.exists()


def test_without_a_quota_counter_the_ledger_decides(tiny):
    customer, _ = tiny
    period = current_period()
    UsageRecord.objects.create(
        customer=customer, endpoint="GET /api/v1/pets", hour=period.start, calls=9, units=9
    )
    assert store.client().hget(store.period_key(customer.pk, period.id), "units") is None
    services.usage_alerts_send()
    assert thresholds_emailed(customer.email) == [80]
    assert UsageAlert.objects.get().units_used == 9


def test_a_failed_email_is_sent_on_the_next_run(tiny, monkeypatch):
    customer, _ = tiny
    real = services.usage_alert_email
    calls = {"n": 0}

    def flaky(alert):
        calls["n"] += 1
        if calls["n"] == 1:
            raise ConnectionError("mail server down")
        real(alert)

    monkeypatch.setattr(services, "usage_alert_email", flaky)
    set_units(customer, 8)
    run = services.usage_alerts_send()
    assert (run.recorded, run.emailed) == (1, 0)
    assert UsageAlert.objects.get().emailed_at is None  # the claim rolled back
    assert services.usage_alerts_send().emailed == 1
    assert services.usage_alerts_send().emailed == 0
    assert thresholds_emailed(customer.email) == [80]


def test_an_alert_recorded_by_a_worker_that_died_before_emailing_is_sent_once(tiny):
    customer, _ = tiny
    period = current_period()
    set_units(customer, 8)
    # The dead worker inserted the row (committed) and never got to the email.
    UsageAlert.objects.create(
        customer=customer, period=period.id, threshold=80, units_used=8, included_units=10
    )
    run = services.usage_alerts_send()
    assert (run.recorded, run.emailed) == (0, 1)
    services.usage_alerts_send()
    assert thresholds_emailed(customer.email) == [80]


def test_candidates_are_customers_with_recent_usage(tiny):
    customer, _ = tiny
    period = month_period(2025, 3)
    PlanChange.objects.filter(customer=customer).update(changed_at=datetime(2025, 1, 1, tzinfo=UTC))
    UsageRecord.objects.create(
        customer=customer,
        endpoint="GET /api/v1/pets",
        hour=datetime(2025, 3, 2, 10, tzinfo=UTC),
        calls=1,
        units=1,
    )
    # No run yet: everyone with usage in the period.
    assert customer.pk in services.usage_alert_candidates(period=period, since=None)
    # The last run started within the hour after the row's hour: flushes lag, so it counts.
    since = datetime(2025, 3, 2, 11, 50, tzinfo=UTC)
    assert customer.pk in services.usage_alert_candidates(period=period, since=since)
    # A run hours later has seen it: an idle customer is not looked at again...
    since = datetime(2025, 3, 9, tzinfo=UTC)
    assert customer.pk not in services.usage_alert_candidates(period=period, since=since)
    # ...until a new call leaves counters in Redis (dirty until the next flush).
    set_units(customer, 1)
    assert customer.pk in services.usage_alert_candidates(period=period, since=since)


def test_the_celery_task_runs_the_service(tiny):
    customer, _ = tiny
    set_units(customer, 10)
    result = send_usage_alerts.apply().get()
    assert result["recorded"] == 2 and result["emailed"] == 2
    beat = settings.CELERY_BEAT_SCHEDULE["send-usage-alerts"]
    assert beat["task"] == send_usage_alerts.name == "alerts.tasks.send_usage_alerts"


# --- concurrency -------------------------------------------------------------------------------


def _in_thread(target, errors: list):
    def run():
        try:
            target()
        except Exception as exc:  # reported by the test
            errors.append(exc)
        finally:
            connection.close()

    return threading.Thread(target=run)


@pytest.mark.django_db(transaction=True)
def test_racing_workers_send_each_threshold_once(tiny):
    customer, _ = tiny
    set_units(customer, 12)
    barrier = threading.Barrier(6)
    errors: list = []

    def worker():
        barrier.wait()
        services.usage_alerts_send()

    threads = [_in_thread(worker, errors) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert thresholds_emailed(customer.email) == [80, 100]
    assert UsageAlert.objects.filter(emailed_at__isnull=False).count() == 2


@pytest.mark.django_db(transaction=True)
def test_workers_running_while_usage_grows_email_each_threshold_once(tiny):
    """Real metered calls (the hot path counts them) while four workers run the task in a
    loop: usage grows from 0 to 130% across both thresholds."""
    from tests.conftest import KeyClient

    customer, raw = tiny
    client = KeyClient(raw, customer)
    done = threading.Event()
    errors: list = []

    def worker():
        while not done.is_set():
            services.usage_alerts_send()

    threads = [_in_thread(worker, errors) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        for _ in range(13):
            assert client.get("/api/v1/pets").status_code == 200
    finally:
        done.set()
        for t in threads:
            t.join(60)
    services.usage_alerts_send()
    assert errors == []
    assert thresholds_emailed(customer.email) == [80, 100]
    assert sorted(UsageAlert.objects.values_list("threshold", flat=True)) == [80, 100]
    assert all(a.emailed_at for a in UsageAlert.objects.all())
