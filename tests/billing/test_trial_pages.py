"""Trials and promotion codes on the pages: "Start free trial" on the pricing page and the
billing page, the trial page, a card added through Checkout (setup mode) during the trial, a
promotion code typed on the plan change page, on Stripe's Checkout page, and in the pricing
calculator."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import requests
import stripe

from accounts.models import Customer
from billing.models import Trial
from billing.promotions import promotion_code_sync
from pricing.models import PromotionCode
from tests.billing.test_checkout import MASTERCARD, VISA, back_path, pay, to_stripe

pytestmark = pytest.mark.django_db


def plan_of(customer) -> str:
    return Customer.objects.get(pk=customer.pk).plan.slug


def text(response) -> str:
    return response.content.decode()


def promotion(code: str, **terms) -> PromotionCode:
    terms.setdefault("duration", "forever")
    return promotion_code_sync(PromotionCode.objects.create(code=code, **terms))


def test_the_pricing_page_offers_the_trial(client, owner_web, db):
    anonymous = text(client.get("/pricing/"))
    assert (
        'data-testid="start-trial-pro"' in anonymous and "14 days free, no card needed" in anonymous
    )
    assert 'data-testid="start-trial-business"' not in anonymous  # Business has no trial
    assert 'href="/dashboard/billing/trial/pro/"' in text(owner_web.get("/pricing/"))


def test_start_the_trial_from_the_pages_then_add_a_card_through_checkout(
    owner, owner_web, stripe_server
):
    billing = text(owner_web.get("/dashboard/billing/"))
    assert 'data-testid="billing-start-trial-pro"' in billing
    page = owner_web.get("/dashboard/billing/trial/pro/")
    assert page.status_code == 200 and "Start free trial" in text(page)
    done = owner_web.post("/dashboard/billing/trial/pro/", follow=True)
    assert "Your Pro trial has started" in text(done)
    assert 'data-testid="trial-end"' in text(done) and "add a card before then" in text(done)
    assert plan_of(owner.customer) == "pro"
    assert "already had your free trial" in text(owner_web.get("/dashboard/billing/trial/pro/"))
    again = owner_web.post("/dashboard/billing/trial/pro/")
    assert again.status_code == 409 and "already had your free trial" in text(again)
    assert owner_web.get("/dashboard/billing/trial/business/").status_code == 404

    # A card through Checkout in setup mode: it becomes the default, the trial goes on paid.
    back = pay(to_stripe(owner_web.post("/dashboard/billing/card/"), stripe_server), MASTERCARD)
    owner_web.get(back_path(back))
    owner.customer.refresh_from_db()
    sub = stripe.Subscription.list(customer=owner.customer.stripe_customer_id).data[0]
    stripe_server.advance_to(sub.trial_end + 2 * 3600)
    sub = stripe.Subscription.retrieve(sub.id)
    assert sub.status == "active"
    paid = [i for i in stripe.Invoice.list(subscription=sub.id).data if i.amount_paid > 0]
    assert paid and Trial.objects.filter(customer=owner.customer).count() == 1


def test_a_code_on_the_plan_change_page(owner, owner_web, stripe_server):
    promotion("WELCOME", amount_off=Decimal("5.00"))
    bad = owner_web.post(
        "/dashboard/billing/plan/pro/", {"payment_method": "pm_card_visa", "promotion_code": "NOPE"}
    )
    assert bad.status_code == 400 and "no promotion code" in text(bad)
    assert plan_of(owner.customer) == "free"
    done = owner_web.post(
        "/dashboard/billing/plan/pro/",
        {"payment_method": "pm_card_visa", "promotion_code": "welcome"},
    )
    assert done.status_code == 302 and plan_of(owner.customer) == "pro"
    owner.customer.refresh_from_db()
    (sub,) = stripe.Subscription.list(customer=owner.customer.stripe_customer_id).data
    assert len(sub.discounts) == 1
    assert PromotionCode.objects.get(code="WELCOME").times_redeemed == 1


def test_a_code_typed_on_the_checkout_page(owner, owner_web, stripe_server):
    promotion("HALF", percent_off=Decimal("50"))
    url = to_stripe(owner_web.post("/dashboard/billing/checkout/pro/"), stripe_server)
    session = stripe.checkout.Session.retrieve(url.rsplit("/", 1)[-1])
    assert session.allow_promotion_codes is True
    answer = requests.post(
        url, data={"cardnumber": VISA, "promotion_code": "HALF"}, allow_redirects=False, timeout=10
    )
    assert answer.status_code == 303
    owner_web.get(back_path(answer.headers["Location"]))
    assert plan_of(owner.customer) == "pro"
    owner.customer.refresh_from_db()
    (sub,) = stripe.Subscription.list(customer=owner.customer.stripe_customer_id).data
    assert len(sub.discounts) == 1
    assert PromotionCode.objects.get(code="HALF").times_redeemed == 1


def test_the_calculator_without_javascript_shows_the_discount(client, stripe_server):
    promotion("TAKE15", percent_off=Decimal("15"))
    page = text(
        client.get("/pricing/", {"plan": "pro", "calls": 128_001, "promotion_code": "TAKE15"})
    )
    assert "Promotion code TAKE15: 15% off every month" in page and "−$19.05" in page
    assert "$107.95" in page
    expired = promotion("OLD", percent_off=Decimal("10"))
    PromotionCode.objects.filter(pk=expired.pk).update(
        expires_at=datetime.now(UTC) - timedelta(days=1)
    )
    page = text(client.get("/pricing/", {"plan": "pro", "calls": 1, "promotion_code": "OLD"}))
    assert "The promotion code OLD has expired." in page
