"""Forgotten passwords, and a first password for accounts made through the API."""

import re

import pytest
from django.core import mail
from django.test import Client

from accounts.models import Customer
from petstore.ports import free_port


def reset_link(body: str) -> str:
    return re.search(r"https?://[^/]+(/login/reset/\S+/)", body).group(1)


@pytest.mark.django_db
def test_an_api_sign_up_can_set_a_password_and_log_in(client):
    client.post(
        "/api/v1/auth/register", {"email": "api@example.com"}, content_type="application/json"
    )
    user = Customer.objects.get(email="api@example.com").user
    assert not user.has_usable_password()

    response = client.post("/login/reset/", {"email": "API@example.com"})
    assert response.status_code == 302 and response["Location"] == "/login/reset/sent/"
    (email,) = mail.outbox
    assert email.to == ["api@example.com"]
    link = reset_link(email.body)
    form = client.get(link, follow=True)
    assert form.status_code == 200 and b"Choose a password" in form.content
    # Django swaps the token in the link for a session, then shows the form at its own URL.
    done = client.post(
        form.redirect_chain[-1][0],
        {"new_password1": "a-Long-pass-phrase-9", "new_password2": "a-Long-pass-phrase-9"},
    )
    assert done.status_code == 302 and done["Location"] == "/login/reset/done/"
    user.refresh_from_db()
    assert user.check_password("a-Long-pass-phrase-9")
    login = client.post("/login/", {"email": "api@example.com", "password": "a-Long-pass-phrase-9"})
    assert login.status_code == 302 and login["Location"].startswith("/dashboard")


@pytest.mark.django_db
def test_unknown_addresses_look_the_same_and_send_nothing(client):
    response = client.post("/login/reset/", {"email": "nobody@example.com"})
    assert response.status_code == 302 and response["Location"] == "/login/reset/sent/"
    assert mail.outbox == []


@pytest.mark.django_db
def test_a_used_link_does_not_work_twice(client):
    client.post(
        "/api/v1/auth/register", {"email": "twice@example.com"}, content_type="application/json"
    )
    client.post("/login/reset/", {"email": "twice@example.com"})
    link = reset_link(mail.outbox[0].body)
    form = client.get(link, follow=True)
    target = form.redirect_chain[-1][0]
    client.post(
        target, {"new_password1": "a-Long-pass-phrase-9", "new_password2": "a-Long-pass-phrase-9"}
    )
    again = client.get(link, follow=True)
    assert b"This link has expired" in again.content


# --- limits: emails per address asked for, requests per client -----------------------------


@pytest.fixture(autouse=True)
def _one_rate_window(monkeypatch):
    """django-ratelimit counts in fixed windows (per key, with jitter): pin its clock so that no
    window ends in the middle of a test."""
    import time
    from types import SimpleNamespace

    import django_ratelimit.core

    now = time.time()
    monkeypatch.setattr(django_ratelimit.core, "time", SimpleNamespace(time=lambda: now))


@pytest.fixture
def api_user(db):
    client = Client()
    client.post(
        "/api/v1/auth/register", {"email": "api@example.com"}, content_type="application/json"
    )
    return Customer.objects.get(email="api@example.com")


def ask(email: str, ip: str = "192.0.2.1"):
    return Client(REMOTE_ADDR=ip).post("/login/reset/", {"email": email})


def test_reset_emails_to_one_address_are_capped(api_user, settings):
    assert settings.PASSWORD_RESET_RATE_PER_EMAIL == "3/hour"
    # From ten different addresses, so that only the per-email limit applies.
    responses = [ask("API@example.com", ip=f"198.51.100.{i}") for i in range(10)]
    assert len(mail.outbox) == 3
    assert {m.to[0] for m in mail.outbox} == {"api@example.com"}
    # Every answer is the same "link sent" page: capped or not.
    assert {(r.status_code, r["Location"]) for r in responses} == {(302, "/login/reset/sent/")}


def test_the_capped_answer_does_not_tell_whether_an_account_exists(api_user):
    for i in range(5):
        known = ask("api@example.com", ip=f"198.51.100.{i}")
        unknown = ask("nobody@example.com", ip=f"198.51.100.{i}")
        assert (known.status_code, known["Location"]) == (unknown.status_code, unknown["Location"])
    assert len(mail.outbox) == 3 and all(m.to == ["api@example.com"] for m in mail.outbox)


def test_reset_requests_from_one_client_are_capped(api_user, settings):
    assert settings.PASSWORD_RESET_RATE_PER_IP == "10/hour"
    client = Client(REMOTE_ADDR="203.0.113.7")
    for i in range(9):
        response = client.post("/login/reset/", {"email": f"someone{i}@example.com"})
        assert response.status_code == 302
    assert client.post("/login/reset/", {"email": "api@example.com"}).status_code == 302
    assert len(mail.outbox) == 1
    # The 11th request from that address: refused, known and unknown emails alike, nothing sent.
    for email in ("api@example.com", "nobody@example.com"):
        response = client.post("/login/reset/", {"email": email})
        assert response.status_code == 429
        body = response.content.decode()
        assert "Too many password-reset requests from your network" in body
        assert "Try again in" in body and int(response["Retry-After"]) >= 1
    assert len(mail.outbox) == 1
    # Another client is not affected.
    assert ask("api@example.com", ip="192.0.2.50").status_code == 302
    assert len(mail.outbox) == 2


def test_reset_still_works_when_redis_is_down(api_user, settings):
    """The limits are in the cache; without it they are not applied (logged), rather than
    leaving someone unable to get back into their account."""
    settings.CACHES = {
        "default": {
            **settings.CACHES["default"],
            "LOCATION": f"redis://127.0.0.1:{free_port()}/0",
        }
    }
    response = ask("api@example.com")
    assert response.status_code == 302 and response["Location"] == "/login/reset/sent/"
    assert len(mail.outbox) == 1
