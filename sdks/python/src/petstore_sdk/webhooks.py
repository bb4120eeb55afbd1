"""Verify the events Pet Store sends to your webhook endpoints.

Every delivery is a POST whose JSON body is `{"id", "type", "created", "data"}`, with the header
`PetStore-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>" keyed with your
endpoint's secret>` (several v1 values may be sent). Check it on the raw bytes, before parsing,
and refuse timestamps more than `tolerance` seconds away (5 minutes by default), which stops
replays of a captured delivery. Deduplicate events by `id`: a retry carries the same one.

    from petstore_sdk.webhooks import construct_event, WebhookSignatureError

    try:
        event = construct_event(request.body, request.headers["PetStore-Signature"], SECRET)
    except WebhookSignatureError:
        return HttpResponse(status=400)
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

SIGNATURE_HEADER = "PetStore-Signature"
DEFAULT_TOLERANCE = 300


class WebhookSignatureError(Exception):
    """The signature is missing, malformed, wrong, or too old."""


def compute_signature(payload: bytes | str, secret: str, timestamp: int) -> str:
    body = payload.encode() if isinstance(payload, str) else payload
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def verify_signature(
    payload: bytes | str,
    header: str | None,
    secret: str,
    *,
    tolerance: int = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> None:
    """Raise WebhookSignatureError unless `header` signs `payload` with `secret` within
    `tolerance` seconds of `now`."""
    if not header:
        raise WebhookSignatureError(f"No {SIGNATURE_HEADER} header.")
    timestamp: int | None = None
    signatures: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == "v1" and value:
            signatures.append(value)
    if timestamp is None or not signatures:
        raise WebhookSignatureError("The signature header has no t= or no v1= value.")
    current = time.time() if now is None else now
    if tolerance > 0 and abs(current - timestamp) > tolerance:
        raise WebhookSignatureError("The signature's timestamp is outside the tolerance.")
    expected = compute_signature(payload, secret, timestamp)
    if not any(hmac.compare_digest(expected, candidate) for candidate in signatures):
        raise WebhookSignatureError("No signature matches the payload and secret.")


def construct_event(
    payload: bytes | str,
    header: str | None,
    secret: str,
    *,
    tolerance: int = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> dict[str, Any]:
    """The event (`id`, `type`, `created`, `data`) once its signature is verified."""
    verify_signature(payload, header, secret, tolerance=tolerance, now=now)
    event = json.loads(payload)
    if not isinstance(event, dict) or not {"id", "type", "created", "data"} <= set(event):
        raise WebhookSignatureError("The payload is not a Pet Store event.")
    return event
