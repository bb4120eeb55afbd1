"""API key format: `ps_live_` + 32 random base62 characters, then `_` + the customer's routing
tag (its id in base62), then a 6-character checksum: `ps_live_<body>_<route><checksum>`.

The checksum (CRC32 of everything before it, in base62) lets us refuse a mistyped or made-up key
without touching the database or Redis. The database keeps only a lookup prefix and the SHA-256
of the whole key; keys carry 190 bits of randomness, so a fast hash is the right one.

The routing tag tells the metering hot path which customer's Redis slot to look the key up in
(metering.grants), so that admission is one round trip whatever the number of keys. It is not a
credential: changing it only makes the hot path look the key's digest up in another customer's
table, where it is not. Keys issued before the tag existed (`ps_live_<body><checksum>`) keep
working; the hot path finds their customer through a per-process cache or the database.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import zlib
from dataclasses import dataclass

BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_BASE62_VALUE = {c: i for i, c in enumerate(BASE62)}
MODES = ("live", "test")
BODY_LENGTH = 32
CHECKSUM_LENGTH = 6
MODE_PREFIX_LENGTH = len("ps_live_")
LOOKUP_BODY_CHARS = 8  # lookup prefix = "ps_live_" + the first 8 body characters
ROUTE_MAX_LENGTH = 11  # base62 of a 64-bit id
KEY_RE = re.compile(
    rf"^ps_(live|test)_([0-9A-Za-z]{{{BODY_LENGTH}}})"
    rf"(?:_([0-9A-Za-z]{{1,{ROUTE_MAX_LENGTH}}}))?([0-9A-Za-z]{{{CHECKSUM_LENGTH}}})$"
)
# Where a routed key has the `_` before its tag.
_ROUTE_SEPARATOR_AT = MODE_PREFIX_LENGTH + BODY_LENGTH


def _base62(number: int, width: int = 1) -> str:
    chars = []
    while number:
        number, rem = divmod(number, 62)
        chars.append(BASE62[rem])
    return "".join(reversed(chars)).rjust(width, "0")


def _checksum(text: str) -> str:
    return _base62(zlib.crc32(text.encode()), CHECKSUM_LENGTH)


@dataclass(frozen=True)
class GeneratedKey:
    raw: str
    prefix: str
    hashed: str


def hash_key(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def generate_key(mode: str = "live", customer_id: int | None = None) -> GeneratedKey:
    """A new key; with `customer_id`, routed to that customer (every key the app issues is)."""
    if mode not in MODES:
        raise ValueError(f"unknown key mode {mode!r}")
    body = "".join(secrets.choice(BASE62) for _ in range(BODY_LENGTH))
    text = f"ps_{mode}_{body}"
    if customer_id is not None:
        text = f"{text}_{_base62(customer_id)}"
    raw = f"{text}{_checksum(text)}"
    return GeneratedKey(raw=raw, prefix=lookup_prefix(raw), hashed=hash_key(raw))


def lookup_prefix(raw: str) -> str:
    return raw[: MODE_PREFIX_LENGTH + LOOKUP_BODY_CHARS]


def routed_customer(raw: str) -> int | None:
    """The customer id a routed key names (not verified: the caller still checks the key's
    hash), or None for a key without a routing tag. Cheap enough for every request."""
    if len(raw) <= _ROUTE_SEPARATOR_AT + CHECKSUM_LENGTH or raw[_ROUTE_SEPARATOR_AT] != "_":
        return None
    tag = raw[_ROUTE_SEPARATOR_AT + 1 : -CHECKSUM_LENGTH]
    if not 0 < len(tag) <= ROUTE_MAX_LENGTH:
        return None
    number = 0
    for char in tag:
        value = _BASE62_VALUE.get(char)
        if value is None:
            return None
        number = number * 62 + value
    return number


def is_well_formed(raw: str) -> bool:
    """Format and checksum; says nothing about whether the key exists."""
    match = KEY_RE.match(raw)
    if not match:
        return False
    return hmac.compare_digest(_checksum(raw[:-CHECKSUM_LENGTH]), match.group(4))


def hashes_match(raw: str, stored_hash: str) -> bool:
    """Constant-time comparison of a presented key with a stored SHA-256 hex digest."""
    return hmac.compare_digest(hash_key(raw).encode(), stored_hash.encode())
