"""One error family and one renderer: every API refusal is `{"error": code, "message": …}`.

Apps raise subclasses of `ApplicationError`; DRF views get them rendered by
`petstore.exception_handler.api_exception_handler`, plain Django code (the metering middleware)
by `error_response`. This module imports nothing from DRF, so DRF's settings can import it.
"""

from __future__ import annotations

from typing import Any

from django.http import JsonResponse


class ApplicationError(Exception):
    status_code = 400
    code = "bad_request"
    default_message = "The request could not be processed."

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
