import pytest
from django.test import override_settings

from accounts.models import ApiKey, Customer, PlanChange

REGISTER = "/api/v1/auth/register"


@pytest.mark.django_db
def test_register_returns_a_working_key_once(client):
    response = client.post(REGISTER, {"email": "New@Example.com"}, content_type="application/json")
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"customer_id", "api_key", "plan"}
    assert body["plan"] == "free"
    assert body["api_key"].startswith("ps_live_")
    customer = Customer.objects.get(pk=body["customer_id"])
    assert customer.email == "new@example.com"
    assert not customer.user.has_usable_password()  # API-only sign-up needs no password
    assert PlanChange.objects.filter(customer=customer, reason="signup").count() == 1

    pets = client.get("/api/v1/pets", HTTP_X_API_KEY=body["api_key"])
    assert pets.status_code == 200
    keys = client.get("/api/v1/keys", HTTP_X_API_KEY=body["api_key"]).json()["results"]
    assert "api_key" not in keys[0] and "key_hash" not in keys[0]


@pytest.mark.django_db
def test_duplicate_email_is_409_case_insensitively(client):
    client.post(REGISTER, {"email": "dup@example.com"}, content_type="application/json")
    response = client.post(REGISTER, {"email": "DUP@example.com "}, content_type="application/json")
    assert response.status_code == 409
    assert response.json()["error"] == "email_taken"
    assert "already exists" in response.json()["message"]
    assert Customer.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    "payload", [{"email": "not-an-email"}, {}, {"email": ""}, {"email": "a@b"}, {"email": 5}]
)
def test_bad_email_is_400_and_creates_nothing(client, payload):
    response = client.post(REGISTER, payload, content_type="application/json")
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "validation_error"
    assert "email" in body["fields"]
    assert body["message"].startswith("email:")
    assert Customer.objects.count() == 0 and ApiKey.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"email": "a@example.com", "name": 0}, "name"),
        ({"email": "a@example.com", "plan": "pro"}, "plan"),
        ({"email": ["a@example.com"]}, "email"),
    ],
)
def test_sign_up_is_as_strict_as_the_schema(client, payload, field):
    response = client.post(REGISTER, payload, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"] == "validation_error" and field in response.json()["fields"]
    assert Customer.objects.count() == 0


@pytest.mark.django_db
def test_malformed_json_is_400(client):
    response = client.post(REGISTER, "{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"] == "malformed_request"


@pytest.mark.django_db
@override_settings(REGISTRATION_RATE="3/hour")
def test_registration_is_throttled_per_ip(client):
    for i in range(3):
        response = client.post(
            REGISTER,
            {"email": f"u{i}@example.com"},
            content_type="application/json",
            REMOTE_ADDR="10.0.0.1",
        )
        assert response.status_code == 201
    refused = client.post(
        REGISTER,
        {"email": "u9@example.com"},
        content_type="application/json",
        REMOTE_ADDR="10.0.0.1",
    )
    assert refused.status_code == 429
    body = refused.json()
    assert (body["error"], body["limit"], body["window"]) == ("rate_limit_exceeded", 3, "3600s")
    assert int(refused["Retry-After"]) == body["retry_after"] > 0
    other_ip = client.post(
        REGISTER,
        {"email": "u10@example.com"},
        content_type="application/json",
        REMOTE_ADDR="10.0.0.2",
    )
    assert other_ip.status_code == 201
    assert Customer.objects.count() == 4
