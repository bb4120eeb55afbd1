"""A key's own monthly caps (docs/keys.md): set through PATCH /api/v1/keys/{id}, enforced in the
admission script (metering.store.METER_LUA) for that key only, given back by refunds and voids,
counted and flushed into the per-key ledger, shown in the keys API and the usage API."""

from datetime import timedelta
from decimal import Decimal

import pytest

from accounts import services as accounts_services
from accounts.models import ApiKey
from core.periods import current_period
from metering import services, store
from metering.errors import KeyCapExceeded
from metering.models import KeyUsage, UsageRecord
from metering.services import usage_flush
from pricing.caps import spend_cap_units
from tests.conftest import KeyClient

KEYS = "/api/v1/keys"
PETS = "/api/v1/pets"


@pytest.fixture
def pro(make_customer):
    customer, raw = make_customer("pro")
    return KeyClient(raw, customer)


def second_key(client) -> KeyClient:
    api_key, raw = accounts_services.api_key_create(customer=client.customer, name="ci")
    other = KeyClient(raw, client.customer)
    other.key = api_key
    return other


def key_of(client) -> ApiKey:
    return ApiKey.objects.filter(customer=client.customer).order_by("id").first()


@pytest.mark.django_db(transaction=True)
def test_a_capped_key_is_refused_past_its_cap_while_the_others_keep_working(pro):
    key = key_of(pro)
    other = second_key(pro)
    response = pro.patch(f"{KEYS}/{key.pk}", {"monthly_unit_cap": 5}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["monthly_unit_cap"] == 5
    assert pro.post(PETS, {"name": "a"}, format="json").status_code == 201  # 2 units
    assert pro.post(PETS, {"name": "b"}, format="json").status_code == 201  # 4 units
    refused = pro.post(PETS, {"name": "c"}, format="json")  # would make 6
    assert refused.status_code == 429
    body = refused.json()
    assert body["error"] == "key_cap_exceeded"
    assert body["cap"] == 5 and body["used"] == 4 and body["cost"] == 2
    assert body["key_id"] == key.pk
    assert body["period_end"] == current_period().end.isoformat()
    assert "Retry-After" not in refused
    assert pro.get(PETS).status_code == 200  # a 1-unit call still fits exactly: 5
    assert pro.get(PETS).status_code == 429
    for _ in range(3):
        assert other.get(PETS).status_code == 200  # the customer's other key is not capped
    # The account endpoints stay open to the capped key: it can lift its own cap.
    listed = {k["id"]: k for k in pro.get(KEYS).json()["results"]}
    assert listed[key.pk]["units_used"] == 5
    assert listed[other.key.pk]["units_used"] == 3
    assert (
        pro.patch(f"{KEYS}/{key.pk}", {"monthly_unit_cap": None}, format="json").json()[
            "monthly_unit_cap"
        ]
        is None
    )
    assert pro.post(PETS, {"name": "c"}, format="json").status_code == 201

    usage_flush()
    rows = UsageRecord.objects.filter(customer=pro.customer)
    assert sum(r.refused_key_cap for r in rows) == 2
    assert sum(r.refused for r in rows) == 2
    ledger = {row.key_id: row for row in KeyUsage.objects.filter(customer=pro.customer)}
    # Calls count the free account calls too (2 PATCHes and the key list), as by_endpoint does.
    assert ledger[key.pk].units == 7 and ledger[key.pk].calls == 7
    assert ledger[key.pk].refused_key_cap == 2
    assert ledger[other.key.pk].units == 3 and ledger[other.key.pk].calls == 3
    by_key = {row["key_id"]: row for row in pro.get("/api/v1/usage").json()["by_key"]}
    assert by_key[key.pk]["units"] == 7 and by_key[key.pk]["calls"] == 8  # + this usage call
    assert by_key[key.pk]["refused_key_cap"] == 2
    assert by_key[other.key.pk]["units"] == 3
    assert by_key[other.key.pk]["name"] == "ci"


@pytest.mark.django_db(transaction=True)
def test_a_refund_gives_the_key_its_units_back(pro):
    key = key_of(pro)
    pro.patch(f"{KEYS}/{key.pk}", {"monthly_unit_cap": 2}, format="json")
    missing = pro.patch(f"{PETS}/999999", {"status": "sold"}, format="json")  # 404: refunded
    assert missing.status_code == 404
    assert missing["X-Usage-Cost"] == "0"
    assert pro.post(PETS, {"name": "a"}, format="json").status_code == 201  # still 2 left
    assert pro.get(PETS).status_code == 429
    period_hash = store.client().hgetall(store.period_key(pro.customer.pk, current_period().id))
    assert period_hash[f"k{key.pk}"] == "2"


@pytest.mark.django_db(transaction=True)
def test_a_void_gives_the_key_its_units_back(pro):
    key = key_of(pro)
    pro.patch(f"{KEYS}/{key.pk}", {"monthly_unit_cap": 3}, format="json")
    admitted = services.request_admit(raw_key=pro.raw_key, method="POST", route="api/v1/pets")
    services.request_void(admitted.counted)  # as when the answer to Redis was lost
    usage_flush()  # applies the void
    period_hash = store.client().hgetall(store.period_key(pro.customer.pk, current_period().id))
    assert period_hash[f"k{key.pk}"] == "0"
    assert pro.post(PETS, {"name": "a"}, format="json").status_code == 201
    assert pro.get(PETS).status_code == 200
    assert pro.get(PETS).status_code == 429


@pytest.mark.django_db(transaction=True)
def test_a_repeated_script_answers_the_same_refusal(pro):
    """A copy of the admission script run again (a re-send after a timeout) finds the request's
    record and answers the same refusal, counting nothing more."""
    key = key_of(pro)
    pro.patch(f"{KEYS}/{key.pk}", {"monthly_unit_cap": 1}, format="json")
    assert pro.get(PETS).status_code == 200
    ahead = services.admission_send(raw_key=pro.raw_key, method="GET", route="api/v1/pets")
    counted = ahead.counted
    with pytest.raises(KeyCapExceeded) as first:
        services.request_admit(raw_key=pro.raw_key, method="GET", route="", ahead=ahead)
    keys, args = services.admission_call(counted, counted.key_digest)
    again = store.meter(keys, args)
    assert again[0] == 7 and again[2] == 1 and again[3] == 1  # status, cap, the key's units
    assert first.value.extra["cap"] == 1 and first.value.extra["used"] == 1
    pending = store.client().hgetall(store.pending_key(pro.customer.pk))
    refusals = [v for f, v in pending.items() if f.endswith("|refused_key_cap")]
    assert refusals == ["1"]


@pytest.mark.django_db(transaction=True)
def test_the_key_counter_is_seeded_from_the_ledger(pro):
    """After Redis lost the period's counters, the key's units come back from the per-key
    ledger (and the pending counters) with the customer's."""
    key = key_of(pro)
    pro.patch(f"{KEYS}/{key.pk}", {"monthly_unit_cap": 10}, format="json")
    for _ in range(4):
        assert pro.post(PETS, {"name": "a"}, format="json").status_code == 201  # 8 units
    usage_flush()
    store.client().delete(store.period_key(pro.customer.pk, current_period().id))
    assert pro.post(PETS, {"name": "a"}, format="json").status_code == 201  # 10
    assert pro.get(PETS).status_code == 429


# --- the API --------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body",
    [
        {"monthly_unit_cap": 0},
        {"monthly_unit_cap": -5},
        {"monthly_unit_cap": "5000"},
        {"monthly_unit_cap": 1.5},
        {"monthly_unit_cap": True},
        {"monthly_spend_cap": 25},
        {"monthly_spend_cap": "0.00"},
        {"monthly_spend_cap": "abc"},
        {"monthly_spend_cap": "1.234"},
        {"name": "renamed"},
    ],
)
def test_bad_caps_get_a_clear_400(pro, body):
    key = key_of(pro)
    response = pro.patch(f"{KEYS}/{key.pk}", body, format="json")
    assert response.status_code == 400
    answer = response.json()
    assert answer["error"] == "validation_error"
    assert set(answer["fields"]) == set(body)
    key.refresh_from_db()
    assert key.monthly_unit_cap is None and key.monthly_spend_cap is None


