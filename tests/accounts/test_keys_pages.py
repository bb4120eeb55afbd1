"""The API keys page: list, create (shown once), revoke with confirmation, rotate; a customer
can never see or act on another customer's keys."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import ApiKey
from tests.conftest import KeyClient, web_client

pytestmark = pytest.mark.django_db


def body(response) -> str:
    return response.content.decode()


def new_raw_key(html: str) -> str:
    match = re.search(r'id="new-api-key"[^>]*>(ps_(?:live|test)_[0-9A-Za-z_]+)<', html)
    assert match, "no new key on the page"
    return match.group(1)


def test_keys_page_lists_only_my_keys(owner, stranger, owner_web):
    mine = ApiKey.objects.get(customer=owner.customer)
    theirs = ApiKey.objects.get(customer=stranger.customer)
    response = owner_web.get("/dashboard/keys/")
    assert response.status_code == 200
    html = body(response)
    assert mine.prefix in html and theirs.prefix not in html
    assert "1 of 2 active keys" in html
    assert "Never" in html  # not used yet
    assert f"/dashboard/keys/{mine.pk}/revoke/" in html


def test_create_a_key_shows_it_once(owner, owner_web):
    response = owner_web.post("/dashboard/keys/", {"name": "ci"})
    assert response.status_code == 302
    html = body(owner_web.get("/dashboard/keys/"))
    raw = new_raw_key(html)
    key = ApiKey.objects.get(customer=owner.customer, name="ci")
    assert key.matches(raw)
    assert "Key “ci” created." in html
    # It works on the API, and it is not shown again.
    assert KeyClient(raw).get("/api/v1/pets").status_code == 200
    assert raw not in body(owner_web.get("/dashboard/keys/"))


def test_key_limit_is_explained(owner, owner_web):
    owner_web.post("/dashboard/keys/", {"name": "second"})
    response = owner_web.post("/dashboard/keys/", {"name": "third"})
    assert response.status_code == 403
    html = body(response)
    assert "Your Free plan allows 2 active keys and you have 2." in html
    assert "2 of 2 active keys" in html
    assert not ApiKey.objects.filter(name="third").exists()


def test_revoke_asks_for_confirmation_then_revokes(owner, owner_web):
    key = ApiKey.objects.get(customer=owner.customer)
    confirm = owner_web.get(f"/dashboard/keys/{key.pk}/revoke/")
    assert confirm.status_code == 200
    assert "Revoke “default”?" in body(confirm)
    key.refresh_from_db()
    assert key.revoked_at is None  # a GET changes nothing
    response = owner_web.post(f"/dashboard/keys/{key.pk}/revoke/")
    assert response.status_code == 302
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert owner.get("/api/v1/pets").status_code == 401
    html = body(owner_web.get("/dashboard/keys/"))
    assert "Revoked" in html and "calls with it are refused now" in html


def test_revoking_a_strangers_key_is_a_404_and_leaves_it_active(stranger, owner_web):
    theirs = ApiKey.objects.get(customer=stranger.customer)
    assert owner_web.get(f"/dashboard/keys/{theirs.pk}/revoke/").status_code == 404
    assert owner_web.post(f"/dashboard/keys/{theirs.pk}/revoke/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.is_active()
    assert stranger.get("/api/v1/pets").status_code == 200


def test_rotating_a_strangers_key_is_a_404(stranger, owner_web):
    theirs = ApiKey.objects.get(customer=stranger.customer)
    assert owner_web.get(f"/dashboard/keys/{theirs.pk}/rotate/").status_code == 404
    assert (
        owner_web.post(f"/dashboard/keys/{theirs.pk}/rotate/", {"grace_hours": "0"}).status_code
        == 404
    )
    theirs.refresh_from_db()
    assert theirs.is_active()
    assert ApiKey.objects.filter(customer=stranger.customer).count() == 1


def test_rotate_now(owner, owner_web):
    old = ApiKey.objects.get(customer=owner.customer)
    assert "Rotate “default”" in body(owner_web.get(f"/dashboard/keys/{old.pk}/rotate/"))
    response = owner_web.post(f"/dashboard/keys/{old.pk}/rotate/", {"grace_hours": "0"})
    assert response.status_code == 302
    html = body(owner_web.get("/dashboard/keys/"))
    raw = new_raw_key(html)
    assert "the old key is revoked" in html
    old.refresh_from_db()
    assert old.revoked_at is not None
    assert KeyClient(raw).get("/api/v1/pets").status_code == 200
    assert owner.get("/api/v1/pets").status_code == 401


def test_rotate_with_a_grace_period(owner, owner_web):
    old = ApiKey.objects.get(customer=owner.customer)
    owner_web.post(f"/dashboard/keys/{old.pk}/rotate/", {"grace_hours": "24"})
    old.refresh_from_db()
    assert old.revoked_at is None
    assert timedelta(hours=23) < old.expires_at - timezone.now() <= timedelta(hours=24)
    html = body(owner_web.get("/dashboard/keys/"))
    assert "keeps working for 24 hours" in html and "Expiring" in html
    assert owner.get("/api/v1/pets").status_code == 200  # still works during the grace


def test_rotate_rejects_an_unknown_grace(owner, owner_web):
    old = ApiKey.objects.get(customer=owner.customer)
    response = owner_web.post(f"/dashboard/keys/{old.pk}/rotate/", {"grace_hours": "9999"})
    assert response.status_code == 400
    old.refresh_from_db()
    assert old.is_active() and old.expires_at is None


def test_revoked_keys_cannot_be_revoked_or_rotated_again(owner, owner_web):
    key = ApiKey.objects.get(customer=owner.customer)
    owner_web.post(f"/dashboard/keys/{key.pk}/revoke/")
    response = owner_web.post(f"/dashboard/keys/{key.pk}/rotate/", {"grace_hours": "0"})
    assert response.status_code == 302
    assert ApiKey.objects.filter(customer=owner.customer).count() == 1


@pytest.mark.parametrize(
    ("url", "data"),
    [
        ("/dashboard/keys/", {"name": "x"}),
        ("/dashboard/keys/{pk}/revoke/", {}),
        ("/dashboard/keys/{pk}/rotate/", {"grace_hours": "0"}),
    ],
)
def test_key_actions_need_the_csrf_token(owner, url, data):
    key = ApiKey.objects.get(customer=owner.customer)
    client = web_client(owner.customer, enforce_csrf_checks=True)
    response = client.post(url.format(pk=key.pk), data)
    assert response.status_code == 403
    key.refresh_from_db()
    assert key.is_active()
    assert ApiKey.objects.filter(customer=owner.customer).count() == 1


def test_anonymous_cannot_revoke(owner):
    key = ApiKey.objects.get(customer=owner.customer)
    response = Client().post(f"/dashboard/keys/{key.pk}/revoke/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    key.refresh_from_db()
    assert key.is_active()
