"""seed_demo: a consistent, reproducible history, seeded once."""

from __future__ import annotations

import itertools
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Max

from accounts.models import Customer, PlanChange
from accounts.selectors import plan_mrr
from billing.models import Trial
from console import metrics
from core.periods import parse_month
from metering.models import UsageRecord

pytestmark = pytest.mark.django_db

ARGS = ["--customers", "150", "--months", "6", "--seed", "7", "--until", "2026-03-15T12:00"]


def seed(*extra: str) -> str:
    out = StringIO()
    call_command("seed_demo", *ARGS, *extra, stdout=out)
    return out.getvalue()


def snapshot():
    return list(
        PlanChange.objects.order_by("customer__email", "changed_at", "id").values_list(
            "customer__email", "from_plan__slug", "to_plan__slug", "changed_at"
        )
    ), sorted(UsageRecord.objects.values_list("customer__email", "endpoint", "hour", "units"))


def test_the_history_is_consistent_and_seeded_once():
    assert "seeded 150 customers" in seed()
    customers = Customer.objects.select_related("plan")
    assert customers.count() == 150
    for customer in customers:
        changes = list(customer.plan_changes.order_by("changed_at", "id"))
        assert changes[0].from_plan is None and changes[0].changed_at == customer.created_at
        for before, after in itertools.pairwise(changes):
            assert after.from_plan_id == before.to_plan_id
            assert after.changed_at >= before.changed_at
        assert changes[-1].to_plan_id == customer.plan_id  # the plan is its history's end
        assert all(c.to_mrr == (0 if c.reason == "trial" else plan_mrr(c.to_plan)) for c in changes)
        if customer.first_call_at:
            assert customer.first_call_at >= customer.created_at
            first = customer.usage_records.order_by("hour").first()
            assert first is None or first.hour >= customer.first_call_at.replace(minute=0, second=0)
        else:
            assert not customer.usage_records.exists()
    assert PlanChange.objects.exclude(reason="signup").exists()  # upgrades and cancellations
    # Free trials of Pro: some converted, some ended unpaid; one per customer.
    trials = PlanChange.objects.filter(reason="trial")
    assert trials.exists() and trials.count() == Trial.objects.count()
    assert PlanChange.objects.filter(reason__in=["trial_converted", "trial_ended"]).exists()
    assert UsageRecord.objects.aggregate(last=Max("hour"))["last"] <= parse_month("2026-03").end
    assert "nothing to do" in seed()  # idempotent: `make run` calls it on every start
    assert Customer.objects.count() == 150


def test_the_same_seed_gives_the_same_history_and_metrics_follow_it():
    seed()
    first = snapshot()
    figures = metrics.compute_month_metrics(parse_month("2026-02"))
    assert "deleted 150 demo customers" in seed("--reset")
    assert snapshot() == first
    assert metrics.compute_month_metrics(parse_month("2026-02")) == figures
    assert figures["signups"] > 0 and figures["mrr"] != "0.00"
