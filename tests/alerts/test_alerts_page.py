"""The dashboard's alerts page: the defaults, saving through the service, errors shown, and
each customer's own settings."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from billing import selectors
from billing.services import PaymentMethodInfo, SubscriptionState

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


def test_alerts_page_shows_the_defaults(owner_web):
    response = owner_web.get("/dashboard/alerts/")
    assert response.status_code == 200
    html = body(response)
    assert 'value="80, 100"' in html
    assert "8,000 units" in html and "10,000 units" in html
    assert 'name="email_enabled"' in html and "checked" in html


def test_alerts_are_saved_through_the_service(owner, owner_web):
    from alerts.selectors import alert_settings

    response = owner_web.post("/dashboard/alerts/", {"thresholds": "50, 90%, 100"})
    assert response.status_code == 302
    saved = alert_settings(owner.customer)
    assert saved.thresholds == [50, 90, 100] and saved.email_enabled is False
    assert "Alert settings saved." in body(owner_web.get("/dashboard/alerts/"))


@pytest.mark.parametrize(
    ("thresholds", "message"),
    [
        ("", "This field is required."),
        ("eighty", "Use whole numbers"),
        ("0, 80", "Thresholds are whole percentages between 1 and 500."),
        ("10, 20, 30, 40, 50, 60", "Give between 1 and 5 thresholds."),
    ],
)
def test_alert_errors_are_shown(owner, owner_web, thresholds, message):
    response = owner_web.post(
        "/dashboard/alerts/", {"thresholds": thresholds, "email_enabled": "on"}
    )
    assert response.status_code == 400
    assert message in body(response)
    from alerts.models import AlertSettings

    assert not AlertSettings.objects.filter(customer=owner.customer).exists()


def test_alert_settings_are_per_customer(owner, stranger, owner_web, stranger_web):
    owner_web.post("/dashboard/alerts/", {"thresholds": "25", "email_enabled": "on"})
    assert 'value="80, 100"' in body(stranger_web.get("/dashboard/alerts/"))
