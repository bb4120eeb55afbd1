"""Stripe Checkout and the customer portal from the billing page, without a browser (tests/e2e
drives the same flow in chromium): the hosted page is the local Stripe server's, paid by
posting its form as a browser would."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest
import requests
import stripe

from accounts.models import Customer
from tests.conftest import web_client

pytestmark = pytest.mark.django_db

VISA = "4242 4242 4242 4242"
MASTERCARD = "5555 5555 5555 4444"
DECLINED = "4000 0000 0000 0002"


def to_stripe(response, server) -> str:
    assert response.status_code == 303, response.content.decode()
    assert response["Location"].startswith(server.url + "/c/pay/cs_test_")
    return response["Location"]


def pay(session_url: str, card: str) -> str | None:
    """Submit Stripe's hosted form; the URL it sends the browser back to (None: declined)."""
    answer = requests.post(
        session_url, data={"cardnumber": card}, allow_redirects=False, timeout=10
    )
    return answer.headers["Location"] if answer.status_code == 303 else None


def back_path(url: str) -> str:
    parsed = urlparse(url)
    return f"{parsed.path}?{parsed.query}"


def plan_of(customer) -> str:
    return Customer.objects.get(pk=customer.pk).plan.slug


def test_upgrade_from_free_through_checkout(owner, owner_web, stripe_server):
    url = to_stripe(owner_web.post("/dashboard/billing/checkout/pro/"), stripe_server)
    assert pay(url, DECLINED) is None  # the session stays open: nothing changes here
    session_id = url.rsplit("/", 1)[-1]
    declined = owner_web.get("/dashboard/billing/checkout/done/", {"session_id": session_id})
    assert declined.status_code == 302 and plan_of(owner.customer) == "free"
    back = pay(url, VISA)
    assert urlparse(back).path == "/dashboard/billing/checkout/done/"
    assert parse_qs(urlparse(back).query)["session_id"] == [session_id]
    done = owner_web.get(back_path(back), follow=True)
    assert "You are now on the Pro plan." in done.content.decode()
    assert plan_of(owner.customer) == "pro"
    owner.customer.refresh_from_db()
    (sub,) = stripe.Subscription.list(customer=owner.customer.stripe_customer_id).data
    assert sub.billing_mode.type == "flexible" and sub.metadata["petstore_plan"] == "pro"
    assert stripe.Invoice.retrieve(sub.latest_invoice).status == "paid"
    # Anchored to the 1st like every subscription of ours.
    assert sub["items"].data[0].current_period_end == sub.billing_cycle_anchor
    assert owner_web.get(back_path(back)).status_code == 302  # again: nothing more happens
    assert len(stripe.Subscription.list(customer=owner.customer.stripe_customer_id).data) == 1


def test_the_webhook_alone_syncs_the_plan(owner, owner_web, stripe_server, webhooks):
    """The customer closed the tab after paying: checkout.session.completed does the work."""
    url = to_stripe(owner_web.post("/dashboard/billing/checkout/business/"), stripe_server)
    webhooks.skip_all()
    pay(url, VISA)
    assert "checkout.session.completed" in {e["type"] for e in webhooks.deliver()}
    assert plan_of(owner.customer) == "business"


def test_change_card_through_checkout_setup_mode(owner, owner_web, stripe_server):
    paid = pay(to_stripe(owner_web.post("/dashboard/billing/checkout/pro/"), stripe_server), VISA)
    owner_web.get(back_path(paid))
    owner.customer.refresh_from_db()
    (sub,) = stripe.Subscription.list(customer=owner.customer.stripe_customer_id).data
    assert stripe.PaymentMethod.retrieve(sub.default_payment_method).card.last4 == "4242"
    url = to_stripe(owner_web.post("/dashboard/billing/card/"), stripe_server)
    back = pay(url, MASTERCARD)
    done = owner_web.get(back_path(back), follow=True)
    assert "Mastercard •••• 4444 is now your default card." in done.content.decode()
    stripe_customer = stripe.Customer.retrieve(owner.customer.stripe_customer_id)
    new_card = stripe_customer.invoice_settings.default_payment_method
    assert stripe.PaymentMethod.retrieve(new_card).card.last4 == "4444"
    # The subscription had its own default (Checkout's card): it is charged on the new one too.
    assert stripe.Subscription.retrieve(sub.id).default_payment_method == new_card


def test_the_test_card_api_path_still_works(owner, stripe_server):
    subscribed = owner.post(
        "/api/v1/billing/subscribe",
        {"plan": "pro", "payment_method": "pm_card_visa"},
        format="json",
    )
    assert subscribed.status_code == 200
    assert subscribed.json()["subscription"]["payment_method"]["last4"] == "4242"


def test_a_session_of_someone_else_changes_nothing(owner, stranger, stranger_web, stripe_server):
    url = to_stripe(
        web_client(owner.customer).post("/dashboard/billing/checkout/pro/"), stripe_server
    )
    pay(url, VISA)
    session_id = url.rsplit("/", 1)[-1]
    response = stranger_web.get(
        "/dashboard/billing/checkout/done/", {"session_id": session_id}, follow=True
    )
    assert "not complete: nothing was changed" in response.content.decode()
    assert plan_of(stranger.customer) == "free"


def test_the_portal_and_its_refusal_for_a_contract(owner, owner_web, stripe_server, plans):
    response = owner_web.post("/dashboard/billing/portal/")
    assert response.status_code == 303
    assert response["Location"].startswith(stripe_server.url + "/p/session/")
    from accounts.services import customer_change_plan

    customer_change_plan(customer=owner.customer, plan=plans["enterprise"], reason="sales")
    refused = owner_web.post("/dashboard/billing/portal/", follow=True)
    assert "contract" in refused.content.decode()
    assert "Manage billing on Stripe" not in owner_web.get("/dashboard/billing/").content.decode()
