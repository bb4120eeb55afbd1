"""The API's refusals in its OpenAPI schema: one `Error` component, its named variants, and the
refusals each operation documents.

Every refusal is `{"error": code, "message": text}` (`core.errors`); some carry more fields, and
each such shape is a variant of `Error` (allOf): `ValidationError` (`fields`), `ParameterError`
(`param`), `RateLimitError`, `QuotaError`, `CreditsError`, `KeyCapError`, `FeatureError`,
`KeyLimitError`, `CardError`. An operation's schema lists the refusals it can answer as
`Refusal`s; metering's AutoSchema (`metering.schema`) adds those of the layers every request
crosses (key, rate limit, quota, prepaid credits, a key's own cap, idempotency, body parsing) and
turns the lot into one response per status, whose description names each code.

A view documents its own refusals with `extend_schema(extensions=refusals(...))`, naming the
exception classes it raises (their status and code are read from the class, so the schema
cannot drift from what is raised) or a `Refusal` of the catalogue below.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from core.errors import ApplicationError, InvalidRequest, NotFound, PayloadTooLarge

# The extension key under which a view hands its refusals to the AutoSchema (which removes it).
REFUSALS_EXTENSION = "x-refusals"


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _variant(description: str, properties: dict, required: Iterable[str]) -> dict:
    return {
        "description": description,
        "allOf": [
            ref("Error"),
            {"type": "object", "properties": properties, "required": sorted(required)},
        ],
    }


_UPGRADE_URL = {
    "type": "string",
    "format": "uri",
    "description": "Where to upgrade the plan (the pricing page).",
}

ERROR_SCHEMAS: dict[str, dict] = {
    "Error": {
        "type": "object",
        "description": "Every refusal of the API: a stable code and a message for humans. Some "
        "refusals carry more fields: see the variants (ValidationError, ParameterError, "
        "RateLimitError, QuotaError, CreditsError, KeyCapError, FeatureError, KeyLimitError, "
        "CardError).",
        "properties": {
            "error": {
                "type": "string",
                "description": "A stable, machine-readable code; each response lists its codes.",
            },
            "message": {"type": "string", "description": "What happened, for humans."},
        },
        "required": ["error", "message"],
    },
    "ValidationError": _variant(
        "400 `validation_error`: the body or a parameter is invalid.",
        {
            "fields": {
                "type": "object",
                "description": "Each invalid field (or `non_field_errors`) with its errors: a "
                "list of messages, or per item of a list field.",
                "additionalProperties": {},
            }
        },
        ["fields"],
    ),
    "ParameterError": _variant(
        "A refusal about one parameter, named in `param`.",
        {"param": {"type": "string", "description": "The parameter at fault."}},
        ["param"],
    ),
    "RateLimitError": _variant(
        "429 `rate_limit_exceeded`: too many requests in the window; retry after `retry_after` "
        "seconds (also the `Retry-After` header).",
        {
            "limit": {"type": "integer", "description": "Requests allowed per window."},
            "window": {"type": "string", "pattern": "^[0-9]+s$", "description": 'e.g. "60s".'},
            "retry_after": {"type": "integer", "minimum": 1, "description": "Seconds to wait."},
            "upgrade_url": _UPGRADE_URL,
        },
        ["limit", "window", "retry_after"],
    ),
    "QuotaError": _variant(
        "429 `quota_exceeded`: the plan's monthly quota is used up (hard-capped plans only).",
        {
            "included": {"type": "integer", "description": "Units included each month."},
            "used": {"type": "integer", "description": "Units used this period."},
            "cost": {"type": "integer", "description": "Units this call would cost."},
            "period_end": {
                "type": "string",
                "format": "date-time",
                "description": "When the quota renews.",
            },
            "upgrade_url": _UPGRADE_URL,
        },
        ["included", "used", "cost", "period_end", "upgrade_url"],
    ),
    "CreditsError": _variant(
        "429 `credits_exhausted`: on a prepaid plan, the included units and the prepaid credit "
        "balance are used up; buy credits to go on.",
        {
            "balance": {
                "type": "string",
                "pattern": "^-?[0-9]+\\.[0-9]{2}$",
                "description": 'Credits left (USD), less than this call costs, e.g. "0.40".',
            },
            "buy_credits_url": {
                "type": "string",
                "format": "uri",
                "description": "Where to buy credits (the billing page).",
            },
            "used": {"type": "integer", "description": "Units used this period."},
            "cost": {"type": "integer", "description": "Units this call would cost."},
        },
        ["balance", "buy_credits_url", "used", "cost"],
    ),
    "KeyCapError": _variant(
        "429 `key_cap_exceeded`: this API key's own monthly cap (set by its customer: "
        "`PATCH /api/v1/keys/{id}`) is used up; the customer's other keys keep working. Not a "
        "rate limit: no `Retry-After`, retrying before `period_end` is refused again.",
        {
            "cap": {"type": "integer", "description": "The key's cap in units this period."},
            "used": {"type": "integer", "description": "Units the key used this period."},
            "cost": {"type": "integer", "description": "Units this call would cost."},
            "key_id": {"type": "integer", "description": "The key's id."},
            "period_end": {
                "type": "string",
                "format": "date-time",
                "description": "When the cap renews.",
            },
        },
        ["cap", "used", "cost", "key_id", "period_end"],
    ),
    "KeyLimitError": _variant(
        "403 `key_limit_reached`: the plan's number of active keys is reached.",
        {
            "limit": {"type": "integer", "description": "Active keys the plan allows."},
            "upgrade_url": _UPGRADE_URL,
        },
        ["limit", "upgrade_url"],
    ),
    "CardError": _variant(
        "402 `card_declined`: the card was declined.",
        {
            "decline_code": {
                "type": "string",
                "nullable": True,
                "description": "Stripe's reason, e.g. `insufficient_funds`.",
            }
        },
        ["decline_code"],
    ),
    "FeatureError": _variant(
        "403 `feature_not_in_plan`: the operation needs a feature the plan does not include.",
        {
            "feature": {"type": "string", "description": "The feature needed."},
            "plan": {"type": "string", "description": "The caller's plan."},
            "upgrade_url": _UPGRADE_URL,
        },
        ["feature", "plan", "upgrade_url"],
    ),
}


@dataclass(frozen=True)
class Refusal:
    """One refusal an operation can answer: status, code, what it means, and its schema."""

    status: int
    code: str
    description: str
    component: str = "Error"

    @classmethod
    def of(cls, error: type[ApplicationError], description: str | None = None) -> Refusal:
        return cls(
            error.status_code,
            error.code,
            description or error.default_message,
            error.schema_component,
        )


# The refusals of the layers every request crosses (core.middleware, core.parsers, DRF).
VALIDATION_ERROR = Refusal(
    400,
    "validation_error",
    "A field or parameter is invalid: `fields` names each one and why.",
    "ValidationError",
)
MALFORMED_REQUEST = Refusal(400, "malformed_request", "The body could not be parsed.")
INVALID_REQUEST = Refusal.of(
    InvalidRequest,
    "The request cannot be read: a NUL character in the path, the query or a string of the "
    "body, or JSON nested more than 32 levels deep.",
)
NOT_FOUND = Refusal.of(NotFound, "No such object among yours.")
PAYLOAD_TOO_LARGE = Refusal.of(PayloadTooLarge, "The body is larger than the server accepts.")
UNSUPPORTED_MEDIA_TYPE = Refusal(415, "unsupported_media_type", "Send the body as {media_types}.")


def refusals(*items: Refusal | type[ApplicationError]) -> dict[str, list[Refusal]]:
    """`extend_schema(extensions=refusals(EmailTaken, ...))`: a view's own refusals."""
    return {
        REFUSALS_EXTENSION: [
            item if isinstance(item, Refusal) else Refusal.of(item) for item in items
        ]
    }


