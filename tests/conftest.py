"""Shared fixtures. Every test runs against the real Redis of REDIS_URL (flushed around each
test) and the real database of DATABASE_URL (SQLite by default, PostgreSQL in CI)."""

from __future__ import annotations

import os
import shutil
import sys
from datetime import UTC, datetime
from urllib.parse import urlparse

import pytest
import stripe
import time_machine
from django.conf import settings
from django.test import Client
from rest_framework.test import APIClient

from accounts.demo_plans import seed_plans
from accounts.models import Plan
from billing.stripe_catalog import stripe_catalog_sync
from metering import store
from metering.defaults import seed_endpoints
from metering.grants import grants
from metering.models import Endpoint
from metering.rules import rules
from stripe_emulator.testing import running_stripe_server
from tests.factories import CustomerFactory

# The SQLite test database is a file (see settings) so that gunicorn/Celery processes share it.
(settings.BASE_DIR / ".run").mkdir(exist_ok=True)


def _redis_db_is_disposable() -> bool:
    # Set by the embedded Redis and by `python -m petstore.redis_cluster -- …`: servers started
    # for this run only.
    if os.environ.get("PETSTORE_EMBEDDED_REDIS") == "1":
        return True
    path = urlparse(settings.REDIS_URL).path.strip("/")
    return path not in ("", "0")


@pytest.fixture(scope="session", autouse=True)
def _redis_guard():
    if not _redis_db_is_disposable():
        pytest.exit(
            f"REDIS_URL={settings.REDIS_URL} points at db 0; the suite flushes its Redis db, so "
            "give it a dedicated one (e.g. redis://127.0.0.1:6379/15) or unset REDIS_URL.",
            returncode=2,
        )


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """The suite builds its database without migrations; on PostgreSQL, give the ledger the
    monthly partitions that migration 0005 gives it, so every test runs on the real layout."""
    from metering.partitions import ledger_partition_table

    with django_db_blocker.unblock():
        ledger_partition_table()
    yield
    # The flush's shard locks of the SQLite test database (metering/services/flush_locks.py).
    name = settings.DATABASES["default"].get("TEST", {}).get("NAME")
    if name:
        shutil.rmtree(f"{name}.flush-locks", ignore_errors=True)


def _uses_db(request) -> bool:
    return bool(request.node.get_closest_marker("django_db")) or bool(
        {"db", "transactional_db", "live_server"} & set(request.fixturenames)
    )


@pytest.fixture(autouse=True)
def _clean_redis_and_caches(request):
    store.client().flushdb()
    if _uses_db(request):
        # The suite runs without migrations (dj-stripe's take a minute), and transactional
        # tests empty every table: (re)create the catalogues the data migrations would hold.
        request.getfixturevalue("db")  # pytest-django makes it transactional when asked to
        if not Plan.objects.exists():
            seed_plans(Plan)
        if not Endpoint.objects.exists():
            seed_endpoints(Endpoint)
    grants.clear()
    rules.invalidate()
    yield
    grants.clear()
    rules.invalidate()


# --- Stripe objects are read with the library's own API --------------------------------------
# stripe-python 15's StripeObject is not a dict: it has attribute and `[]` access and `in`, and
# no `.get()`, `.items()`, `.keys()`, `.values()`, `.pop()` or `.setdefault()`. dj-stripe adds
# them back at start-up (djstripe/_stripe_compat.py) for its own sync code, so code of ours
# calling them works today and breaks on an upgrade of either library. A grep cannot tell a
# StripeObject's `.get()` from a dict's; this guard can: it wraps the patched methods for the
# whole run, and a call whose caller is a module of ours fails the test that made it (recorded,
# then asserted after the test, so a broad `except` in the code path cannot swallow it).
OUR_PACKAGES = frozenset(
    {
        "core",
        "accounts",
        "metering",
        "pricing",
        "billing",
        "alerts",
        "console",
        "portal",
        "petstore",
    }
)
DICT_HABITS = ("get", "items", "keys", "values", "pop", "setdefault")
stripe_object_misuse: list[str] = []


def _guarded(name: str, method):
    def guarded(self, *args, **kwargs):
        caller = sys._getframe(1)
        module = caller.f_globals.get("__name__", "")
        if module.partition(".")[0] in OUR_PACKAGES:
            stripe_object_misuse.append(f"{module}:{caller.f_lineno} calls StripeObject.{name}()")
        return method(self, *args, **kwargs)

    return guarded


@pytest.fixture(scope="session", autouse=True)
def _stripe_object_guard():
    patched = {
        n: stripe.StripeObject.__dict__[n] for n in DICT_HABITS if n in stripe.StripeObject.__dict__
    }
    for name, method in patched.items():
        setattr(stripe.StripeObject, name, _guarded(name, method))
    yield
    for name, method in patched.items():
        setattr(stripe.StripeObject, name, method)


