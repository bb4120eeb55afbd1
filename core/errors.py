"""One error family and one renderer: every API refusal is `{"error": code, "message": …}`.

Apps raise subclasses of `ApplicationError`; DRF views get them rendered by
`core.exception_handler.api_exception_handler`, plain Django code (the metering middleware)
by `error_response`. This module imports nothing from DRF, so DRF's settings can import it.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, JsonResponse


class ApplicationError(Exception):
    status_code = 400
    code = "bad_request"
    default_message = "The request could not be processed."
    # The OpenAPI component of its body (core.api_schema): "Error", or a variant with more fields.
    schema_component = "Error"

    def __init__(
        self,
        message: str | None = None,
        *,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ):
        self.message = message or self.default_message
        self.extra = extra or {}
        self.headers = headers or {}
        super().__init__(self.message)

    def as_dict(self) -> dict[str, Any]:
        return {"error": self.code, "message": self.message, **self.extra}


class NotFound(ApplicationError):
    status_code = 404
    code = "not_found"
    default_message = "Not found."


class Conflict(ApplicationError):
    status_code = 409
    code = "conflict"


class PermissionDenied(ApplicationError):
    status_code = 403
    code = "permission_denied"
    default_message = "You may not do this."


class ServiceUnavailable(ApplicationError):
    status_code = 503
    code = "service_unavailable"
    default_message = "The service is temporarily unavailable. Retry shortly."


def error_response(exc: ApplicationError) -> JsonResponse:
    response = JsonResponse(exc.as_dict(), status=exc.status_code)
    for name, value in exc.headers.items():
        response[name] = value
    return response


class InvalidRequest(ApplicationError):
    """The request itself is unusable: JSON nested too deep, a NUL byte in a string, …"""

    status_code = 400
    code = "invalid_request"
    default_message = "The request could not be read."


class PayloadTooLarge(ApplicationError):
    status_code = 413
    code = "payload_too_large"
    default_message = "The request body is too large."


# The code of an error answer that no view chose (Django's handlers, the debug pages): one per
# status, so a client can rely on it whatever part of the stack refused the request.
STATUS_CODES = {
    400: ("invalid_request", "The request could not be read."),
    401: ("invalid_api_key", "Missing or invalid API key."),
    403: ("permission_denied", "You may not do this."),
    404: ("not_found", "Not found."),
    405: ("method_not_allowed", "This method is not allowed here."),
    406: ("not_acceptable", "No acceptable representation: ask for application/json."),
    413: ("payload_too_large", "The request body is too large."),
    415: ("unsupported_media_type", "Unsupported media type: send application/json."),
    429: ("rate_limit_exceeded", "Too many requests. Retry later."),
    500: ("server_error", "Something went wrong on our side; it was logged."),
    503: ("service_unavailable", ServiceUnavailable.default_message),
}


def is_api_request(request: HttpRequest) -> bool:
    """Everything under /api/ answers JSON, errors included."""
    return request.path_info.startswith("/api/")


def status_error_response(status: int, message: str | None = None) -> JsonResponse:
    """`{"error", "message"}` for a bare HTTP status (4xx codes not listed fall back to
    invalid_request, 5xx to server_error)."""
    fallback = STATUS_CODES[500] if status >= 500 else STATUS_CODES[400]
    code, default = STATUS_CODES.get(status, fallback)
    return JsonResponse({"error": code, "message": message or default}, status=status)
