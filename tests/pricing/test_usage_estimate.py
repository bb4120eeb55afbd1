"""The usage API's estimated_bill: the customer's plan quoted by the engine for the period."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal as D
from io import StringIO

import pytest
from django.core.management import call_command

from accounts import services as account_services
from accounts.models import Plan
from metering.selectors import UsageBreakdown
from pricing.engine import Usage, quote_for_plan
from pricing.selectors import calls_by_class, usage_estimate

pytestmark = pytest.mark.django_db


def make_calls(client, *, reads: int, writes: int) -> None:
    for i in range(writes):
        response = client.post("/api/v1/pets", {"name": f"Rex {i}"}, format="json")
        assert response.status_code == 201, response.content
    for _ in range(reads):
        assert client.get("/api/v1/pets").status_code == 200


def estimated_bill(client) -> dict:
    response = client.get("/api/v1/usage")
    assert response.status_code == 200, response.content
    return response.json()


def test_the_estimate_is_the_engines_quote_for_the_usage(pro_client):
    make_calls(pro_client, reads=3, writes=2)  # 3 × 1 + 2 × 2 units
    body = estimated_bill(pro_client)
    assert body["units_used"] == 7
    estimate = body["estimated_bill"]
    plan = Plan.objects.get(slug="pro")
    expected = quote_for_plan(plan, Usage(7, {"read": 3, "write": 2})).to_dict()
    assert estimate == {**expected, "suggestion": None}
    assert estimate["total"] == "49.00"
    assert estimate["plan"] == "pro"
    assert [line["kind"] for line in estimate["lines"]] == ["base", "included", "usage"]
    assert estimate["lines"][1]["quantity"] == 7


def test_the_estimate_prices_a_class_priced_plan_per_class(pro_client):
    call_command("load_pricing_preset", "pay-per-call", stdout=StringIO())
    account_services.customer_change_plan(
        customer=pro_client.customer, plan=Plan.objects.get(slug="payg"), reason="test"
    )
    make_calls(pro_client, reads=3, writes=2)
    estimate = estimated_bill(pro_client)["estimated_bill"]
    # 3 reads × 0.005 = 0.015 → 0.02, 2 writes × 0.02 = 0.04; GET /api/v1/usage is free.
    assert [(line["description"], line["amount"]) for line in estimate["lines"]] == [
        ("Read calls 3 × $0.005 = $0.02", "0.02"),
        ("Write calls 2 × $0.02 = $0.04", "0.04"),
    ]
    assert estimate["total"] == "0.06"


def breakdown(**calls_by_endpoint: tuple[str, int, int]) -> UsageBreakdown:
    usage = UsageBreakdown(datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC))
    for label, calls, units in calls_by_endpoint.values():
        usage.add(label, datetime(2026, 1, 2, tzinfo=UTC).date(), "calls", calls)
        usage.add(label, datetime(2026, 1, 2, tzinfo=UTC).date(), "units", units)
    return usage


def test_calls_map_to_classes_through_the_endpoint_table():
    usage = breakdown(
        a=("GET /api/v1/pets/{pk}", 5, 5),
        b=("PATCH /api/v1/pets/{pk}", 2, 4),
        c=("POST /api/v1/pets/{pk}/image", 1, 10),
        d=("GET /api/v1/legacy", 4, 4),  # not in the table: "default"
        e=("GET /api/v1/keys", 9, 0),  # weight 0: free, not billed per call
    )
    assert calls_by_class(usage) == {"read": 5, "write": 2, "image": 1, "default": 4}


def test_estimate_for_a_custom_plan_has_no_total(make_customer):
    customer, _ = make_customer("enterprise")
    estimate = usage_estimate(customer, breakdown(a=("GET /api/v1/pets", 10, 10)))
    assert estimate["custom"] is True
    assert estimate["total"] is None


def test_a_plan_with_broken_pricing_gives_no_estimate_instead_of_failing(make_customer, caplog):
    customer, _ = make_customer("pro")
    Plan.objects.filter(slug="pro").update(pricing={"model": "per_unit", "unit_price": 0.001})
    customer.refresh_from_db()
    assert usage_estimate(customer, breakdown(a=("GET /api/v1/pets", 1, 1))) is None
    assert "invalid pricing definition" in caplog.text


def test_estimate_over_the_included_units(make_customer):
    customer, _ = make_customer("pro")
    estimate = usage_estimate(customer, breakdown(a=("GET /api/v1/pets", 128_000, 128_000)))
    assert estimate["total"] == "127.00"
    assert D(estimate["total"]) == sum(D(line["amount"]) for line in estimate["lines"])