@pytest.fixture(autouse=True)
def _stripe_objects_read_with_the_library_api():
    stripe_object_misuse.clear()
    yield
    misuse, stripe_object_misuse[:] = sorted(set(stripe_object_misuse)), []
    assert not misuse, (
        "read Stripe objects with attribute or [] access and `in` (dj-stripe's patch adds "
        f"dict methods to StripeObject): {misuse}"
    )


@pytest.fixture
def redis_client():
    return store.client()


@pytest.fixture(scope="session")
def local_redis_cluster():
    """A Redis Cluster of 3 masters of the test run's own (petstore/redis_cluster.py), for the
    tests about the cluster itself; `make test` also runs the metering suite on one."""
    from petstore.redis_cluster import start_redis_cluster

    cluster = start_redis_cluster(3)
    yield cluster
    cluster.stop()


@pytest.fixture
def plans(db) -> dict[str, Plan]:
    return {plan.slug: plan for plan in Plan.objects.all()}


class KeyClient(APIClient):
    """An API client that sends its key on every request, as a customer's program does."""

    def __init__(self, raw_key: str | None = None, customer=None, **kwargs):
        super().__init__(**kwargs)
        self.raw_key = raw_key
        self.customer = customer
        if raw_key:
            self.credentials(HTTP_X_API_KEY=raw_key)


@pytest.fixture
def make_customer(db, plans):
    counter = {"n": 0}

    def make(plan: str = "free", email: str | None = None):
        counter["n"] += 1
        email = email or f"customer{counter['n']}@example.com"
        customer = CustomerFactory(email=email, plan=plans[plan])
        return customer, customer.raw_key

    return make


@pytest.fixture
def owner(make_customer):
    customer, raw = make_customer("free", "owner@example.com")
    return KeyClient(raw, customer)


@pytest.fixture
def stranger(make_customer):
    customer, raw = make_customer("free", "stranger@example.com")
    return KeyClient(raw, customer)


@pytest.fixture
def pro_client(make_customer):
    customer, raw = make_customer("pro", "pro@example.com")
    return KeyClient(raw, customer)


@pytest.fixture(scope="session")
def _stripe_server():
    with running_stripe_server() as server:
        yield server


@pytest.fixture
def stripe_server(_stripe_server, db):
    """A fresh local Stripe server (real clock) that the `stripe` library and dj-stripe talk
    to, with our plan catalogue synced into it."""
    _stripe_server.reset()
    saved = stripe.api_base
    stripe.api_base = _stripe_server.url
    stripe_catalog_sync()
    yield _stripe_server
    stripe.api_base = saved


class Clock:
    """The app's clock (time-machine: Django's `timezone.now()`, `time.time()`) and the local
    Stripe server's, frozen and moved together. Redis keeps its own (real) time: under a moved
    clock, usage is written to the ledger directly, as flushes would have written it."""

    def __init__(self, server):
        self.server = server
        self._traveller = None
        self._coordinates = None

    def move_to(self, when: datetime) -> datetime:
        if self._traveller is None:
            self._traveller = time_machine.travel(when, tick=False)
            self._coordinates = self._traveller.start()
        else:
            self._coordinates.move_to(when)
        self.server.set_now(int(when.timestamp()))
        return when

    def follow_stripe(self) -> datetime:
        """After the server moved its own clock (a renewal, a finalization): the app follows."""
        when = datetime.fromtimestamp(self.server.now(), UTC)
        self._coordinates.move_to(when)
        return when

    def stop(self) -> None:
        if self._traveller is not None:
            self._traveller.stop()


@pytest.fixture
def clock(stripe_server):
    moved = Clock(stripe_server)
    yield moved
    moved.stop()


# --- the portal in a browser's place: Django test clients logged in as the owner and the
# stranger (their KeyClients call the API with their keys) ------------------------------------


def web_client(customer, **kwargs) -> Client:
    client = Client(**kwargs)
    client.force_login(customer.user)
    return client


@pytest.fixture
def owner_web(owner) -> Client:
    return web_client(owner.customer)


@pytest.fixture
def stranger_web(stranger) -> Client:
    return web_client(stranger.customer)


@pytest.fixture
def staff_web(db) -> Client:
    """A logged-in user with no Customer behind it (an operator)."""
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user(
        username="ops", email="ops@example.com", password="x-Very-long-pass-42", is_staff=True
    )
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture(autouse=True)
def _webhooks_to_loopback(settings):
    # Tests deliver webhooks to receivers on loopback; the SSRF guard's tests turn it back on.
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Sign-up and log-in tests hash many passwords; the real hasher is the subject of none.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
