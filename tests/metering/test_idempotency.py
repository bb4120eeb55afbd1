"""Idempotency-Key on API writes (metering/idempotency.py), against the suite's real Redis and
database: one execution and one charge per key, replays marked and free, conflicts refused,
refusals before execution not kept, keys per customer, 24 h lifetime.

Two concurrent requests with one key through a real gunicorn: tests/integration/
test_idempotency_gunicorn.py. Redis down: tests/faults/test_redis_outage.py."""

from __future__ import annotations

import json

import pytest
from django.db.models import Sum

from accounts import services as account_services
from accounts.models import ApiKey, Plan
from metering import services, store
from metering.idempotency import record_key
from metering.models import UsageRecord
from metering.rules import rules
from petstore.models import Pet
from tests.faults.conftest import wait_until

PETS = "/api/v1/pets"
CREATE = "POST /api/v1/pets"
pytestmark = pytest.mark.django_db


def create(client, body=None, key="key-1", **extra):
    return client.post(
        PETS, body or {"name": "Rex"}, format="json", HTTP_IDEMPOTENCY_KEY=key, **extra
    )


def usage_row(client, endpoint: str = CREATE) -> dict:
    usage = client.get("/api/v1/usage").json()
    rows = {row["endpoint"]: row for row in usage["by_endpoint"]}
    return rows.get(endpoint, {"calls": 0, "units": 0, "errors": 0})


def ledger(customer, endpoint: str = CREATE) -> dict:
    totals = UsageRecord.objects.filter(customer=customer, endpoint=endpoint).aggregate(
        calls=Sum("calls"), units=Sum("units"), errors=Sum("errors")
    )
    return {name: value or 0 for name, value in totals.items()}


def test_a_retried_create_makes_one_pet_and_is_billed_once(owner):
    first = create(owner)
    retries = [create(owner) for _ in range(3)]

    assert first.status_code == 201 and first["X-Usage-Cost"] == "2"
    assert "Idempotent-Replayed" not in first
    for retry in retries:
        assert retry.status_code == 201
        assert retry.json() == first.json()
        assert retry["Content-Type"] == "application/json"
        assert retry["Idempotent-Replayed"] == "true"
        assert retry["X-Usage-Cost"] == "0"
    assert Pet.objects.filter(owner=owner.customer).count() == 1

    # Billed once: the usage API (exact to the last request) and, after a flush, the ledger.
    assert usage_row(owner) == {**usage_row(owner), "calls": 1, "units": 2, "errors": 0}
    services.usage_flush()
    assert ledger(owner.customer) == {"calls": 1, "units": 2, "errors": 0}
    assert owner.get("/api/v1/usage").json()["units_used"] == 2


def test_the_same_key_with_another_body_is_409_and_changes_nothing(owner):
    pet = create(owner).json()
    other = create(owner, {"name": "Max"})
    assert other.status_code == 409
    assert other.json()["error"] == "idempotency_key_reused"
    assert "Idempotent-Replayed" not in other
    assert list(Pet.objects.filter(owner=owner.customer).values_list("name", flat=True)) == ["Rex"]
    # Nor on another endpoint or method: a key names one request.
    moved = owner.patch(
        f"{PETS}/{pet['id']}", {"name": "Rex"}, format="json", HTTP_IDEMPOTENCY_KEY="key-1"
    )
    assert moved.status_code == 409 and moved.json()["error"] == "idempotency_key_reused"
    assert owner.post("/api/v1/keys", {}, HTTP_IDEMPOTENCY_KEY="key-1").status_code == 409
    assert usage_row(owner)["calls"] == 1  # conflicts are not metered


def test_the_body_is_compared_as_json_not_as_bytes(owner):
    first = owner.post(
        PETS,
        data='{"name": "Rex", "tags": ["a"]}',
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="k",
    )
    again = owner.post(
        PETS,
        data='{ "tags":["a"],"name":"Rex" }',
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="k",
    )
    assert again["Idempotent-Replayed"] == "true" and again.json() == first.json()


def test_keys_belong_to_the_customer(owner, stranger):
    mine = create(owner, key="shared")
    theirs = create(stranger, key="shared")
    assert mine.status_code == theirs.status_code == 201
    assert "Idempotent-Replayed" not in theirs
    assert mine.json()["id"] != theirs.json()["id"]
    assert Pet.objects.count() == 2


def test_reads_ignore_the_key(owner):
    create(owner, key="k")
    for _ in range(2):
        listed = owner.get(PETS, HTTP_IDEMPOTENCY_KEY="k")
        assert listed.status_code == 200 and listed["X-Usage-Cost"] == "1"
        assert "Idempotent-Replayed" not in listed
    assert usage_row(owner, "GET /api/v1/pets")["calls"] == 2


@pytest.mark.parametrize("key", ["", "x" * 256, "two words", "naïve", "tab\there"])
def test_a_key_the_schema_refuses_is_400(owner, key):
    response = create(owner, key=key)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_idempotency_key"
    assert not Pet.objects.exists()


