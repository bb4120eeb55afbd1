"""The emulator's hosted Checkout and customer portal pages, driven in chromium (Debian's, via
Playwright, as tests/e2e does): one flow each, from the session's ``url`` to the redirect."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import stripe

from stripe_emulator.testing import StripeServerHandle

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        pytest.skip(f"no chromium at {CHROMIUM}")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


@pytest.fixture
def site() -> Iterator[str]:
    """The integrator's site: any page answers 200 with its own path."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = f"<!doctype html><title>site</title><p id='path'>{self.path}</p>".encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def _price() -> stripe.Price:
    return stripe.Price.create(
        currency="usd",
        product_data={"name": "Pro plan"},
        unit_amount=4900,
        recurring={"interval": "month"},
    )


def test_checkout_subscription_in_the_browser(
    server: StripeServerHandle, page: Any, site: str
) -> None:
    customer = stripe.Customer.create(email="buyer@example.com")
    session = stripe.checkout.Session.create(
        mode="subscription",
        customer=customer.id,
        line_items=[{"price": _price().id, "quantity": 1}],
        success_url=site + "/welcome?session_id={CHECKOUT_SESSION_ID}",
        cancel_url=site + "/pricing",
    )
    page.goto(session.url)
    assert "Pro plan" in page.inner_text("#items")
    assert page.get_attribute("#cancel", "href") == site + "/pricing"
    page.fill("#cardnumber", "4000 0000 0000 0002")
    page.click("#submit")
    assert page.inner_text("#error") == "Your card was declined."
    assert stripe.checkout.Session.retrieve(session.id).status == "open"
    page.fill("#cardnumber", "4242 4242 4242 4242")
    page.click("#submit")
    page.wait_for_url(site + f"/welcome?session_id={session.id}")
    done = stripe.checkout.Session.retrieve(session.id, expand=["subscription"])
    assert done.status == "complete" and done.subscription.status == "active"
    assert stripe.Invoice.retrieve(done.invoice).status == "paid"


def test_checkout_setup_in_the_browser(
    server: StripeServerHandle, page: Any, site: str, customer_with_card: Any
) -> None:
    session = stripe.checkout.Session.create(
        mode="setup",
        customer=customer_with_card.id,
        currency="usd",
        success_url=site + "/billing?updated={CHECKOUT_SESSION_ID}",
        cancel_url=site + "/billing",
    )
    page.goto(session.url)
    assert page.inner_text("#submit") == "Save card"
    page.fill("#cardnumber", "5555555555554444")
    page.click("#submit")
    page.wait_for_url(site + f"/billing?updated={session.id}")
    intent = stripe.checkout.Session.retrieve(session.id, expand=["setup_intent"]).setup_intent
    assert stripe.PaymentMethod.retrieve(intent.payment_method).card.last4 == "4444"


def test_portal_in_the_browser(
    server: StripeServerHandle, page: Any, site: str, customer_with_card: Any
) -> None:
    sub = stripe.Subscription.create(
        customer=customer_with_card.id,
        items=[{"price": _price().id}],
        default_payment_method=customer_with_card.invoice_settings.default_payment_method,
    )
    portal = stripe.billing_portal.Session.create(
        customer=customer_with_card.id, return_url=site + "/account"
    )
    page.goto(portal.url)
    assert "Pro plan" in page.inner_text("#subscriptions")
    assert page.inner_text("#card") == "Visa •••• 4242"
    page.fill("#cardnumber", "5555555555554444")
    page.click("#update-card")
    assert page.inner_text("#card") == "Mastercard •••• 4444"
    new_default = stripe.Customer.retrieve(
        customer_with_card.id
    ).invoice_settings.default_payment_method
    assert stripe.Subscription.retrieve(sub.id).default_payment_method == new_default
    page.click(f"#cancel-{sub.id}")
    assert "will be canceled" in page.inner_text("#notice")
    assert stripe.Subscription.retrieve(sub.id).cancel_at_period_end is True
    page.click("#return")
    page.wait_for_url(site + "/account")
