"""Redis unreachable: 503 JSON by default, or served unmetered when METERING_FAIL_OPEN is set.
Never a 500."""

import logging

import pytest
from django.utils import timezone

from accounts.keys import generate_key
from metering import store
from metering.grants import grants
from petstore.ports import free_port
from tests.conftest import KeyClient

PETS = "/api/v1/pets"


@pytest.fixture
def redis_down(monkeypatch):
    """The process's Redis client now points at a port where nothing listens."""
    monkeypatch.setattr(store, "_client", store.new_client(f"redis://127.0.0.1:{free_port()}/0"))
    monkeypatch.setattr(store.scripts, "_scripts", {})
    yield
    store.scripts._scripts.clear()


@pytest.mark.django_db
def test_fail_closed_answers_503_json(owner, redis_down, caplog):
    with caplog.at_level(logging.ERROR, logger="metering.middleware"):
        response = owner.get(PETS)
    assert response.status_code == 503
    assert response.json()["error"] == "metering_unavailable"
    assert "Retry" in response.json()["message"]
    assert "fail closed" in caplog.text


@pytest.mark.django_db
def test_fail_open_serves_unmetered_with_a_warning(owner, settings, caplog, request):
    owner.get(PETS)  # a warm grant: the key is known to this process
    settings.METERING_FAIL_OPEN = True
    request.getfixturevalue("redis_down")
    with caplog.at_level(logging.WARNING, logger="metering.middleware"):
        response = owner.get(PETS)
    assert response.status_code == 200
    assert "X-RateLimit-Limit" not in response
    assert "serving GET /api/v1/pets unmetered" in caplog.text
    # A key that does not exist is still refused.
    assert KeyClient(generate_key().raw).get(PETS).status_code == 401


@pytest.mark.django_db
def test_fail_open_checks_a_cold_key_against_the_database(owner, settings, redis_down):
    """Grants live in Redis: with Redis gone, fail-open confirms keys in the database (once per
    process), so a key this process never saw is served too, and a revoked one is not."""
    settings.METERING_FAIL_OPEN = True
    response = owner.get(PETS)
    assert response.status_code == 200
    assert "X-RateLimit-Limit" not in response
    key = owner.customer.api_keys.get()
    key.revoked_at = timezone.now()
    key.save(update_fields=["revoked_at"])
    grants.clear()
    assert owner.get(PETS).status_code == 401


@pytest.mark.django_db
def test_public_routes_work_without_redis_metering(client, redis_down):
    response = client.get("/api/schema/")
    assert response.status_code == 200
