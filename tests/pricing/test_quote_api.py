"""The public pricing calculator, GET /api/v1/pricing/quote, and the pricing presets."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from rest_framework.test import APIClient

from accounts.models import Plan

pytestmark = pytest.mark.django_db

URL = "/api/v1/pricing/quote"


@pytest.fixture
def client() -> APIClient:
    return APIClient()  # no API key: the calculator is public


def quote(client: APIClient, **params) -> dict:
    response = client.get(URL, params)
    assert response.status_code == 200, response.content
    return response.json()


def load(name: str) -> str:
    out = StringIO()
    call_command("load_pricing_preset", name, stdout=out)
    return out.getvalue()


# --- the examples ---------------------------------------------------------------------------


def test_pro_with_128k_calls(client):
    body = quote(client, plan="pro", calls=128_000)
    assert body["total"] == "127.00"
    assert body["plan"] == "pro"
    assert body["plan_name"] == "Pro"
    assert body["currency"] == "usd"
    assert body["custom"] is False
    assert [line["description"] for line in body["lines"]] == [
        "Base plan $49.00 (includes 50,000 calls)",
        "Included calls 50,000 of 50,000",
        "Additional calls 78,000 × $0.001 = $78.00",
    ]
    assert body["lines"][0] == {
        "description": "Base plan $49.00 (includes 50,000 calls)",
        "quantity": 1,
        "unit_price": "49.00",
        "amount": "49.00",
        "kind": "base",
    }
    assert body["lines"][2]["unit_price"] == "0.001"
    assert body["lines"][2]["amount"] == "78.00"


def test_graduated_with_1_5m_calls(client):
    load("graduated")
    body = quote(client, plan="metered", calls=1_500_000)
    assert body["total"] == "7000.00"
    assert [line["amount"] for line in body["lines"]] == ["1000.00", "4500.00", "1500.00"]
    assert {line["kind"] for line in body["lines"]} == {"tier"}


def test_the_calculator_is_public_and_unmetered(client):
    response = client.get(URL, {"plan": "pro", "calls": 1})
    assert response.status_code == 200
    assert "X-RateLimit-Limit" not in response


# --- every preset, hand-computed --------------------------------------------------------------


@pytest.mark.parametrize(
    ("preset", "params", "total", "capped"),
    [
        ("stack", {"plan": "free", "calls": 10_000}, "0.00", False),
        ("stack", {"plan": "free", "calls": 12_000}, "0.00", True),
        ("stack", {"plan": "pro", "calls": 128_000}, "127.00", False),
        ("stack", {"plan": "business", "calls": 600_000}, "299.00", False),
        ("stack", {"plan": "enterprise", "calls": 600_000}, None, False),
        ("freemium", {"plan": "free", "calls": 1_000}, "0.00", False),
        ("freemium", {"plan": "free", "calls": 1_001}, "0.00", True),
        ("freemium", {"plan": "pro", "calls": 50_000}, "49.00", False),
        ("freemium", {"plan": "pro", "calls": 50_001}, "49.00", True),
        ("freemium", {"plan": "enterprise", "calls": 999_999}, "499.00", False),
        # 150,000 reads at 20% off (0.004) = 600 + 10,000 writes × 0.02 = 200 + 1,000 × 0.10
        (
            "pay-per-call",
            {"plan": "payg", "read": 150_000, "write": 10_000, "image": 1_000},
            "900.00",
            False,
        ),
        ("pay-per-call", {"plan": "payg", "calls": 2_000_000}, "12000.00", False),  # 40% off
        ("pay-per-call", {"plan": "payg", "calls": 50, "read": 100}, "1.00", False),
        ("graduated", {"plan": "metered", "calls": 100_001}, "1000.01", False),
        ("graduated", {"plan": "metered", "calls": 1_500_000}, "7000.00", False),
        ("tiered", {"plan": "starter", "calls": 9_000}, "29.00", False),
        ("tiered", {"plan": "growth", "calls": 100_000}, "99.00", False),
        ("tiered", {"plan": "growth", "calls": 100_001}, "99.00", True),
        ("tiered", {"plan": "enterprise", "calls": 10**9}, None, False),
        ("hybrid", {"plan": "hybrid", "calls": 25_000}, "124.00", False),
        ("hybrid", {"plan": "hybrid", "calls": 10_001}, "49.01", False),  # 0.005 → 0.01
    ],
)
def test_every_preset_quotes_as_hand_computed(client, preset, params, total, capped):
    load(preset)
    body = quote(client, **params)
    assert body["total"] == total
    assert body["capped"] is capped
    assert body["custom"] is (total is None)
    if total is not None:
        assert sum(float(line["amount"]) for line in body["lines"]) == pytest.approx(float(total))


def test_class_counts_on_a_unit_priced_plan_count_at_their_weight(client):
    # 10,000 image calls weigh 10 units each: 100,000 units on Pro = 49 + 50,000 × 0.001.
    body = quote(client, plan="pro", image=10_000)
    assert body["total"] == "99.00"


def test_payg_lines_are_one_per_class(client):
    load("pay-per-call")
    body = quote(client, plan="payg", read=200_000, write=10)
    assert [(line["quantity"], line["unit_price"], line["amount"]) for line in body["lines"]] == [
        (200_000, "0.004", "800.00"),
        (10, "0.02", "0.20"),
    ]
    assert body["total"] == "800.20"


def test_custom_plan_says_contact_sales(client):
    body = quote(client, plan="enterprise", calls=1)
    assert body["custom"] is True
    assert body["total"] is None
    assert body["lines"][0]["amount"] is None
    assert "contact sales" in body["lines"][0]["description"]


# --- the suggestion -------------------------------------------------------------------------


def test_a_capped_plan_suggests_the_cheapest_plan_that_serves_the_usage(client):
    body = quote(client, plan="free", calls=12_000)
    assert body["suggestion"] == {"plan": "pro", "plan_name": "Pro", "total": "49.00"}


def test_a_dearer_plan_suggests_the_cheaper_one(client):
    body = quote(client, plan="pro", calls=600_000)  # Pro 599.00, Business 299.00
    assert body["suggestion"] == {"plan": "business", "plan_name": "Business", "total": "299.00"}


def test_no_suggestion_when_the_plan_is_already_the_cheapest(client):
    assert quote(client, plan="free", calls=500)["suggestion"] is None


def test_a_custom_plan_suggests_a_self_serve_one(client):
    assert quote(client, plan="enterprise", calls=5_000)["suggestion"]["plan"] == "free"


def test_inactive_plans_are_never_suggested(client):
    load("hybrid")  # pro and business inactive; free and hybrid on offer
    body = quote(client, plan="free", calls=25_000)
    assert body["suggestion"] == {"plan": "hybrid", "plan_name": "Hybrid", "total": "124.00"}


# --- errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"plan": "pro", "calls": "-1"}, "calls"),
        ({"plan": "pro", "calls": "1.5"}, "calls"),
        ({"plan": "pro", "calls": "abc"}, "calls"),
        ({"plan": "pro", "calls": ""}, "calls"),
        ({"plan": "pro", "calls": "1e3"}, "calls"),
        ({"plan": "pro", "calls": "10000000001"}, "calls"),
        ({"plan": "pro", "calls": "99999999999999999999"}, "calls"),
        ({"plan": "pro", "read": "-5"}, "read"),
        ({"plan": "pro", "calls": "1", "image": "x"}, "image"),
        ({"calls": "1"}, "plan"),
    ],
)
def test_bad_parameters_are_400_invalid_parameter(client, params, param):
    response = client.get(URL, params)
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "invalid_parameter"
    assert body["param"] == param
    assert body["message"]


def test_a_plan_alone_is_quoted_for_a_month_without_calls(client):
    # The schema cannot say "at least one count": no count means no usage.
    body = quote(client, plan="pro")
    assert body["total"] == "49.00"
    assert quote(client, plan="pro", calls="0000000000001")["total"] == "49.00"


def test_the_largest_allowed_count_is_accepted(client):
    # 49 + (10,000,000,000 - 50,000) × 0.001 = 49 + 9,999,950
    assert quote(client, plan="pro", calls=10_000_000_000)["total"] == "9999999.00"


def test_unknown_plan_is_404_plan_not_found(client):
    response = client.get(URL, {"plan": "platinum", "calls": 1})
    assert response.status_code == 404
    assert response.json()["error"] == "plan_not_found"
    assert response.json()["message"]


def test_inactive_plan_is_404(client):
    load("tiered")
    response = client.get(URL, {"plan": "pro", "calls": 1})
    assert response.status_code == 404
    assert response.json()["error"] == "plan_not_found"


# --- loading presets ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["stack", "freemium", "pay-per-call", "graduated", "tiered", "hybrid"]
)
def test_loading_a_preset_twice_changes_nothing_the_second_time(name):
    load(name)
    before = list(Plan.objects.order_by("slug").values())
    second = load(name)
    assert list(Plan.objects.order_by("slug").values()) == before
    assert "created: -" in second
    assert "updated: -" in second
    assert "deactivated: -" in second


def test_a_preset_deactivates_other_plans_but_keeps_free_and_deletes_nothing():
    count = Plan.objects.count()
    output = load("pay-per-call")
    assert "created: payg" in output
    assert "deactivated: pro, business, enterprise" in output
    active = set(Plan.objects.filter(is_active=True).values_list("slug", flat=True))
    assert active == {"free", "payg"}
    assert Plan.objects.count() == count + 1
    free = Plan.objects.get(slug="free")
    assert free.included_units == 10_000  # pay-per-call defines no Free: left as it was


def test_a_preset_with_its_own_free_overwrites_it_and_switching_back_restores():
    load("freemium")
    free = Plan.objects.get(slug="free")
    assert (free.included_units, free.rate_limit_per_minute) == (1_000, 10)
    assert Plan.objects.get(slug="enterprise").monthly_price == 499
    assert not Plan.objects.get(slug="business").is_active
    output = load("stack")
    assert "updated: free, pro, business, enterprise" in output
    assert Plan.objects.get(slug="free").included_units == 10_000
    assert Plan.objects.get(slug="business").is_active
    assert Plan.objects.get(slug="enterprise").monthly_price is None
    assert set(Plan.objects.filter(is_active=True).values_list("slug", flat=True)) == {
        "free",
        "pro",
        "business",
        "enterprise",
    }


def test_the_free_plan_is_reactivated_if_someone_deactivated_it():
    Plan.objects.filter(slug="free").update(is_active=False)
    load("hybrid")
    assert Plan.objects.get(slug="free").is_active


def test_customers_keep_a_deactivated_plan(make_customer):
    customer, _ = make_customer("pro")
    load("tiered")
    customer.refresh_from_db()
    assert customer.plan.slug == "pro"
    assert customer.plan.is_active is False


def test_unknown_preset_is_refused():
    with pytest.raises(CommandError):
        call_command("load_pricing_preset", "cheap", stdout=StringIO())


def test_the_quote_endpoint_is_in_the_openapi_schema(client):
    response = client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    operation = response.json()["paths"]["/api/v1/pricing/quote"]["get"]
    assert {p["name"] for p in operation["parameters"]} == {
        "plan",
        "calls",
        "read",
        "write",
        "image",
        "credits",
        "promotion_code",
    }


def test_a_credit_balance_adds_a_credits_line_paying_usage_only(client):
    # Pro: $49 + 80,000 calls (30,000 over the included 50,000 at $0.001): $30.00 of usage.
    quote = client.get("/api/v1/pricing/quote", {"plan": "pro", "calls": 80_000, "credits": "50"})
    body = quote.json()
    assert quote.status_code == 200 and body["total"] == "49.00"
    assert body["lines"][-1]["kind"] == "credits" and body["lines"][-1]["amount"] == "-30.00"
    assert "balance left $20.00" in body["lines"][-1]["description"]
    some = client.get("/api/v1/pricing/quote", {"plan": "pro", "calls": 80_000, "credits": "12.5"})
    assert some.json()["total"] == "66.50"
    bad = client.get("/api/v1/pricing/quote", {"plan": "pro", "credits": "-3"})
    assert bad.status_code == 400 and bad.json()["param"] == "credits"
