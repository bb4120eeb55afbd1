"""A key's own monthly caps in chromium: set on the keys page, enforced on the API (429
key_cap_exceeded for that key only), shown with each key's usage this month."""

from __future__ import annotations

import requests

from accounts import services as account_services
from accounts.models import ApiKey, Plan
from tests.e2e.test_portal import PASSWORD, expect, log_in


def test_cap_a_key_on_the_keys_page(page, live_server, transactional_db, screenshot):
    customer, raw = account_services.customer_register(
        email="caps@example.com", password=PASSWORD, plan=Plan.objects.get(slug="pro")
    )
    _, other_raw = account_services.api_key_create(customer=customer, name="ci")
    key = ApiKey.objects.get(customer=customer, name="default")
    log_in(page, "caps@example.com")
    page.get_by_role("link", name="API keys").click()
    row = page.locator(f'[data-key-id="{key.pk}"]')
    expect()(row.get_by_test_id("key-cap")).to_contain_text("None")
    row.get_by_role("link", name="Cap default").click()
    page.get_by_label("Monthly unit cap").fill("3")
    page.get_by_label("Monthly spend cap (USD)").fill("")
    page.get_by_role("button", name="Save caps").click()
    expect()(page.get_by_text("is capped at 3 units a month")).to_be_visible()

    pets = f"{live_server.url}/api/v1/pets"
    statuses = [requests.get(pets, headers={"X-API-Key": raw}, timeout=10) for _ in range(4)]
    assert [r.status_code for r in statuses] == [200, 200, 200, 429]
    assert statuses[-1].json()["error"] == "key_cap_exceeded"
    assert requests.get(pets, headers={"X-API-Key": other_raw}, timeout=10).status_code == 200

    page.reload()
    row = page.locator(f'[data-key-id="{key.pk}"]')
    expect()(row.get_by_test_id("key-units")).to_contain_text("3 units")
    expect()(row.get_by_test_id("key-cap")).to_contain_text("Cap reached")
    expect()(row.get_by_test_id("key-cap")).to_contain_text("3 units")
    other = page.locator("[data-key-id]").filter(has_text="ci")
    expect()(other.get_by_test_id("key-units")).to_contain_text("1 unit")
    screenshot(page, "keys-caps")

    # A spend cap too: the lower of the two applies ($0.01 is 14 units at $0.001, as billed).
    row.get_by_role("link", name="Cap default").click()
    page.get_by_label("Monthly unit cap").fill("")
    page.get_by_label("Monthly spend cap (USD)").fill("0.01")
    page.get_by_role("button", name="Save caps").click()
    expect()(page.get_by_text("is capped at 14 units a month")).to_be_visible()
    assert requests.get(pets, headers={"X-API-Key": raw}, timeout=10).status_code == 200
    key.refresh_from_db()
    assert key.monthly_unit_cap is None and str(key.monthly_spend_cap) == "0.01"


def test_a_hard_capped_plan_offers_no_spend_cap(page, transactional_db):
    account_services.customer_register(email="free-caps@example.com", password=PASSWORD)
    log_in(page, "free-caps@example.com")
    page.get_by_role("link", name="API keys").click()
    page.get_by_role("link", name="Cap default").click()
    expect()(page.get_by_label("Monthly spend cap (USD)")).to_have_count(0)
    expect()(page.get_by_text("A spend cap needs a plan that bills overage")).to_be_visible()
    page.get_by_label("Monthly unit cap").fill("0")
    page.get_by_role("button", name="Save caps").click()
    expect()(page.get_by_text("greater than or equal to 1")).to_be_visible()
    expected = "status of 400 (Bad Request)"  # the form answered 400, as it should
    page.console_errors[:] = [e for e in page.console_errors if not e.endswith(expected)]
    page.get_by_label("Monthly unit cap").fill("5000")
    page.get_by_role("button", name="Save caps").click()
    expect()(page.get_by_text("is capped at 5,000 units a month")).to_be_visible()
