"""API key → customer → plan: what a key may do, found inside the admission's round trip.

Each customer's **grant** lives in Redis, in the customer's own slot (`{cus_42}:grant`): its keys
by SHA-256 (each with its key id and the instant it stops working, if any), its plan id and a
copy of the plan's limits. The admission script looks the presented key up there, so a warm
request costs one round trip and no per-key state in any process, whatever the number of keys:
the same microseconds at a thousand keys or a million (bench/admission.py).

The script must know which slot to look in before it runs (Redis Cluster runs a script on one
node). Keys carry their customer as a routing tag (accounts.keys); keys issued before the tag
existed are mapped to their customer by a per-process cache, else by the database.

Invalidation is the customer's **token** (`{cus_42}:cfg`), as before: whatever changes what a
customer's keys may do (a key revoked or rotated, the plan changed) replaces it after the commit
(metering.receivers), and the script refuses a grant loaded under another token ("stale"), so
every process sees the change on its very next request. A load reads the token *before* the
database and writes only if it is still the same (LOAD_GRANT_LUA), so a change racing with a load
always leaves the grant stale rather than silently outdated. A key created since the grant was
loaded is not in it: the script says "unknown key" and the caller checks the database (then
reloads), so a new key works at once without a token change.

A key with its own monthly cap (accounts.ApiKey.unit_cap: the lower of its unit cap and its spend
cap's unit equivalent, which pricing computes) has it in the grant as `c<digest>` (units), read
by the admission in the same HMGET as the key; its units of the period are counted in the
period's hash (`k<key id>`, metering/store.py). A cap set or removed replaces the token.

Plan limits are copied into the grant stamped with the rules' fingerprint of every plan's limits
(metering.rules); when an operator edits a plan the fingerprint moves and each grant's copy is
replaced on its next request (one more round trip, no database).

The process cache below (`grants`) serves what is not on the hot path: keys without a routing
tag, DRF's key authentication outside the metered prefix, and METERING_FAIL_OPEN when Redis is
unreachable (keys are then checked against the database).
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta

from cachetools import TTLCache
from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from django.utils.module_loading import import_string

from accounts import keys
from accounts.models import ApiKey, Customer
from accounts.services import customer_record_first_call
from core.periods import current_period
from metering import store
from metering.errors import InvalidApiKey
from metering.rules import PlanRules, rules

GRANT_TTL_SECONDS = 300  # process cache: a safety net, revocations reach Redis grants at once
NEGATIVE_TTL_SECONDS = 60
# A grant in Redis lives a day after its load: an idle customer's grant goes away, an active one
# is reloaded from the database once a day at most (besides changes).
REDIS_GRANT_TTL_SECONDS = 24 * 3600
# Revoked and expired keys stay in the grant this long, so that their use is refused as
# "revoked" and counted for the customer; older ones are found in the database on use.
REVOKED_KEYS_KEPT = timedelta(days=30)
NO_EXPIRY = 0
REVOKED = 1  # a revoked key's record says it stopped working at epoch second 1


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


# --- the Redis grant ---------------------------------------------------------------------------


def key_record(key_id: int, *, expires_at: float | None, revoked: bool) -> str:
    """A key's value in the grant: `<key id>|<epoch second it stops working, 0: never>`."""
    if revoked:
        return f"{key_id}|{REVOKED}"
    return f"{key_id}|{NO_EXPIRY if expires_at is None else int(expires_at)}"


def plan_fields(plan: PlanRules, plans_version: str) -> list:
    """The grant's copy of its plan's limits (what the admission script reads)."""
    return [
        "pv",
        plans_version,
        "lim",
        plan.rate_limit,
        "inc",
        plan.included,
        "blk",
        plan.block_field,
        "feat",
        plan.features_field,
    ]


def grant_fields(
    *,
    plan: PlanRules,
    plans_version: str,
    first_call_recorded: bool,
    key_records: dict[str, str],
    credit: tuple[int, str] | None = None,
    key_caps: dict[str, int] | None = None,
) -> list:
    """Field/value pairs of a grant (besides its token): also used by bench/admission.py to seed
    many grants at once exactly as loads write them. `credit` is a prepaid plan's allowance:
    (units, the period counter's key it is for). `key_caps`: digest → the key's monthly cap in
    units (capped keys only)."""
    fields: list = ["plan", plan.id, *plan_fields(plan, plans_version)]
    if first_call_recorded:
        fields += ["first", "1"]
    if credit is not None:
        fields += ["cred", credit[0], "credq", credit[1]]
    for digest, record in key_records.items():
        fields += [digest, record]
    for digest, cap in (key_caps or {}).items():
        fields += [f"c{digest}", cap]
    return fields


