"""Sign-up, log-in (locked out per account and per address), log-out, and who may see the
dashboard."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.models import ApiKey, Customer
from accounts.views import NEW_KEY_SESSION

pytestmark = pytest.mark.django_db

PASSWORD = "correct-Horse-battery-9"
LOGIN_FAILURES_PER_USER = 10  # the setting's default
DASHBOARD_PAGES = [
    "/dashboard/",
    "/dashboard/usage/",
    "/dashboard/usage/panel/",
    "/dashboard/first-call/",
    "/dashboard/keys/",
    "/dashboard/billing/",
    "/dashboard/billing/plan/pro/",
    "/dashboard/billing/cancel/",
    "/dashboard/alerts/",
]


def signup(client: Client, email: str = "new@example.com", password: str = PASSWORD):
    return client.post("/signup/", {"email": email, "password": password})


def test_signup_page(client):
    response = client.get("/signup/")
    assert response.status_code == 200
    body = response.content.decode()
    assert 'name="email"' in body and 'name="password"' in body
    assert 'autocomplete="new-password"' in body
    assert "csrfmiddlewaretoken" in body


def test_signup_creates_the_customer_and_shows_the_key_once(client):
    response = signup(client, "New@Example.com")
    assert response.status_code == 302 and response["Location"] == "/dashboard/"
    customer = Customer.objects.get(email="new@example.com")
    assert customer.plan.slug == "free"
    assert customer.user.check_password(PASSWORD)
    raw = client.session[NEW_KEY_SESSION]["raw"]
    assert ApiKey.objects.get(customer=customer).matches(raw)

    dashboard = client.get("/dashboard/")
    body = dashboard.content.decode()
    assert raw in body
    assert f'curl http://testserver/api/v1/pets -H "X-API-Key: {raw}"' in body
    assert "data-copy-target" in body
    assert "no-store" in dashboard["Cache-Control"]  # a raw key must not be cached
    # Dropped from the session once shown: a reload no longer has it.
    assert NEW_KEY_SESSION not in client.session
    assert raw not in client.get("/dashboard/").content.decode()


def test_signup_with_a_taken_email(client, owner):
    response = signup(client, "OWNER@example.com")
    assert response.status_code == 409
    assert "already exists" in response.content.decode()
    assert Customer.objects.filter(email="owner@example.com").count() == 1


def test_signup_rejects_a_weak_password(client):
    response = signup(client, password="12345678")
    assert response.status_code == 400
    assert "too common" in response.content.decode()
    assert not Customer.objects.exists()


def test_signup_is_rate_limited_per_address_like_the_api(client, settings):
    settings.REGISTRATION_RATE = "2/hour"
    assert signup(client, "a@example.com").status_code == 302
    client.logout()
    assert signup(client, "b@example.com").status_code == 302
    client.logout()
    response = signup(client, "c@example.com")
    assert response.status_code == 429
    assert "Too many sign-ups" in response.content.decode()
    assert not Customer.objects.filter(email="c@example.com").exists()


def test_signup_needs_the_csrf_token():
    client = Client(enforce_csrf_checks=True)
    assert signup(client).status_code == 403
    assert not Customer.objects.exists()


def test_login_and_logout(client, make_customer):
    signup(client, "dev@example.com")
    client.logout()
    response = client.post("/login/", {"email": "DEV@example.com", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/dashboard/"
    assert client.get("/dashboard/").status_code == 200
    assert client.get("/logout/").status_code == 405  # a link cannot log anyone out
    assert client.post("/logout/").status_code == 302
    assert client.get("/dashboard/").status_code == 302


def test_login_follows_only_local_next_urls(client):
    signup(client, "dev@example.com")
    client.logout()
    data = {"email": "dev@example.com", "password": PASSWORD}
    response = client.post("/login/?next=/dashboard/keys/", data)
    assert response["Location"] == "/dashboard/keys/"
    client.logout()
    response = client.post("/login/?next=https://evil.example/", data)
    assert response["Location"] == "/dashboard/"


def test_login_with_a_wrong_password(client):
    signup(client, "dev@example.com")
    client.logout()
    response = client.post("/login/", {"email": "dev@example.com", "password": "wrong"})
    assert response.status_code == 400
    assert "do not match" in response.content.decode()


def test_login_is_throttled_per_account(client):
    signup(client, "dev@example.com")
    client.logout()
    for _ in range(LOGIN_FAILURES_PER_USER):
        client.post("/login/", {"email": "dev@example.com", "password": "wrong"})
    # Blocked now, even with the right password, and from another address too (more in
    # test_login_lockout.py).
    response = client.post("/login/", {"email": "dev@example.com", "password": PASSWORD})
    assert response.status_code == 429
    body = response.content.decode()
    assert "Too many failed log-in attempts" in body and "15 minutes" in body
    assert "_auth_user_id" not in client.session
    other = Client(REMOTE_ADDR="10.0.0.9")
    response = other.post("/login/", {"email": "dev@example.com", "password": PASSWORD})
    assert response.status_code == 429
    # Another email is not blocked.
    response = client.post("/login/", {"email": "someone@example.com", "password": "wrong"})
    assert response.status_code == 400


def test_a_successful_login_clears_the_failures(client):
    signup(client, "dev@example.com")
    client.logout()
    for _ in range(LOGIN_FAILURES_PER_USER - 1):
        client.post("/login/", {"email": "dev@example.com", "password": "wrong"})
    assert (
        client.post("/login/", {"email": "dev@example.com", "password": PASSWORD}).status_code
        == 302
    )
    client.logout()
    for _ in range(LOGIN_FAILURES_PER_USER - 1):
        client.post("/login/", {"email": "dev@example.com", "password": "wrong"})
    assert (
        client.post("/login/", {"email": "dev@example.com", "password": PASSWORD}).status_code
        == 302
    )


def test_login_needs_the_csrf_token():
    client = Client(enforce_csrf_checks=True)
    response = client.post("/login/", {"email": "a@example.com", "password": "x"})
    assert response.status_code == 403


@pytest.mark.parametrize("url", DASHBOARD_PAGES)
def test_dashboard_pages_require_login(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(f"/login/?next={url}")


@pytest.mark.parametrize("url", DASHBOARD_PAGES)
def test_a_user_without_a_customer_gets_a_friendly_page(staff_web, url):
    response = staff_web.get(url)
    assert response.status_code == 403
    assert "No developer account here" in response.content.decode()


def test_a_logged_in_customer_is_sent_from_signup_to_the_dashboard(owner_web):
    assert owner_web.get("/signup/")["Location"] == "/dashboard/"


def test_a_logged_in_customer_is_sent_from_login_to_the_dashboard(owner_web):
    assert owner_web.get("/login/")["Location"] == "/dashboard/"
    assert owner_web.get("/login/?next=/dashboard/keys/")["Location"] == "/dashboard/keys/"
