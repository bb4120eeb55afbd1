import pytest

from accounts.models import ApiKey
from tests.conftest import KeyClient

KEYS = "/api/v1/keys"


@pytest.mark.django_db
def test_create_shows_the_key_once_and_it_works(owner):
    response = owner.post(KEYS, {"name": "ci"}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["name"] == "ci" and body["active"] is True
    raw = body["api_key"]
    assert raw.startswith(body["prefix"])
    assert KeyClient(raw).get("/api/v1/pets").status_code == 200
    listed = owner.get(KEYS).json()["results"]
    assert {k["name"] for k in listed} == {"default", "ci"}
    assert all("api_key" not in k for k in listed)


@pytest.mark.django_db
def test_key_limit_is_enforced_with_a_clear_403(owner):
    # Free allows 2 keys; registration made the first.
    assert owner.post(KEYS, {"name": "second"}, format="json").status_code == 201
    refused = owner.post(KEYS, {"name": "third"}, format="json")
    assert refused.status_code == 403
    body = refused.json()
    assert body["error"] == "key_limit_reached"
    assert body["limit"] == 2
    assert "Free plan allows 2 active keys" in body["message"]
    assert body["upgrade_url"].endswith("/pricing/")
    assert ApiKey.objects.filter(customer=owner.customer).count() == 2


@pytest.mark.django_db(transaction=True)
def test_revoked_key_gets_401_and_frees_a_slot(owner):
    second = owner.post(KEYS, {"name": "second"}, format="json").json()
    second_client = KeyClient(second["api_key"])
    assert second_client.get("/api/v1/pets").status_code == 200

    assert owner.delete(f"{KEYS}/{second['id']}").status_code == 204
    refused = second_client.get("/api/v1/pets")
    assert refused.status_code == 401
    assert refused.json() == {
        "error": "invalid_api_key",
        "message": "This API key has been revoked.",
    }
    assert owner.post(KEYS, {"name": "third"}, format="json").status_code == 201
    row = ApiKey.objects.get(pk=second["id"])
    assert row.revoked_at is not None


@pytest.mark.django_db
def test_customer_cannot_see_or_revoke_anothers_keys(owner, stranger):
    owner_key = ApiKey.objects.get(customer=owner.customer)
    assert stranger.delete(f"{KEYS}/{owner_key.pk}").status_code == 404
    assert stranger.post(f"{KEYS}/{owner_key.pk}/rotate", {}, format="json").status_code == 404
    listed = stranger.get(KEYS).json()["results"]
    assert owner_key.pk not in {k["id"] for k in listed}
    owner_key.refresh_from_db()
    assert owner_key.revoked_at is None
    assert owner.get("/api/v1/pets").status_code == 200


@pytest.mark.django_db(transaction=True)
def test_rotate_replaces_the_key(owner):
    old = ApiKey.objects.get(customer=owner.customer)
    response = owner.post(f"{KEYS}/{old.pk}/rotate", {}, format="json")
    assert response.status_code == 201
    new_raw = response.json()["api_key"]
    assert owner.get("/api/v1/pets").status_code == 401  # the old key stopped at once
    assert KeyClient(new_raw).get("/api/v1/pets").status_code == 200


@pytest.mark.django_db
def test_rotate_with_grace_keeps_the_old_key_working(owner):
    old = ApiKey.objects.get(customer=owner.customer)
    response = owner.post(f"{KEYS}/{old.pk}/rotate", {"grace_hours": 24}, format="json")
    assert response.status_code == 201
    assert owner.get("/api/v1/pets").status_code == 200
    old.refresh_from_db()
    assert old.expires_at is not None and old.revoked_at is None
    bad = owner.post(f"{KEYS}/{old.pk}/rotate", {"grace_hours": 500}, format="json")
    assert bad.status_code == 400 and bad.json()["error"] == "validation_error"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("url", "payload", "field"),
    [
        (KEYS, {"name": 0}, "name"),
        (KEYS, {"name": ""}, "name"),
        (KEYS, {"label": "ci"}, "label"),
        ("rotate", {"grace_hours": "5"}, "grace_hours"),
        ("rotate", {"grace_hours": 1.5}, "grace_hours"),
        ("rotate", {"grace_hours": 24.0}, "grace_hours"),
        ("rotate", {"grace_hours": True}, "grace_hours"),
    ],
)
def test_key_requests_are_as_strict_as_the_schema(owner, url, payload, field):
    if url == "rotate":
        url = f"{KEYS}/{ApiKey.objects.get(customer=owner.customer).pk}/rotate"
    response = owner.post(url, payload, format="json")
    assert response.status_code == 400
    assert response.json()["error"] == "validation_error" and field in response.json()["fields"]
    assert ApiKey.objects.filter(customer=owner.customer).count() == 1


@pytest.mark.django_db
def test_revoking_an_unknown_key_is_404(owner):
    response = owner.delete(f"{KEYS}/999999")
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("headers", "message_part"),
    [
        ({}, "Missing API key"),
        ({"HTTP_X_API_KEY": "nope"}, "malformed"),
        ({"HTTP_AUTHORIZATION": "Bearer ps_live_short"}, "malformed"),
        ({"HTTP_AUTHORIZATION": "Basic dXNlcjpwYXNz"}, "Missing API key"),
    ],
)
def test_401_shapes(client, headers, message_part):
    response = client.get("/api/v1/pets", **headers)
    assert response.status_code == 401
    body = response.json()
    assert body["error"] == "invalid_api_key"
    assert message_part in body["message"]
    assert "WWW-Authenticate" in response


@pytest.mark.django_db
def test_well_formed_but_unknown_key_is_401(client):
    from accounts.keys import generate_key

    response = client.get("/api/v1/pets", HTTP_X_API_KEY=generate_key().raw)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_api_key"


@pytest.mark.django_db
def test_bearer_header_works_like_x_api_key(owner):
    bearer = KeyClient()
    bearer.credentials(HTTP_AUTHORIZATION=f"Bearer {owner.raw_key}")
    assert bearer.get("/api/v1/pets").status_code == 200
