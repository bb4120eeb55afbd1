"""A live server for the SDK suites: gunicorn against the test database, the suite's Redis and
the local Stripe server (one for the session), and customers registered for each test.

Every test that uses them is transactional (gunicorn is another process: it only sees committed
rows), so the database is emptied after each one, as after any transactional test.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import stripe
from django.db import connection

from accounts import services as account_services
from accounts.models import Plan
from billing.promotions import promotion_code_sync
from billing.stripe_catalog import stripe_catalog_sync
from core.periods import current_period
from metering.models import UsageRecord
from pricing.models import PromotionCode
from tests.sdks.coverage import AccessLog, schema_operations
from tests.servers import gunicorn

HERE = Path(__file__).resolve().parent
PROMOTION_CODE = "SDK10"  # 10% off forever, in every sdk_world
REPO = HERE.parents[1]


@dataclass
class SdkServer:
    url: str
    access_log: AccessLog
    operations: set[tuple[str, str]]  # of the live schema


@dataclass
class SdkWorld:
    """What an SDK suite needs, also as the environment variables its tests read."""

    url: str
    free_key: str  # a Free customer's key: the guide's flow
    paid_key: str  # a Business customer's key: every operation
    exhausted_key: str  # a Free customer whose monthly quota is used up
    no_credits_key: str  # a prepaid customer whose included units are used up, and no credits
    access_log: AccessLog
    operations: set[tuple[str, str]]

    def env(self, **extra: str) -> dict[str, str]:
        return {
            **os.environ,
            "PETSTORE_BASE_URL": self.url,
            "PETSTORE_API_KEY": self.free_key,
            "PETSTORE_TEST_PAID_KEY": self.paid_key,
            "PETSTORE_TEST_EXHAUSTED_KEY": self.exhausted_key,
            "PETSTORE_TEST_NO_CREDITS_KEY": self.no_credits_key,
            "PETSTORE_TEST_PROMOTION_CODE": PROMOTION_CODE,
            **extra,
        }


def pytest_collection_modifyitems(items):
    """Every test of the live server is transactional (see above)."""
    for item in items:
        if item.path.is_relative_to(HERE) and "sdk_server" in item.fixturenames:
            item.add_marker(pytest.mark.django_db(transaction=True))


@pytest.fixture(scope="session")
def sdk_server(django_db_setup, _stripe_server, tmp_path_factory):
    # pytest-django creates the test database only when a collected test asks for one (the hook
    # above marks ours); never let gunicorn loose on the configured database.
    name, test_name = connection.settings_dict["NAME"], connection.settings_dict["TEST"]["NAME"]
    assert name == test_name if test_name else str(name).startswith("test_"), name
    run = tmp_path_factory.mktemp("sdk-server")
    log = run / "access.log"
    with gunicorn(
        workers=2,
        access_log=log,
        STRIPE_API_BASE=_stripe_server.url,
        REGISTRATION_RATE="1000/minute",  # every suite registers customers
        MEDIA_ROOT=str(run / "media"),
    ) as url:
        yield SdkServer(url, AccessLog(log), schema_operations(url))


def _register(slug: str, label: str):
    plan = Plan.objects.get(slug=slug)
    email = f"sdk-{label}-{uuid.uuid4().hex[:8]}@example.com"
    return account_services.customer_register(email=email, plan=plan)


@pytest.fixture
def sdk_world(sdk_server, transactional_db, _stripe_server) -> SdkWorld:
    """Customers for one test, committed so that gunicorn sees them (the test is transactional:
    the database is emptied after it, as after any transactional test), and the plan catalogue
    synced into a fresh local Stripe server for the billing operations."""
    _stripe_server.reset()
    saved, stripe.api_base = stripe.api_base, _stripe_server.url
    try:
        stripe_catalog_sync()
        # A promotion code for the SDKs' subscribe and quote: 10% off, forever.
        promotion_code_sync(
            PromotionCode.objects.create(
                code=PROMOTION_CODE, percent_off=Decimal("10"), duration="forever"
            )
        )
    finally:
        stripe.api_base = saved
    _, free_key = _register("free", "free")
    _, paid_key = _register("business", "paid")
    exhausted, exhausted_key = _register("free", "exhausted")
    UsageRecord.objects.create(  # the whole quota, as earlier flushes would have left it
        customer=exhausted,
        endpoint="GET /api/v1/pets",
        hour=current_period().start + timedelta(hours=1),
        calls=10_000,
        units=10_000,
    )
    Plan.objects.get_or_create(
        slug="sdk-prepaid",
        defaults={
            "name": "Prepaid",
            "monthly_price": Decimal("0.00"),
            "included_units": 10,
            "overage_policy": "prepaid",
            "pricing": {"model": "per_unit", "unit_price": "0.01"},
            "rate_limit_per_minute": 100,
        },
    )
    spent, no_credits_key = _register("sdk-prepaid", "prepaid")
    UsageRecord.objects.create(  # the included units, and no credits to pay for more
        customer=spent,
        endpoint="GET /api/v1/pets",
        hour=current_period().start + timedelta(hours=1),
        calls=10,
        units=10,
    )
    return SdkWorld(
        url=sdk_server.url,
        free_key=free_key,
        paid_key=paid_key,
        exhausted_key=exhausted_key,
        no_credits_key=no_credits_key,
        access_log=sdk_server.access_log,
        operations=sdk_server.operations,
    )
