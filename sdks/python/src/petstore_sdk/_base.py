"""What the sync and async clients share: configuration, building a request from the operation
table, reading an answer, and the retry policy. Only the sending and the sleeping differ."""

from __future__ import annotations

import email.utils
import os
import platform
import random
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import quote, unquote

import httpx

from petstore_sdk._operations import Operation, operation
from petstore_sdk._version import __version__
from petstore_sdk.errors import QUOTA_CODES, APIError, AuthenticationError, error_from_response
from petstore_sdk.models import RateLimit, ResponseInfo

DEFAULT_BASE_URL = "https://api.petstore.example"
USER_AGENT = f"petstore-sdk-python/{__version__} python/{platform.python_version()}"
RETRY_STATUSES = frozenset({502, 503, 504})


@dataclass(frozen=True)
class RetryEvent:
    """Passed to `on_retry` before each retry's wait."""

    attempt: int  # 1 for the first retry
    delay: float  # seconds
    reason: str  # "rate_limited", "unavailable", "connection_error" or "timeout"
    status_code: int | None
    error: Exception
    method: str
    path: str
    idempotency_key: str | None


@dataclass(frozen=True)
class Config:
    api_key: str | None
    base_url: str
    max_retries: int = 2
    max_retry_after: float = 60.0  # a longer Retry-After is raised at once, not slept
    initial_retry_delay: float = 0.5  # the first backoff's ceiling, doubled on each retry
    max_retry_delay: float = 8.0  # the ceiling of any backoff
    timeout: float = 30.0  # seconds, per attempt
    on_retry: Callable[[RetryEvent], None] | None = None

    @classmethod
    def make(cls, api_key: str | None, base_url: str | None, **options: Any) -> Config:
        for name, value in options.items():
            if name != "on_retry" and (not isinstance(value, int | float) or value < 0):
                raise ValueError(f"{name} must be a number >= 0")
        base = base_url or os.environ.get("PETSTORE_BASE_URL") or DEFAULT_BASE_URL
        return cls(
            api_key=api_key if api_key is not None else os.environ.get("PETSTORE_API_KEY"),
            base_url=base.rstrip("/"),
            **options,
        )

    def but(self, **changes: Any) -> Config:
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


@dataclass
class Prepared:
    op: Operation
    path: str
    url: str
    headers: dict[str, str]
    params: dict[str, Any] | None
    json: Any
    content: bytes | None  # a body sent as is (multipart), the same bytes on every retry
    idempotency_key: str | None


def prepare(
    config: Config,
    name: str,
    *,
    path_params: dict[str, Any] | None = None,
    query: dict[str, Any] | None = None,
    json: Any = None,
    multipart: tuple[bytes, str] | None = None,
    idempotency_key: str | None = None,
) -> Prepared:
    op = operation(name)
    path = op.path
    for key, value in (path_params or {}).items():
        if value is None or value == "":
            raise TypeError(f"{name} needs {key}")
        path = path.replace("{" + key + "}", quote(str(value), safe=""))
    headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
    if op.auth:
        if not config.api_key:
            raise AuthenticationError(
                "No API key: pass PetStore(api_key=...) or set PETSTORE_API_KEY.",
                status_code=0,
                code="missing_api_key",
            )
        headers["X-API-Key"] = config.api_key
    key = None
    if op.method != "GET":
        key = idempotency_key or str(uuid.uuid4())
        headers["Idempotency-Key"] = key
    content = None
    if multipart is not None:
        content, headers["Content-Type"] = multipart
    params = {k: v for k, v in (query or {}).items() if v is not None} or None
    return Prepared(op, path, config.base_url + path, headers, params, json, content, key)


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After as seconds: delay-seconds or an HTTP date; None if absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return max(0.0, when.timestamp() - time.time())
    return seconds if seconds >= 0 else None


def _header_int(headers: httpx.Headers, name: str) -> int | None:
    try:
        return int(headers[name])
    except (KeyError, ValueError):
        return None


def response_info(response: httpx.Response, idempotency_key: str | None) -> ResponseInfo:
    headers = response.headers
    rate_limit = None
    if "x-ratelimit-limit" in headers:
        rate_limit = RateLimit(
            limit=_header_int(headers, "x-ratelimit-limit"),
            remaining=_header_int(headers, "x-ratelimit-remaining"),
            reset=_header_int(headers, "x-ratelimit-reset"),
        )
    return ResponseInfo(
        status_code=response.status_code,
        headers=headers,
        rate_limit=rate_limit,
        usage_cost=_header_int(headers, "x-usage-cost"),
        quota_remaining=_header_int(headers, "x-quota-remaining"),
        retry_after=parse_retry_after(headers.get("retry-after")),
        idempotency_key=idempotency_key,
    )


