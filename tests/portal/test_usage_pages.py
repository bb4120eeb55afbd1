"""The dashboard overview, the usage page, the live usage panel and the first-call status:
usage by day and endpoint (pygal SVG), refusals with their reasons, alert and payment
banners. A customer never sees another customer's usage."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from core.periods import current_period
from metering.grants import grants
from tests.conftest import KeyClient
from tests.factories import PaymentFailureFactory, UsageAlertFactory, UsageRecordFactory

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
    from tests.portal.conftest import web_client

    make_calls(pro_client, reads=2)
    html = body(web_client(pro_client.customer).get("/dashboard/"))
    assert 'data-testid="estimated-bill">$49.00<' in html
    assert "Base plan $49.00 (includes 50,000 calls)" in html
    assert "Included calls 2 of 50,000" in html


def test_a_customer_never_sees_another_customers_usage(owner, stranger, owner_web, stranger_web):
    make_calls(owner, reads=4)
    html = body(stranger_web.get("/dashboard/"))
    assert 'data-testid="units-used">0<' in html
    assert "Waiting for your first call" in html
    assert 'data-testid="units-used">0<' in body(stranger_web.get("/dashboard/usage/"))
    assert 'data-testid="units-used">0<' in body(stranger_web.get("/dashboard/usage/panel/"))
    assert stranger_web.get("/dashboard/first-call/").json()["received"] is False
    assert 'data-testid="units-used">4<' in body(owner_web.get("/dashboard/"))


def test_refusals_are_listed_with_their_cause(owner, owner_web):
    # Analytics is not in the Free plan: a 403, counted as refused, never billed.
    assert owner.get("/api/v1/analytics").status_code == 403
    assert owner.get("/api/v1/analytics").status_code == 403
    html = body(owner_web.get("/dashboard/"))
    assert "Recent refusals" in html
    assert "GET /api/v1/analytics" in html
    assert "403 feature_not_in_plan" in html and "Analytics endpoint" in html
    usage_html = body(owner_web.get("/dashboard/usage/"))
    assert "Refusals by day and endpoint" in usage_html
    assert "403 feature_not_in_plan" in usage_html


def test_each_refusal_shows_the_reason_the_client_got(owner, owner_web, plans):
    """Reasons are counted as they happen, not guessed: a revoked key, a missing feature and
    the rate limit each get their own row."""
    second = owner.post("/api/v1/keys", {"name": "second"}, format="json").json()
    owner.delete(f"/api/v1/keys/{second['id']}")
    grants.clear()  # on_commit (which replaces the token) does not run inside a db test
    assert KeyClient(second["api_key"]).get("/api/v1/pets").status_code == 401
    assert owner.get("/api/v1/analytics").status_code == 403
    html = body(owner_web.get("/dashboard/usage/"))
    assert "401 invalid_api_key: a revoked or expired key was used" in html
    assert "403 feature_not_in_plan" in html
    usage = owner.get("/api/v1/usage").json()
    pets = {row["endpoint"]: row for row in usage["by_endpoint"]}
    assert pets["GET /api/v1/pets"]["refused_key"] == 1
    assert pets["GET /api/v1/analytics"]["refused_feature"] == 1
    assert usage["refused"] == 2


def test_rate_limit_refusals_are_explained(owner, owner_web, plans):
    limit = plans["free"].rate_limit_per_minute
    statuses = [owner.get("/api/v1/pets").status_code for _ in range(limit + 2)]
    assert statuses.count(429) == 2
    html = body(owner_web.get("/dashboard/"))
    assert f"429 rate_limit_exceeded: more than {limit} requests in a minute" in html


def test_usage_page_tables_by_endpoint_and_day(owner, owner_web):
    period = current_period()
    day = period.start + timedelta(hours=5)
    if day > timezone.now():  # the first hours of a month: use now
        day = timezone.now().replace(minute=0, second=0, microsecond=0)
    UsageRecordFactory(customer=owner.customer, hour=day, calls=120)
    UsageRecordFactory(
        customer=owner.customer,
        endpoint="POST /api/v1/pets",
        hour=day,
        calls=30,
        units=60,
        errors=2,
        refused=3,
    )
    response = owner_web.get("/dashboard/usage/")
    assert response.status_code == 200
    html = body(response)
    assert "By endpoint" in html and "By day" in html
    assert ">120<" in html and ">60<" in html and ">180<" in html
    assert "<svg" in html


def test_usage_page_shows_a_past_month(owner, owner_web):
    customer = owner.customer
    previous = current_period().previous()
    customer.created_at = previous.start
    customer.save(update_fields=["created_at"])
    UsageRecordFactory(customer=customer, hour=previous.start + timedelta(days=3), calls=42)
    html = body(owner_web.get("/dashboard/usage/", {"month": previous.label}))
    assert f"Usage in {previous.start:%B %Y}" in html
    assert 'data-testid="units-used">42<' in html
    # The current month does not include it; a month outside the account's life is ignored.
    assert 'data-testid="units-used">0<' in body(owner_web.get("/dashboard/usage/"))
    html = body(owner_web.get("/dashboard/usage/", {"month": "1999-01"}))
    assert "Usage this period" in html
    assert owner_web.get("/dashboard/usage/", {"month": "garbage"}).status_code == 200


def test_usage_panel_partial(owner, owner_web):
    make_calls(owner, reads=2)
    response = owner_web.get("/dashboard/usage/panel/")
    assert response.status_code == 200
    html = body(response)
    assert html.lstrip().startswith("<section") and 'id="usage-panel"' in html
    assert 'data-testid="units-used">2<' in html
    assert "<html" not in html


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


def test_the_chart_is_cached_by_its_data(owner, owner_web):
    make_calls(owner, reads=1)
    first = body(owner_web.get("/dashboard/usage/panel/"))
    second = body(owner_web.get("/dashboard/usage/panel/"))
    chart_id = first.split('id="chart-')[1][:36]
    assert chart_id in second  # the same rendering, from the cache
    make_calls(owner, reads=1)
    third = body(owner_web.get("/dashboard/usage/panel/"))
    assert chart_id not in third  # new usage: a new chart


def test_dashboard_on_an_unlimited_custom_priced_plan(make_customer):
    from tests.portal.conftest import web_client

    customer, _ = make_customer("enterprise", "big@example.com")
    html = body(web_client(customer).get("/dashboard/"))
    assert "Unlimited plan: no quota" in html
    assert 'data-testid="estimated-bill">Custom<' in html
    assert "Custom pricing: contact sales for a quote" in html
    alerts = body(web_client(customer).get("/dashboard/alerts/"))
    assert "has no monthly quota" in alerts
