from core.errors import ApplicationError, Conflict, ServiceUnavailable


class InvalidApiKey(ApplicationError):
    status_code = 401
    code = "invalid_api_key"
    default_message = "The API key is not valid. Check it, or create one in your dashboard."

    def __init__(self, message=None, **kwargs):
        super().__init__(message, **kwargs)
        self.headers.setdefault("WWW-Authenticate", 'ApiKey realm="api", header="X-API-Key"')


class FeatureNotInPlan(ApplicationError):
    status_code = 403
    code = "feature_not_in_plan"
    default_message = "The operation needs a feature your plan does not include. Upgrade to use it."
    schema_component = "FeatureError"


class RateLimited(ApplicationError):
    status_code = 429
    code = "rate_limit_exceeded"
    default_message = "Too many requests for your plan's rate limit. Retry after Retry-After."
    schema_component = "RateLimitError"


class QuotaExceeded(ApplicationError):
    status_code = 429
    code = "quota_exceeded"
    default_message = "The monthly quota of your hard-capped plan is used up."
    schema_component = "QuotaError"


class CreditsExhausted(ApplicationError):
    status_code = 429
    code = "credits_exhausted"
    default_message = (
        "Your prepaid credits are spent: buy credits to keep going (the plan serves only what "
        "its included units and your credit balance pay for)."
    )
    schema_component = "CreditsError"


class KeyCapExceeded(ApplicationError):
    """The key's own monthly cap (set by its customer) is used up: that key is refused until the
    period renews, the customer's other keys keep working. Not a rate limit: no Retry-After."""

    status_code = 429
    code = "key_cap_exceeded"
    default_message = "This API key's monthly cap is used up; its other keys keep working."
    schema_component = "KeyCapError"


class MeteringUnavailable(ServiceUnavailable):
    code = "metering_unavailable"
    default_message = (
        "Usage metering is temporarily unavailable, so requests cannot be served. "
        "Retry in a few seconds."
    )


class InvalidIdempotencyKey(ApplicationError):
    status_code = 400
    code = "invalid_idempotency_key"
    default_message = (
        "An Idempotency-Key is 1 to 255 visible ASCII characters (no spaces); a UUID is ideal."
    )


class IdempotencyKeyReused(Conflict):
    code = "idempotency_key_reused"
    default_message = (
        "This Idempotency-Key was already used with another request (another body or another "
        "endpoint). A key identifies one request: use a new key for a new request."
    )


class IdempotencyKeyInUse(Conflict):
    code = "idempotency_key_in_use"
    default_message = (
        "A request with this Idempotency-Key is still being processed. Retry once it has "
        "answered: the retry gets its result."
    )
