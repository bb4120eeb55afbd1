"""Idempotent retries: `Idempotency-Key` on POST, PUT, PATCH and DELETE under /api/v1/, with
Stripe's semantics.

- The first answer to a key (status and body) is stored for IDEMPOTENCY_KEY_TTL_SECONDS (24 h)
  and replayed for every later request with the same key, marked `Idempotent-Replayed: true`.
- Keys belong to the customer (two customers may use the same key) and are 1 to 255 visible ASCII
  characters; anything else is 400 `invalid_idempotency_key`.
- The same key with another request (another body, another endpoint or method) is 409
  `idempotency_key_reused`; while the first request is still running, 409
  `idempotency_key_in_use`. Neither is stored: both may be retried.
- An answer is stored only once the endpoint began executing. Refusals before that (401, 403 and
  429 from metering, 503 while Redis is down) and refusals of the request's shape (400
  `validation_error` or unreadable bodies, 413, 415) are not stored, so a retry after them runs
  for real, as does a retry after a 503 of the endpoint itself (which says nothing was done).
  Every other answer, 4xx and 500 included, is stored as Stripe does: what an executed request
  did cannot be undone by running it again.

This layer runs before metering (its middleware sits ahead of MeteringMiddleware and decides
before metering sends its admission script), so a replay
or a conflict is answered without metering's admission: it is not billed (`X-Usage-Cost: 0`),
does not count against the quota, and does not spend the rate limit either. A replay runs no
endpoint and no query (one Redis round trip, like a refusal, which does not spend it either),
and a client recovering an answer it lost must get it even when its minute's budget is spent or
its quota ran out on that very request.

Records live in Redis under the customer's hash tag (`{cus_42}:idem:<sha256 of the key>`), so
they shard with the customer's other keys on Redis Cluster and every gunicorn worker and host
sees them. The key is checked against the customer's authorisation token in the same round trip
(a revoked key replays nothing). With Redis down a keyed write is refused with 503 like any
metered request, or, with METERING_FAIL_OPEN, served without the guarantee.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import re
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, resolve
from redis.exceptions import RedisError

from core.api_schema import Refusal
from core.errors import error_response
from metering import store
from metering.errors import (
    IdempotencyKeyInUse,
    IdempotencyKeyReused,
    InvalidApiKey,
    InvalidIdempotencyKey,
    MeteringUnavailable,
)
from metering.grants import customer_token, extract_key, grant_for_key

logger = logging.getLogger(__name__)

METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
_KEY = re.compile(rf"[!-~]{{1,{MAX_KEY_LENGTH}}}")
# How long a running request holds its key: longer than any request may run (gunicorn kills a
# worker after 30 s), so that a crashed worker's key frees itself and a retry then runs.
LOCK_SECONDS = 60

# Codes of refusals about the request itself, decided before the endpoint did anything (Stripe
# does not store a request whose parameters failed validation).
_UNSAVED_CODES = frozenset(
    {
        "validation_error",
        "malformed_request",
        "invalid_request",
        "unsupported_media_type",
        "payload_too_large",
        "method_not_allowed",
        "not_acceptable",
        "invalid_api_key",
    }
)

# What the OpenAPI schema publishes for every metered write (metering.schema).
HEADER_PARAMETER = {
    "in": "header",
    "name": HEADER,
    "required": False,
    "description": "Makes a retry safe: the first answer to this key is stored for 24 hours and "
    "replayed (with `Idempotent-Replayed: true`, not billed again) for any retry with the same "
    "key, method, path and body. 1 to 255 visible ASCII characters; a random UUID per operation "
    "is ideal. Keys are yours alone: other customers' keys never collide with them.",
    "schema": {
        "type": "string",
        "minLength": 1,
        "maxLength": MAX_KEY_LENGTH,
        "pattern": "^[!-~]+$",
    },
}
REFUSALS = [
    Refusal.of(InvalidIdempotencyKey),
    Refusal.of(IdempotencyKeyReused),
    Refusal.of(IdempotencyKeyInUse),
]

# KEYS: the customer's authorisation token, the record. ARGV: the token the caller's grant
# holds, the claim, the lock in ms. Returns {-1} when the grant is stale (the key may have been
# revoked: reload it), {0} when the claim was taken, {1, record} when the key has a record.
CLAIM_LUA = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return {-1} end
local existing = redis.call('GET', KEYS[2])
if existing then return {1, existing} end
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
return {0}
"""
# Replace our own claim (only ours: it may have expired and been taken since) by the result.
SAVE_LUA = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
return 1
"""
RELEASE_LUA = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
return redis.call('DEL', KEYS[1])
"""