def body_of(response: httpx.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return {"message": response.text[:500]}


def error_of(response: httpx.Response, info: ResponseInfo) -> APIError:
    body = body_of(response)
    return error_from_response(response.status_code, body if isinstance(body, dict) else {}, info)


def backoff(config: Config, attempt: int) -> float:
    """Exponential with full jitter: uniform in [0, min(max, initial × 2^attempt)]."""
    return random.uniform(0, min(config.max_retry_delay, config.initial_retry_delay * 2**attempt))


def retry_delay(config: Config, error: APIError, attempt: int) -> float | None:
    """Seconds to wait before retrying this error answer, or None when it is not retried."""
    if error.status_code == 429:
        if error.code in QUOTA_CODES:
            return None
    elif error.status_code not in RETRY_STATUSES:
        return None
    retry_after = error.response.retry_after if error.response else None
    if retry_after is None:
        return backoff(config, attempt)
    return retry_after if retry_after <= config.max_retry_after else None


def retry_event(
    prepared: Prepared, attempt: int, delay: float, reason: str, error: Exception
) -> RetryEvent:
    return RetryEvent(
        attempt=attempt + 1,
        delay=delay,
        reason=reason,
        status_code=getattr(error, "status_code", None),
        error=error,
        method=prepared.op.method,
        path=prepared.path,
        idempotency_key=prepared.idempotency_key,
    )


def reason_of(error: APIError) -> str:
    return "rate_limited" if error.status_code == 429 else "unavailable"


class _NotGiven:
    """A field left out of an update (None sends null: it removes the value)."""

    def __repr__(self) -> str:
        return "NOT_GIVEN"

    def __bool__(self) -> bool:
        return False


NOT_GIVEN: Any = _NotGiven()


def key_caps_body(monthly_unit_cap: Any, monthly_spend_cap: Any) -> dict[str, Any]:
    """The body of `keys.update`: the caps given, None as null (removes the cap); a spend cap
    as a string of dollars ("25.00")."""
    body: dict[str, Any] = {}
    if monthly_unit_cap is not NOT_GIVEN:
        body["monthly_unit_cap"] = monthly_unit_cap
    if monthly_spend_cap is not NOT_GIVEN:
        body["monthly_spend_cap"] = None if monthly_spend_cap is None else str(monthly_spend_cap)
    return body


def pet_body(**fields: Any) -> dict[str, Any]:
    """The fields given (None means: not given)."""
    return {k: v for k, v in fields.items() if v is not None}


def image_upload(image: Any, filename: str | None, content_type: str | None) -> tuple[bytes, str]:
    """The multipart body of an image upload (bytes, a binary file or a path) and its Content-Type.
    Encoded once, with one boundary, so that every retry sends the very same bytes (a server
    that honours Idempotency-Key compares them)."""
    if isinstance(image, bytes | bytearray | memoryview):
        data = bytes(image)
    elif isinstance(image, str | os.PathLike):
        with open(image, "rb") as f:
            data = f.read()
        filename = filename or os.path.basename(os.fspath(image))
    else:
        data = image.read()
        filename = filename or os.path.basename(getattr(image, "name", "") or "") or None
    kind, extension = _image_kind(data)
    name = (
        (filename or f"image.{extension}").replace('"', "%22").replace("\r", "").replace("\n", "")
    )
    boundary = uuid.uuid4().hex
    body = b"".join(
        [
            f"--{boundary}\r\n".encode(),
            f'Content-Disposition: form-data; name="image"; filename="{name}"\r\n'.encode(),
            f"Content-Type: {content_type or kind}\r\n\r\n".encode(),
            data,
            f"\r\n--{boundary}--\r\n".encode(),
        ]
    )
    return body, f"multipart/form-data; boundary={boundary}"


_THUMBNAIL = re.compile(r"(?:^|/thumbnails/)([^/?#]+?)(?:\.jpg)?(?:[?#].*)?$")


def thumbnail_token(thumbnail_url: str) -> str:
    """The token of a pet's signed thumbnail_url (or the token itself)."""
    match = _THUMBNAIL.search(thumbnail_url or "")
    if match is None:
        raise ValueError("download needs a pet's thumbnail_url")
    return unquote(match.group(1))


def _image_kind(data: bytes) -> tuple[str, str]:
    if data.startswith(b"\x89PNG"):
        return "image/png", "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg", "jpg"
    if data.startswith(b"GIF8"):
        return "image/gif", "gif"
    if data.startswith(b"RIFF"):
        return "image/webp", "webp"
    return "application/octet-stream", "bin"
