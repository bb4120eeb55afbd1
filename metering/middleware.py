"""Meters every DRF route under `METERING_PATH_PREFIX` by configuration: no code in the views.

Before the view: authenticate the key and admit the request (rate limit, quota, feature gate,
count) in one Redis round trip. After it: settle (a 4xx/5xx answer gives its units back) and
add the `X-RateLimit-*`, `X-Usage-Cost` and `X-Quota-Remaining` headers. A request whose
admission went unanswered (Redis paused or gone mid-call) and that is not answered 2xx/3xx is
voided, so that nothing answered 503 is ever billed.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import DatabaseError
from redis.exceptions import RedisError

from core.errors import ApplicationError, error_response
from metering import services
from metering.errors import InvalidApiKey, MeteringUnavailable
from metering.grants import ApiCaller, extract_key, grant_for_key

logger = logging.getLogger(__name__)


class MeteringMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.prefix = settings.METERING_PATH_PREFIX
        self.public_routes = frozenset(settings.METERING_PUBLIC_ROUTES)

    def __call__(self, request):
        response = self.get_response(request)
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
        try:
            admission = services.request_admit(
                raw_key=raw_key, method=request.method, route=match.route
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
