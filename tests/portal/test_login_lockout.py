"""Log-in lockouts (django-axes) on the portal's and the admin's log-in: per account, whatever
the address; per client address, whatever the account; the page a locked-out user sees; how
the lock lifts (cool-off, staff); client addresses by NUM_PROXIES like the API's throttles."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from accounts.models import Customer
from accounts.services import customer_register
from petstore.ports import free_port

pytestmark = pytest.mark.django_db

PASSWORD = "correct-Horse-battery-9"
STAFF_PASSWORD = "x-Very-long-pass-42"
ATTACKER = "203.0.113.7"


@pytest.fixture
def dev(db) -> Customer:
    customer, _ = customer_register(email="dev@example.com", password=PASSWORD)
    return customer


@pytest.fixture
def staff(db):
    return get_user_model().objects.create_user(
        username="ops", email="ops@example.com", password=STAFF_PASSWORD, is_staff=True
    )


def portal_login(client: Client, email: str, password: str):
    return client.post("/login/", {"email": email, "password": password})


def admin_login(client: Client, username: str, password: str):
    return client.post(
        "/admin/login/?next=/admin/",
        {"username": username, "password": password, "next": "/admin/"},
    )


def access_attempts():
    """django-axes' failure records (imported here: the module's other tests need no axes)."""
    from axes.models import AccessAttempt

    return AccessAttempt.objects


def logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def test_portal_refuses_the_right_password_after_15_failures(client, dev):
    for _ in range(15):
        assert portal_login(client, "dev@example.com", "wrong").status_code in (400, 429)
    response = portal_login(client, "dev@example.com", PASSWORD)
    assert response.status_code == 429
    assert "Too many failed log-in attempts" in response.content.decode()
    assert not logged_in(client)


def test_admin_refuses_the_right_password_after_15_failures(client, staff):
    for _ in range(15):
        assert admin_login(client, "ops", "wrong").status_code in (200, 429)
    response = admin_login(client, "ops", STAFF_PASSWORD)
    assert response.status_code == 429
    assert "Too many failed log-in attempts" in response.content.decode()
    assert not logged_in(client)
    assert client.get("/admin/").status_code == 302  # still sent to the log-in form


def test_admin_and_portal_count_one_account_together(client, dev):
    """Customers' users have their email as username: guesses on the admin's form count for
    the same account as guesses on the portal's."""
    for _ in range(5):
        admin_login(client, "dev@example.com", "wrong")
    for _ in range(5):
        portal_login(client, "DEV@example.com", "wrong")
    assert portal_login(client, "dev@example.com", PASSWORD).status_code == 429


def test_one_account_attacked_from_many_addresses_is_locked(dev):
    for i in range(10):  # LOGIN_FAILURES_PER_USER (default 10), each from another address
        attacker = Client(REMOTE_ADDR=f"198.51.100.{i + 1}")
        assert portal_login(attacker, "dev@example.com", "wrong").status_code in (400, 429)
    # The account is locked wherever the next attempt comes from, the owner's address included.
    owner = Client(REMOTE_ADDR="192.0.2.50")
    assert portal_login(owner, "dev@example.com", PASSWORD).status_code == 429
    assert not logged_in(owner)
    # Other accounts are not.
    customer_register(email="other@example.com", password=PASSWORD)
    assert portal_login(owner, "other@example.com", PASSWORD).status_code == 302


def test_failures_spread_over_many_emails_from_one_address_are_locked(dev):
    attacker = Client(REMOTE_ADDR=ATTACKER)
    for i in range(50):  # LOGIN_FAILURES_PER_IP (default 50)
        # Never more than one guess per account: no account reaches its own limit.
        assert portal_login(attacker, f"user{i}@example.com", "123456").status_code in (400, 429)
    # The address is locked: even a right password from it is refused, on both log-ins.
    assert portal_login(attacker, "dev@example.com", PASSWORD).status_code == 429
    assert not logged_in(attacker)
    assert admin_login(attacker, "dev@example.com", PASSWORD).status_code == 429
    # The same account from another address is not.
    elsewhere = Client(REMOTE_ADDR="192.0.2.50")
    assert portal_login(elsewhere, "dev@example.com", PASSWORD).status_code == 302


def test_logging_in_to_ones_own_account_does_not_clear_the_address(settings, dev):
    """An attacker with an account of its own cannot reset its address's count by logging in."""
    settings.LOGIN_FAILURES_PER_IP = 6
    attacker = Client(REMOTE_ADDR=ATTACKER)
    for i in range(5):
        portal_login(attacker, f"victim{i}@example.com", "123456")
    assert portal_login(attacker, "dev@example.com", PASSWORD).status_code == 302
    attacker.post("/logout/")
    portal_login(attacker, "victim9@example.com", "123456")
    assert portal_login(attacker, "dev@example.com", PASSWORD).status_code == 429


