from core.errors import ApplicationError, ServiceUnavailable


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


class RateLimited(ApplicationError):
    status_code = 429
    code = "rate_limit_exceeded"


class QuotaExceeded(ApplicationError):
    status_code = 429
    code = "quota_exceeded"


class MeteringUnavailable(ServiceUnavailable):
    code = "metering_unavailable"
    default_message = (
        "Usage metering is temporarily unavailable, so requests cannot be served. "
        "Retry in a few seconds."
    )
