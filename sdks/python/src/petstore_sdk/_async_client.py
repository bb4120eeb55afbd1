"""The asyncio client: `AsyncPetStore(api_key=...)`, the same methods as PetStore, awaited."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from typing import Any, Generic, TypeVar
from urllib.parse import parse_qsl, urlsplit

import httpx

from petstore_sdk import _base
from petstore_sdk._base import Config, RetryEvent
from petstore_sdk.errors import APIConnectionError, APITimeoutError
from petstore_sdk.models import (
    Analytics,
    ApiKey,
    CancelResult,
    Credits,
    CreditsPurchase,
    Deleted,
    Invoice,
    Model,
    NewApiKey,
    NewWebhookEndpoint,
    Pet,
    PetStatus,
    PetWithImage,
    Quote,
    Registration,
    ResponseInfo,
    SubscribeResult,
    Thumbnail,
    Usage,
    WebhookEndpoint,
)

T = TypeVar("T", bound=Model)


class AsyncPage(Generic[T]):
    """One page of a list: `results`, and `next_page()` (None after the last). Lists without
    pages (keys, invoices) are one page with `next` None. `async for` over a page walks every
    item from it on, fetching the following pages."""

    def __init__(self, client: AsyncPetStore, name: str, query: dict, data: dict, info, model):
        self.results: list[T] = [model.from_dict(item) for item in data.get("results", [])]
        self.count: int = data.get("count", len(self.results))
        self.next: str | None = data.get("next")
        self.previous: str | None = data.get("previous")
        self.last_response: ResponseInfo = info
        self._client, self._name, self._query, self._model = client, name, query, model

    def has_next_page(self) -> bool:
        return bool(self.next)

    async def next_page(self) -> AsyncPage[T] | None:
        """The next page, asked of the client's own base URL with the `next` link's parameters."""
        if not self.next:
            return None
        query = dict(parse_qsl(urlsplit(self.next).query))
        return await self._client._page(self._name, query, self._model)

    async def __aiter__(self) -> AsyncIterator[T]:
        page: AsyncPage[T] | None = self
        while page is not None:
            for item in page.results:
                yield item
            page = await page.next_page()

    def __repr__(self) -> str:
        return f"AsyncPage(count={self.count}, results={self.results!r}, next={self.next!r})"


class _Resource:
    def __init__(self, client: AsyncPetStore) -> None:
        self._client = client


class Auth(_Resource):
    async def register(self, *, email: str, name: str | None = None) -> Registration:
        """Sign up on the Free plan; the key is shown only in this answer."""
        data = _base.pet_body(email=email, name=name)
        return await self._client._call("auth.register", Registration, json=data)


class Pets(_Resource):
    async def list(
        self,
        *,
        limit: int | None = None,
        offset: int | None = None,
        status: PetStatus | None = None,
        species: str | None = None,
    ) -> AsyncPage[Pet]:
        """One page of your pets."""
        query = {"limit": limit, "offset": offset, "status": status, "species": species}
        return await self._client._page("pets.list", query, Pet)

    async def list_all(
        self,
        *,
        limit: int | None = None,
        status: PetStatus | None = None,
        species: str | None = None,
    ) -> AsyncIterator[Pet]:
        """Every pet, page after page: `async for pet in client.pets.list_all()`."""
        async for pet in await self.list(limit=limit, status=status, species=species):
            yield pet

    async def create(
        self,
        *,
        name: str,
        species: str | None = None,
        status: PetStatus | None = None,
        tags: list[str] | None = None,
        idempotency_key: str | None = None,
    ) -> Pet:
        body = _base.pet_body(name=name, species=species, status=status, tags=tags)
        return await self._client._call(
            "pets.create", Pet, json=body, idempotency_key=idempotency_key
        )

    async def retrieve(self, id: int) -> Pet:
        return await self._client._call("pets.retrieve", Pet, path_params={"id": id})

    async def replace(
        self,
        id: int,
        *,
        name: str,
        species: str | None = None,
        status: PetStatus | None = None,
        tags: list[str] | None = None,
        idempotency_key: str | None = None,
    ) -> Pet:
        """PUT: the whole pet (`name` required)."""
        body = _base.pet_body(name=name, species=species, status=status, tags=tags)
        return await self._client._call(
            "pets.replace", Pet, path_params={"id": id}, json=body, idempotency_key=idempotency_key
        )

    async def update(
        self,
        id: int,
        *,
        name: str | None = None,
        species: str | None = None,
        status: PetStatus | None = None,
        tags: list[str] | None = None,
        idempotency_key: str | None = None,
    ) -> Pet:
        """PATCH: only the fields given."""
        body = _base.pet_body(name=name, species=species, status=status, tags=tags)
        return await self._client._call(
            "pets.update", Pet, path_params={"id": id}, json=body, idempotency_key=idempotency_key
        )

    async def delete(self, id: int, *, idempotency_key: str | None = None) -> Deleted:
        return await self._client._delete("pets.delete", id, idempotency_key)

    async def upload_image(
        self,
        id: int,
        image: Any,
        *,
        filename: str | None = None,
        content_type: str | None = None,
        idempotency_key: str | None = None,
    ) -> PetWithImage:
        """Upload an image (bytes, a binary file or a path; JPEG, PNG, GIF or WebP)."""
        multipart = _base.image_upload(image, filename, content_type)
        return await self._client._call(
            "pets.upload_image",
            PetWithImage,
            path_params={"id": id},
            multipart=multipart,
            idempotency_key=idempotency_key,
        )


class AnalyticsResource(_Resource):
    async def retrieve(self) -> Analytics:
        """Counts of your pets by status and species (paid plans)."""
        return await self._client._call("analytics.retrieve", Analytics)


class UsageResource(_Resource):
    async def retrieve(self) -> Usage:
        """The current period's usage, exact to the last request."""
        return await self._client._call("usage.retrieve", Usage)


