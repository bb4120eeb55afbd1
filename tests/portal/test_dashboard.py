"""The dashboard's home page: the first call, the period's usage and estimated bill, the plan,
and the alert and payment-failure banners (each customer sees only its own)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.factories import PaymentFailureFactory, UsageAlertFactory

pytestmark = pytest.mark.django_db


def body(response) -> str:
    return response.content.decode()


def make_calls(key_client, *, reads: int = 0, writes: int = 0) -> None:
    for _ in range(reads):
        assert key_client.get("/api/v1/pets").status_code == 200
    for n in range(writes):
        response = key_client.post("/api/v1/pets", {"name": f"pet{n}"}, format="json")
        assert response.status_code == 201


def test_dashboard_before_any_call_polls_for_the_first_one(owner, owner_web):
    response = owner_web.get("/dashboard/")
    assert response.status_code == 200
    html = body(response)
    assert "Waiting for your first call" in html
    assert 'data-first-call-url="/dashboard/first-call/"' in html
    assert "No billable calls yet this period" in html
    assert "0% of 10,000 included" in html
    assert owner_web.get("/dashboard/first-call/").json() == {
        "received": False,
        "first_call_at": None,
    }


def test_first_call_is_noticed(owner, owner_web):
    make_calls(owner, reads=1)
    status = owner_web.get("/dashboard/first-call/").json()
    assert status["received"] is True and status["first_call_at"]
    html = body(owner_web.get("/dashboard/"))
    assert "First call received" in html
    assert "Waiting for your first call" not in html


def test_dashboard_shows_usage_chart_estimate_and_plan(owner, owner_web):
    make_calls(owner, reads=3, writes=2)  # 3 × 1 + 2 × 2 = 7 units
    html = body(owner_web.get("/dashboard/"))
    assert 'data-testid="units-used">7<' in html
    assert "0.07% of 10,000 included" in html
    assert "<svg" in html and "pygal-chart" in html
    assert "GET /api/v1/pets" in html and "POST /api/v1/pets" in html
    assert "kozea.github.io" not in html
    assert 'data-testid="estimated-bill">$0.00<' in html
    assert "Free plan" in html


def test_estimated_bill_on_a_paid_plan(pro_client, make_customer):
    from tests.conftest import web_client

    make_calls(pro_client, reads=2)
    html = body(web_client(pro_client.customer).get("/dashboard/"))
    assert 'data-testid="estimated-bill">$49.00<' in html
    assert "Base plan $49.00 (includes 50,000 calls)" in html
    assert "Included calls 2 of 50,000" in html


def test_usage_alert_banner(owner, owner_web):
    UsageAlertFactory(customer=owner.customer, units_used=8_100)
    html = body(owner_web.get("/dashboard/"))
    assert "You have passed 80% of your included usage" in html
    assert "8,100 of 10,000 units" in html


def test_payment_failure_banner(owner, owner_web):
    PaymentFailureFactory(
        customer=owner.customer, amount_due=12_700, grace_ends_at=datetime(2030, 1, 15, tzinfo=UTC)
    )
    html = body(owner_web.get("/dashboard/"))
    assert "Your last payment failed" in html
    assert "$127.00" in html and "January 15, 2030" in html
    html = body(owner_web.get("/dashboard/usage/"))
    assert "Your last payment failed" not in html  # the overview and billing pages show it


def test_another_customers_banners_are_not_shown(owner, stranger, owner_web):
    PaymentFailureFactory(customer=stranger.customer, amount_due=100)
    UsageAlertFactory(customer=stranger.customer, threshold=100)
    html = body(owner_web.get("/dashboard/"))
    assert "Your last payment failed" not in html
    assert "You have passed" not in html


def test_dashboard_on_an_unlimited_custom_priced_plan(make_customer):
    from tests.conftest import web_client

    customer, _ = make_customer("enterprise", "big@example.com")
    html = body(web_client(customer).get("/dashboard/"))
    assert "Unlimited plan: no quota" in html
    assert 'data-testid="estimated-bill">Custom<' in html
    assert "Custom pricing: contact sales for a quote" in html
    alerts = body(web_client(customer).get("/dashboard/alerts/"))
    assert "has no monthly quota" in alerts
