"""Account endpoints (usage, keys, billing, webhooks) do not spend the plan's rate limit, as
GitHub's /rate_limit does not: they have a per-customer limit of their own
(ACCOUNT_RATE_LIMIT_PER_MINUTE), reported in their own X-RateLimit-* headers."""

import pytest

from core.periods import current_period
from metering import store
from metering.rules import is_account_path, rules

PETS = "/api/v1/pets"


@pytest.mark.django_db
def test_checking_usage_leaves_the_plans_limit_whole(owner, settings):
    for _ in range(5):
        usage = owner.get("/api/v1/usage")
        assert usage.status_code == 200
    assert usage["X-RateLimit-Limit"] == str(settings.ACCOUNT_RATE_LIMIT_PER_MINUTE)
    assert usage["X-RateLimit-Remaining"] == str(settings.ACCOUNT_RATE_LIMIT_PER_MINUTE - 5)
    assert usage["X-RateLimit-Resource"] == "account"
    assert usage["X-Usage-Cost"] == "0"
    assert owner.get("/api/v1/keys").status_code == 200
    assert owner.get("/api/v1/billing/invoices").status_code == 200
    # The Free plan's 10 a minute are all still there for the API.
    for i in range(10):
        pets = owner.get(PETS)
        assert pets.status_code == 200
        assert pets["X-RateLimit-Remaining"] == str(9 - i)
        assert "X-RateLimit-Resource" not in pets
    assert owner.get(PETS).status_code == 429
    # ... and an exhausted plan limit does not lock the customer out of their account.
    assert owner.get("/api/v1/usage").status_code == 200


@pytest.mark.django_db
def test_account_endpoints_have_their_own_limit(owner, settings):
    settings.ACCOUNT_RATE_LIMIT_PER_MINUTE = 3
    for _ in range(3):
        assert owner.get("/api/v1/usage").status_code == 200
    refused = owner.get("/api/v1/keys")
    assert refused.status_code == 429
    body = refused.json()
    assert body["error"] == "rate_limit_exceeded"
    assert body["limit"] == 3 and body["window"] == "60s"
    assert "account endpoints" in body["message"]
    assert refused["X-RateLimit-Limit"] == "3"
    assert refused["X-RateLimit-Remaining"] == "0"
    assert refused["X-RateLimit-Resource"] == "account"
    assert 55 <= int(refused["Retry-After"]) <= 60
    # The API's own limit is untouched.
    pets = owner.get(PETS)
    assert pets.status_code == 200 and pets["X-RateLimit-Remaining"] == "9"


@pytest.mark.django_db
def test_the_quota_never_blocks_the_account_endpoints(owner, redis_client):
    """A hard-capped customer at its quota can still read its usage and upgrade."""
    assert owner.get(PETS).status_code == 200
    period_key = store.period_key(owner.customer.pk, current_period().id)
    redis_client.hset(period_key, "units", 10_000)  # the Free plan's whole quota
    assert owner.get(PETS).json()["error"] == "quota_exceeded"
    usage = owner.get("/api/v1/usage")
    assert usage.status_code == 200
    assert usage["X-Quota-Remaining"] == "0"


def test_which_paths_are_account_endpoints(settings):
    assert settings.METERING_ACCOUNT_PATHS
    for path in (
        "/api/v1/usage",
        "/api/v1/keys",
        "/api/v1/keys/{pk}",
        "/api/v1/keys/{pk}/rotate",
        "/api/v1/billing/subscribe",
        "/api/v1/billing/invoices",
        "/api/v1/webhooks",
        "/api/v1/webhooks/{pk}",
    ):
        assert is_account_path(path), path
    for path in ("/api/v1/pets", "/api/v1/analytics", "/api/v1/usagex", "/api/v1/keysmith"):
        assert not is_account_path(path), path


@pytest.mark.django_db
def test_rules_mark_account_routes():
    assert rules.endpoint("GET", "api/v1/usage").account
    assert rules.endpoint("DELETE", "api/v1/keys/<int:pk>").account
    assert not rules.endpoint("GET", "api/v1/pets").account