@pytest.mark.parametrize("login", ["portal", "admin"])
def test_a_locked_out_user_sees_a_readable_page(client, dev, staff, login):
    if login == "portal":
        for _ in range(10):
            portal_login(client, "dev@example.com", "wrong")
        response = client.post(
            "/login/?next=/dashboard/keys/", {"email": "dev@example.com", "password": PASSWORD}
        )
    else:
        for _ in range(10):
            admin_login(client, "ops", "wrong")
        response = admin_login(client, "ops", STAFF_PASSWORD)
    assert response.status_code == 429
    assert response["Content-Type"].startswith("text/html")
    body = response.content.decode()
    assert "Too many failed log-in attempts for this account or from your network" in body
    assert "Try again in 15 minutes." in body
    assert "Traceback" not in body and PASSWORD not in body and STAFF_PASSWORD not in body
    if login == "portal":
        # The portal's own log-in page: the email kept, a way to reset the password.
        assert "<title>Log in · Pet Store API</title>" in body
        assert 'value="dev@example.com"' in body
        assert 'name="next" value="/dashboard/keys/"' in body
        assert 'href="/login/reset/"' in body
    else:
        # The admin's look, and how another operator lifts the lock.
        assert 'id="site-name"' in body
        assert "axes_reset_username" in body
        assert 'href="/admin/login/"' in body


def test_the_lock_lifts_after_the_cool_off(client, settings, dev):
    for _ in range(10):
        portal_login(client, "dev@example.com", "wrong")
    assert portal_login(client, "dev@example.com", PASSWORD).status_code == 429
    # Failures while locked out do not extend the lock: only the 10 counted ones age out.
    assert sum(a.failures_since_start for a in access_attempts().all()) == 10
    access_attempts().update(
        attempt_time=timezone.now() - timedelta(seconds=settings.LOGIN_LOCKOUT_SECONDS + 1)
    )
    assert portal_login(client, "dev@example.com", PASSWORD).status_code == 302


def test_staff_unlock_an_account_with_the_axes_command(client, dev):
    for _ in range(10):
        portal_login(client, "dev@example.com", "wrong")
    assert portal_login(client, "dev@example.com", PASSWORD).status_code == 429
    call_command("axes_reset_username", "dev@example.com")
    assert portal_login(client, "dev@example.com", PASSWORD).status_code == 302


def test_staff_see_and_delete_attempts_in_the_admin(client, dev, staff):
    for _ in range(10):
        portal_login(client, "dev@example.com", "wrong")
    staff.is_superuser = True
    staff.save()
    admin = Client()
    admin.force_login(staff)
    listing = admin.get("/admin/axes/accessattempt/")
    assert listing.status_code == 200 and "dev@example.com" in listing.content.decode()
    access_attempts().filter(username="dev@example.com").delete()  # the admin's delete
    assert portal_login(client, "dev@example.com", PASSWORD).status_code == 302


def test_forwarded_for_is_ignored_without_trusted_proxies(dev):
    """NUM_PROXIES=0 (default): an attacker rotating X-Forwarded-For stays one address."""
    for i in range(50):
        attacker = Client(REMOTE_ADDR=ATTACKER, HTTP_X_FORWARDED_FOR=f"10.9.{i}.1")
        portal_login(attacker, f"user{i}@example.com", "123456")
    attacker = Client(REMOTE_ADDR=ATTACKER, HTTP_X_FORWARDED_FOR="10.9.99.1")
    assert portal_login(attacker, "dev@example.com", PASSWORD).status_code == 429


def test_behind_trusted_proxies_the_forwarded_client_is_locked(settings, dev):
    """NUM_PROXIES=1: every request comes from the proxy; clients are told apart by the address
    the proxy appended to X-Forwarded-For, as the API's throttles do."""
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    proxy = "10.0.0.2"
    for i in range(50):
        attacker = Client(REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR=f"1.2.3.{i}, {ATTACKER}")
        portal_login(attacker, f"user{i}@example.com", "123456")
    attacker = Client(REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR=ATTACKER)
    assert portal_login(attacker, "dev@example.com", PASSWORD).status_code == 429
    assert access_attempts().filter(ip_address=ATTACKER).exists()
    assert not access_attempts().filter(ip_address=proxy).exists()
    # Another client behind the same proxy is not locked.
    other = Client(REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR="192.0.2.50")
    assert portal_login(other, "dev@example.com", PASSWORD).status_code == 302


def test_a_malformed_forwarded_address_falls_back_to_the_connection(settings, dev):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    client = Client(REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="not-an-ip")
    assert portal_login(client, "dev@example.com", "wrong").status_code == 400
    assert access_attempts().get().ip_address == "10.0.0.2"


def test_log_in_failures_and_lockouts_do_not_need_redis(client, settings, dev):
    """The counts live in the database: with the cache unreachable a wrong password still
    answers the form, and a lockout still holds."""
    dead = f"redis://127.0.0.1:{free_port()}/0"
    settings.CACHES = {
        "default": {**settings.CACHES["default"], "LOCATION": dead},
    }
    response = portal_login(client, "dev@example.com", "wrong")
    assert response.status_code == 400 and "do not match" in response.content.decode()
    for _ in range(9):
        portal_login(client, "dev@example.com", "wrong")
    assert portal_login(client, "dev@example.com", PASSWORD).status_code == 429
