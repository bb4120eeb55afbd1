"""The Python SDK (sync PetStore and async AsyncPetStore) against the live server: the guide's
flow, every operation (checked in the server's access log), typed errors from real refusals,
pagination across pages, and the headers of each answer.

Each flow is written once as a coroutine and run with either client: `call()` awaits what the
async client returns and passes the sync client's results through."""

from __future__ import annotations

import asyncio
import base64
import inspect
import uuid
from decimal import Decimal

import pytest
from petstore_sdk import (
    USER_AGENT,
    APIError,
    AsyncPetStore,
    AuthenticationError,
    ConflictError,
    CreditsExhaustedError,
    FeatureNotInPlanError,
    KeyCapExceededError,
    NotFoundError,
    PermissionDeniedError,
    PetStore,
    QuotaExceededError,
    RateLimitError,
    ValidationError,
)

from petstore.models import Pet as PetRow
from tests.sdks.conftest import PROMOTION_CODE

# A 2×2 PNG (the API turns it into a JPEG thumbnail).
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAFklEQVR4nGM8UaHBwMDAxMDAwMDAAAARqgFsecZ2JgAAAABJRU5ErkJggg=="
)
UUID_LEN = 36


async def call(value):
    return await value if inspect.isawaitable(value) else value


async def collect(iterable) -> list:
    if hasattr(iterable, "__aiter__"):
        return [item async for item in iterable]
    return list(iterable)


def email(what: str) -> str:
    return f"sdk-py-{what}-{uuid.uuid4().hex[:8]}@example.com"


@pytest.fixture(params=["sync", "async"])
def make_client(request, sdk_world, monkeypatch):
    """Makes clients of one flavour against the live server (base URL from the environment,
    as a user's program gets it)."""
    monkeypatch.setenv("PETSTORE_BASE_URL", sdk_world.url)
    monkeypatch.delenv("PETSTORE_API_KEY", raising=False)
    cls = PetStore if request.param == "sync" else AsyncPetStore
    return cls


def run(flow):
    return asyncio.run(flow())


def test_the_guide_flow(make_client, sdk_world):
    async def flow():
        client = make_client(api_key=sdk_world.free_key)
        pets = await call(client.pets.list())
        new_pet = await call(client.pets.create(name="Buddy", status="available"))
        await call(client.pets.update(new_pet.id, status="sold"))
        assert pets.results == [] and pets.count == 0
        assert new_pet.name == "Buddy"
        return new_pet.id

    pet_id = run(flow)
    assert PetRow.objects.get(pk=pet_id).status == "sold"


