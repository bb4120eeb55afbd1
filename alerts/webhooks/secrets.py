"""Endpoint signing secrets: `whsec_…`, shown once, kept encrypted.

A signing secret cannot be hashed like an API key: we need it back to sign every delivery. So it
is encrypted at rest with Fernet (AES-128-CBC + HMAC-SHA256, from `cryptography`) under keys
that live in the environment, not in the database: a leaked backup or a read-only SQL injection
yields ciphertext that signs nothing. `WEBHOOK_SECRET_KEYS` lists Fernet keys, the first one
encrypting and all of them decrypting (MultiFernet), so a key is rotated by putting the new one
first; unset, one key is derived from `SECRET_KEY` (HKDF-SHA256) so that `make run` needs no
setting, and then rotating `SECRET_KEY` needs its old value kept in `WEBHOOK_SECRET_KEYS`.
"""

from __future__ import annotations

import base64
import secrets
from functools import cache

from cryptography.fernet import Fernet, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

SECRET_PREFIX = "whsec_"


def secret_generate() -> str:
    """`whsec_` + 32 random bytes, URL-safe base64 (43 characters)."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def _derived_key(secret_key: str) -> bytes:
    hkdf = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"petstore webhook secrets v1"
    )
    return base64.urlsafe_b64encode(hkdf.derive(secret_key.encode()))


@cache
def _fernet(keys: tuple[str, ...], secret_key: str) -> MultiFernet:
    material = [k.encode() for k in keys] or [_derived_key(secret_key)]
    return MultiFernet([Fernet(k) for k in material])


def _cipher() -> MultiFernet:
    return _fernet(tuple(settings.WEBHOOK_SECRET_KEYS), settings.SECRET_KEY)


def secret_encrypt(secret: str) -> str:
    return _cipher().encrypt(secret.encode()).decode()


def secret_decrypt(token: str) -> str:
    return _cipher().decrypt(token.encode()).decode()