def record_key(customer_id: int, key: str) -> str:
    digest = hashlib.sha256(key.encode()).hexdigest()
    return f"{store.tag(customer_id)}:idem:{digest}"


def request_fingerprint(request: HttpRequest) -> str:
    """What makes two requests "the same request": method, path, query and body. A JSON body is
    compared as parsed (key order and spacing do not matter), a multipart body without its
    boundary (each encoding of the same form draws a new one)."""
    body = request.body
    media_type = request.content_type or ""
    if media_type == "application/json":
        try:
            parsed = json.loads(body)
            body = json.dumps(parsed, sort_keys=True, separators=(",", ":")).encode()
        except (ValueError, RecursionError):
            pass  # compared byte for byte; the parser will refuse it anyway
    elif media_type == "multipart/form-data":
        boundary = request.content_params.get("boundary", "")
        if boundary:
            body = body.replace(boundary.encode("latin-1", "replace"), b"")
    digest = hashlib.sha256()
    for part in (request.method, request.path, request.META.get("QUERY_STRING", ""), media_type):
        digest.update(part.encode("utf-8", "surrogateescape") + b"\n")
    digest.update(body)
    return digest.hexdigest()


def _view_takes(view_func, method: str) -> bool:
    """Whether the view handles this method (if not, it answers 405 and there is nothing to
    keep)."""
    actions = getattr(view_func, "actions", None)  # a DRF viewset's method → action
    if actions is not None:
        return method.lower() in actions
    view_class = getattr(view_func, "view_class", None)
    return view_class is None or hasattr(view_class, method.lower())


@dataclass(frozen=True)
class Claim:
    record: str
    value: str


def _replay(stored: dict) -> HttpResponse:
    response = HttpResponse(base64.b64decode(stored["body"]), status=stored["status"])
    if stored.get("content_type"):
        response["Content-Type"] = stored["content_type"]
    else:
        del response["Content-Type"]
    response["Idempotent-Replayed"] = "true"
    response["X-Usage-Cost"] = "0"
    return response


def _error_code(response: HttpResponse) -> str | None:
    data = getattr(response, "data", None)
    if isinstance(data, dict):
        return data.get("error")
    if response.get("Content-Type", "").startswith("application/json"):
        try:
            body = json.loads(response.content)
        except ValueError:
            return None
        return body.get("error") if isinstance(body, dict) else None
    return None


def _executed(request: HttpRequest, response: HttpResponse) -> bool:
    """Whether the endpoint began executing, so that its answer is the request's result."""
    if getattr(request, "api_caller", None) is None:
        return False  # refused by metering (or answered before it)
    if response.streaming or response.status_code in (429, 503):
        return False
    return response.status_code < 400 or _error_code(response) not in _UNSAVED_CODES


class IdempotencyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.prefix = settings.METERING_PATH_PREFIX
        self.public_routes = frozenset(settings.METERING_PUBLIC_ROUTES)

    def __call__(self, request):
        # Decided before the inner middlewares run: MeteringMiddleware sends its admission
        # script as the request comes in, so a replay must be answered before it gets there.
        answered = self._check(request)
        if answered is not None:
            return answered
        response = self.get_response(request)
        claim = getattr(request, "_idempotency_claim", None)
        if claim is not None:
            self._settle(request, claim, response)
        return response

    def _check(self, request) -> HttpResponse | None:
        if request.method not in METHODS or not request.path_info.startswith(self.prefix):
            return None
        key = request.META.get("HTTP_IDEMPOTENCY_KEY")
        if key is None:
            return None
        try:
            match = resolve(request.path_info)
        except Resolver404:
            return None  # 404
        if match.url_name in self.public_routes:
            return None  # no customer to keep it for (sign-up): not idempotent
        if not _view_takes(match.func, request.method):
            return None  # 405
        raw_key = extract_key(request.META)
        if not raw_key:
            return None  # metering answers 401
        try:
            return self._begin(request, raw_key, key)
        except RedisError:
            if not settings.METERING_FAIL_OPEN:
                logger.error(
                    "idempotency: Redis unreachable, refusing %s %s",
                    request.method,
                    request.path_info,
                )
                return error_response(MeteringUnavailable())
            logger.warning(
                "idempotency: Redis unreachable, serving %s %s without its Idempotency-Key "
                "(fail open)",
                request.method,
                request.path_info,
            )
            return None

    def _begin(self, request, raw_key: str, key: str) -> HttpResponse | None:
        try:
            grant = grant_for_key(raw_key)
        except InvalidApiKey:
            return None  # metering answers 401
        if not _KEY.fullmatch(key):
            return None if grant.revoked else error_response(InvalidIdempotencyKey())
        fingerprint = request_fingerprint(request)
        record = record_key(grant.customer_id, key)
        claim = json.dumps({"state": "running", "fp": fingerprint, "claim": uuid.uuid4().hex})
        script = store.scripts.get("idempotency_claim", CLAIM_LUA)
        for _ in range(3):
            # The customer's token, then the key as the database has it: a revocation committed
            # meanwhile is either seen here or has replaced the token, which the claim checks in
            # its round trip (so a revoked key replays nothing). One indexed query, on keyed
            # writes only.
            token = customer_token(grant.customer_id)
            try:
                grant = grant_for_key(raw_key, refresh=True)
            except InvalidApiKey:
                return None  # metering answers 401
            if grant.revoked:
                return None  # metering answers 401
            result = script(
                keys=[store.cfg_key(grant.customer_id), record],
                args=[token, claim, LOCK_SECONDS * 1000],
            )
            if int(result[0]) != -1:
                break
        else:
            return error_response(InvalidApiKey("The API key could not be verified. Retry."))
        if int(result[0]) == 0 or result[1] == claim:  # ours (a re-sent script finds its claim)
            request._idempotency_claim = Claim(record, claim)
            return None
        stored = json.loads(result[1])
        if stored["fp"] != fingerprint:
            return error_response(IdempotencyKeyReused())
        if stored["state"] == "running":
            return error_response(IdempotencyKeyInUse())
        return _replay(stored)

    def _settle(self, request, claim: Claim, response: HttpResponse) -> None:
        try:
            if _executed(request, response):
                result = {
                    "state": "done",
                    "fp": json.loads(claim.value)["fp"],
                    "status": response.status_code,
                    "content_type": response.get("Content-Type"),
                    "body": base64.b64encode(response.content).decode("ascii"),
                }
                saved = store.scripts.get("idempotency_save", SAVE_LUA)(
                    keys=[claim.record],
                    args=[claim.value, json.dumps(result), settings.IDEMPOTENCY_KEY_TTL_SECONDS],
                )
                if not saved:
                    logger.warning(
                        "idempotency: the claim on %s expired before its result was saved",
                        claim.record,
                    )
            else:
                store.scripts.get("idempotency_release", RELEASE_LUA)(
                    keys=[claim.record], args=[claim.value]
                )
        except RedisError:
            # The claim frees itself after LOCK_SECONDS; until then a retry is told to wait.
            logger.exception("idempotency: could not settle %s", claim.record)
