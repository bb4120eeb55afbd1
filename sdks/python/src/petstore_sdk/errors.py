"""One error family: every error this SDK raises is a PetStoreError."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from petstore_sdk.models import ResponseInfo

QUOTA_CODES = frozenset({"quota_exceeded", "key_cap_exceeded", "credits_exhausted"})


class PetStoreError(Exception):
    """Base of every error of this SDK."""


class APIError(PetStoreError):
    """The API answered with an error status. `code` is its `error` field (e.g.
    "rate_limit_exceeded"), `body` the whole JSON answer, `response` the answer's metadata."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        code: str | None = None,
        body: dict[str, Any] | None = None,
        response: ResponseInfo | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.code = code
        self.body = body or {}
        self.response = response

    def __str__(self) -> str:
        code = f" {self.code}" if self.code else ""
        return f"{self.status_code}{code}: {self.message}"


class AuthenticationError(APIError):
    """401: the key is missing, malformed, unknown or revoked."""


class PermissionDeniedError(APIError):
    """403."""


class FeatureNotInPlanError(PermissionDeniedError):
    """403 feature_not_in_plan: the plan lacks this endpoint; `upgrade_url` says where to go."""

    def __init__(self, message: str, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.feature: str | None = self.body.get("feature")
        self.plan: str | None = self.body.get("plan")
        self.upgrade_url: str | None = self.body.get("upgrade_url")


class ValidationError(APIError):
    """400 validation_error: `fields` holds the messages by field (a list field may nest them
    by index)."""

    def __init__(self, message: str, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.fields: dict[str, Any] = self.body.get("fields") or {}


class NotFoundError(APIError):
    """404."""


class ConflictError(APIError):
    """409: e.g. email_taken, or an Idempotency-Key reused with another body."""


class RateLimitError(APIError):
    """429 rate_limit_exceeded, raised once retries are used up or off. `retry_after` is the
    seconds to wait (the Retry-After header)."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        if retry_after is None and self.body.get("retry_after") is not None:
            retry_after = float(self.body["retry_after"])
        self.retry_after = retry_after
        self.limit: int | None = self.body.get("limit")
        self.window: str | None = self.body.get("window")
        self.upgrade_url: str | None = self.body.get("upgrade_url")


class QuotaExceededError(APIError):
    """429 quota_exceeded (the monthly quota of a hard-capped plan is used up) or
    key_cap_exceeded (a key's own monthly cap). Never retried."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after
        self.included: int | None = self.body.get("included")
        self.used: int | None = self.body.get("used")
        self.period_end: str | None = self.body.get("period_end")
        self.upgrade_url: str | None = self.body.get("upgrade_url")


class CreditsExhaustedError(QuotaExceededError):
    """429 credits_exhausted: on a prepaid plan, the included units and the prepaid credits are
    spent. `balance` is what is left (less than the call costs), `buy_credits_url` where to buy
    more (or `client.billing.buy_credits(pack)`). Never retried."""

    def __init__(self, message: str, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        balance = self.body.get("balance")
        self.balance: Decimal | None = None if balance is None else Decimal(balance)
        self.buy_credits_url: str | None = self.body.get("buy_credits_url")
        self.cost: int | None = self.body.get("cost")


class KeyCapExceededError(QuotaExceededError):
    """429 key_cap_exceeded: this key's own monthly cap (set by you, `keys.update`) is used up;
    your other keys keep working. Not a rate limit: never retried (there is no Retry-After),
    it lasts until `period_end` or until you raise the cap."""

    def __init__(self, message: str, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.cap: int | None = self.body.get("cap")
        self.key_id: int | None = self.body.get("key_id")
        self.cost: int | None = self.body.get("cost")


KeyCapExceeded = KeyCapExceededError


class APIConnectionError(PetStoreError):
    """No answer came (after the retries); the cause is chained (`__cause__`)."""


class APITimeoutError(APIConnectionError):
    """No answer within the timeout (after the retries)."""


def error_from_response(
    status_code: int, body: dict[str, Any], response: ResponseInfo | None
) -> APIError:
    code = body.get("error") if isinstance(body.get("error"), str) else None
    message = body.get("message") or f"The API answered HTTP {status_code}."
    kwargs: dict[str, Any] = {
        "status_code": status_code,
        "code": code,
        "body": body,
        "response": response,
    }
    retry_after = response.retry_after if response else None
    if status_code == 401:
        return AuthenticationError(message, **kwargs)
    if status_code == 403:
        if code == "feature_not_in_plan":
            return FeatureNotInPlanError(message, **kwargs)
        return PermissionDeniedError(message, **kwargs)
    if status_code == 404:
        return NotFoundError(message, **kwargs)
    if status_code == 409:
        return ConflictError(message, **kwargs)
    if status_code == 400 and code == "validation_error":
        return ValidationError(message, **kwargs)
    if status_code == 429:
        if code == "credits_exhausted":
            return CreditsExhaustedError(message, retry_after=retry_after, **kwargs)
        if code == "key_cap_exceeded":
            return KeyCapExceededError(message, retry_after=retry_after, **kwargs)
        if code in QUOTA_CODES:
            return QuotaExceededError(message, retry_after=retry_after, **kwargs)
        return RateLimitError(message, retry_after=retry_after, **kwargs)
    return APIError(message, **kwargs)
