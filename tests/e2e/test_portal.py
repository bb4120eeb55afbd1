"""The portal in a real browser: sign up, copy the key, call the API with it, watch the
dashboard notice the first call and the usage; keys; billing; the pricing calculator."""

from __future__ import annotations

import random
import re
from datetime import timedelta

import pytest
import requests
from django.utils import timezone

from accounts import services as account_services
from accounts.models import ApiKey, Customer
from core.periods import current_period
from metering.models import UsageRecord
from metering.selectors import customer_usage
from tests.factories import UsageAlertFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct-Horse-battery-9"


def expect():
    from playwright.sync_api import expect

    return expect


def log_in(page, email: str) -> None:
    page.goto("/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/dashboard/")


def seed_month_of_usage(customer: Customer) -> None:
    """Ledger rows for the days of this month before today, so the chart has a history."""
    rng = random.Random(7)
    period = current_period()
    today = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)
    day = period.start
    rows = []
    while day < today:
        for endpoint, weight, low, high in (
            ("GET /api/v1/pets", 1, 150, 270),
            ("GET /api/v1/pets/{pk}", 1, 50, 110),
            ("POST /api/v1/pets", 2, 12, 36),
            ("PATCH /api/v1/pets/{pk}", 2, 3, 14),
        ):
            calls = rng.randint(low, high)
            rows.append(
                UsageRecord(
                    customer=customer,
                    endpoint=endpoint,
                    hour=day + timedelta(hours=rng.randint(8, 20)),
                    calls=calls,
                    units=calls * weight,
                    errors=rng.randint(0, 2),
                )
            )
        if day.day % 6 == 0:
            rows.append(
                UsageRecord(
                    customer=customer,
                    endpoint="GET /api/v1/analytics",
                    hour=day + timedelta(hours=14),
                    refused=rng.randint(1, 4),
                )
            )
        day += timedelta(days=1)
    UsageRecord.objects.bulk_create(rows)


