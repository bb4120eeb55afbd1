"""Subscriptions through the API, against the local Stripe server."""

import pytest
import stripe

from accounts.models import PlanChange
from accounts.services import customer_change_plan
from petstore.ports import free_port

SUBSCRIBE = "/api/v1/billing/subscribe"
CANCEL = "/api/v1/billing/cancel"
INVOICES = "/api/v1/billing/invoices"


def stripe_subscriptions(customer):
    customer.refresh_from_db()
    if not customer.stripe_customer_id:
        return []
    return stripe.Subscription.list(customer=customer.stripe_customer_id, status="all").data


@pytest.mark.django_db
def test_subscribe_to_pro_with_a_card(owner, stripe_server):
    response = owner.post(
        SUBSCRIBE, {"plan": "pro", "payment_method": "pm_card_visa"}, format="json"
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["plan"] == "pro"
    sub = body["subscription"]
    assert sub["plan"] == "pro" and sub["status"] == "active"
    assert sub["payment_method"]["last4"] == "4242"
    assert sub["current_period_end"].endswith("T00:00:00Z")  # anchored on the 1st
    owner.customer.refresh_from_db()
    assert owner.customer.plan.slug == "pro"
    assert PlanChange.objects.filter(customer=owner.customer, reason="subscribe").count() == 1
    (stripe_sub,) = stripe_subscriptions(owner.customer)
    assert stripe_sub.status == "active"
    assert len(stripe_sub["items"].data) == 2  # base fee + metered usage
    invoices = owner.get(INVOICES).json()["results"]
    assert len(invoices) == 1 and invoices[0]["status"] == "paid"
    assert 0 < float(invoices[0]["total"]) <= 49.00  # the first month is prorated


@pytest.mark.django_db
def test_subscribe_without_a_card_is_refused(owner, stripe_server):
    response = owner.post(SUBSCRIBE, {"plan": "pro"}, format="json")
    assert response.status_code == 400
    assert response.json()["error"] == "payment_method_required"
    owner.customer.refresh_from_db()
    assert owner.customer.plan.slug == "free"


@pytest.mark.django_db
@pytest.mark.parametrize("card", ["pm_card_chargeDeclined", "pm_card_chargeCustomerFail"])
def test_a_declined_card_is_402_and_changes_nothing(owner, stripe_server, card):
    response = owner.post(SUBSCRIBE, {"plan": "pro", "payment_method": card}, format="json")
    assert response.status_code == 402
    body = response.json()
    assert body["error"] == "card_declined" and body["message"]
    owner.customer.refresh_from_db()
    assert owner.customer.plan.slug == "free"
    assert not [s for s in stripe_subscriptions(owner.customer) if s.status != "incomplete_expired"]
    assert not PlanChange.objects.filter(customer=owner.customer).exclude(reason="signup").exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("payload", "status", "code"),
    [
        ({"plan": "enterprise", "payment_method": "pm_card_visa"}, 400, "plan_not_available"),
        ({"plan": "gold", "payment_method": "pm_card_visa"}, 404, "plan_not_found"),
        ({"plan": "pro", "payment_method": "card-1234"}, 400, "invalid_payment_method"),
        ({}, 400, "validation_error"),
        # As strict as the schema: a slug is a JSON string, a payment method is not blank.
        ({"plan": 5, "payment_method": "pm_card_visa"}, 400, "validation_error"),
        ({"plan": "pro", "payment_method": ""}, 400, "validation_error"),
        ({"plan": "pro", "payment_method": "pm_card_visa", "coupon": "x"}, 400, "validation_error"),
    ],
)
def test_bad_subscribe_requests(owner, stripe_server, payload, status, code):
    response = owner.post(SUBSCRIBE, payload, format="json")
    assert response.status_code == status and response.json()["error"] == code
    owner.customer.refresh_from_db()
    assert owner.customer.plan.slug == "free"


@pytest.mark.django_db
def test_upgrade_is_invoiced_prorated_and_downgrade_credits(owner, stripe_server):
    owner.post(SUBSCRIBE, {"plan": "pro", "payment_method": "pm_card_visa"}, format="json")
    upgraded = owner.post(SUBSCRIBE, {"plan": "business"}, format="json")
    assert upgraded.status_code == 200, upgraded.content
    assert upgraded.json()["plan"] == "business"
    (sub,) = [s for s in stripe_subscriptions(owner.customer) if s.status == "active"]
    prices = {item.price.id for item in sub["items"].data}
    assert len(prices) == 2
    invoices = owner.get(INVOICES).json()["results"]
    assert len(invoices) == 2  # the upgrade was invoiced at once (prorated)
    assert invoices[0]["status"] == "paid"
    downgraded = owner.post(SUBSCRIBE, {"plan": "pro"}, format="json")
    assert downgraded.status_code == 200 and downgraded.json()["plan"] == "pro"
    reasons = list(
        PlanChange.objects.filter(customer=owner.customer)
        .order_by("changed_at", "id")
        .values_list("reason", flat=True)
    )
    assert reasons == ["signup", "subscribe", "upgrade", "downgrade"]


