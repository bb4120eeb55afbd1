"""The billing pages against the local Stripe server, through the real billing services."""

from __future__ import annotations

import pytest

from accounts.models import Customer

pytestmark = pytest.mark.django_db


def body(response) -> str:
    return response.content.decode()


def test_upgrade_to_pro_with_a_test_card_then_cancel(owner, owner_web, stripe_server):
    response = owner_web.post("/dashboard/billing/plan/pro/", {"payment_method": "pm_card_visa"})
    assert response.status_code == 302, body(response)
    customer = Customer.objects.get(pk=owner.customer.pk)
    assert customer.plan.slug == "pro"

    html = body(owner_web.get("/dashboard/billing/"))
    assert "You are now on the Pro plan." in html
    assert 'data-testid="subscription-status">Active<' in html
    assert "Visa •••• 4242" in html
    assert "Paid" in html  # the first (prorated) invoice

    html = body(owner_web.get("/dashboard/"))
    assert "Pro plan" in html and "Base plan $49.00 (includes 50,000 calls)" in html

    assert owner_web.post("/dashboard/billing/cancel/").status_code == 302
    html = body(owner_web.get("/dashboard/billing/"))
    assert "subscription is cancelled" in html and "then the account moves to Free" in html


@pytest.mark.parametrize("card", ["pm_card_chargeDeclined", "pm_card_chargeCustomerFail"])
def test_a_declined_card_is_explained_and_changes_nothing(owner, owner_web, stripe_server, card):
    response = owner_web.post("/dashboard/billing/plan/pro/", {"payment_method": card})
    assert response.status_code == 402
    assert "declined" in body(response).lower()
    assert Customer.objects.get(pk=owner.customer.pk).plan.slug == "free"


def test_subscribing_without_a_card_asks_for_one(owner, owner_web, stripe_server):
    response = owner_web.post("/dashboard/billing/plan/pro/", {"payment_method": ""})
    assert response.status_code == 400
    assert "A payment method is needed" in body(response)


def test_set_the_default_card_then_subscribe_with_it(owner, owner_web, stripe_server):
    owner_web.post("/dashboard/billing/payment-method/", {"payment_method": "pm_card_mastercard"})
    assert "Mastercard •••• 4444 is now your default card." in body(
        owner_web.get("/dashboard/billing/")
    )
    response = owner_web.post("/dashboard/billing/plan/pro/", {"payment_method": ""})
    assert response.status_code == 302
    html = body(owner_web.get("/dashboard/billing/"))
    assert "Mastercard •••• 4444" in html


def test_a_contract_plan_is_explained_and_offers_no_change(owner, owner_web, stripe_server, plans):
    """Staff put the customer on Enterprise (not self-serve): the billing pages say to contact
    sales, offer no plan change or cancellation, and refuse posts."""
    from accounts.services import customer_change_plan

    customer_change_plan(customer=owner.customer, plan=plans["enterprise"], reason="sales")
    contract_note = "Your Enterprise plan is a contract"

    html = body(owner_web.get("/dashboard/billing/"))
    assert contract_note in html and "Contact sales" in html
    assert "/dashboard/billing/plan/" not in html and "/dashboard/billing/cancel/" not in html
    for url in (
        "/dashboard/billing/plan/free/",
        "/dashboard/billing/plan/pro/",
        "/dashboard/billing/cancel/",
    ):
        page = owner_web.get(url)
        assert page.status_code == 200 and contract_note in body(page)
        assert f'action="{url}"' not in body(page)  # no form to post
        refused = owner_web.post(url, {"payment_method": "pm_card_visa"})
        assert refused.status_code == 409 and contract_note in body(refused)
    customer = Customer.objects.get(pk=owner.customer.pk)
    assert customer.plan.slug == "enterprise" and not customer.stripe_customer_id
