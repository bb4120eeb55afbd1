"""The `PetStore-Signature` header, made as Stripe makes `Stripe-Signature`:
`t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" keyed with the whole secret>`.

A new timestamp is signed on every attempt, so a receiver can refuse anything older than its
tolerance (5 minutes is the recommended one) and replays of an old delivery fail. The SDKs
(`sdks/*`) verify it; `signature_verify` here is the same check, for our own tests and docs.
"""

from __future__ import annotations

import hashlib
import hmac
import time

HEADER = "PetStore-Signature"
TOLERANCE_SECONDS = 300


def signature(secret: str, timestamp: int, body: bytes) -> str:
    signed = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def signature_header(secret: str, body: bytes, timestamp: int | None = None) -> str:
    timestamp = int(time.time()) if timestamp is None else timestamp
    return f"t={timestamp},v1={signature(secret, timestamp, body)}"


def signature_verify(
    header: str, body: bytes, secret: str, *, tolerance: int = TOLERANCE_SECONDS, now=None
) -> bool:
    """True if one of the header's v1 values signs `body` with `secret` and its `t` is within
    `tolerance` seconds of now."""
    timestamp, candidates = None, []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t" and value.isdigit():
            timestamp = int(value)
        elif name == "v1":
            candidates.append(value)
    if timestamp is None or not candidates:
        return False
    now = time.time() if now is None else now
    if abs(now - timestamp) > tolerance:
        return False
    expected = signature(secret, timestamp, body)
    return any(hmac.compare_digest(expected, candidate) for candidate in candidates)
