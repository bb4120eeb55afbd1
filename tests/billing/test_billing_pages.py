"""Plan and billing pages: current plan and subscription, test-mode payment method, plan
changes and cancellation through billing.services, invoices; service errors are shown, never
a 500. Stripe is faked here (monkeypatched services and selectors); test_billing_pages_stripe.py
runs the same pages against the local Stripe server."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from billing import previews, selectors, services
from billing.errors import CardDeclined, NoSubscription, PaymentMethodRequired, StripeUnavailable
from billing.previews import ChangePreview, PreviewLine, preview_token
from billing.services import PaymentMethodInfo, SubscriptionState
from tests.conftest import web_client

pytestmark = pytest.mark.django_db

VISA = PaymentMethodInfo("pm_1", "visa", "4242", 12, 2034)
PERIOD_END = datetime(2030, 2, 1, tzinfo=UTC)


def body(response) -> str:
    return response.content.decode()


def pro_state(**changes) -> SubscriptionState:
    values = {
        "plan_slug": "pro",
        "plan_name": "Pro",
        "status": "active",
        "current_period_end": PERIOD_END,
        "cancel_at_period_end": False,
        "payment_method": VISA,
        "stripe_subscription_id": "sub_1",
    }
    return SubscriptionState(**{**values, **changes})


def invoice(number: str, total: str = "49.00", status: str = "paid") -> dict:
    return {
        "id": f"in_{number}",
        "number": number,
        "status": status,
        "total": total,
        "amount_due": total,
        "amount_paid": total if status == "paid" else "0.00",
        "currency": "usd",
        "period_start": datetime(2030, 1, 1, tzinfo=UTC),
        "period_end": datetime(2030, 2, 1, tzinfo=UTC),
        "created": datetime(2030, 1, 1, tzinfo=UTC),
        "hosted_invoice_url": f"http://stripe.local/i/{number}",
    }


@pytest.fixture
def fake_stripe(monkeypatch):
    """Per-customer subscription and invoices, and a record of the service calls."""
    state = {"subscriptions": {}, "invoices": {}, "calls": []}

    def subscription(customer):
        return state["subscriptions"].get(customer.pk)

    def invoices(customer, *, limit=24):
        return [dict(i) for i in state["invoices"].get(customer.pk, [])]

    monkeypatch.setattr(selectors, "customer_subscription", subscription)
    monkeypatch.setattr(selectors, "customer_invoices", invoices)
    return state


def test_billing_page_on_free(owner_web, fake_stripe, plans):
    response = owner_web.get("/dashboard/billing/")
    assert response.status_code == 200
    html = body(response)
    assert "No paid subscription" in html
    assert "Test mode" in html
    for pm in (
        "pm_card_visa",
        "pm_card_mastercard",
        "pm_card_chargeDeclined",
        "pm_card_chargeCustomerFail",
    ):
        assert f'value="{pm}"' in html
    # Self-serve plans only; Enterprise is sold by sales.
    assert "Upgrade to Pro" in html and "Upgrade to Business" in html
    assert "Enterprise" not in html
    assert "No invoices yet" in html


def test_billing_page_with_a_subscription_and_invoices(pro_client, fake_stripe):
    customer = pro_client.customer
    fake_stripe["subscriptions"][customer.pk] = pro_state()
    fake_stripe["invoices"][customer.pk] = [
        invoice("PS-0002", "127.00", "open"),
        invoice("PS-0001"),
    ]
    html = body(web_client(customer).get("/dashboard/billing/"))
    assert "Active" in html and "Renews on February 1, 2030" in html
    assert "Visa •••• 4242" in html
    assert "PS-0002" in html and "$127.00" in html and "PS-0001" in html
    assert "http://stripe.local/i/PS-0002" in html
    assert "Downgrade to Free" in html and "Upgrade to Business" in html
    assert "Cancel subscription" in html


def test_invoices_are_only_the_customers_own(owner, stranger, fake_stripe, stranger_web):
    fake_stripe["invoices"][owner.customer.pk] = [invoice("OWNER-1")]
    html = body(stranger_web.get("/dashboard/billing/"))
    assert "OWNER-1" not in html and "No invoices yet" in html


def test_a_billing_outage_is_a_message_not_a_500(owner_web, monkeypatch):
    def down(customer, **kwargs):
        raise StripeUnavailable()

    monkeypatch.setattr(selectors, "customer_subscription", down)
    monkeypatch.setattr(selectors, "customer_invoices", down)
    response = owner_web.get("/dashboard/billing/")
    assert response.status_code == 200
    assert "Billing is temporarily unavailable" in body(response)


def test_set_a_test_card(owner, owner_web, fake_stripe, monkeypatch):
    calls = []

    def payment_method_set(*, customer, payment_method):
        calls.append((customer.pk, payment_method))
        return VISA

    monkeypatch.setattr(services, "payment_method_set", payment_method_set)
    response = owner_web.post(
        "/dashboard/billing/payment-method/", {"payment_method": "pm_card_visa"}
    )
    assert response.status_code == 302
    assert calls == [(owner.customer.pk, "pm_card_visa")]
    assert "Visa •••• 4242 is now your default card." in body(owner_web.get("/dashboard/billing/"))


def test_a_declined_card_is_explained(owner_web, fake_stripe, monkeypatch):
    def declined(**kwargs):
        raise CardDeclined("Your card was declined.")

    monkeypatch.setattr(services, "payment_method_set", declined)
    response = owner_web.post(
        "/dashboard/billing/payment-method/", {"payment_method": "pm_card_chargeDeclined"}
    )
    assert response.status_code == 302
    assert "Your card was declined." in body(owner_web.get("/dashboard/billing/"))


def test_only_test_cards_are_accepted(owner_web, fake_stripe, monkeypatch):
    monkeypatch.setattr(services, "payment_method_set", lambda **kw: pytest.fail("called"))
    owner_web.post("/dashboard/billing/payment-method/", {"payment_method": "pm_real_card"})
    assert "Choose one of the test cards." in body(owner_web.get("/dashboard/billing/"))


def test_upgrade_confirmation_and_change(owner, owner_web, fake_stripe, monkeypatch, plans):
    calls = []

    def subscription_change(*, customer, plan, payment_method=None, **when):
        calls.append((customer.pk, plan.slug, payment_method))
        return pro_state()

    monkeypatch.setattr(services, "subscription_change", subscription_change)
    confirm = owner_web.get("/dashboard/billing/plan/pro/")
    assert confirm.status_code == 200
    html = body(confirm)
    assert "Free → Pro" in html and "$49" in html
    assert "This month on each plan" in html and "Base plan $49.00 (includes 50,000 calls)" in html
    assert 'value="pm_card_visa"' in html and "Test mode" in html
    assert calls == []  # a GET changes nothing
    response = owner_web.post("/dashboard/billing/plan/pro/", {"payment_method": "pm_card_visa"})
    assert response.status_code == 302 and response["Location"] == "/dashboard/billing/"
    assert calls == [(owner.customer.pk, "pro", "pm_card_visa")]
    assert "You are now on the Pro plan." in body(owner_web.get("/dashboard/billing/"))


def test_upgrade_with_the_card_on_file(pro_client, fake_stripe, monkeypatch, plans):
    customer = pro_client.customer
    fake_stripe["subscriptions"][customer.pk] = pro_state()
    at = datetime(2030, 1, 11, tzinfo=UTC)
    shown = ChangePreview(
        "due_now",
        at,
        13467,
        13467,
        (PreviewLine("Remaining time on Business", 1, 13467),),
        None,
        preview_token(customer=customer, plan=plans["business"], at=at),
    )
    monkeypatch.setattr(previews, "plan_change_preview", lambda **kw: shown)
    calls = []
    monkeypatch.setattr(
        services,
        "subscription_change",
        lambda *, customer, plan, payment_method=None, **when: (
            calls.append((payment_method, when)) or pro_state()
        ),
    )
    client = web_client(customer)
    html = body(client.get("/dashboard/billing/plan/business/"))
    assert "The card on file (Visa •••• 4242)" in html and "$134.67" in html
    # Without the preview's token (or with a stale one) nothing changes: the preview is shown
    # again, so what is confirmed is what was shown.
    again = client.post("/dashboard/billing/plan/business/", {"payment_method": ""})
    assert again.status_code == 200 and calls == []
    assert "here they are again" in body(again)
    client.post("/dashboard/billing/plan/business/", {"payment_method": "", "preview": shown.token})
    assert calls == [(None, {"at": at, "usage_reported": True})]


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (CardDeclined("Your card was declined."), 402),
        (PaymentMethodRequired(), 400),
        (StripeUnavailable(), 503),
    ],
)
def test_plan_change_errors_are_shown(owner_web, fake_stripe, monkeypatch, error, status):
    def failing(**kwargs):
        raise error

    monkeypatch.setattr(services, "subscription_change", failing)
    response = owner_web.post("/dashboard/billing/plan/pro/", {"payment_method": "pm_card_visa"})
    assert response.status_code == status
    assert error.message in body(response)


def test_downgrade_to_free_ends_at_period_end(pro_client, fake_stripe, monkeypatch):
    customer = pro_client.customer
    calls = []

    def change(*, customer, plan, payment_method=None, **when):
        calls.append((plan.slug, payment_method))
        return pro_state(cancel_at_period_end=True)

    monkeypatch.setattr(services, "subscription_change", change)
    client = web_client(customer)
    html = body(client.get("/dashboard/billing/plan/free/"))
    assert "Downgrade to Free" in html and 'value="pm_card_visa"' not in html
    client.post("/dashboard/billing/plan/free/")
    assert calls == [("free", None)]
    assert "ends on February 1, 2030; then you are on Free" in body(
        client.get("/dashboard/billing/")
    )


def test_plans_outside_the_self_serve_catalogue_are_404(owner_web, fake_stripe, monkeypatch):
    monkeypatch.setattr(services, "subscription_change", lambda **kw: pytest.fail("called"))
    assert owner_web.get("/dashboard/billing/plan/enterprise/").status_code == 404
    assert owner_web.post("/dashboard/billing/plan/enterprise/").status_code == 404
    assert owner_web.get("/dashboard/billing/plan/nope/").status_code == 404


def test_choosing_the_current_plan_changes_nothing(owner_web, monkeypatch):
    monkeypatch.setattr(services, "subscription_change", lambda **kw: pytest.fail("called"))
    response = owner_web.post("/dashboard/billing/plan/free/")
    assert response.status_code == 302


def test_cancel(pro_client, fake_stripe, monkeypatch):
    customer = pro_client.customer
    fake_stripe["subscriptions"][customer.pk] = pro_state()
    calls = []

    def cancel(*, customer):
        calls.append(customer.pk)
        return pro_state(cancel_at_period_end=True)

    monkeypatch.setattr(services, "subscription_cancel", cancel)
    client = web_client(customer)
    confirm = body(client.get("/dashboard/billing/cancel/"))
    assert "You keep the Pro plan until February 1, 2030" in confirm
    assert calls == []
    response = client.post("/dashboard/billing/cancel/")
    assert response.status_code == 302
    assert calls == [customer.pk]
    assert "It stays active until February 1, 2030" in body(client.get("/dashboard/billing/"))


def test_cancel_without_a_subscription(owner_web, fake_stripe, monkeypatch):
    def cancel(*, customer):
        raise NoSubscription()

    monkeypatch.setattr(services, "subscription_cancel", cancel)
    response = owner_web.post("/dashboard/billing/cancel/")
    assert response.status_code == 400
    assert "You have no paid subscription to cancel." in body(response)


@pytest.mark.parametrize(
    ("url", "data"),
    [
        ("/dashboard/billing/payment-method/", {"payment_method": "pm_card_visa"}),
        ("/dashboard/billing/plan/pro/", {"payment_method": "pm_card_visa"}),
        ("/dashboard/billing/cancel/", {}),
        ("/dashboard/alerts/", {"thresholds": "50", "email_enabled": "on"}),
    ],
)
def test_billing_actions_need_the_csrf_token(owner, monkeypatch, url, data):
    for name in ("payment_method_set", "subscription_change", "subscription_cancel"):
        monkeypatch.setattr(services, name, lambda **kw: pytest.fail("called"))
    client = web_client(owner.customer, enforce_csrf_checks=True)
    assert client.post(url, data).status_code == 403


# --- usage alerts ----------------------------------------------------------------------------
