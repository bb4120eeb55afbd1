"""Separate Celery queues (petstore/settings.py): with Stripe hanging (the local Stripe server
stopped by SIGSTOP in the middle of a usage report), real workers keep flushing usage into the
ledger on beat's schedule; the report goes through once Stripe answers again."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import timedelta

import pytest
import stripe
from django.conf import settings
from django.db.models import F, Sum
from django.utils import timezone

from accounts.models import Customer, PlanChange
from billing.models import MeterReport
from billing.stripe_catalog import stripe_catalog_sync
from billing.tasks import report_usage_to_stripe
from metering.models import UsageRecord
from petstore.ports import free_port, wait_for_port
from tests.billing.test_stripe_usage import register_and_subscribe
from tests.faults.conftest import wait_until
from tests.servers import server_env


@pytest.fixture
def stripe_process(tmp_path):
    """The local Stripe server in a process of its own, so that it can be stopped (SIGSTOP)."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "stripe_emulator", "--port", str(port)],
        cwd=settings.BASE_DIR,
        env={**os.environ},
    )
    wait_for_port(port)
    saved = stripe.api_base
    stripe.api_base = f"http://127.0.0.1:{port}"
    stripe_catalog_sync()
    yield proc, stripe.api_base
    stripe.api_base = saved
    os.kill(proc.pid, signal.SIGCONT)
    proc.terminate()
    proc.wait(timeout=10)


def celery(*args: str, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "petstore", *args, "--loglevel", "WARNING"],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def ledger_calls(customer) -> int:
    return UsageRecord.objects.filter(customer=customer).aggregate(c=Sum("calls"))["c"] or 0


@pytest.mark.django_db(transaction=True)
def test_a_hanging_stripe_never_delays_the_flush(client, stripe_process, tmp_path):
    proc, api_base = stripe_process
    api = register_and_subscribe(client)
    # Settled usage from two hours ago (on the plan since three), for the report to send: the
    # reporter reads the plan in force from the plan history, so the history moves back too.
    three_hours_ago = timezone.now() - timedelta(hours=3)
    Customer.objects.filter(pk=api.customer.pk).update(plan_changed_at=three_hours_ago)
    PlanChange.objects.filter(customer=api.customer).update(changed_at=three_hours_ago)
    hour = (timezone.now() - timedelta(hours=2)).replace(minute=0, second=0, microsecond=0)
    record, _ = UsageRecord.objects.get_or_create(
        customer=api.customer, endpoint="GET /api/v1/pets", hour=hour
    )
    UsageRecord.objects.filter(pk=record.pk).update(calls=F("calls") + 500, units=F("units") + 500)

    env = server_env(STRIPE_API_BASE=api_base, USAGE_FLUSH_SECONDS="1")
    workers = [
        celery("worker", "-Q", "metering", "-n", "metering@test", "--concurrency", "1", env=env),
        celery("worker", "-Q", "stripe", "-n", "stripe@test", "--concurrency", "1", env=env),
        celery("beat", "--schedule", str(tmp_path / "beat-schedule"), env=env),
    ]
    try:
        os.kill(proc.pid, signal.SIGSTOP)  # Stripe stops answering
        report_usage_to_stripe.delay()
        # The report is written, then its Stripe call hangs.
        wait_until(MeterReport.objects.exists, timeout=60, what="the report to be prepared")
        for round_ in range(1, 3):
            before = ledger_calls(api.customer)
            for _ in range(5):
                assert api.get("/api/v1/pets").status_code == 200
            wait_until(
                lambda before=before: ledger_calls(api.customer) >= before + 5,
                timeout=60,
                what=f"round {round_} of traffic to be flushed while Stripe hangs",
            )
            assert not MeterReport.objects.filter(reported_at__isnull=False).exists()
        os.kill(proc.pid, signal.SIGCONT)  # Stripe answers again: the stuck report completes
        wait_until(
            lambda: MeterReport.objects.filter(reported_at__isnull=False).exists(),
            timeout=120,
            what="the report to reach Stripe",
        )
    finally:
        os.kill(proc.pid, signal.SIGCONT)
        for worker in workers:
            worker.terminate()
        for worker in workers:
            try:
                worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait(timeout=10)
