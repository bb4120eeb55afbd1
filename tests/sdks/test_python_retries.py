"""The Python SDK's retries, backoff, caps, timeouts and Idempotency-Key reuse (sync and async)
against a local stub server, plus its configuration and operation table."""

from __future__ import annotations

import asyncio
import inspect
import json
import re
import tomllib
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import petstore_sdk
import pytest
from petstore_sdk import (
    OPERATIONS,
    APIConnectionError,
    APIError,
    APITimeoutError,
    AsyncPetStore,
    AuthenticationError,
    PetStore,
    QuotaExceededError,
    RateLimitError,
    ValidationError,
    parse_retry_after,
)

from petstore.ports import free_port
from tests.sdks.conftest import REPO
from tests.sdks.stub import Reply, Stub

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
OK_PET = Reply(201, {"id": 7, "name": "Buddy", "status": "available"})


@pytest.fixture
def stub(request):
    stubs = []

    def start(*replies: Reply) -> Stub:
        stubs.append(Stub(*replies))
        return stubs[-1]

    yield start
    for s in stubs:
        s.close()


@pytest.fixture(params=["sync", "async"])
def flavour(request):
    return PetStore if request.param == "sync" else AsyncPetStore


def run(cls, stub_url, action, **options):
    """Calls `action(client)` with a client of `cls`; returns (result or error, retry events)."""
    events = []

    async def go():
        client = cls(api_key="ps_test_stub", base_url=stub_url, on_retry=events.append, **options)
        try:
            value = action(client)
            return await value if inspect.isawaitable(value) else value
        except Exception as exc:  # returned for the test to inspect
            return exc
        finally:
            closing = client.close()
            if inspect.isawaitable(closing):
                await closing

    return asyncio.run(go()), events


def test_a_429_is_retried_after_its_retry_after_with_the_same_key(flavour, stub):
    s = stub(Reply(429, {"error": "rate_limit_exceeded"}, {"Retry-After": "1"}), OK_PET)
    pet, events = run(flavour, s.url, lambda c: c.pets.create(name="Buddy"))
    assert pet.id == 7
    assert [(e.reason, e.delay, e.status_code) for e in events] == [("rate_limited", 1.0, 429)]
    first, second = s.received
    assert UUID.match(first.headers["idempotency-key"])
    assert second.headers["idempotency-key"] == first.headers["idempotency-key"]
    assert pet.last_response.idempotency_key == first.headers["idempotency-key"]
    assert second.at - first.at >= 0.95
    assert json.loads(second.body) == {"name": "Buddy"}


def test_retry_after_as_seconds_or_an_http_date():
    when = datetime.now(UTC) + timedelta(seconds=30)
    assert 28 < parse_retry_after(format_datetime(when, usegmt=True)) <= 30
    assert parse_retry_after("12") == 12
    assert parse_retry_after("garbage") is None


def test_a_retry_after_beyond_the_cap_is_raised_at_once(flavour, stub):
    s = stub(Reply(429, {"error": "rate_limit_exceeded", "limit": 10}, {"Retry-After": "120"}))
    err, events = run(flavour, s.url, lambda c: c.pets.list(), max_retry_after=30)
    assert isinstance(err, RateLimitError)
    assert (err.retry_after, err.limit) == (120, 10)
    assert len(s.received) == 1 and events == []


def test_retries_can_be_turned_off(flavour, stub):
    s = stub(Reply(429, {"error": "rate_limit_exceeded"}, {"Retry-After": "1"}))
    err, events = run(flavour, s.url, lambda c: c.pets.create(name="x"), max_retries=0)
    assert isinstance(err, RateLimitError) and err.retry_after == 1
    err, events = run(flavour, s.url, lambda c: c.with_options(max_retries=0).pets.list())
    assert isinstance(err, RateLimitError)
    assert len(s.received) == 2 and events == []


