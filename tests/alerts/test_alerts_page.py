"""The dashboard's alerts page: the defaults, saving through the service, errors shown, and
each customer's own settings."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def body(response) -> str:
    return response.content.decode()


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
