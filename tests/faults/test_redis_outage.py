"""Redis down (its process killed): public pages and the dashboard keep working, sign-up
answers a clear 503, and the metered API answers 503 JSON. Never a 500."""

import pytest

from accounts.models import Customer
from metering import services
from metering.models import RequestVoid
from petstore.models import Pet
from tests.faults.conftest import ledger_totals

PETS = "/api/v1/pets"


@pytest.fixture
def customer_with_usage(pro_client, app_on_own_redis):
    """A pro customer with 3 flushed units in the ledger and 2 more only in Redis."""
    for _ in range(3):
        assert pro_client.get(PETS).status_code == 200
    services.usage_flush()
    assert pro_client.post(PETS, {"name": "Rex"}, format="json").status_code == 201
    assert ledger_totals(pro_client.customer.pk)["units"] == 3
    return pro_client


@pytest.fixture
def logged_in(client, customer_with_usage):
    client.force_login(customer_with_usage.customer.user)
    return client


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url", ["/", "/pricing/", "/docs/quickstart/", "/signup/", "/login/", "/api/schema/"]
)
def test_public_pages_work_without_redis(client, app_on_own_redis, url):
    app_on_own_redis.kill()
    assert client.get(url).status_code == 200


@pytest.mark.django_db
def test_sign_up_answers_503_json_when_its_rate_limit_cannot_be_checked(client, app_on_own_redis):
    app_on_own_redis.kill()
    response = client.post(
        "/api/v1/auth/register", {"email": "new@example.com"}, "application/json"
    )
    assert response.status_code == 503
    body = response.json()
    assert body["error"] == "service_unavailable"
    assert "sign-up" in body["message"].lower()
    assert response["Retry-After"]
    assert not Customer.objects.filter(email="new@example.com").exists()


@pytest.mark.django_db
def test_portal_sign_up_form_says_to_retry_when_redis_is_down(client, app_on_own_redis):
    app_on_own_redis.kill()
    response = client.post(
        "/signup/", {"email": "new@example.com", "password": "a-long-passphrase-42"}
    )
    assert response.status_code == 503
    assert "try again in a minute" in response.content.decode().lower()


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/dashboard/", "/dashboard/usage/", "/dashboard/usage/panel/"])
def test_dashboard_shows_ledger_usage_when_redis_is_down(logged_in, app_on_own_redis, url):
    app_on_own_redis.kill()
    response = logged_in.get(url)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Live usage counters are unavailable" in page


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/dashboard/keys/", "/dashboard/billing/", "/dashboard/alerts/"])
def test_other_dashboard_pages_work_when_redis_is_down(logged_in, app_on_own_redis, url):
    app_on_own_redis.kill()
    assert logged_in.get(url).status_code == 200


@pytest.mark.django_db
def test_dashboard_shows_live_usage_again_once_redis_is_back(logged_in, app_on_own_redis):
    app_on_own_redis.kill()
    page = logged_in.get("/dashboard/usage/").content.decode()
    assert "Live usage counters are unavailable" in page
    app_on_own_redis.start()
    page = logged_in.get("/dashboard/usage/").content.decode()
    assert "Live usage counters are unavailable" not in page


@pytest.mark.django_db
def test_metered_api_answers_503_json_when_redis_is_down(customer_with_usage, app_on_own_redis):
    app_on_own_redis.kill()
    for _ in range(5):
        response = customer_with_usage.get(PETS)
        assert response.status_code == 503
        assert response.json()["error"] == "metering_unavailable"
    # Only a script that went out whole can have run: the first call, on the connection that
    # was open when Redis died, is voided; the next ones could not connect, so nothing to void.
    assert RequestVoid.objects.count() <= 1


@pytest.mark.django_db
def test_redis_lost_inside_an_admitted_call_answers_503_json_and_bills_nothing(
    customer_with_usage, app_on_own_redis, script_spy
):
    # Admitted, then Redis dies as the usage API reads its live counters (the SMEMBERS that
    # checks no flush moved them meanwhile): 503 JSON, not 500, and the call (its refund
    # unreachable) is voided once Redis is back.
    script_spy.kill_before("SMEMBERS", app_on_own_redis)
    response = customer_with_usage.get("/api/v1/usage")
    assert response.status_code == 503
    assert response.json()["error"] == "service_unavailable"
    app_on_own_redis.start()
    assert services.usage_flush().voids_applied == 1
    totals = ledger_totals(customer_with_usage.customer.pk)
    assert (totals["calls"], totals["units"]) == (4, 5)  # 3 lists and a create; not the 503


@pytest.mark.django_db
def test_a_write_with_an_idempotency_key_answers_503_when_redis_is_down(
    customer_with_usage, app_on_own_redis
):
    app_on_own_redis.kill()
    response = customer_with_usage.post(
        PETS, {"name": "Max"}, format="json", HTTP_IDEMPOTENCY_KEY="down"
    )
    assert response.status_code == 503
    assert response.json()["error"] == "metering_unavailable"
    assert not Pet.objects.filter(name="Max").exists()
    # Back up: the retry with the same key runs (the 503 was not kept) and is kept itself.
    app_on_own_redis.start()
    created = customer_with_usage.post(
        PETS, {"name": "Max"}, format="json", HTTP_IDEMPOTENCY_KEY="down"
    )
    replayed = customer_with_usage.post(
        PETS, {"name": "Max"}, format="json", HTTP_IDEMPOTENCY_KEY="down"
    )
    assert created.status_code == 201 and "Idempotent-Replayed" not in created
    assert replayed["Idempotent-Replayed"] == "true"
    assert Pet.objects.filter(name="Max").count() == 1