def _customer_keys(
    customer_id: int,
) -> tuple[int, bool, dict[str, str], dict[str, int]] | None:
    row = Customer.objects.filter(pk=customer_id).values_list("plan_id", "first_call_at").first()
    if row is None:
        return None
    now = timezone.now()
    kept_since = now - REVOKED_KEYS_KEPT
    records: dict[str, str] = {}
    caps: dict[str, int] = {}
    for api_key in ApiKey.objects.filter(
        Q(revoked_at__isnull=True) | Q(revoked_at__gte=kept_since),
        Q(expires_at__isnull=True) | Q(expires_at__gte=kept_since),
        customer_id=customer_id,
    ).only("id", "key_hash", "revoked_at", "expires_at", "monthly_unit_cap", "spend_cap_units"):
        records[api_key.key_hash] = key_record(
            api_key.id,
            expires_at=api_key.expires_at.timestamp() if api_key.expires_at else None,
            revoked=api_key.revoked_at is not None,
        )
        if api_key.unit_cap is not None:
            caps[api_key.key_hash] = api_key.unit_cap
    return row[0], row[1] is not None, records, caps


def grant_load(customer_id: int) -> bool:
    """Load a customer's grant into Redis from the database (the cold path: first request of a
    customer, after a change, or a day after the last load). False if there is no such
    customer."""
    if _customer_keys(customer_id) is None:  # nothing written to Redis for made-up customers
        return False
    for _ in range(3):
        token = customer_token(customer_id)
        # Read after the token: a change committed meanwhile is either seen here or replaces
        # the token before this write, which then does nothing.
        loaded = _customer_keys(customer_id)
        if loaded is None:
            return False
        plan_id, first_call_recorded, records, caps = loaded
        plan = rules.plan(plan_id)
        fields = grant_fields(
            plan=plan,
            plans_version=rules.current_plans_version(),
            first_call_recorded=first_call_recorded,
            key_records=records,
            credit=credit_allowance(customer_id) if plan.prepaid else None,
            key_caps=caps,
        )
        written = store.load_grant_script()(
            keys=[store.cfg_key(customer_id), store.grant_key(customer_id)],
            args=[token, REDIS_GRANT_TTL_SECONDS, *fields],
        )
        if written:
            return True
    return True  # changing under our feet: the admission's next try reports it stale again


def credit_allowance(customer_id: int) -> tuple[int, str]:
    """A prepaid customer's allowance for the current period: the units its included units and
    credit balance pay for (-1: no limit), from whatever app prices credits (configured, so
    metering knows no money: `METERING_CREDIT_ALLOWANCE` names a callable(customer_id, period)
    returning units or None), with the key of the period counter it caps. Without one, a
    prepaid plan is capped at its included units. A change of balance replaces the customer's
    token (billing.credits), so the next request reloads the grant with the new allowance; a
    new period makes the allowance stale in the admission script, which reloads it too."""
    period = current_period()
    path = getattr(settings, "METERING_CREDIT_ALLOWANCE", "")
    if path:
        units = import_string(path)(customer_id, period)
    else:
        included = Customer.objects.filter(pk=customer_id).values_list(
            "plan__included_units", flat=True
        )
        units = next(iter(included), None)
    return (-1 if units is None else int(units)), store.period_key(customer_id, period.id)


def customer_of_key(raw: str) -> int:
    """The customer a presented key claims to be of: its routing tag, else (a key issued before
    tags) this process's cache or the database. Not a verification: the admission script checks
    the key's hash in that customer's grant."""
    customer_id = keys.routed_customer(raw)
    if customer_id is not None:
        return customer_id
    return grant_for_key(raw).customer_id


def record_first_call(*, customer_id: int) -> None:
    """Once per customer ever: the database, then the grant (so later requests skip it)."""
    customer_record_first_call(customer_id=customer_id, when=timezone.now())
    store.client().hset(store.grant_key(customer_id), "first", "1")


# --- the process cache (keys without routing tags, authentication outside metering) ------------

_GRANT_FIELDS = (
    "id",
    "key_hash",
    "revoked_at",
    "expires_at",
    "customer__id",
    "customer__plan_id",
    "customer__first_call_at",
)


def _load_grant(raw: str) -> Grant | None:
    api_key = (
        ApiKey.objects.select_related("customer")
        .only(*_GRANT_FIELDS)
        .filter(prefix=keys.lookup_prefix(raw))
        .first()
    )
    if api_key is None or not api_key.matches(raw):
        return None
    return Grant(
        key_id=api_key.id,
        customer_id=api_key.customer_id,
        plan_id=api_key.customer.plan_id,
        token="",
        expires_at=api_key.expires_at.timestamp() if api_key.expires_at else None,
        first_call_recorded=api_key.customer.first_call_at is not None,
        revoked=api_key.revoked_at is not None,
    )


def grant_for_key(raw: str, *, refresh: bool = False) -> Grant:
    """The grant of a presented key from this process's cache or the database (never Redis), or
    InvalidApiKey. A revoked key still returns its grant (marked revoked) so its refusal can be
    counted for the customer; callers check `revoked`."""
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
