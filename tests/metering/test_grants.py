"""Grants in Redis: the admission script finds the presented key in its customer's grant, so a
warm request needs no process cache and no database query, whatever the number of keys."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts import keys
from accounts.models import ApiKey, Plan
from metering import services, store
from metering.grants import REDIS_GRANT_TTL_SECONDS, grants
from metering.rules import rules
from tests.conftest import KeyClient

PETS = "/api/v1/pets"


def routed_key(customer_id: int, body: str = "A" * keys.BODY_LENGTH) -> str:
    """A well-formed key (valid checksum) naming `customer_id` in its routing tag."""
    text = f"ps_live_{body}_{keys._base62(customer_id)}"
    return text + keys._checksum(text)


def _admit(raw: str, route: str = "api/v1/pets"):
    return services.request_admit(raw_key=raw, method="GET", route=route)


@pytest.mark.django_db
def test_issued_keys_name_their_customer(owner):
    assert keys.is_well_formed(owner.raw_key)
    assert keys.routed_customer(owner.raw_key) == owner.customer.pk
    assert owner.raw_key.startswith(ApiKey.objects.get(customer=owner.customer).prefix)


@pytest.mark.django_db
def test_a_warm_admission_needs_no_process_cache_and_no_query(owner):
    _admit(owner.raw_key)  # loads the grant into Redis and seeds the period
    rules.plan(owner.customer.plan_id)  # the rules snapshot is per process, not per key
    grants.clear()  # a fresh worker, or one that has seen a million other keys since
    with CaptureQueriesContext(connection) as queries:
        admission = _admit(owner.raw_key)
    assert len(queries) == 0, [q["sql"] for q in queries]
    assert admission.grant.customer_id == owner.customer.pk
    assert admission.remaining == 8
    assert grants.get(keys.hash_key(owner.raw_key)) is None


@pytest.mark.django_db
def test_the_routing_tag_is_not_a_credential(owner, stranger, redis_client):
    """A key re-tagged to name another customer is looked up in that customer's grant, where
    its hash is not: refused, and nothing is counted for either customer."""
    assert stranger.get(PETS).status_code == 200
    body = owner.raw_key[len("ps_live_") : len("ps_live_") + keys.BODY_LENGTH]
    forged = routed_key(stranger.customer.pk, body)
    assert keys.is_well_formed(forged)
    before = redis_client.hgetall(store.pending_key(stranger.customer.pk))
    response = KeyClient(forged).get(PETS)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_api_key"
    assert redis_client.hgetall(store.pending_key(stranger.customer.pk)) == before
    assert not redis_client.exists(store.pending_key(owner.customer.pk))
    # Refused again from this process's negative cache, without the database.
    with CaptureQueriesContext(connection) as queries:
        assert KeyClient(forged).get(PETS).status_code == 401
    assert len(queries) == 0


@pytest.mark.django_db
def test_a_made_up_customer_leaves_nothing_in_redis(db, redis_client):
    response = KeyClient(routed_key(987654)).get(PETS)
    assert response.status_code == 401
    assert redis_client.keys("{cus_987654}*") == []


@pytest.mark.django_db
def test_keys_issued_before_routing_tags_keep_working(owner):
    old = keys.generate_key("live")  # no routing tag: the format of earlier releases
    assert keys.routed_customer(old.raw) is None
    ApiKey.objects.create(
        customer=owner.customer, name="old", prefix=old.prefix, key_hash=old.hashed
    )
    grants.clear()
    response = KeyClient(old.raw).get(PETS)
    assert response.status_code == 200
    assert response["X-RateLimit-Remaining"] == "9"
    assert owner.get(PETS)["X-RateLimit-Remaining"] == "8"  # one customer, one limit


@pytest.mark.django_db
def test_a_key_created_after_the_grant_loaded_works_at_once(owner):
    assert owner.get(PETS).status_code == 200  # the grant is in Redis, without the new key
    created = owner.post("/api/v1/keys", {"name": "second"}, format="json").json()
    response = KeyClient(created["api_key"]).get(PETS)
    assert response.status_code == 200
    assert response["X-RateLimit-Remaining"] == "8"


@pytest.mark.django_db
def test_revoking_a_key_applies_on_the_next_request(
    owner, redis_client, django_capture_on_commit_callbacks
):
    second = owner.post("/api/v1/keys", {"name": "second"}, format="json").json()
    second_client = KeyClient(second["api_key"])
    assert second_client.get(PETS).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        assert owner.delete(f"/api/v1/keys/{second['id']}").status_code in (200, 204)
    refused = second_client.get(PETS)
    assert refused.status_code == 401
    assert "revoked" in refused.json()["message"]
    pending = redis_client.hgetall(store.pending_key(owner.customer.pk))
    hour = next(iter(pending)).split("|")[1]
    assert pending[f"GET /api/v1/pets|{hour}|refused_key"] == "1"
    assert owner.get(PETS).status_code == 200


@pytest.mark.django_db
def test_an_edited_plan_limit_reaches_every_grant(owner, redis_client):
    assert owner.get(PETS)["X-RateLimit-Limit"] == "10"
    Plan.objects.filter(slug="free").update(rate_limit_per_minute=25)
    rules.invalidate()  # what the commit's receiver does (on_commit does not run in db tests)
    response = owner.get(PETS)
    assert response["X-RateLimit-Limit"] == "25"
    assert response["X-RateLimit-Remaining"] == "23"
    grant = redis_client.hgetall(store.grant_key(owner.customer.pk))
    assert grant["lim"] == "25" and grant["pv"] == rules.plans_version


@pytest.mark.django_db
def test_a_grant_holds_the_customers_keys_and_expires(owner, redis_client):
    assert owner.get(PETS).status_code == 200
    key = store.grant_key(owner.customer.pk)
    grant = redis_client.hgetall(key)
    api_key = ApiKey.objects.get(customer=owner.customer)
    assert grant[api_key.key_hash] == f"{api_key.pk}|0"
    assert grant["plan"] == str(owner.customer.plan_id)
    assert grant["tok"] == redis_client.get(store.cfg_key(owner.customer.pk))
    assert owner.raw_key not in str(grant)  # hashes only
    assert 0 < redis_client.ttl(key) <= REDIS_GRANT_TTL_SECONDS


@pytest.mark.django_db
def test_first_call_is_recorded_once(owner, redis_client):
    assert owner.customer.first_call_at is None
    assert owner.get(PETS).status_code == 200
    owner.customer.refresh_from_db()
    assert owner.customer.first_call_at is not None
    assert redis_client.hget(store.grant_key(owner.customer.pk), "first") == "1"
    grants.clear()
    with CaptureQueriesContext(connection) as queries:
        assert owner.get(PETS).status_code == 200
    assert not [q for q in queries if "first_call_at" in q["sql"]]
