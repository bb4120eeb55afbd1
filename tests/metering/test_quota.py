from datetime import timedelta

import pytest

from core.periods import current_period
from metering.models import UsageRecord
from metering.services import usage_flush
from tests.conftest import KeyClient
from tests.factories import UsageRecordFactory

PETS = "/api/v1/pets"


def ledger_usage(customer, units: int, endpoint="GET /api/v1/pets"):
    """Usage already in the ledger this period (as earlier flushes would have left it)."""
    UsageRecordFactory(
        customer=customer,
        endpoint=endpoint,
        hour=current_period().start + timedelta(hours=1),
        calls=units,
    )


@pytest.mark.django_db
def test_free_plan_stops_at_its_hard_cap(owner):
    ledger_usage(owner.customer, 9_997)
    ok = owner.post(PETS, {"name": "last"}, format="json")  # 9,999 after this
    assert ok.status_code == 201 and ok["X-Quota-Remaining"] == "1"
    refused = owner.post(PETS, {"name": "over"}, format="json")  # would need 2
    assert refused.status_code == 429
    body = refused.json()
    assert body["error"] == "quota_exceeded"
    assert body["included"] == 10_000 and body["used"] == 9_999 and body["cost"] == 2
    assert body["upgrade_url"].endswith("/pricing/")
    assert refused["X-Quota-Remaining"] == "0"
    assert int(refused["Retry-After"]) > 0
    assert owner.get(PETS).status_code == 200  # a 1-unit call still fits exactly
    assert owner.get(PETS).status_code == 429
    usage_flush()
    usage = UsageRecord.objects.filter(customer=owner.customer)
    assert sum(r.units for r in usage) == 10_000
    assert sum(r.refused for r in usage) == 2


@pytest.mark.django_db
def test_pro_plan_keeps_serving_and_reports_overage(pro_client):
    ledger_usage(pro_client.customer, 49_999)
    for _ in range(3):
        assert pro_client.post(PETS, {"name": "p"}, format="json").status_code == 201
    usage = pro_client.get("/api/v1/usage").json()
    assert usage["units_used"] == 50_005
    assert usage["included_units"] == 50_000
    assert usage["remaining_units"] == 0
    assert usage["overage_units"] == 5
    assert pro_client.get(PETS)["X-Quota-Remaining"] == "0"


@pytest.mark.django_db
def test_quota_counts_only_this_period(owner):
    previous = current_period().previous()
    UsageRecord.objects.create(
        customer=owner.customer,
        endpoint="GET /api/v1/pets",
        hour=previous.start,
        calls=10_000,
        units=10_000,
    )
    response = owner.get(PETS)
    assert response.status_code == 200 and response["X-Quota-Remaining"] == "9999"


@pytest.mark.django_db
def test_enterprise_is_unlimited(make_customer):
    _, raw = make_customer("enterprise")
    response = KeyClient(raw).get(PETS)
    assert response.status_code == 200 and response["X-Quota-Remaining"] == "unlimited"
