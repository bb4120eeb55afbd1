"""The usage page and the live usage panel: usage by day and endpoint (pygal SVG), refusals with
their reasons, past months. A customer never sees another customer's usage."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from core.periods import current_period
from tests.conftest import KeyClient
from tests.factories import UsageRecordFactory

pytestmark = pytest.mark.django_db


def body(response) -> str:
    return response.content.decode()


def make_calls(key_client, *, reads: int = 0, writes: int = 0) -> None:
    for _ in range(reads):
        assert key_client.get("/api/v1/pets").status_code == 200
    for n in range(writes):
        response = key_client.post("/api/v1/pets", {"name": f"pet{n}"}, format="json")
        assert response.status_code == 201


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


def test_each_refusal_shows_the_reason_the_client_got(
    owner, owner_web, plans, django_capture_on_commit_callbacks
):
    """Reasons are counted as they happen, not guessed: a revoked key, a missing feature and
    the rate limit each get their own row."""
    second = owner.post("/api/v1/keys", {"name": "second"}, format="json").json()
    with django_capture_on_commit_callbacks(execute=True):  # the commit replaces the token
        owner.delete(f"/api/v1/keys/{second['id']}")
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


def test_the_chart_is_cached_by_its_data(owner, owner_web):
    make_calls(owner, reads=1)
    first = body(owner_web.get("/dashboard/usage/panel/"))
    second = body(owner_web.get("/dashboard/usage/panel/"))
    chart_id = first.split('id="chart-')[1][:36]
    assert chart_id in second  # the same rendering, from the cache
    make_calls(owner, reads=1)
    third = body(owner_web.get("/dashboard/usage/panel/"))
    assert chart_id not in third  # new usage: a new chart