def test_every_operation(make_client, sdk_world):
    mark = sdk_world.access_log.mark()

    async def flow():
        client = make_client(api_key=sdk_world.paid_key)
        species = f"axolotl-{uuid.uuid4().hex[:6]}"
        created = [
            await call(client.pets.create(name=f"Axo {i}", species=species, tags=["sdk"]))
            for i in range(5)
        ]
        first = created[0]
        info = first.last_response
        assert (info.status_code, info.usage_cost) == (201, 2)
        assert len(info.idempotency_key) == UUID_LEN
        assert info.rate_limit.limit == 1000 and info.rate_limit.remaining > 0
        assert isinstance(info.quota_remaining, int)

        page = await call(client.pets.list(species=species, limit=2))
        assert (page.count, len(page.results), page.has_next_page()) == (5, 2, True)
        assert page.last_response.usage_cost == 1 and page.last_response.idempotency_key is None
        all_pets = await collect(client.pets.list_all(species=species, limit=2))
        assert [p.id for p in all_pets] == [p.id for p in created]  # three pages
        last = await call((await call(page.next_page())).next_page())
        assert len(last.results) == 1 and await call(last.next_page()) is None

        assert (await call(client.pets.retrieve(first.id))).name == "Axo 0"
        replaced = await call(
            client.pets.replace(first.id, name="Rex", species="dog", status="pending", tags=[])
        )
        assert (replaced.name, replaced.species, replaced.status, replaced.tags) == (
            "Rex",
            "dog",
            "pending",
            [],
        )
        updated = await call(client.pets.update(first.id, status="sold"))
        assert (updated.name, updated.status) == ("Rex", "sold")
        with_image = await call(client.pets.upload_image(first.id, PNG))
        assert with_image.image.format == "PNG" and with_image.thumbnail_url.endswith(".jpg")
        assert with_image.last_response.usage_cost == 10
        thumbnail = await call(
            make_client(api_key=None).thumbnails.download(with_image.thumbnail_url)  # no key
        )
        assert thumbnail.content[:3] == b"\xff\xd8\xff" and thumbnail.content_type == "image/jpeg"
        with pytest.raises(PermissionDeniedError) as forged:
            await call(client.thumbnails.download(f"{sdk_world.url}/api/v1/thumbnails/forged.jpg"))
        assert forged.value.code == "invalid_signature"
        gone = await call(client.pets.delete(first.id))
        assert (gone.id, gone.deleted, gone.last_response.status_code) == (first.id, True, 204)
        with pytest.raises(NotFoundError):
            await call(client.pets.retrieve(first.id))

        analytics = await call(client.analytics.retrieve())
        assert analytics.total == 4 and analytics.by_species == {species: 4}
        assert analytics.last_response.usage_cost == 5
        usage = await call(client.usage.retrieve())
        assert usage.plan.slug == "business" and usage.units_used > 0
        quote = await call(make_client(api_key=None).pricing.quote(plan="pro", calls=60_000))
        assert quote.total == Decimal("59.00") and quote.lines[0].amount == Decimal("49.00")

        keys = await call(client.keys.list())
        assert len(keys.results) == 1 and keys.next is None
        key = await call(client.keys.create(name="sdk-py"))
        assert key.api_key.startswith("ps_")
        capped = await call(
            client.keys.update(key.id, monthly_unit_cap=5000, monthly_spend_cap=Decimal("25.00"))
        )
        assert (capped.monthly_unit_cap, capped.monthly_spend_cap) == (5000, Decimal("25.00"))
        assert capped.spend_cap_units == 25_004 and capped.units_used == 0
        kept = await call(client.keys.update(key.id, monthly_spend_cap=None))
        assert (kept.monthly_unit_cap, kept.monthly_spend_cap) == (5000, None)
        fetched = await call(client.keys.retrieve(key.id))
        assert fetched.name == "sdk-py" and fetched.monthly_unit_cap == 5000
        by_key = {row.key_id: row for row in (await call(client.usage.retrieve())).by_key}
        assert by_key[key.id].monthly_unit_cap == 5000 and by_key[key.id].units == 0
        rotated = await call(client.keys.rotate(key.id, grace_hours=0))
        listed = {k.id: k for k in await collect(client.keys.list_all())}
        assert listed[key.id].active is False and listed[rotated.id].active is True
        assert (await call(client.keys.revoke(rotated.id))).deleted is True
        assert usage.forecast is not None and "insufficient history" in usage.forecast.method

        hook = await call(
            client.webhooks.create(url=f"{sdk_world.url}/hooks", events=["plan.changed"])
        )
        assert hook.secret.startswith("whsec_") and hook.events == ["plan.changed"]
        hooks = await collect(client.webhooks.list_all())
        assert [h.id for h in hooks] == [hook.id] and hooks[0].enabled is True
        assert (await call(client.webhooks.delete(hook.id))).deleted is True
        assert (await call(client.webhooks.list())).results == []

        registration = await call(make_client().auth.register(email=email("billing")))
        payer = make_client(api_key=registration.api_key)
        subscribed = await call(payer.billing.subscribe(plan="pro", payment_method="pm_card_visa"))
        assert subscribed.plan == "pro" and subscribed.subscription.status == "active"
        assert subscribed.subscription.payment_method.last4 == "4242"
        invoices = await collect(payer.invoices.list_all())
        assert len(invoices) == 1 and invoices[0].status == "paid"
        assert Decimal("0") < invoices[0].total <= Decimal("49.00")
        assert len((await call(payer.invoices.list())).results) == 1
        canceled = await call(payer.billing.cancel())
        assert canceled.subscription.cancel_at_period_end is True
        credits = await call(payer.billing.credits())
        assert credits.balance == Decimal("0.00") and credits.prepaid is False
        assert [p.pack for p in credits.packs] == ["10", "50", "200"]
        assert credits.burn_down[-1].balance == Decimal("0.00")
        purchase = await call(payer.billing.buy_credits("50"))
        assert purchase.amount == Decimal("50.00") and "/c/pay/cs_test_" in purchase.checkout_url

        # A free trial with a promotion code, and the quote of that code.
        registration = await call(make_client().auth.register(email=email("trial")))
        trialer = make_client(api_key=registration.api_key)
        trial = await call(
            trialer.billing.subscribe(plan="pro", trial=True, promotion_code=PROMOTION_CODE)
        )
        assert trial.plan == "pro" and trial.subscription.status == "trialing"
        assert (
            trial.subscription.trial_end is not None and trial.subscription.payment_method is None
        )
        with pytest.raises(ConflictError) as again:
            await call(trialer.billing.subscribe(plan="pro", trial=True))
        assert again.value.code == "trial_already_used"
        discounted = await call(
            make_client(api_key=None).pricing.quote(
                plan="pro", calls=60_000, promotion_code=PROMOTION_CODE
            )
        )
        assert discounted.total == Decimal("53.10") and discounted.lines[-1].kind == "discount"
        assert discounted.discount.percent_off == Decimal("10") and discounted.trial_days == 14
        with pytest.raises(APIError) as unknown:
            await call(make_client(api_key=None).pricing.quote(plan="pro", promotion_code="NOPE"))
        assert (unknown.value.status_code, unknown.value.code) == (400, "promotion_code_invalid")

    run(flow)
    called = sdk_world.access_log.operations_called(
        mark, USER_AGENT.split(" ")[0], sdk_world.operations
    )
    assert sdk_world.operations - called == set()


