"""OpenAPI: what metering adds to every operation it meters.

- `x-cost` (usage units) and `x-feature` (the plan feature it needs), from the endpoint table, so
  clients never have to guess what a call costs;
- the refusals of the layers a request crosses before and around its view (core.api_schema):
  the key (401), the plan's feature gate (403), rate limit, quota and prepaid credits (429),
  Redis down (503), the idempotency layer on writes (400, 409), the body parsers and the request
  guard (400, 413, 415), the object lookup of a route with an id (404), merged with the view's own;
- the headers each answer carries: `X-RateLimit-*`, `X-Usage-Cost`, `X-Quota-Remaining`,
  `Retry-After`, `Idempotent-Replayed`, required where they are always sent;
- the `Idempotency-Key` request header on every metered write.
"""

from __future__ import annotations

from django.db.utils import DatabaseError
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import ResolvedComponent

from core.api_schema import (
    ERROR_SCHEMAS,
    INVALID_REQUEST,
    MALFORMED_REQUEST,
    NOT_FOUND,
    PAYLOAD_TOO_LARGE,
    REFUSALS_EXTENSION,
    UNSUPPORTED_MEDIA_TYPE,
    VALIDATION_ERROR,
    Refusal,
    error_responses,
)
from metering import idempotency
from metering.errors import (
    CreditsExhausted,
    FeatureNotInPlan,
    InvalidApiKey,
    KeyCapExceeded,
    MeteringUnavailable,
    QuotaExceeded,
    RateLimited,
)
from metering.models import Endpoint
from metering.rules import DEFAULT_WEIGHT, route_template

INVALID_API_KEY = Refusal.of(
    InvalidApiKey,
    "The API key is missing, malformed, unknown, revoked or expired (`X-API-Key`, or "
    "`Authorization: Bearer`).",
)
FEATURE_NOT_IN_PLAN = Refusal.of(FeatureNotInPlan)
RATE_LIMITED = Refusal.of(RateLimited)
QUOTA_EXCEEDED = Refusal.of(QuotaExceeded)
CREDITS_EXHAUSTED = Refusal.of(
    CreditsExhausted,
    "Prepaid plans: the credit balance is spent (`balance`); buy credits at `buy_credits_url` "
    "or with POST /api/v1/billing/credits.",
)
KEY_CAP_EXCEEDED = Refusal.of(KeyCapExceeded)
METERING_UNAVAILABLE = Refusal.of(
    MeteringUnavailable,
    "Usage metering cannot be reached, so the request was not served (nothing was done). "
    "Retry shortly.",
)

_COUNT = {"type": "integer", "minimum": 0}


def _header(description: str, schema: dict, *, required: bool) -> dict:
    return {"description": description, "required": required, "schema": schema}


def rate_limit_headers(*, required: bool) -> dict[str, dict]:
    return {
        "X-RateLimit-Limit": _header(
            "Requests your plan allows per minute.", _COUNT, required=required
        ),
        "X-RateLimit-Remaining": _header(
            "Requests left in the current one-minute window.", _COUNT, required=required
        ),
        "X-RateLimit-Reset": _header(
            "Seconds until the window frees a slot.", _COUNT, required=required
        ),
    }


def usage_cost_header(*, required: bool) -> dict[str, dict]:
    return {
        "X-Usage-Cost": _header(
            "Usage units this answer was billed: the operation's `x-cost`, or 0 when it is not "
            "billed (an error answer, or an idempotent replay).",
            _COUNT,
            required=required,
        )
    }


def quota_remaining_header(*, required: bool) -> dict[str, dict]:
    return {
        "X-Quota-Remaining": _header(
            "Units left in this month's quota, or `unlimited`.",
            {"type": "string", "pattern": "^([0-9]+|unlimited)$"},
            required=required,
        )
    }


def retry_after_header(*, required: bool) -> dict[str, dict]:
    description = "Seconds to wait before retrying."
    if not required:
        description += (
            " Absent on `key_cap_exceeded` (retrying does not help before the period renews)."
        )
    return {
        "Retry-After": _header(description, {"type": "integer", "minimum": 1}, required=required)
    }


REPLAYED_HEADER = {
    "Idempotent-Replayed": _header(
        "`true` when this is the stored answer to an earlier request with the same "
        "Idempotency-Key: the operation did not run again and the answer was not billed.",
        {"type": "string", "enum": ["true"]},
        required=False,
    )
}

# Not part of any metered answer's headers: refused before metering counted the request.
_UNMETERED_STATUSES = {"401", "413"}