@pytest.mark.django_db
def test_another_customers_key_is_404(pro, stranger):
    key = key_of(pro)
    response = stranger.patch(f"{KEYS}/{key.pk}", {"monthly_unit_cap": 1}, format="json")
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"
    assert stranger.get(f"{KEYS}/{key.pk}").status_code == 404
    key.refresh_from_db()
    assert key.monthly_unit_cap is None


@pytest.mark.django_db(transaction=True)
def test_a_spend_cap_is_enforced_in_units_at_the_plans_price(pro):
    """Pro bills $0.001 a unit beyond its included units; a key's units are priced from the
    first (the included units are the account's), as billed: 14 units are $0.014, billed $0.01;
    15 would be billed $0.02."""
    key = key_of(pro)
    response = pro.patch(f"{KEYS}/{key.pk}", {"monthly_spend_cap": "0.01"}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert body["monthly_spend_cap"] == "0.01" and body["spend_cap_units"] == 14
    assert body["monthly_unit_cap"] is None
    for _ in range(7):
        assert pro.post(PETS, {"name": "a"}, format="json").status_code == 201
    refused = pro.get(PETS)
    assert refused.status_code == 429 and refused.json()["cap"] == 14
    # Both set: the lower binds.
    pro.patch(
        f"{KEYS}/{key.pk}", {"monthly_unit_cap": 20, "monthly_spend_cap": "1.00"}, format="json"
    )
    detail = pro.get(f"{KEYS}/{key.pk}").json()
    assert detail["spend_cap_units"] == 1004 and detail["monthly_unit_cap"] == 20
    assert detail["units_used"] == 14
    for _ in range(6):
        assert pro.get(PETS).status_code == 200
    assert pro.get(PETS).json()["cap"] == 20


@pytest.mark.django_db
def test_a_spend_cap_on_a_block_plan_is_refused(owner):
    key = key_of(owner)
    response = owner.patch(f"{KEYS}/{key.pk}", {"monthly_spend_cap": "25.00"}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "spend_cap_not_available" and body["plan"] == "free"
    assert "monthly_unit_cap" in body["message"]
    ok = owner.patch(f"{KEYS}/{key.pk}", {"monthly_unit_cap": 5000}, format="json")
    assert ok.status_code == 200 and ok.json()["monthly_unit_cap"] == 5000


@pytest.mark.django_db
def test_spend_caps_follow_the_plan(pro, plans):
    key = key_of(pro)
    pro.patch(f"{KEYS}/{key.pk}", {"monthly_spend_cap": "25.00"}, format="json")
    key.refresh_from_db()
    # As billed: 25,004 units at $0.001 are $25.004, rounded to the cent $25.00.
    assert key.spend_cap_units == 25_004
    # An operator doubles Pro's unit price: the cap now buys half the units.
    plan = plans["pro"]
    plan.pricing = {"model": "per_unit", "unit_price": "0.002"}
    plan.save()
    key.refresh_from_db()
    assert key.spend_cap_units == 12_502
    # On a plan that does not bill overage, a spend cap cannot bind.
    accounts_services.customer_change_plan(customer=pro.customer, plan=plans["free"])
    key.refresh_from_db()
    assert key.spend_cap_units is None and key.monthly_spend_cap == Decimal("25.00")


def test_spend_cap_units_price_with_the_engine():
    class Plan:
        slug, name, monthly_price, overage_policy = "x", "X", Decimal("10"), "bill"
        pricing = {
            "model": "graduated",
            "tiers": [
                {"up_to": 1000, "unit_price": "0.01"},
                {"up_to": None, "unit_price": "0.001"},
            ],
        }

    # $10 buys the first 1,000 units (and 4 more at $0.001: $10.004 is billed $10.00); $11
    # buys 1,000 more at $0.001.
    assert spend_cap_units(Plan, Decimal("10.00")) == 1004
    assert spend_cap_units(Plan, Decimal("11.00")) == 2004
    Plan.overage_policy = "prepaid"  # credits pay the usage: a key's spend binds the same way
    assert spend_cap_units(Plan, Decimal("10.00")) == 1004
    Plan.pricing = {}
    assert spend_cap_units(Plan, Decimal("1.00")) is None  # free usage: nothing to cap
    Plan.overage_policy = "block"
    assert spend_cap_units(Plan, Decimal("1.00")) is None


@pytest.mark.django_db(transaction=True)
def test_the_cap_is_counted_per_period(pro):
    """Last period's units do not count against this period's cap."""
    key = key_of(pro)
    KeyUsage.objects.create(
        customer=pro.customer,
        key=key,
        day=(current_period().start - timedelta(days=1)).date(),
        calls=100,
        units=100,
    )
    pro.patch(f"{KEYS}/{key.pk}", {"monthly_unit_cap": 2}, format="json")
    assert pro.get(PETS).status_code == 200
    assert pro.get(PETS).status_code == 200
    assert pro.get(PETS).status_code == 429


@pytest.mark.django_db(transaction=True)
def test_the_usage_page_shows_usage_per_key_and_the_cap_refusals(pro):
    from tests.conftest import web_client

    key = key_of(pro)
    pro.patch(f"{KEYS}/{key.pk}", {"monthly_unit_cap": 1}, format="json")
    assert pro.get(PETS).status_code == 200
    assert pro.get(PETS).status_code == 429
    page = web_client(pro.customer).get("/dashboard/usage/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "By API key" in html and f'data-usage-key-id="{key.pk}"' in html
    assert "429 key_cap_exceeded: a key&#x27;s own monthly cap was used up" in html
