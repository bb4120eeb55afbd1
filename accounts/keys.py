"""API key format: `ps_live_` + 32 random base62 characters + a 6-character checksum.

The checksum (CRC32 of prefix and body, in base62) lets us refuse a mistyped or made-up key
without touching the database or Redis. The database keeps only a lookup prefix and the SHA-256
of the whole key; keys carry 190 bits of randomness, so a fast hash is the right one.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import zlib
from dataclasses import dataclass

BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
MODES = ("live", "test")
BODY_LENGTH = 32
CHECKSUM_LENGTH = 6
LOOKUP_BODY_CHARS = 8  # lookup prefix = "ps_live_" + the first 8 body characters
KEY_RE = re.compile(rf"^ps_(live|test)_([0-9A-Za-z]{{{BODY_LENGTH + CHECKSUM_LENGTH}}})$")


def _base62(number: int, width: int) -> str:
    chars = []
    while number:
        number, rem = divmod(number, 62)
        chars.append(BASE62[rem])
    return "".join(reversed(chars)).rjust(width, "0")


def _checksum(mode_prefix: str, body: str) -> str:
    return _base62(zlib.crc32(f"{mode_prefix}{body}".encode()), CHECKSUM_LENGTH)


@dataclass(frozen=True)
class GeneratedKey:
    raw: str
    prefix: str
    hashed: str


def hash_key(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def generate_key(mode: str = "live") -> GeneratedKey:
    if mode not in MODES:
        raise ValueError(f"unknown key mode {mode!r}")
    mode_prefix = f"ps_{mode}_"
    body = "".join(secrets.choice(BASE62) for _ in range(BODY_LENGTH))
    raw = f"{mode_prefix}{body}{_checksum(mode_prefix, body)}"
    return GeneratedKey(raw=raw, prefix=lookup_prefix(raw), hashed=hash_key(raw))


def lookup_prefix(raw: str) -> str:
    return raw[: len("ps_live_") + LOOKUP_BODY_CHARS]


def is_well_formed(raw: str) -> bool:
    """Format and checksum; says nothing about whether the key exists."""
    match = KEY_RE.match(raw)
    if not match:
        return False
    mode_prefix = f"ps_{match.group(1)}_"
    body, checksum = match.group(2)[:BODY_LENGTH], match.group(2)[BODY_LENGTH:]
    return hmac.compare_digest(_checksum(mode_prefix, body), checksum)


def hashes_match(raw: str, stored_hash: str) -> bool:
    """Constant-time comparison of a presented key with a stored SHA-256 hex digest."""
    return hmac.compare_digest(hash_key(raw).encode(), stored_hash.encode())
