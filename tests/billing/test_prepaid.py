"""The `prepaid` overage policy on the hot path: the customer's grant carries the allowance (the
units its included units plus its credit balance pay for, priced by the engine), the admission
script refuses past it with 429 credits_exhausted, and a change of balance reaches the next
request (the grant token is replaced)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.models import Plan
from billing.credits import credits_summary
from billing.models import CreditEntry
from core.periods import current_period
from metering import store
from metering.grants import bump_customer_token
from metering.rules import rules
from tests.conftest import KeyClient
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

PETS = "/api/v1/pets"


@pytest.fixture
def prepaid_plan(db) -> Plan:
    # 10 units included, then a cent a unit: each 5 cents of credit buys exactly 5 units.
    return Plan.objects.create(
        slug="prepaid",
        name="Prepaid",
        monthly_price=Decimal("0.00"),
        included_units=10,
        overage_policy="prepaid",
        pricing={"model": "per_unit", "unit_price": "0.01"},
        rate_limit_per_minute=1000,
        max_keys=5,
        features=["images", "analytics"],
    )


def grant(customer, amount: str, source: str = "") -> CreditEntry:
    entry = CreditEntry.objects.create(
        customer=customer,
        kind=CreditEntry.Kind.PURCHASE,
        amount=Decimal(amount),
        period=current_period().id,
        source_id=source,
    )
    bump_customer_token(customer.pk)  # as billing.credits does on commit
    return entry


@pytest.fixture
def prepaid(prepaid_plan) -> KeyClient:
    customer = CustomerFactory(email="prepaid@example.com", plan=prepaid_plan)
    return KeyClient(customer.raw_key, customer)


def test_serves_exactly_what_included_units_and_credits_pay_for(prepaid):
    grant(prepaid.customer, "0.05")
    statuses = [prepaid.get(PETS).status_code for _ in range(15)]
    assert statuses == [200] * 15
    refused = prepaid.get(PETS)
    assert refused.status_code == 429
    body = refused.json()
    assert body["error"] == "credits_exhausted"
    assert body["balance"] == "0.00" and body["used"] == 15 and body["cost"] == 1
    assert body["buy_credits_url"].endswith("/dashboard/billing/#credits")
    assert "Buy credits" in body["message"] and "/api/v1/billing/credits" in body["message"]
    assert int(refused["Retry-After"]) > 0 and refused["X-Quota-Remaining"] == "0"
    # An image call (10 units) is refused even with units left of a cheaper call.
    grant(prepaid.customer, "0.05")  # 5 more units: 20 in all
    assert prepaid.get(PETS).status_code == 200  # 16
    image = prepaid.post(f"{PETS}/1/image")
    assert image.status_code == 429 and image.json()["balance"] == "0.04"
    assert [prepaid.get(PETS).status_code for _ in range(5)] == [200] * 4 + [429]
    # Account endpoints are not capped: the customer can look and buy. The estimate has the
    # credits line: 10 units over the included 10 cost $0.10, all paid by the credits.
    usage = prepaid.get("/api/v1/usage")
    assert usage.status_code == 200
    bill = usage.json()["estimated_bill"]
    assert bill["lines"][-1]["kind"] == "credits" and bill["lines"][-1]["amount"] == "-0.10"
    assert bill["total"] == "0.00"
    assert prepaid.get("/api/v1/billing/credits").status_code == 200


def test_the_refusal_is_counted_not_billed(prepaid):
    grant(prepaid.customer, "0.00")  # the included units only
    for _ in range(12):
        prepaid.get(PETS)
    usage = prepaid.get("/api/v1/usage").json()
    assert usage["units_used"] == 10
    row = {r["endpoint"]: r for r in usage["by_endpoint"]}["GET /api/v1/pets"]
    assert row["refused_quota"] == 2  # counted with the quota refusals
    summary = credits_summary(prepaid.customer)
    assert summary.allowance_units == 10 and summary.balance == Decimal("0.00")
    assert summary.runs_out_on is None  # no credits to run out


def test_credits_spent_run_out_today(prepaid):
    grant(prepaid.customer, "0.05")
    for _ in range(16):
        prepaid.get(PETS)
    summary = credits_summary(prepaid.customer)
    assert summary.balance == Decimal("0.00") and summary.used_this_period == Decimal("0.05")
    assert summary.runs_out_on is None  # exactly spent: no usage yet beyond what they paid
    # A plan that bills (not prepaid) serves past the credits: they ran out today.
    Plan.objects.filter(pk=prepaid.customer.plan_id).update(overage_policy="bill")
    rules.invalidate()  # what the commit's receiver does (on_commit does not run in db tests)
    assert prepaid.get(PETS).status_code == 200
    summary = credits_summary(prepaid.customer)
    assert summary.runs_out_on == timezone.now().date()


def test_a_stale_period_in_the_grant_is_reloaded(prepaid, redis_client):
    grant(prepaid.customer, "0.05")
    assert prepaid.get(PETS).status_code == 200
    key = store.grant_key(prepaid.customer.pk)
    assert redis_client.hget(key, "credq") == store.period_key(
        prepaid.customer.pk, current_period().id
    )
    assert redis_client.hget(key, "cred") == "15"
    # A grant loaded for another period (e.g. last month's) caps nothing: it is reloaded.
    redis_client.hset(
        key, mapping={"credq": store.period_key(prepaid.customer.pk, "200001"), "cred": "0"}
    )
    assert prepaid.get(PETS).status_code == 200
    assert redis_client.hget(key, "cred") == "15"


def test_plans_without_prepaid_ignore_credits(make_customer):
    customer, raw = make_customer("free")
    client = KeyClient(raw, customer)
    grant(customer, "5.00")
    assert client.get(PETS).status_code == 200
    assert store.client().hget(store.grant_key(customer.pk), "cred") is None


def test_a_plan_turned_prepaid_reaches_live_grants(make_customer, redis_client):
    customer, raw = make_customer("pro")
    client = KeyClient(raw, customer)
    assert client.get(PETS).status_code == 200
    assert redis_client.hget(store.grant_key(customer.pk), "cred") is None
    Plan.objects.filter(slug="pro").update(overage_policy="prepaid")
    rules.invalidate()  # what the commit's receiver does
    assert client.get(PETS).status_code == 200
    grant_fields = redis_client.hgetall(store.grant_key(customer.pk))
    # 50,000 included; $0.001 a unit rounds four more units into a zero charge.
    assert grant_fields["blk"] == "2" and grant_fields["cred"] == "50004"


def test_under_a_day_of_usage_gives_no_run_out_forecast(prepaid):
    """A customer who signed up today has no complete day to project: the summary says so
    (as the usage API's forecast does) rather than projecting an idle day before sign-up."""
    grant(prepaid.customer, "5.00")
    prepaid.get(PETS)
    summary = credits_summary(prepaid.customer)
    assert summary.daily_units is None and summary.runs_out_on is None
    assert summary.forecast_method.startswith("insufficient history")
    body = prepaid.get("/api/v1/billing/credits").json()
    assert body["daily_units"] is None and body["runs_out_on"] is None