def test_signup_copy_key_first_call_and_usage(page, live_server, screenshot):
    page.goto("/")
    expect()(page.get_by_role("heading", level=1)).to_contain_text("Pet Store API")
    screenshot(page, "landing")

    page.get_by_role("link", name="Get your free API key").click()
    page.wait_for_url("**/signup/")
    page.get_by_label("Email").fill("browser@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    screenshot(page, "signup")
    page.get_by_role("button", name="Create account and get my key").click()
    page.wait_for_url("**/dashboard/")

    # The key, shown once, and the copy button.
    raw = page.get_by_test_id("new-api-key").inner_text().strip()
    assert re.fullmatch(r"ps_(live|test)_[0-9A-Za-z]{32}(_[0-9A-Za-z]{1,11})?[0-9A-Za-z]{6}", raw)
    page.get_by_role("button", name="Copy key").click()
    expect()(page.get_by_role("button", name="Copied!")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == raw
    command = page.locator("#first-call-command").inner_text()
    assert command == f'curl {live_server.url}/api/v1/pets -H "X-API-Key: {raw}"'
    expect()(page.get_by_text("Waiting for your first call")).to_be_visible()
    expect()(page.get_by_test_id("units-used")).to_have_text("0")

    # Call the API with the copied key, from outside the browser.
    headers = {"X-API-Key": raw}
    assert requests.get(f"{live_server.url}/api/v1/pets", headers=headers, timeout=10).ok
    created = requests.post(
        f"{live_server.url}/api/v1/pets", json={"name": "Rex"}, headers=headers, timeout=10
    )
    assert created.status_code == 201
    assert requests.get(f"{live_server.url}/api/v1/pets", headers=headers, timeout=10).ok

    # The dashboard notices without a reload, and the usage panel moves.
    expect()(page.get_by_text("First call received")).to_be_visible()
    expect()(page.get_by_test_id("units-used")).not_to_have_text("0")
    page.reload()
    expect()(page.get_by_test_id("units-used")).to_have_text("4")  # 1 + 2 + 1 units
    assert page.locator("#usage-panel svg.pygal-chart").count() == 1
    assert raw not in page.content()  # shown once only

    customer = Customer.objects.get(email="browser@example.com")
    seed_month_of_usage(customer)
    period = current_period()
    used = customer_usage(customer_id=customer.pk, start=period.start, end=period.end).total.units
    included = customer.plan.included_units
    if used * 100 >= included * 80:  # what the alert task would have recorded
        UsageAlertFactory(
            customer=customer, period=period.id, units_used=used, included_units=included
        )
    page.reload()
    expect()(page.locator("#usage-panel svg.pygal-chart")).to_be_visible()
    screenshot(page, "dashboard")
    page.get_by_role("link", name="Usage", exact=True).click()
    expect()(page.get_by_role("heading", name="By endpoint")).to_be_visible()
    screenshot(page, "usage")


def test_create_and_revoke_a_key(page, db, screenshot):
    customer, _ = account_services.customer_register(email="keys@example.com", password=PASSWORD)
    log_in(page, "keys@example.com")
    page.get_by_role("link", name="API keys").click()
    page.get_by_label("Key name").fill("ci")
    page.get_by_role("button", name="Create key").click()
    raw = page.get_by_test_id("new-api-key").inner_text().strip()
    assert ApiKey.objects.get(customer=customer, name="ci").matches(raw)
    expect()(page.get_by_test_id("key-count")).to_have_text("2 of 2 active keys")
    screenshot(page, "keys")

    row = page.locator("tr", has_text="ci")
    row.get_by_role("link", name="Revoke").click()
    expect()(page.get_by_role("heading", name="Revoke “ci”?")).to_be_visible()
    page.get_by_role("button", name="Revoke key").click()
    expect()(page.get_by_text("calls with it are refused now")).to_be_visible()
    expect()(page.locator("tr", has_text="ci").get_by_text("Revoked")).to_be_visible()
    assert ApiKey.objects.get(customer=customer, name="ci").revoked_at is not None


def test_pricing_calculator(page, live_server, screenshot):
    page.goto("/pricing/")
    calls = page.get_by_label("Calls per month", exact=True)
    total = page.get_by_test_id("quote-total")
    expect()(total).to_have_text("$99.00")  # the server-rendered default: 100,000 on Pro

    # The slider: small volumes are reachable, and the end is 10M.
    slider = page.locator("#calls-slider")
    slider.focus()
    page.keyboard.press("Home")
    expect()(calls).to_have_value("0")
    page.keyboard.press("ArrowRight")
    assert 0 < int(calls.input_value()) < 20
    page.keyboard.press("End")
    expect()(calls).to_have_value("10000000")
    expect()(total).to_have_text("$9,999.00")  # $49 + 9,950,000 × $0.001

    calls.fill("128000")
    page.locator(".segmented label", has_text="Pro").click()  # not "Promotion code"
    expect()(total).to_have_text("$127.00")
    card = page.locator("#quote-card")
    expect()(card).to_contain_text("Base plan $49.00 (includes 50,000 calls)")
    expect()(card).to_contain_text("Additional calls 78,000 × $0.001 = $78.00")
    expect()(card).to_contain_text("Pro is the cheapest plan for 128,000 calls a month.")
    assert page.url.endswith("/pricing/?plan=pro&calls=128000")
    screenshot(page, "pricing")

    # A dearer plan suggests the cheapest one, and one click switches to it.
    page.locator("label", has_text="Business").click()
    expect()(total).to_have_text("$199.00")
    card.get_by_role("button", name="Show Pro").click()
    expect()(total).to_have_text("$127.00")


def test_billing_and_alerts(page, db, stripe_server, screenshot):
    account_services.customer_register(email="billing@example.com", password=PASSWORD)
    log_in(page, "billing@example.com")
    page.get_by_role("link", name="Plan & billing").click()
    page.get_by_role("link", name="Upgrade to Pro").click()
    page.get_by_label("Visa •••• 4242 (succeeds)").check()
    page.get_by_role("button", name="Upgrade to Pro").click()
    expect()(page.get_by_text("You are now on the Pro plan.")).to_be_visible()
    expect()(page.get_by_test_id("subscription-status")).to_have_text("Active")
    screenshot(page, "billing")

    page.get_by_role("link", name="Alerts").click()
    page.get_by_label("Alert me at").fill("50, 80, 100")
    page.get_by_role("button", name="Save alert settings").click()
    expect()(page.get_by_text("Alert settings saved.")).to_be_visible()
    expect()(page.get_by_label("Alert me at")).to_have_value("50, 80, 100")
    screenshot(page, "alerts")


def test_quickstart_and_api_reference(page, live_server, screenshot):
    page.goto("/docs/quickstart/")
    expect()(page.get_by_role("heading", name="Quick start")).to_be_visible()
    expect()(page.locator("#qs-env-base")).to_have_text(
        f"export PETSTORE_BASE_URL={live_server.url}"
    )
    # One language at a time: choosing Go shows the Go code in every group, and is remembered.
    expect()(page.locator("#qs-curl")).to_be_visible()
    expect()(page.locator("#qs-go")).to_be_hidden()
    page.get_by_role("tab", name="Go").first.click()
    expect()(page.locator("#qs-go")).to_contain_text("petstore.New(petstore.Options{")
    expect()(page.locator("#qs-install-go")).to_be_visible()
    expect()(page.locator("#qs-curl")).to_be_hidden()
    page.reload()
    expect()(page.locator("#qs-go")).to_be_visible()
    screenshot(page, "quickstart")
    page.get_by_role("link", name="Full API reference →").click()
    page.wait_for_url("**/api/docs/")
    expect()(page.locator("#swagger-ui")).to_be_visible()


def test_pages_fit_a_phone_screen(browser, live_server, db, screenshot):
    """No page scrolls sideways at 390 px (wide tables and code scroll inside their box)."""
    account_services.customer_register(email="phone@example.com", password=PASSWORD)
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, base_url=live_server.url, is_mobile=True
    )
    page = context.new_page()
    try:
        for url in ("/", "/pricing/", "/docs/quickstart/", "/signup/", "/login/"):
            page.goto(url)
            assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), url
        log_in(page, "phone@example.com")
        for url in ("/dashboard/", "/dashboard/usage/", "/dashboard/keys/", "/dashboard/alerts/"):
            page.goto(url)
            assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), url
        page.goto("/dashboard/")
        screenshot(page, "mobile-dashboard")
    finally:
        context.close()


