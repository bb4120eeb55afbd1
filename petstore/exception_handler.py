"""DRF's exception handler: every error of every API view as `{"error": code, "message": …}`."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import Http404
from redis.exceptions import RedisError
from rest_framework import exceptions as drf_exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from petstore.errors import ApplicationError, InvalidRequest, PayloadTooLarge, ServiceUnavailable

# DRF's own exceptions (and the Django ones DRF converts: Http404, PermissionDenied) mapped onto
# our codes; any other APIException answers invalid_request (4xx) or server_error (5xx).
_DRF_CODES = {
    Http404: "not_found",
    DjangoPermissionDenied: "permission_denied",
    drf_exceptions.NotAuthenticated: "invalid_api_key",
    drf_exceptions.AuthenticationFailed: "invalid_api_key",
    drf_exceptions.NotFound: "not_found",
    drf_exceptions.MethodNotAllowed: "method_not_allowed",
    drf_exceptions.ParseError: "malformed_request",
    drf_exceptions.UnsupportedMediaType: "unsupported_media_type",
    drf_exceptions.PermissionDenied: "permission_denied",
    drf_exceptions.Throttled: "rate_limit_exceeded",
    drf_exceptions.ValidationError: "validation_error",
}


def _first_message(detail: Any) -> str:
    if isinstance(detail, list) and detail:
        return _first_message(detail[0])
    if isinstance(detail, dict) and detail:
        field, value = next(iter(detail.items()))
        text = _first_message(value)
        return text if field == "non_field_errors" else f"{field}: {text}"
    return str(detail)


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge()
    elif isinstance(exc, SuspiciousOperation):  # too many fields or files, a bad multipart body
        exc = InvalidRequest("The request could not be read: too many fields or files.")
    elif isinstance(exc, RedisError):
        # Redis went away after the request was admitted (e.g. the usage API's live read).
        exc = ServiceUnavailable("Usage counters are unreachable right now. Retry shortly.")
        exc.headers["Retry-After"] = "5"
    if isinstance(exc, ApplicationError):
        return Response(exc.as_dict(), status=exc.status_code, headers=exc.headers)

    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # an unexpected exception: let Django log it and answer 500
    fallback = "server_error" if response.status_code >= 500 else "invalid_request"
    code = next((c for cls, c in _DRF_CODES.items() if isinstance(exc, cls)), fallback)
    body: dict[str, Any] = {"error": code}
    if isinstance(exc, drf_exceptions.ValidationError):
        body["message"] = _first_message(exc.detail)
        body["fields"] = (
            exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        )
    elif isinstance(exc, drf_exceptions.NotAuthenticated):
        body["message"] = "Missing API key: send it in the X-API-Key header."
    else:
        body["message"] = _first_message(getattr(exc, "detail", str(exc)))
    if isinstance(exc, drf_exceptions.Throttled) and exc.wait is not None:
        body["retry_after"] = int(exc.wait + 0.999)
    response.data = body
    return response