def error_responses(items: Iterable[Refusal]) -> dict[str, dict]:
    """One response per status: its schema (the variant, or anyOf the variants when codes of
    different shapes share the status) and a description naming every code."""
    by_status: dict[int, dict[str, Refusal]] = {}
    for item in items:
        by_status.setdefault(item.status, {}).setdefault(item.code, item)
    responses = {}
    for status in sorted(by_status):
        codes = by_status[status]
        components = sorted({item.component for item in codes.values()})
        schemas = [ref(name) for name in components]
        schema = schemas[0] if len(schemas) == 1 else {"anyOf": schemas}
        lines = [f"`{item.code}`: {item.description}" for item in codes.values()]
        responses[str(status)] = {
            "description": "\n\n".join(lines),
            "content": {"application/json": {"schema": schema}},
        }
    return responses


def exact_bodies(result, generator, request, public):
    """drf-spectacular postprocessing hook. Request components (`…Request`, with
    COMPONENT_SPLIT_REQUEST) take no other field: the serializers refuse unknown ones
    (core.serializers). Every field of a response component is always present (our serializers
    render each one, null or not), so each is required."""
    schemas = result.get("components", {}).get("schemas", {})
    for name, schema in schemas.items():
        if name in ERROR_SCHEMAS or schema.get("type") != "object":
            continue
        if name.endswith("Request"):
            schema["additionalProperties"] = False
        elif schema.get("properties"):
            schema["required"] = sorted(schema["properties"])
    return result