def test_503_is_retried_with_backoff_and_full_jitter(flavour, stub):
    unavailable = Reply(503, {"error": "metering_unavailable", "message": "retry"})
    s = stub(unavailable, unavailable, unavailable, Reply(200, {"id": 7, "name": "Buddy"}))
    pet, events = run(
        flavour,
        s.url,
        lambda c: c.pets.update(7, status="sold"),
        max_retries=3,
        initial_retry_delay=0.02,
        max_retry_delay=0.05,
    )
    assert pet.id == 7 and len(s.received) == 4
    assert [e.attempt for e in events] == [1, 2, 3]
    for i, event in enumerate(events):
        assert event.reason == "unavailable"
        assert 0 <= event.delay <= min(0.05, 0.02 * 2**i)
    assert {r.headers["idempotency-key"] for r in s.received} == {events[0].idempotency_key}
    assert {r.method for r in s.received} == {"PATCH"}


def test_retries_give_up_with_the_last_error(flavour, stub):
    s = stub(Reply(503, {"error": "billing_unavailable", "message": "later"}))
    err, events = run(flavour, s.url, lambda c: c.billing.cancel(), initial_retry_delay=0.01)
    assert type(err) is APIError and (err.status_code, err.code) == (503, "billing_unavailable")
    assert len(s.received) == 3 and len(events) == 2


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        (Reply(500, {"error": "server_error", "message": "oops"}), APIError),
        (
            Reply(429, {"error": "quota_exceeded", "upgrade_url": "u"}, {"Retry-After": "1"}),
            QuotaExceededError,
        ),
        (Reply(400, {"error": "validation_error", "fields": {"name": ["blank"]}}), ValidationError),
    ],
)
def test_server_errors_quota_and_validation_are_not_retried(flavour, stub, reply, error):
    s = stub(reply)
    err, events = run(flavour, s.url, lambda c: c.pets.create(name="x"))
    assert type(err) is error
    assert len(s.received) == 1 and events == []


def test_dropped_connections_are_retried(flavour, stub):
    s = stub(Reply(drop=True), Reply(drop=True), OK_PET)
    pet, events = run(
        flavour, s.url, lambda c: c.pets.create(name="Buddy"), initial_retry_delay=0.01
    )
    assert pet.id == 7
    assert [e.reason for e in events] == ["connection_error", "connection_error"]
    assert len({r.headers["idempotency-key"] for r in s.received}) == 1


def test_a_refused_connection_ends_in_api_connection_error(flavour):
    url = f"http://127.0.0.1:{free_port()}"
    err, events = run(flavour, url, lambda c: c.pets.list(), initial_retry_delay=0.01)
    assert isinstance(err, APIConnectionError) and err.__cause__ is not None
    assert len(events) == 2


def test_a_slow_answer_times_out_and_is_retried(flavour, stub):
    slow = Reply(200, {"results": []}, delay=3.0)
    s = stub(slow, Reply(200, {"results": []}))
    page, events = run(
        flavour, s.url, lambda c: c.keys.list(), timeout=0.5, initial_retry_delay=0.01
    )
    assert page.results == [] and [e.reason for e in events] == ["timeout"]
    always = stub(slow)
    err, _ = run(flavour, always.url, lambda c: c.usage.retrieve(), timeout=0.5, max_retries=0)
    assert isinstance(err, APITimeoutError)


def test_writes_carry_an_idempotency_key_reads_do_not(stub):
    s = stub(Reply(200, {"id": 1, "name": "a"}))
    with PetStore(api_key="ps_test_stub", base_url=s.url) as client:
        client.pets.retrieve(1)
        client.pets.create(name="a")
        client.pets.replace(1, name="b")
        client.pets.update(1, name="c")
        client.pets.delete(1)
        client.pets.create(name="d", idempotency_key="order-42")
    keys = [r.headers.get("idempotency-key") for r in s.received]
    assert keys[0] is None
    assert all(UUID.match(k) for k in keys[1:5]) and len(set(keys[1:5])) == 4
    assert keys[5] == "order-42"
    for r in s.received:
        assert r.headers["user-agent"].startswith(
            f"petstore-sdk-python/{petstore_sdk.__version__} "
        )
        assert r.headers["x-api-key"] == "ps_test_stub"