class Keys(_Resource):
    async def list(self) -> AsyncPage[ApiKey]:
        return await self._client._page("keys.list", {}, ApiKey)

    async def list_all(self) -> AsyncIterator[ApiKey]:
        async for key in await self.list():
            yield key

    async def create(
        self, *, name: str | None = None, idempotency_key: str | None = None
    ) -> NewApiKey:
        """A new key; its `api_key` is shown only in this answer."""
        body = _base.pet_body(name=name)
        return await self._client._call(
            "keys.create", NewApiKey, json=body, idempotency_key=idempotency_key
        )

    async def retrieve(self, id: int) -> ApiKey:
        """A key, with its caps and this period's `units_used`."""
        return await self._client._call("keys.retrieve", ApiKey, path_params={"id": id})

    async def update(
        self,
        id: int,
        *,
        monthly_unit_cap: int | None = _base.NOT_GIVEN,
        monthly_spend_cap: Decimal | str | None = _base.NOT_GIVEN,
        idempotency_key: str | None = None,
    ) -> ApiKey:
        """Set a key's own monthly caps: `monthly_unit_cap` in units, `monthly_spend_cap` in
        dollars (plans that bill overage). None removes a cap; one left out is kept. Past its
        cap the key gets KeyCapExceededError; your other keys keep working."""
        return await self._client._call(
            "keys.update",
            ApiKey,
            path_params={"id": id},
            json=_base.key_caps_body(monthly_unit_cap, monthly_spend_cap),
            idempotency_key=idempotency_key,
        )

    async def revoke(self, id: int, *, idempotency_key: str | None = None) -> Deleted:
        return await self._client._delete("keys.revoke", id, idempotency_key)

    async def rotate(
        self, id: int, *, grace_hours: int | None = None, idempotency_key: str | None = None
    ) -> NewApiKey:
        """A new key replaces this one; the old one works `grace_hours` more (0: revoked now)."""
        body = _base.pet_body(grace_hours=grace_hours)
        return await self._client._call(
            "keys.rotate",
            NewApiKey,
            path_params={"id": id},
            json=body,
            idempotency_key=idempotency_key,
        )