def test_a_locked_out_user_sees_the_log_in_page_with_the_reason(page, db):
    account_services.customer_register(email="locked@example.com", password=PASSWORD)
    for _ in range(10):
        page.goto("/login/")
        page.get_by_label("Email").fill("locked@example.com")
        page.get_by_label("Password").fill("wrong-password")
        page.get_by_role("button", name="Log in").click()
        page.wait_for_load_state()
    page.goto("/login/")
    page.get_by_label("Email").fill("locked@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    posted = lambda r: r.url.endswith("/login/") and r.request.method == "POST"  # noqa: E731
    with page.expect_response(posted) as answer:
        page.get_by_role("button", name="Log in").click()
    assert answer.value.status == 429
    expect()(page.get_by_text("Too many failed log-in attempts")).to_be_visible()
    expect()(page.get_by_text("Try again in 15 minutes.")).to_be_visible()
    expect()(page.get_by_label("Email")).to_have_value("locked@example.com")
    expect()(page.get_by_role("link", name=re.compile("Forgot your password"))).to_be_visible()
    assert "/dashboard/" not in page.url
    # Chromium logs every 400 (wrong password) and 429 (locked out) page as a console error.
    expected = ("status of 400 (Bad Request)", "status of 429 (Too Many Requests)")
    page.console_errors[:] = [e for e in page.console_errors if not e.endswith(expected)]


def test_the_api_reference_shows_refusals_headers_and_the_idempotency_key(page, live_server):
    page.goto("/api/docs/")
    create = page.locator("#operations-pets-pets_create")
    create.locator(".opblock-summary").click()
    body = create.locator(".opblock-body")
    expect()(body).to_contain_text("Idempotency-Key")
    for status in ("201", "400", "401", "409", "413", "415", "429", "503"):
        expect()(body.locator(f"tr.response[data-code='{status}']")).to_be_visible()
    conflict = body.locator("tr.response[data-code='409']")
    expect()(conflict).to_contain_text("idempotency_key_reused")
    expect()(conflict).to_contain_text("idempotency_key_in_use")
    created = body.locator("tr.response[data-code='201']")
    expect()(created).to_contain_text("X-RateLimit-Remaining")
    expect()(created).to_contain_text("Idempotent-Replayed")