@pytest.mark.django_db
def test_cancel_keeps_the_plan_until_period_end(owner, stripe_server):
    owner.post(SUBSCRIBE, {"plan": "pro", "payment_method": "pm_card_visa"}, format="json")
    response = owner.post(CANCEL)
    assert response.status_code == 200
    assert response.json()["subscription"]["cancel_at_period_end"] is True
    owner.customer.refresh_from_db()
    assert owner.customer.plan.slug == "pro"
    resumed = owner.post(SUBSCRIBE, {"plan": "pro"}, format="json")
    assert resumed.json()["subscription"]["cancel_at_period_end"] is False


@pytest.mark.django_db
def test_choosing_free_cancels_at_period_end(owner, stripe_server):
    owner.post(SUBSCRIBE, {"plan": "pro", "payment_method": "pm_card_visa"}, format="json")
    response = owner.post(SUBSCRIBE, {"plan": "free"}, format="json")
    assert response.status_code == 200
    assert response.json()["subscription"]["cancel_at_period_end"] is True


@pytest.mark.django_db
def test_cancel_without_subscription_is_400(owner, stripe_server):
    response = owner.post(CANCEL)
    assert response.status_code == 400 and response.json()["error"] == "no_subscription"


@pytest.mark.django_db
def test_invoices_are_per_customer(owner, stranger, stripe_server):
    owner.post(SUBSCRIBE, {"plan": "pro", "payment_method": "pm_card_visa"}, format="json")
    assert len(owner.get(INVOICES).json()["results"]) == 1
    assert stranger.get(INVOICES).json()["results"] == []


@pytest.mark.django_db
def test_stripe_unreachable_is_503_and_changes_nothing(owner, stripe_server, monkeypatch):
    monkeypatch.setattr(stripe, "api_base", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setattr(stripe, "max_network_retries", 0)
    response = owner.post(
        SUBSCRIBE, {"plan": "pro", "payment_method": "pm_card_visa"}, format="json"
    )
    assert response.status_code == 503
    assert response.json()["error"] == "billing_unavailable"
    owner.customer.refresh_from_db()
    assert owner.customer.plan.slug == "free"


# --- contract plans (not self-serve): staff change them, the customer cannot ------------------


def put_on_contract(client, plans):
    """Sales signed the customer: staff moved it to Enterprise from the admin."""
    customer_change_plan(customer=client.customer, plan=plans["enterprise"], reason="sales")
    client.customer.refresh_from_db()


def assert_contract_refusal(response):
    assert response.status_code == 409, response.content
    body = response.json()
    assert body["error"] == "contract_plan"
    assert "Enterprise" in body["message"] and "contact sales" in body["message"].lower()


def last_change_reason(customer) -> str:
    return PlanChange.objects.filter(customer=customer).order_by("-changed_at", "-id")[0].reason


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("url", "payload"),
    [
        (SUBSCRIBE, {"plan": "free"}),
        (SUBSCRIBE, {"plan": "pro", "payment_method": "pm_card_visa"}),
        (SUBSCRIBE, {"plan": "enterprise"}),
        (CANCEL, None),
    ],
)
def test_a_contract_plan_is_not_changed_by_the_customer(owner, plans, stripe_server, url, payload):
    put_on_contract(owner, plans)
    assert_contract_refusal(owner.post(url, payload, format="json"))
    owner.customer.refresh_from_db()
    assert owner.customer.plan.slug == "enterprise"
    assert last_change_reason(owner.customer) == "sales"
    assert stripe_subscriptions(owner.customer) == []


@pytest.mark.django_db
def test_a_contract_customer_cannot_touch_a_subscription_left_in_stripe(
    owner, plans, stripe_server
):
    owner.post(SUBSCRIBE, {"plan": "pro", "payment_method": "pm_card_visa"}, format="json")
    put_on_contract(owner, plans)
    (before,) = stripe_subscriptions(owner.customer)
    assert_contract_refusal(owner.post(CANCEL))
    assert_contract_refusal(owner.post(SUBSCRIBE, {"plan": "business"}, format="json"))
    (after,) = stripe_subscriptions(owner.customer)
    assert after.status == "active" and not after.cancel_at_period_end
    assert {i.price.id for i in after["items"].data} == {i.price.id for i in before["items"].data}
    owner.customer.refresh_from_db()
    assert owner.customer.plan.slug == "enterprise"


@pytest.mark.django_db
def test_the_schema_documents_the_contract_plan_refusal(client):
    paths = client.get("/api/schema/", {"format": "json"}).json()["paths"]
    for path in (SUBSCRIBE, CANCEL):
        assert "409" in paths[path]["post"]["responses"], path
