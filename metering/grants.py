"""API key → customer → plan, resolved without the database on the warm path.

A process caches a `Grant` per key (by the key's SHA-256). Each grant carries the customer's
authorisation token as it was when the grant was loaded; the admission script compares it with
the token in Redis on every request (inside the same round trip) and answers "stale" when they
differ. Revoking a key or changing a plan replaces the token (metering.receivers), so every
process sees the change on its very next request. The token is read *before* the database so
that a change racing with a load always leaves the grant stale rather than silently outdated.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass

from cachetools import TTLCache
from django.utils import timezone

from accounts import keys
from accounts.models import ApiKey
from accounts.services import customer_record_first_call
from metering import store
from metering.errors import InvalidApiKey

GRANT_TTL_SECONDS = 300  # safety net only: tokens already make changes visible at once
NEGATIVE_TTL_SECONDS = 60


@dataclass
class Grant:
    key_id: int
    customer_id: int
    plan_id: int
    token: str
    expires_at: float | None  # epoch seconds of a rotated key's grace end
    first_call_recorded: bool
    revoked: bool = False


class ApiCaller:
    """What DRF sees as `request.user` for a key-authenticated call: no database object."""

    is_authenticated = True
    is_anonymous = False
    is_staff = False

    def __init__(self, grant: Grant) -> None:
        self.customer_id = grant.customer_id
        self.key_id = grant.key_id
        self.plan_id = grant.plan_id
        self.pk = grant.customer_id

    def __str__(self) -> str:
        return f"customer {self.customer_id} (key {self.key_id})"


class GrantCache:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._grants: TTLCache = TTLCache(maxsize=50_000, ttl=GRANT_TTL_SECONDS)
        self._unknown: TTLCache = TTLCache(maxsize=10_000, ttl=NEGATIVE_TTL_SECONDS)

    def get(self, digest: str) -> Grant | None:
        with self._lock:
            return self._grants.get(digest)

    def put(self, digest: str, grant: Grant) -> None:
        with self._lock:
            self._grants[digest] = grant

    def is_unknown(self, digest: str) -> bool:
        with self._lock:
            return digest in self._unknown

    def mark_unknown(self, digest: str) -> None:
        with self._lock:
            self._unknown[digest] = True

    def clear(self) -> None:
        with self._lock:
            self._grants.clear()
            self._unknown.clear()


grants = GrantCache()


def customer_token(customer_id: int) -> str:
    """The customer's current authorisation token, creating one if Redis has none."""
    pipe = store.client().pipeline(transaction=False)
    pipe.set(store.cfg_key(customer_id), uuid.uuid4().hex, nx=True)
    pipe.get(store.cfg_key(customer_id))
    return pipe.execute()[1]


def bump_customer_token(customer_id: int) -> None:
    store.client().set(store.cfg_key(customer_id), uuid.uuid4().hex)


_GRANT_FIELDS = (
    "id",
    "key_hash",
    "revoked_at",
    "expires_at",
    "customer__id",
    "customer__plan_id",
    "customer__first_call_at",
)


def _key_rows():
    return ApiKey.objects.select_related("customer").only(*_GRANT_FIELDS)


def _load_grant(raw: str) -> Grant | None:
    api_key = _key_rows().filter(prefix=keys.lookup_prefix(raw)).first()
    if api_key is None or not api_key.matches(raw):
        return None
    token = customer_token(api_key.customer_id)
    # Re-read after the token so a change committed meanwhile is either seen here or leaves
    # this grant stale (its token bump happens after the commit).
    api_key = _key_rows().get(pk=api_key.pk)
    return Grant(
        key_id=api_key.id,
        customer_id=api_key.customer_id,
        plan_id=api_key.customer.plan_id,
        token=token,
        expires_at=api_key.expires_at.timestamp() if api_key.expires_at else None,
        first_call_recorded=api_key.customer.first_call_at is not None,
        revoked=api_key.revoked_at is not None,
    )


def grant_for_key(raw: str, *, refresh: bool = False) -> Grant:
    """The grant of a presented key, or InvalidApiKey. A revoked key still returns its grant
    (marked revoked) so its refusal can be counted for the customer; callers check `revoked`."""
    digest = keys.hash_key(raw)
    grant = None if refresh else grants.get(digest)
    if grant is None:
        # Only keys not seen before pay for the format check (a cached digest was well formed).
        if not keys.is_well_formed(raw):
            raise InvalidApiKey("The API key is malformed. Check that it was copied whole.")
        if grants.is_unknown(digest):
            raise InvalidApiKey()
        grant = _load_grant(raw)
        if grant is None:
            grants.mark_unknown(digest)
            raise InvalidApiKey()
        grants.put(digest, grant)
    if grant.expires_at is not None and grant.expires_at <= time.time():
        grant.revoked = True
    return grant


def record_first_call(grant: Grant) -> None:
    customer_record_first_call(customer_id=grant.customer_id, when=timezone.now())
    grant.first_call_recorded = True


def extract_key(meta: dict) -> str | None:
    """The key from `X-API-Key`, or from `Authorization: Bearer <key>`."""
    raw = meta.get("HTTP_X_API_KEY")
    if raw:
        return raw.strip()
    auth = meta.get("HTTP_AUTHORIZATION", "")
    scheme, _, credentials = auth.partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return None
