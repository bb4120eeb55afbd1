"""Meters every DRF route under `METERING_PATH_PREFIX` by configuration: no code in the views.

Before the view: authenticate the key and admit the request (rate limit, quota, feature gate,
count) in one Redis round trip. The script is sent as soon as the request comes in (this
middleware sits near the top of MIDDLEWARE) and its answer read just before the view, so Redis
runs it while Django goes through the other middlewares and resolves the URL. After the view:
settle (a 4xx/5xx answer gives its units back) and
add the `X-RateLimit-*`, `X-Usage-Cost` and `X-Quota-Remaining` headers. A request whose
admission went unanswered (Redis paused or gone mid-call) and that is not answered 2xx/3xx is
voided, so that nothing answered 503 is ever billed.
"""

from __future__ import annotations

import logging
from functools import lru_cache

from django.conf import settings
from django.db import DatabaseError
from django.urls import Resolver404, resolve
from redis.exceptions import RedisError

from core.errors import ApplicationError, error_response
from metering import services
from metering.errors import InvalidApiKey, MeteringUnavailable
from metering.grants import ApiCaller, extract_key, grant_for_key

logger = logging.getLogger(__name__)


@lru_cache(maxsize=4096)
def _route_of(path: str) -> tuple[str, str | None] | None:
    """(route, url name) of a path, as Django will resolve it (cached: ids vary, paths repeat)."""
    try:
        match = resolve(path)
    except Resolver404:
        return None
    return match.route, match.url_name


class MeteringMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.prefix = settings.METERING_PATH_PREFIX
        self.public_routes = frozenset(settings.METERING_PUBLIC_ROUTES)

    def __call__(self, request):
        if request.path_info.startswith(self.prefix):
            self._send_ahead(request)
        try:
            response = self.get_response(request)
        finally:
            # Normally read before the view (process_view); read it now if the view was never
            # reached, so that the connection holds no stray answer and the request is settled.
            ahead = getattr(request, "_metering_ahead", None)
            if ahead is not None:
                self._read_ahead(request, ahead)
        return self._settle(request, response)

    def _send_ahead(self, request) -> None:
        route = _route_of(request.path_info)
        if route is None or route[1] in self.public_routes:
            return
        try:
            request._metering_ahead = services.admission_send(
                raw_key=extract_key(request.META), method=request.method, route=route[0]
            )
        except (RedisError, DatabaseError):
            return  # admitted (or refused) the usual way before the view

    def _read_ahead(self, request, ahead) -> None:
        request._metering_ahead = None
        try:
            request._metering_admission = services.request_admit(
                raw_key=ahead.raw_key, method=request.method, route="", ahead=ahead
            )
        except services.UnconfirmedAdmission as unconfirmed:
            request._metering_unconfirmed = unconfirmed.counted
        except (ApplicationError, RedisError):
            pass  # refused or not counted: nothing to settle

    def _settle(self, request, response):
        admission = getattr(request, "_metering_admission", None)
        if admission is not None:
            try:
                headers = services.request_finish(admission, response.status_code)
            except (RedisError, DatabaseError):
                logger.exception(
                    "metering: could not settle request %s of customer %s",
                    admission.counted.request_id,
                    admission.grant.customer_id,
                )
            else:
                for name, value in headers.items():
                    response[name] = value
        unconfirmed = getattr(request, "_metering_unconfirmed", None)
        if unconfirmed is not None and not 200 <= response.status_code < 400:
            try:
                services.request_void(unconfirmed)
            except DatabaseError:
                logger.exception(
                    "metering: could not record the void of request %s (customer %s, %s, "
                    "%s units): if Redis counted it, it stays billed",
                    unconfirmed.request_id,
                    unconfirmed.customer_id,
                    unconfirmed.endpoint,
                    unconfirmed.weight,
                )
        return response

    def process_view(self, request, view_func, view_args, view_kwargs):
        if not request.path_info.startswith(self.prefix):
            return None
        match = request.resolver_match
        if match is None or match.url_name in self.public_routes:
            return None
        raw_key = extract_key(request.META)
        # Sent by __call__ for the same path (the project sets no per-request urlconf, so the
        # route is the one Django resolved).
        ahead = getattr(request, "_metering_ahead", None)
        request._metering_ahead = None
        try:
            admission = services.request_admit(
                raw_key=raw_key, method=request.method, route=match.route, ahead=ahead
            )
        except ApplicationError as refusal:
            return error_response(refusal)
        except services.UnconfirmedAdmission as unconfirmed:
            request._metering_unconfirmed = unconfirmed.counted
            return self._redis_down(request, raw_key)
        except RedisError:
            return self._redis_down(request, raw_key)
        request._metering_admission = admission
        request.api_caller = ApiCaller(admission.grant)
        return None

    def _redis_down(self, request, raw_key):
        if not settings.METERING_FAIL_OPEN:
            logger.error(
                "metering: Redis unreachable, refusing %s %s (fail closed)",
                request.method,
                request.path_info,
            )
            return error_response(MeteringUnavailable())
        logger.warning(
            "metering: Redis unreachable, serving %s %s unmetered (fail open)",
            request.method,
            request.path_info,
        )
        try:
            grant = grant_for_key(raw_key or "")  # this process's cache, else the database
        except ApplicationError as refusal:
            return error_response(refusal)
        except DatabaseError:
            return error_response(MeteringUnavailable())
        if grant.revoked:
            return error_response(InvalidApiKey("This API key has been revoked."))
        request.api_caller = ApiCaller(grant)
        return None