def test_a_key_of_255_characters_is_fine(owner):
    key = "k" * 255
    assert create(owner, key=key).status_code == 201
    assert create(owner, key=key)["Idempotent-Replayed"] == "true"


def test_a_refused_body_is_not_kept_so_the_fixed_retry_runs(owner):
    refused = create(owner, {"name": ""})
    assert refused.status_code == 400 and refused.json()["error"] == "validation_error"
    fixed = create(owner, {"name": "Rex"})
    assert fixed.status_code == 201 and "Idempotent-Replayed" not in fixed
    assert Pet.objects.count() == 1


def test_a_rate_limited_request_is_not_kept_so_its_retry_runs(owner, plans):
    for _ in range(10):  # the Free plan's 10 a minute
        assert owner.get(PETS).status_code == 200
    limited = create(owner)
    assert limited.status_code == 429 and limited.json()["error"] == "rate_limit_exceeded"
    Plan.objects.filter(pk=plans["free"].pk).update(rate_limit_per_minute=100)
    rules.invalidate()
    retried = create(owner)
    assert retried.status_code == 201 and "Idempotent-Replayed" not in retried
    assert Pet.objects.count() == 1


def test_a_feature_refusal_is_not_kept_so_the_retry_after_an_upgrade_runs(
    owner, plans, django_capture_on_commit_callbacks
):
    pet = create(owner, key="pet").json()
    url = f"{PETS}/{pet['id']}/image"
    refused = owner.post(url, {}, format="multipart", HTTP_IDEMPOTENCY_KEY="image")
    assert refused.status_code == 403 and refused.json()["error"] == "feature_not_in_plan"
    with django_capture_on_commit_callbacks(execute=True):
        account_services.customer_change_plan(customer=owner.customer, plan=plans["pro"])
    retried = owner.post(url, {}, format="multipart", HTTP_IDEMPOTENCY_KEY="image")
    assert retried.status_code == 400 and retried.json()["error"] == "validation_error"


def test_an_executed_refusal_is_kept_and_replayed(owner):
    missing = owner.patch(
        f"{PETS}/424242", {"name": "Rex"}, format="json", HTTP_IDEMPOTENCY_KEY="k"
    )
    again = owner.patch(f"{PETS}/424242", {"name": "Rex"}, format="json", HTTP_IDEMPOTENCY_KEY="k")
    assert missing.status_code == again.status_code == 404
    assert again.json() == missing.json() and again["Idempotent-Replayed"] == "true"


def test_a_retried_delete_replays_its_204(owner):
    pet = create(owner).json()
    gone = owner.delete(f"{PETS}/{pet['id']}", HTTP_IDEMPOTENCY_KEY="del")
    again = owner.delete(f"{PETS}/{pet['id']}", HTTP_IDEMPOTENCY_KEY="del")
    assert gone.status_code == again.status_code == 204
    assert again["Idempotent-Replayed"] == "true" and again.content == b""
    assert "Content-Type" not in again
    assert owner.delete(f"{PETS}/{pet['id']}").status_code == 404  # without the key it runs


def test_replays_spend_neither_the_rate_limit_nor_the_quota(owner):
    create(owner)  # 1 of the Free plan's 10 calls a minute
    for _ in range(15):
        assert create(owner)["Idempotent-Replayed"] == "true"
    listed = owner.get(PETS)
    assert listed.status_code == 200 and listed["X-RateLimit-Remaining"] == "8"
    assert listed["X-Quota-Remaining"] == str(10_000 - 2 - 1)


def test_a_revoked_key_replays_nothing(owner, django_capture_on_commit_callbacks):
    create(owner)
    with django_capture_on_commit_callbacks(execute=True):
        account_services.api_key_revoke(api_key=ApiKey.objects.get(customer=owner.customer))
    refused = create(owner)
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_api_key"


def test_the_answer_is_kept_for_24_hours(owner, redis_client):
    create(owner)
    record = record_key(owner.customer.pk, "key-1")
    assert json.loads(redis_client.get(record))["status"] == 201
    assert 24 * 3600 - 60 <= redis_client.ttl(record) <= 24 * 3600


def test_after_its_lifetime_the_key_runs_again(owner, redis_client, settings):
    settings.IDEMPOTENCY_KEY_TTL_SECONDS = 2
    first = create(owner)
    assert redis_client.exists(record_key(owner.customer.pk, "key-1"))
    wait_until(
        lambda: not redis_client.exists(record_key(owner.customer.pk, "key-1")),
        timeout=10,
        what="the record to expire",
    )
    second = create(owner)
    assert first.status_code == second.status_code == 201
    assert "Idempotent-Replayed" not in second
    assert second.json()["id"] != first.json()["id"]


def test_records_carry_the_customer_hash_tag(owner):
    assert record_key(owner.customer.pk, "k").startswith(store.tag(owner.customer.pk) + ":idem:")
