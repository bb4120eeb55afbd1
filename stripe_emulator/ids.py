"""Stripe-like object identifiers."""

from __future__ import annotations

import secrets
import string

_ALPHABET = string.ascii_letters + string.digits


def random_token(length: int = 24, alphabet: str = _ALPHABET) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


def new_id(prefix: str, length: int = 24) -> str:
    """An id such as ``cus_1Pq...``: the prefix tells the object type, as in Stripe."""
    return f"{prefix}_{random_token(length)}"


def invoice_prefix() -> str:
    """Stripe gives each customer an upper-case prefix that its invoice numbers share."""
    return random_token(8, string.ascii_uppercase + string.digits)
