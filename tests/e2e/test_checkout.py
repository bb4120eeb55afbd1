"""Entering a card in a real browser: the dashboard's Upgrade goes to Stripe Checkout's hosted
page (the local Stripe server's), a test card pays, and the customer is back on the dashboard on
Pro; the card is changed through Checkout's setup mode; the Stripe customer portal cancels at
the end of the period. The app learns each outcome from Stripe (the session, re-read), not from
the browser."""

from __future__ import annotations

import re

import pytest
import stripe

from accounts import services as account_services
from accounts.models import Customer
from tests.e2e.test_portal import PASSWORD, expect, log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_upgrade_through_checkout_change_card_and_cancel_in_the_portal(
    page, stripe_server, screenshot
):
    page.allow_host(stripe_server.url)
    account_services.customer_register(email="checkout@example.com", password=PASSWORD)
    log_in(page, "checkout@example.com")
    page.get_by_role("link", name="Plan & billing").click()
    page.get_by_role("link", name="Upgrade to Pro").click()
    page.get_by_role("button", name="Continue to payment").click()

    # Stripe's hosted Checkout page: a declined card first, then one that pays.
    page.wait_for_url(re.compile(re.escape(stripe_server.url) + "/c/pay/"))
    expect()(page.locator("#items")).to_contain_text("Pet Store API Pro")
    page.fill("#cardnumber", "4000 0000 0000 0002")
    page.click("#submit")
    expect()(page.locator("#error")).to_have_text("Your card was declined.")
    page.fill("#cardnumber", "4242 4242 4242 4242")
    page.click("#submit")

    page.wait_for_url("**/dashboard/billing/")
    expect()(page.get_by_text("You are now on the Pro plan.")).to_be_visible()
    expect()(page.get_by_test_id("subscription-status")).to_have_text("Active")
    expect()(page.get_by_test_id("card-on-file")).to_have_text("Visa •••• 4242")
    customer = Customer.objects.get(email="checkout@example.com")
    assert customer.plan.slug == "pro"
    (sub,) = stripe.Subscription.list(customer=customer.stripe_customer_id).data
    assert sub.billing_mode.type == "flexible"
    screenshot(page, "billing-checkout")

    # A new card through Checkout's setup mode: it becomes the default.
    page.get_by_role("button", name="Change card").click()
    page.wait_for_url(re.compile(re.escape(stripe_server.url) + "/c/pay/"))
    page.fill("#cardnumber", "5555 5555 5555 4444")
    page.click("#submit")
    page.wait_for_url("**/dashboard/billing/")
    expect()(page.get_by_text("Mastercard •••• 4444 is now your default card.")).to_be_visible()
    expect()(page.get_by_test_id("card-on-file")).to_have_text("Mastercard •••• 4444")
    default = stripe.Customer.retrieve(customer.stripe_customer_id).invoice_settings
    assert stripe.PaymentMethod.retrieve(default.default_payment_method).card.last4 == "4444"

    # The customer portal: cancel at the end of the period, then back.
    page.get_by_role("button", name="Manage billing on Stripe").click()
    page.wait_for_url(re.compile(re.escape(stripe_server.url) + "/p/session/"))
    page.click(f"#cancel-{sub.id}")
    expect()(page.locator("#notice")).to_contain_text("will be canceled")
    page.click("#return")
    page.wait_for_url("**/dashboard/billing/")
    expect()(page.get_by_text(re.compile("Cancelled: the Pro plan stays until"))).to_be_visible()
    assert stripe.Subscription.retrieve(sub.id).cancel_at_period_end is True
    customer.refresh_from_db()
    assert customer.plan.slug == "pro"  # until the end of the period