def test_refusals_are_typed_errors(make_client, sdk_world):
    async def flow():
        with pytest.raises(AuthenticationError) as bad_key:
            await call(make_client(api_key="ps_live_not_a_real_key").pets.list())
        assert (bad_key.value.status_code, bad_key.value.code) == (401, "invalid_api_key")

        registration = await call(make_client().auth.register(email=email("free")))
        free = make_client(api_key=registration.api_key)
        with pytest.raises(FeatureNotInPlanError) as gated:
            await call(free.analytics.retrieve())
        assert gated.value.status_code == 403 and gated.value.feature == "analytics"
        assert gated.value.upgrade_url.endswith("/pricing/")

        with pytest.raises(ValidationError) as invalid:
            await call(free.pets.create(name=""))
        assert invalid.value.fields["name"]

        taken = email("taken")
        await call(make_client().auth.register(email=taken))
        with pytest.raises(ConflictError) as conflict:
            await call(make_client().auth.register(email=taken))
        assert conflict.value.code == "email_taken"

        with pytest.raises(APIError) as no_card:
            await call(free.billing.subscribe(plan="pro"))
        assert type(no_card.value) is APIError
        assert (no_card.value.status_code, no_card.value.code) == (400, "payment_method_required")

        retries = []
        exhausted = make_client(api_key=sdk_world.exhausted_key, on_retry=retries.append)
        with pytest.raises(QuotaExceededError) as quota:
            await call(exhausted.pets.list())
        assert quota.value.upgrade_url.endswith("/pricing/") and quota.value.included == 10_000
        assert quota.value.response.quota_remaining == 0
        assert retries == []  # a used-up quota is not retried

        spent = make_client(api_key=sdk_world.no_credits_key, on_retry=retries.append)
        with pytest.raises(CreditsExhaustedError) as credits:
            await call(spent.pets.list())
        assert isinstance(credits.value, QuotaExceededError)  # caught as any used-up allowance
        assert credits.value.code == "credits_exhausted" and credits.value.balance == Decimal("0")
        assert credits.value.buy_credits_url.endswith("/dashboard/billing/#credits")
        assert retries == []  # spent credits are not retried

        own_key = (await call(free.keys.list())).results[0]
        await call(free.keys.update(own_key.id, monthly_unit_cap=1))
        capped = make_client(api_key=registration.api_key, on_retry=retries.append)
        await call(capped.pets.list())
        with pytest.raises(KeyCapExceededError) as key_cap:
            await call(capped.pets.list())
        error = key_cap.value
        assert (error.status_code, error.code, error.cap, error.used) == (
            429,
            "key_cap_exceeded",
            1,
            1,
        )
        assert error.key_id == own_key.id and error.period_end
        assert isinstance(error, QuotaExceededError)
        assert retries == []  # not a rate limit: never retried
        await call(free.keys.update(own_key.id, monthly_unit_cap=None))
        assert (await call(capped.pets.list())).last_response.status_code == 200

    run(flow)


def test_a_create_retried_with_its_idempotency_key_makes_one_pet_and_one_charge(
    make_client, sdk_world
):
    async def flow():
        registration = await call(make_client().auth.register(email=email("idem")))
        client = make_client(api_key=registration.api_key)
        key = str(uuid.uuid4())
        first = await call(client.pets.create(name="Buddy", idempotency_key=key))
        retried = await call(client.pets.create(name="Buddy", idempotency_key=key))
        assert retried.id == first.id and retried.name == "Buddy"
        assert first.last_response.usage_cost == 2
        assert "idempotent-replayed" not in first.last_response.headers
        assert retried.last_response.headers["idempotent-replayed"] == "true"
        assert retried.last_response.usage_cost == 0
        assert retried.last_response.idempotency_key == key
        with pytest.raises(ConflictError) as reused:
            await call(client.pets.create(name="Max", idempotency_key=key))
        assert reused.value.code == "idempotency_key_reused"

        assert (await call(client.pets.list())).count == 1
        usage = await call(client.usage.retrieve())
        (row,) = [r for r in usage.by_endpoint if r.endpoint == "POST /api/v1/pets"]
        assert (row.calls, row.units, usage.units_used) == (1, 2, 3)  # the create, and a list

    run(flow)


def test_a_free_customer_past_its_rate_limit(make_client, sdk_world):
    async def flow():
        registration = await call(make_client().auth.register(email=email("limit")))
        free = make_client(api_key=registration.api_key, max_retries=0)
        refusal = None
        for _ in range(11):
            try:
                await call(free.pets.list())
            except RateLimitError as exc:
                refusal = exc
                break
        assert refusal is not None, "11 calls in a minute were all served"
        assert (refusal.status_code, refusal.limit) == (429, 10)
        assert 0 < refusal.retry_after <= 60
        assert refusal.upgrade_url.endswith("/pricing/")
        assert refusal.response.rate_limit.remaining == 0

        # With retries on, a wait longer than max_retry_after is not slept: raised at once.
        retries = []
        capped = make_client(api_key=free.api_key, max_retry_after=0.5, on_retry=retries.append)
        with pytest.raises(RateLimitError):
            await call(capped.pets.list())
        assert retries == []

    run(flow)
