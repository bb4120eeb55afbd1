"""Prepaid credits in chromium: a customer on a prepaid plan buys a pack on the billing page
through Stripe Checkout's hosted page (payment mode), comes back to the balance, the burn-down
chart with its forecast and the day the credits run out (docs/screenshots/credits.png with
PORTAL_SCREENSHOTS=1)."""

from __future__ import annotations

import os
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts import services as account_services
from accounts.models import Customer, Plan
from billing.credits import credits_period_start
from billing.models import CreditEntry
from core.periods import current_period
from metering.models import UsageRecord
from tests.e2e.conftest import SCREENSHOTS
from tests.e2e.test_portal import PASSWORD, expect, log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

DAILY_UNITS = 3_000  # at $0.002 past the 10,000 included: $6.00 a day once past them


def seed_history(customer: Customer) -> None:
    today = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)
    rows = []
    for n in range(1, 29):
        units = DAILY_UNITS + (n * 37) % 400 - 200
        rows.append(
            UsageRecord(
                customer=customer,
                endpoint="GET /api/v1/pets",
                hour=today - timedelta(days=n) + timedelta(hours=14),
                calls=units,
                units=units,
            )
        )
    UsageRecord.objects.bulk_create(rows)
    Customer.objects.filter(pk=customer.pk).update(first_call_at=today - timedelta(days=28))


def section_screenshot(page, name: str) -> None:
    """The credits section alone, saved like the suite's screenshots (PORTAL_SCREENSHOTS=1)."""
    if os.environ.get("PORTAL_SCREENSHOTS") != "1":
        return
    from PIL import Image

    path = SCREENSHOTS / f"{name}.png"
    page.add_style_tag(content=".site-header { position: static !important; }")
    page.locator("#credits").screenshot(path=str(path))
    with Image.open(path) as image:
        palette = image.convert("RGB").quantize(colors=256, dither=Image.Dither.NONE)
    palette.save(path, optimize=True)


def test_buy_credits_and_see_the_balance_burn_down(page, stripe_server):
    page.allow_host(stripe_server.url)
    plan = Plan.objects.create(
        slug="prepaid",
        name="Pay as you go",
        monthly_price=Decimal("0.00"),
        included_units=10_000,
        overage_policy="prepaid",
        monthly_credit=Decimal("5.00"),
        pricing={"model": "per_unit", "unit_price": "0.002"},
        rate_limit_per_minute=100,
        features=["images", "analytics"],
    )
    customer, _ = account_services.customer_register(
        email="credits@example.com", password=PASSWORD, plan=plan
    )
    seed_history(customer)
    CreditEntry.objects.create(  # bought earlier this month
        customer=customer,
        kind="purchase",
        amount=Decimal("20.00"),
        period=current_period().id,
        created_at=current_period().start,
    )
    assert credits_period_start() == {"monthly_credits": 1}  # the beat task's
    log_in(page, "credits@example.com")
    expect()(page.get_by_test_id("dashboard-credits")).to_contain_text("$25.00")
    expect()(page.get_by_test_id("dashboard-credits")).to_contain_text("they run out on")
    page.get_by_role("link", name="Plan & billing").click()
    expect()(page.get_by_test_id("credit-balance")).to_be_visible()

    page.get_by_test_id("buy-credits-50").click()
    page.wait_for_url(re.compile(re.escape(stripe_server.url) + "/c/pay/"))
    expect()(page.locator("#total")).to_contain_text("50.00 USD")
    page.fill("#cardnumber", "4242 4242 4242 4242")
    page.click("#submit")
    page.wait_for_url("**/dashboard/billing/")
    expect()(page.get_by_text("$50.00 of prepaid credits added")).to_be_visible()

    summary_balance = page.get_by_test_id("credit-balance")
    expect()(summary_balance).to_have_text(re.compile(r"^\$\d+\.\d\d$"))
    assert Decimal(summary_balance.inner_text().lstrip("$")) > Decimal("50")
    expect()(page.get_by_test_id("credit-allowance")).to_be_visible()
    expect()(page.get_by_test_id("credit-runs-out")).to_have_text(
        re.compile(r"^[A-Z][a-z]{2} \d{1,2}, \d{4}$")
    )
    chart = page.get_by_test_id("credit-burn-down")
    expect()(chart.locator("svg")).to_contain_text("Forecast")
    expect()(page.get_by_test_id("credit-entries")).to_contain_text("Credits bought")
    expect()(page.get_by_test_id("credit-entries")).to_contain_text("Plan's monthly credit")
    section_screenshot(page, "credits")
