"""The pricing page: every plan from the catalogue, the calculator's no-JavaScript fallback and
every pricing preset."""

from __future__ import annotations

from io import StringIO

import pytest

from accounts.models import Plan

pytestmark = pytest.mark.django_db


def text(response) -> str:
    return response.content.decode()


def test_pricing_shows_every_plan_from_the_catalogue(client, plans):
    body = text(client.get("/pricing/"))
    for plan in plans.values():
        assert plan.name in body
        assert plan.description in body
    assert "$49" in body and "50,000 calls a month included" in body
    assert "Then $0.001 per call" in body
    assert "Custom" in body and "Contact sales" in body  # Enterprise: no public price
    assert "kozea.github.io" not in body  # pygal's CDN tooltips are not used
    assert "<svg" in body  # the cost curve, rendered server-side


def test_pricing_follows_the_plan_rows(client, plans):
    Plan.objects.filter(slug="pro").update(monthly_price="59.00", included_units=60_000)
    body = text(client.get("/pricing/"))
    assert "$59" in body and "60,000 calls a month included" in body
    assert "50,000 calls a month included" not in body.replace("500,000", "")


def test_calculator_fallback_prices_128k_calls_on_pro(client):
    response = client.get("/pricing/", {"plan": "pro", "calls": "128000"})
    assert response.status_code == 200
    body = text(response)
    assert 'data-testid="quote-total">$127.00<' in body
    assert "Base plan $49.00 (includes 50,000 calls)" in body
    assert "Additional calls 78,000 × $0.001 = $78.00" in body
    assert "Pro is the cheapest plan for 128,000 calls a month." in body


def test_calculator_fallback_suggests_a_cheaper_plan(client):
    body = text(client.get("/pricing/", {"plan": "business", "calls": "20000"}))
    assert "Cheaper for 20,000 calls: Pro at $49.00 a month." in body


def test_calculator_fallback_on_a_capped_plan(client):
    body = text(client.get("/pricing/", {"plan": "free", "calls": "128000"}))
    assert "118,000 refused" in body
    assert "Cheaper for 128,000 calls: Pro" in body


def test_calculator_fallback_refuses_bad_input_without_an_error_page(client):
    response = client.get("/pricing/", {"plan": "pro", "calls": "-5"})
    assert response.status_code == 200
    assert "Check the values" in text(response)
    response = client.get("/pricing/", {"plan": "nope", "calls": "10"})
    assert response.status_code == 200


def test_calculator_form_uses_the_public_quote_endpoint(client):
    body = text(client.get("/pricing/"))
    assert 'data-quote-url="/api/v1/pricing/quote"' in body
    assert 'type="range"' in body


@pytest.mark.parametrize(
    "preset", ["stack", "freemium", "pay-per-call", "graduated", "tiered", "hybrid"]
)
def test_pricing_page_renders_every_pricing_preset(client, preset):
    from django.core.management import call_command

    call_command("load_pricing_preset", preset, stdout=StringIO())
    response = client.get("/pricing/")
    assert response.status_code == 200
    body = text(response)
    for plan in Plan.objects.filter(is_active=True):
        assert plan.name in body
    if preset == "graduated":
        assert "Then per call, by tier:" in body
    if preset == "pay-per-call":
        assert "Read calls: $" in body
    # The calculator's fallback works for every plan of the preset.
    for plan in Plan.objects.filter(is_active=True):
        assert client.get("/pricing/", {"plan": plan.slug, "calls": "25000"}).status_code == 200


def test_a_plan_with_broken_pricing_does_not_break_the_page(client):
    Plan.objects.filter(slug="business").update(pricing={"model": "per_unit", "unit_price": 0.1})
    response = client.get("/pricing/")
    assert response.status_code == 200
    assert "Pricing being updated" in text(response)
    assert client.get("/pricing/", {"plan": "business", "calls": "10"}).status_code == 200