class Webhooks(_Resource):
    """Your outbound webhook endpoints (plans with the Webhooks feature). Verify what they
    receive with `petstore_sdk.webhooks.construct_event`."""

    async def list(self) -> AsyncPage[WebhookEndpoint]:
        return await self._client._page("webhooks.list", {}, WebhookEndpoint)

    async def list_all(self) -> AsyncIterator[WebhookEndpoint]:
        async for endpoint in await self.list():
            yield endpoint

    async def create(
        self, *, url: str, events: list[str], idempotency_key: str | None = None
    ) -> NewWebhookEndpoint:
        """A new endpoint; its signing `secret` (whsec_…) is shown only in this answer."""
        return await self._client._call(
            "webhooks.create",
            NewWebhookEndpoint,
            json={"url": url, "events": list(events)},
            idempotency_key=idempotency_key,
        )

    async def delete(self, id: int, *, idempotency_key: str | None = None) -> Deleted:
        return await self._client._delete("webhooks.delete", id, idempotency_key)


class Billing(_Resource):
    async def subscribe(
        self,
        *,
        plan: str,
        payment_method: str | None = None,
        trial: bool | None = None,
        promotion_code: str | None = None,
        idempotency_key: str | None = None,
    ) -> SubscribeResult:
        """Subscribe to a plan, or change plan (prorated). `payment_method`: a Stripe payment
        method id (test mode: pm_card_visa). `trial=True`: the plan's free trial, no card
        needed (once per customer: ConflictError `trial_already_used`). `promotion_code`: its
        discount applies to the subscription (BadRequestError `promotion_code_invalid`)."""
        body = _base.pet_body(
            plan=plan, payment_method=payment_method, trial=trial, promotion_code=promotion_code
        )
        return await self._client._call(
            "billing.subscribe", SubscribeResult, json=body, idempotency_key=idempotency_key
        )

    async def cancel(self, *, idempotency_key: str | None = None) -> CancelResult:
        """Cancel the subscription at the end of the period."""
        return await self._client._call(
            "billing.cancel", CancelResult, idempotency_key=idempotency_key
        )

    async def credits(self) -> Credits:
        """Your prepaid credits: balance, ledger, burn-down by day and run-out forecast."""
        return await self._client._call("billing.credits", Credits)

    async def buy_credits(
        self, pack: str, *, idempotency_key: str | None = None
    ) -> CreditsPurchase:
        """Buy a credit pack (`credits().packs`, e.g. "50"): the Stripe Checkout page to pay on;
        the credits are granted once it is paid."""
        return await self._client._call(
            "billing.buy_credits",
            CreditsPurchase,
            json={"pack": pack},
            idempotency_key=idempotency_key,
        )


class Invoices(_Resource):
    async def list(self) -> AsyncPage[Invoice]:
        return await self._client._page("invoices.list", {}, Invoice)

    async def list_all(self) -> AsyncIterator[Invoice]:
        async for invoice in await self.list():
            yield invoice


class Pricing(_Resource):
    async def quote(
        self,
        *,
        plan: str,
        calls: int | None = None,
        read: int | None = None,
        write: int | None = None,
        image: int | None = None,
        promotion_code: str | None = None,
    ) -> Quote:
        """Price a monthly usage on a plan, line by line (public: no key needed); with a
        `promotion_code`, its discount is a line of the quote."""
        query = {
            "plan": plan,
            "calls": calls,
            "read": read,
            "write": write,
            "image": image,
            "promotion_code": promotion_code,
        }
        return await self._client._call("pricing.quote", Quote, query=query)


class Thumbnails(_Resource):
    async def download(self, thumbnail_url: str) -> Thumbnail:
        """The JPEG behind a pet's signed `thumbnail_url` (or its token): no key needed, valid
        for an hour. Asked of the client's own base URL."""
        token = _base.thumbnail_token(thumbnail_url)
        content, info = await self._client._request(
            "thumbnails.download", path_params={"token": token}, binary=True
        )
        return Thumbnail(
            content=content,
            content_type=info.headers.get("content-type", "image/jpeg"),
            last_response=info,
        )


