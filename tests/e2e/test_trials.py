"""Free trials and promotion codes in a real browser: "Start free trial" on the pricing page
leads to a trial without a card (docs/screenshots/trial.png), and the calculator prices a
promotion code live, line by line (docs/screenshots/promo.png); an unknown code says so."""

from __future__ import annotations

from decimal import Decimal

import pytest

from accounts import services as account_services
from billing.promotions import promotion_code_sync
from pricing.models import PromotionCode
from tests.e2e.test_portal import PASSWORD, expect, log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_start_a_free_trial_from_the_pricing_page(page, stripe_server, screenshot):
    account_services.customer_register(email="trial@example.com", password=PASSWORD)
    log_in(page, "trial@example.com")
    page.goto("/pricing/")
    start = page.get_by_test_id("start-trial-pro")
    expect()(start).to_have_text("Start free trial")
    expect()(page.get_by_text("14 days free, no card needed.")).to_be_visible()
    screenshot(page, "trial", full_page=False)

    start.click()
    page.wait_for_url("**/dashboard/billing/trial/pro/")
    expect()(
        page.get_by_text("No card needed: nothing is charged during the trial.")
    ).to_be_visible()
    page.get_by_role("button", name="Start free trial").click()
    page.wait_for_url("**/dashboard/billing/")
    expect()(page.get_by_text("Your Pro trial has started")).to_be_visible()
    expect()(page.get_by_test_id("subscription-status")).to_have_text("Trialing")
    expect()(page.get_by_test_id("trial-end")).to_contain_text("add a card before then")


def test_the_calculator_prices_a_promotion_code(page, stripe_server, screenshot):
    promotion_code_sync(
        PromotionCode.objects.create(
            code="SPRING20", percent_off=Decimal("20"), duration="repeating", duration_in_months=3
        )
    )
    page.goto("/pricing/")
    page.get_by_label("Calls per month", exact=True).fill("128000")
    total = page.get_by_test_id("quote-total")
    expect()(total).to_have_text("$127.00")
    page.get_by_label("Promotion code").fill("SPRING20")
    card = page.locator("#quote-card")
    expect()(card).to_contain_text("Promotion code SPRING20: 20% off for 3 months")
    expect()(card).to_contain_text("−$25.40")  # 20% of $49.00 and of $78.00
    expect()(total).to_have_text("$101.60")
    assert page.url.endswith("/pricing/?plan=pro&calls=128000&promotion_code=SPRING20")
    page.locator("#calculator").scroll_into_view_if_needed()
    screenshot(page, "promo")

    page.get_by_label("Promotion code").fill("NOPE")
    expect()(page.locator("[data-quote-error]")).to_have_text("There is no promotion code 'NOPE'.")
    # The browser logs the 400 answer as a console error: expected here.
    page.console_errors[:] = [e for e in page.console_errors if "400" not in e]
