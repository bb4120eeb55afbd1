"""The first line against hostile requests, and the guarantee that the API only ever answers JSON.

Before anything else runs (sessions, authentication, metering, views):
- a body larger than `DATA_UPLOAD_MAX_MEMORY_SIZE` (by its Content-Length) is refused with 413,
  unread, so it is never parsed, stored or metered;
- a NUL character in the path, the query string or a cookie is refused with 400: PostgreSQL
  cannot compare text with a NUL in it (the query fails), so no view, filter or session lookup
  may see one, on any database.
Under `/api/` the refusal is `{"error": "payload_too_large" | "invalid_request", "message"}`;
elsewhere it is the portal's own 413/400 page.

After the response: any error answer under `/api/` that is not JSON (Django's default pages, or
its technical pages when DEBUG is on) is replaced by `{"error", "message"}` with the stable code
of its status. Tracebacks stay in the server log; none reaches an API client, whatever DEBUG says.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from petstore.errors import status_error_response
from petstore.views import error_page, is_api_request

NUL = "\x00"
# A refused body is read (and dropped) up to this many bytes before answering, so that the client,
# still sending, sees the 413 rather than a reset connection; past it the connection is dropped.
DRAIN_LIMIT = 64 * 1024 * 1024
DRAIN_CHUNK = 256 * 1024
# Headers that still mean something on the JSON version of an error answer.
KEPT_HEADERS = ("Allow", "Retry-After", "WWW-Authenticate")


def _content_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0  # what Django itself assumes for an unreadable length


def _has_nul(request: HttpRequest) -> bool:
    if NUL in request.path:
        return True
    for key, values in request.GET.lists():
        if NUL in key or any(NUL in value for value in values):
            return True
    return any(NUL in name or NUL in value for name, value in request.COOKIES.items())


def _drain(request: HttpRequest, length: int) -> None:
    remaining = min(length, DRAIN_LIMIT)
    try:
        while remaining > 0:
            chunk = request.read(min(DRAIN_CHUNK, remaining))
            if not chunk:
                break
            remaining -= len(chunk)
    except OSError:
        pass  # the client went away: nobody is left to answer


class RequestGuardMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self._refusal(request) or self.get_response(request)
        if is_api_request(request) and response.status_code >= 400 and not _is_json(response):
            response = _as_json(response)
        return response

    def _refusal(self, request: HttpRequest) -> HttpResponse | None:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        length = _content_length(request)
        if limit is not None and length > limit:
            _drain(request, length)
            return self._refuse(
                request, 413, f"The request body is {length:,} bytes; the limit is {limit:,}."
            )
        if _has_nul(request):
            return self._refuse(
                request,
                400,
                "The path, query string and cookies may not contain NUL (%00) characters.",
            )
        return None

    @staticmethod
    def _refuse(request: HttpRequest, status: int, message: str) -> HttpResponse:
        if is_api_request(request):
            return status_error_response(status, message)
        return error_page(request, status)


def _is_json(response: HttpResponse) -> bool:
    return response.get("Content-Type", "").startswith("application/json")


def _as_json(response: HttpResponse) -> HttpResponse:
    replacement = status_error_response(response.status_code)
    response.close()
    for name in KEPT_HEADERS:
        if name in response:
            replacement[name] = response[name]
    return replacement