class AsyncPetStore:
    """The Pet Store API, for asyncio (the same options and methods as PetStore).

    `api_key` defaults to PETSTORE_API_KEY; `base_url` to PETSTORE_BASE_URL, else
    https://api.petstore.example. A 429 is retried after its Retry-After (if at most
    `max_retry_after` seconds), a 502/503/504 or a connection error after an exponential
    backoff with full jitter; `max_retries=0` turns retries off.
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        max_retries: int = 2,
        max_retry_after: float = 60.0,
        initial_retry_delay: float = 0.5,
        max_retry_delay: float = 8.0,
        timeout: float = 30.0,
        on_retry: Callable[[RetryEvent], None] | None = None,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        config = Config.make(
            api_key,
            base_url,
            max_retries=max_retries,
            max_retry_after=max_retry_after,
            initial_retry_delay=initial_retry_delay,
            max_retry_delay=max_retry_delay,
            timeout=timeout,
            on_retry=on_retry,
        )
        self._setup(config, http_client or httpx.AsyncClient(), owns_http=http_client is None)

    def _setup(self, config: Config, http: httpx.AsyncClient, owns_http: bool) -> None:
        self._config = config
        self._http = http
        self._owns_http = owns_http
        self.auth = Auth(self)
        self.pets = Pets(self)
        self.analytics = AnalyticsResource(self)
        self.usage = UsageResource(self)
        self.keys = Keys(self)
        self.billing = Billing(self)
        self.invoices = Invoices(self)
        self.webhooks = Webhooks(self)
        self.pricing = Pricing(self)
        self.thumbnails = Thumbnails(self)

    @property
    def api_key(self) -> str | None:
        return self._config.api_key

    @property
    def base_url(self) -> str:
        return self._config.base_url

    def with_options(
        self,
        *,
        api_key: str | None = None,
        max_retries: int | None = None,
        max_retry_after: float | None = None,
        timeout: float | None = None,
    ) -> AsyncPetStore:
        """A client with some options changed, sharing this one's connections:
        `await client.with_options(max_retries=0).pets.list()`."""
        clone = object.__new__(AsyncPetStore)
        config = self._config.but(
            api_key=api_key,
            max_retries=max_retries,
            max_retry_after=max_retry_after,
            timeout=timeout,
        )
        clone._setup(config, self._http, owns_http=False)
        return clone

    async def close(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> AsyncPetStore:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- transport -------------------------------------------------------------------------

    async def _request(
        self, name: str, *, binary: bool = False, **kwargs: Any
    ) -> tuple[Any, ResponseInfo]:
        config = self._config
        prepared = _base.prepare(config, name, **kwargs)
        for attempt in range(config.max_retries + 1):
            try:
                response = await self._http.request(
                    prepared.op.method,
                    prepared.url,
                    headers=prepared.headers,
                    params=prepared.params,
                    json=prepared.json,
                    content=prepared.content,
                    timeout=config.timeout,
                )
            except httpx.TimeoutException as exc:
                failure: Exception = APITimeoutError(
                    f"No answer from {config.base_url} within {config.timeout} s."
                )
                failure.__cause__ = exc
                reason = "timeout"
            except httpx.TransportError as exc:
                failure = APIConnectionError(f"Could not reach {config.base_url}: {exc}")
                failure.__cause__ = exc
                reason = "connection_error"
            else:
                info = _base.response_info(response, prepared.idempotency_key)
                if response.is_success:
                    return (response.content if binary else _base.body_of(response)), info
                error = _base.error_of(response, info)
                delay = _base.retry_delay(config, error, attempt)
                if delay is None or attempt >= config.max_retries:
                    raise error
                await self._wait(
                    _base.retry_event(prepared, attempt, delay, _base.reason_of(error), error)
                )
                continue
            if attempt >= config.max_retries:
                raise failure
            delay = _base.backoff(config, attempt)
            await self._wait(_base.retry_event(prepared, attempt, delay, reason, failure))
        raise AssertionError("unreachable")  # pragma: no cover

    async def _wait(self, event: RetryEvent) -> None:
        if self._config.on_retry is not None:
            self._config.on_retry(event)
        await asyncio.sleep(event.delay)

    async def _call(self, name: str, model: type[T], **kwargs: Any) -> T:
        data, info = await self._request(name, **kwargs)
        return model.from_dict(data or {}, info)

    async def _delete(self, name: str, id: int, idempotency_key: str | None) -> Deleted:
        _, info = await self._request(name, path_params={"id": id}, idempotency_key=idempotency_key)
        return Deleted(id=id, deleted=True, last_response=info)

    async def _page(self, name: str, query: dict, model: type[T]) -> AsyncPage[T]:
        data, info = await self._request(name, query=query)
        return AsyncPage(self, name, query, data or {}, info, model)
