"""Forgotten passwords, and a first password for accounts made through the API."""

import re

import pytest
from django.core import mail

from accounts.models import Customer


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