def metered_headers(status: str, method: str, *, key_capped: bool = False) -> dict[str, dict]:
    """The headers of one response of a metered operation. Metering adds X-RateLimit-*,
    X-Usage-Cost and X-Quota-Remaining to every answer of a request it admitted. Answers without
    them: refusals before admission (401, 403 feature_not_in_plan, 413, 503), idempotent replays
    and idempotency conflicts (answered before metering), and anything while metering fails open
    (METERING_FAIL_OPEN with Redis down)."""
    write = method in idempotency.METHODS
    if status == "429":
        return {
            **retry_after_header(required=not key_capped),
            **rate_limit_headers(required=True),
            **quota_remaining_header(required=False),
        }
    if status == "503":
        return retry_after_header(required=False)
    if status in _UNMETERED_STATUSES or not status.startswith(("2", "4")):
        return {}
    success = status.startswith("2")
    always = success and not write  # a write's success may be a replay, sent unmetered
    return {
        **rate_limit_headers(required=always),
        **usage_cost_header(required=success),
        **quota_remaining_header(required=always),
        **(REPLAYED_HEADER if write else {}),
    }


class MeteredAutoSchema(AutoSchema):
    @classmethod
    def _endpoint_rules(cls) -> dict:
        try:
            return {(e.method, e.path): e for e in Endpoint.objects.all()}
        except DatabaseError:
            return {}

    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        for name, schema in ERROR_SCHEMAS.items():
            registry.register_on_missing(
                ResolvedComponent(name, ResolvedComponent.SCHEMA, schema=schema, object=name)
            )
        own = list(operation.pop(REFUSALS_EXTENSION, []))
        metered = self.get_auth() != []
        layers: list[Refusal] = []
        key_capped = False
        if metered:
            rule = self._endpoint_rules().get((method.upper(), route_template(path)))
            operation["x-cost"] = rule.weight if rule else DEFAULT_WEIGHT
            layers.append(INVALID_API_KEY)
            if rule and rule.feature:
                operation["x-feature"] = rule.feature
                layers.append(FEATURE_NOT_IN_PLAN)
            layers += [RATE_LIMITED, QUOTA_EXCEEDED, CREDITS_EXHAUSTED, METERING_UNAVAILABLE]
            if operation["x-cost"] > 0:  # a key's own cap counts units: free calls pass
                key_capped = True
                layers.append(KEY_CAP_EXCEEDED)
            if self.method in idempotency.METHODS:
                operation.setdefault("parameters", []).append(idempotency.HEADER_PARAMETER)
                layers += idempotency.REFUSALS
        layers += self._request_refusals(operation)
        responses = operation["responses"]
        for status, response in error_responses([*own, *layers]).items():
            responses.setdefault(status, response)
        for status, response in responses.items():
            if metered:
                headers = metered_headers(status, self.method, key_capped=key_capped)
            else:  # sign-up's own limit, and its Redis being down, say when to retry
                headers = retry_after_header(required=True) if status in ("429", "503") else {}
            if headers:
                response["headers"] = {**headers, **response.get("headers", {})}
        return operation

    def _request_refusals(self, operation: dict) -> list[Refusal]:
        """What the request guard, the body parsers, serializers and lookups refuse."""
        found: list[Refusal] = []
        locations = {parameter["in"] for parameter in operation.get("parameters", [])}
        if "path" in locations:
            found.append(NOT_FOUND)
        if "requestBody" in operation:
            media_types = ", ".join(f"`{m}`" for m in operation["requestBody"]["content"])
            found += [
                VALIDATION_ERROR,
                MALFORMED_REQUEST,
                INVALID_REQUEST,
                PAYLOAD_TOO_LARGE,
                Refusal(
                    UNSUPPORTED_MEDIA_TYPE.status,
                    UNSUPPORTED_MEDIA_TYPE.code,
                    UNSUPPORTED_MEDIA_TYPE.description.format(media_types=media_types),
                ),
            ]
        elif "query" in locations:
            found.append(INVALID_REQUEST)
        return found


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "metering.authentication.ApiKeyAuthentication"
    name = ["ApiKeyHeader", "BearerKey"]

    def get_security_requirement(self, auto_schema):
        return [{"ApiKeyHeader": []}, {"BearerKey": []}]  # either one, not both

    def get_security_definition(self, auto_schema):
        return [
            {"type": "apiKey", "in": "header", "name": "X-API-Key"},
            {"type": "http", "scheme": "bearer", "description": "The same key as a bearer token."},
        ]
