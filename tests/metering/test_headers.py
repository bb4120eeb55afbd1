import pytest

from core.periods import current_period
from metering import store

PETS = "/api/v1/pets"


@pytest.mark.django_db
def test_every_metered_response_carries_rate_and_usage_headers(owner):
    first = owner.get(PETS)
    assert first.status_code == 200
    assert first["X-RateLimit-Limit"] == "10"
    assert first["X-RateLimit-Remaining"] == "9"
    assert (
        60 <= int(first["X-RateLimit-Reset"]) <= 61
    )  # the 1 s bucket it fell in leaves 60 s later
    assert first["X-Usage-Cost"] == "1"
    assert first["X-Quota-Remaining"] == "9999"

    created = owner.post(PETS, {"name": "Rex"}, format="json")
    assert created["X-Usage-Cost"] == "2"
    assert created["X-Quota-Remaining"] == "9997"
    assert created["X-RateLimit-Remaining"] == "8"


@pytest.mark.django_db
def test_errors_cost_nothing_and_give_their_units_back(pro_client, redis_client):
    period_key = store.period_key(pro_client.customer.pk, current_period().id)
    assert pro_client.get(f"{PETS}/424242").status_code == 404
    missing = pro_client.get(f"{PETS}/424242")
    assert missing["X-Usage-Cost"] == "0"
    assert missing["X-Quota-Remaining"] == "50000"
    invalid = pro_client.post(PETS, {}, format="json")
    assert invalid.status_code == 400 and invalid["X-Usage-Cost"] == "0"
    assert int(redis_client.hget(period_key, "units")) == 0
    usage = pro_client.get("/api/v1/usage").json()
    assert usage["units_used"] == 0
    assert usage["errors"] == 3
    by_endpoint = {row["endpoint"]: row for row in usage["by_endpoint"]}
    assert by_endpoint["GET /api/v1/pets/{pk}"]["errors"] == 2
    assert by_endpoint["POST /api/v1/pets"]["errors"] == 1


@pytest.mark.django_db
def test_weights_follow_the_endpoint_table(pro_client, django_capture_on_commit_callbacks):
    from metering.models import Endpoint

    pet = pro_client.post(PETS, {"name": "Rex"}, format="json").json()
    assert pro_client.get(f"{PETS}/{pet['id']}")["X-Usage-Cost"] == "1"
    assert pro_client.get("/api/v1/analytics")["X-Usage-Cost"] == "5"
    assert pro_client.get("/api/v1/usage")["X-Usage-Cost"] == "0"
    with django_capture_on_commit_callbacks(execute=True):
        Endpoint.objects.filter(method="GET", path="/api/v1/pets/{pk}").update(weight=7)
        Endpoint.objects.get(method="GET", path="/api/v1/pets/{pk}").save()
    assert pro_client.get(f"{PETS}/{pet['id']}")["X-Usage-Cost"] == "7"


@pytest.mark.django_db
def test_unknown_routes_weigh_one(pro_client, settings):
    """A DRF route with no row in the endpoint table is metered at weight 1."""
    from metering.rules import rules

    rule = rules.endpoint("GET", "api/v1/brand-new/<int:pk>")
    assert (rule.weight, rule.path, rule.billable_class) == (1, "/api/v1/brand-new/{pk}", "read")
    assert rules.endpoint("POST", "api/v1/brand-new").billable_class == "write"


@pytest.mark.django_db
def test_usage_api_is_exact_before_and_after_flush(pro_client):
    from metering.services import usage_flush

    pet = pro_client.post(PETS, {"name": "Rex"}, format="json").json()
    pro_client.get(PETS)
    pro_client.patch(f"{PETS}/{pet['id']}", {"status": "sold"}, format="json")
    before = pro_client.get("/api/v1/usage").json()
    assert before["units_used"] == 5 and before["calls"] == 4  # 2 + 1 + 2 + usage call 0
    usage_flush()
    after = pro_client.get("/api/v1/usage").json()
    assert after["units_used"] == 5 and after["calls"] == 5
    assert after["remaining_units"] == 50_000 - 5
    days = after["by_day"]
    assert len(days) == 1 and days[0]["units"] == 5
