"""Landing, pricing (with the calculator's no-JavaScript fallback), quick start, error pages."""

from __future__ import annotations

import re
from io import StringIO

import pytest

from accounts.models import Plan

pytestmark = pytest.mark.django_db


def text(response) -> str:
    return response.content.decode()


def test_landing_explains_the_api_the_free_tier_and_the_quick_start(client, plans):
    response = client.get("/")
    assert response.status_code == 200
    body = text(response)
    assert "Pet Store API" in body
    # The free tier comes from the Plan row, not from the template.
    assert f"{plans['free'].included_units:,} calls a month" in body
    for step in ("Register", "Make your first call", "Create a pet"):
        assert step in body
    assert 'href="/pricing/"' in body and 'href="/docs/quickstart/"' in body
    assert 'href="/signup/"' in body
    # The commands use the host the page was reached on.
    assert "http://testserver/api/v1/pets" in body


def test_assets_are_local_never_from_a_cdn(client):
    body = text(client.get("/"))
    assert "/static/portal/portal.css" in body and "/static/portal/portal.js" in body
    assert not re.search(r"""(src|href)=["']https?://""", body)


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


def test_quickstart_uses_the_real_host(client):
    response = client.get("/docs/quickstart/", HTTP_HOST="localhost")
    assert response.status_code == 200
    body = text(response)
    assert "export PETSTORE_BASE_URL=http://localhost" in body
    assert "$PETSTORE_BASE_URL/api/v1/auth/register" in body
    # the same flow with curl and each SDK (tests/sdks/test_quickstart.py runs them)
    assert "from petstore_sdk import PetStore" in body
    assert "require(&#x27;@petstore/sdk&#x27;)" in body
    assert "github.com/petstore/petstore-go" in body
    assert "/api/v1/pets" in body and "Buddy" in body
    assert 'href="/api/docs/"' in body


def test_api_reference_is_still_served(client):
    assert client.get("/api/docs/").status_code == 200


def test_not_found_is_html_for_pages_and_json_for_the_api(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert "Page not found" in text(response)
    response = client.get("/api/v1/no-such-route")
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


def test_server_error_handler_renders(rf):
    from petstore.views import server_error

    response = server_error(rf.get("/dashboard/"))
    assert response.status_code == 500
    assert "Something went wrong" in response.content.decode()
    assert server_error(rf.get("/api/v1/pets")).status_code == 500


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