def test_the_image_is_sent_as_multipart_and_resent_on_retry(stub, tmp_path):
    s = stub(Reply(503, {}), Reply(200, {"id": 3, "name": "Rex", "image": _IMAGE_INFO}))
    path = tmp_path / "rex.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n fake")
    with PetStore(api_key="k", base_url=s.url, initial_retry_delay=0.01) as client:
        pet = client.pets.upload_image(3, path)
    assert pet.image.format == "PNG"
    first, second = s.received
    assert first.path == "/api/v1/pets/3/image"
    assert first.headers["content-type"].startswith("multipart/form-data; boundary=")
    assert b'filename="rex.png"' in first.body and b"Content-Type: image/png" in first.body
    assert b"\x89PNG\r\n\x1a\n fake" in first.body
    assert second.body == first.body  # the same bytes, boundary included, on the retry
    assert second.headers["content-type"] == first.headers["content-type"]


_IMAGE_INFO = {
    "format": "PNG",
    "original_width": 2,
    "original_height": 2,
    "width": 2,
    "height": 2,
}


def test_without_a_key_keyed_calls_refuse_and_public_ones_work(stub, monkeypatch):
    monkeypatch.delenv("PETSTORE_API_KEY", raising=False)
    s = stub(Reply(200, _QUOTE))
    with PetStore(base_url=s.url) as client:
        with pytest.raises(AuthenticationError) as missing:
            client.pets.list()
        assert missing.value.code == "missing_api_key" and s.received == []
        quote = client.pricing.quote(plan="pro", calls=10)
    assert str(quote.total) == "49.00"
    assert s.received[0].path == "/api/v1/pricing/quote?plan=pro&calls=10"
    assert "x-api-key" not in s.received[0].headers
    monkeypatch.setenv("PETSTORE_API_KEY", "ps_live_fromenv")
    assert PetStore().api_key == "ps_live_fromenv"


_QUOTE = {
    "plan": "pro",
    "plan_name": "Pro",
    "currency": "usd",
    "total": "49.00",
    "lines": [],
    "custom": False,
    "capped": False,
    "suggestion": None,
}


def test_base_url_from_the_option_then_the_environment_then_production(monkeypatch):
    monkeypatch.setenv("PETSTORE_BASE_URL", "http://127.0.0.1:9/")
    assert PetStore(api_key="k").base_url == "http://127.0.0.1:9"
    assert PetStore(api_key="k", base_url="http://x.test/").base_url == "http://x.test"
    monkeypatch.delenv("PETSTORE_BASE_URL")
    assert PetStore(api_key="k").base_url == "https://api.petstore.example"
    assert AsyncPetStore(api_key="k").base_url == "https://api.petstore.example"


def test_every_operation_of_the_table_is_a_method_of_both_clients():
    routes = {(op.method, op.path) for op in OPERATIONS}
    assert len(routes) == len(OPERATIONS) == len({op.name for op in OPERATIONS})
    for cls, check in (
        (PetStore, inspect.isfunction),
        (AsyncPetStore, inspect.iscoroutinefunction),
    ):
        client = cls(api_key="k")
        for op in OPERATIONS:
            resource, method = op.name.split(".")
            assert check(getattr(type(getattr(client, resource)), method)), (cls, op.name)


def test_the_version_follows_pyproject():
    pyproject = tomllib.loads((REPO / "sdks/python/pyproject.toml").read_text())
    assert pyproject["project"]["version"] == petstore_sdk.__version__
    assert pyproject["project"]["dependencies"] == ["httpx>=0.27,<0.29"]
