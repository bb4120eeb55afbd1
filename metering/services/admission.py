"""Admitting and settling metered requests: one Redis round trip on the warm path (the
Lua scripts and key layout are in metering/store.py)."""

from __future__ import annotations

import itertools
import logging
import math
import os
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.utils.module_loading import import_string
from redis.exceptions import RedisError

from accounts.keys import hash_key, is_well_formed
from core.errors import ApplicationError
from core.navigation import upgrade_url
from core.periods import Period, current_period
from metering import selectors, store
from metering.errors import (
    CreditsExhausted,
    FeatureNotInPlan,
    InvalidApiKey,
    KeyCapExceeded,
    QuotaExceeded,
    RateLimited,
)
from metering.grants import (
    Grant,
    customer_of_key,
    grant_for_key,
    grant_load,
    grants,
    record_first_call,
)
from metering.models import RequestVoid
from metering.rules import UNLIMITED, EndpointRule, PlanRules, rules

logger = logging.getLogger(__name__)

WINDOW_MS = 60_000
MALFORMED = "The API key is malformed. Check that it was copied whole."
PERIOD_KEY_GRACE = timedelta(days=40)  # period counters outlive their month for late refunds


_process_token = uuid.uuid4().hex[:12]
_sequence = itertools.count()


def _new_process_token() -> None:
    global _process_token, _sequence
    _process_token, _sequence = uuid.uuid4().hex[:12], itertools.count()


os.register_at_fork(after_in_child=_new_process_token)  # forked workers must not share it


def _request_member() -> str:
    """A unique request id (also its rate-limit member): a per-process random token + a counter."""
    return f"{_process_token}:{next(_sequence)}"


@dataclass(frozen=True)
class CountedRequest:
    """What the Redis scripts need to find a request again: its record and its counters."""

    customer_id: int
    request_id: str
    bucket: int
    period_id: str
    endpoint: str
    weight: int
    key_digest: str = ""  # the key's SHA-256: a refund or void gives back the key's units too

    def uncount_keys(self) -> list[str]:
        return [
            store.period_key(self.customer_id, self.period_id),
            store.pending_key(self.customer_id),
            store.request_key(self.customer_id, self.bucket),
            store.grant_key(self.customer_id),
        ]

    def uncount_args(self, mode: str) -> list:
        return [
            self.weight,
            self.endpoint,
            self.request_id,
            store.REQUEST_RECORD_TTL_SECONDS,
            mode,
            self.key_digest,
        ]


class UnconfirmedAdmission(RedisError):
    """The admission script was sent but no answer came back: it may have counted the request
    (or may still, when a paused Redis resumes). Unless the request ends up billable, it must be
    voided (`request_void`)."""

    def __init__(self, counted: CountedRequest, cause: RedisError) -> None:
        super().__init__(f"admission of request {counted.request_id} not confirmed: {cause}")
        self.counted = counted


@dataclass
class Admission:
    grant: Grant
    rule: EndpointRule
    plan: PlanRules
    period: Period
    hour: int
    limit: int  # the limit that applied: the plan's, or the account endpoints' own
    remaining: int
    reset_ms: int
    period_units: int
    counted: CountedRequest


def _mark_dirty(customer_id: int) -> None:
    store.mark_dirty(customer_id)


def _count_refusal(customer_id: int, label: str, reason: str) -> None:
    fresh = store.refuse_script()(keys=[store.pending_key(customer_id)], args=[label, reason])
    if fresh:
        _mark_dirty(customer_id)


def rate_headers(limit: int, remaining: int, reset_ms: int, *, account: bool = False) -> dict:
    headers = {
        "X-RateLimit-Limit": str(limit),
        "X-RateLimit-Remaining": str(max(remaining, 0)),
        "X-RateLimit-Reset": str(max(-(-reset_ms // 1000), 0)),
    }
    if account:
        headers["X-RateLimit-Resource"] = "account"
    return headers


def quota_remaining(plan: PlanRules, period_units: int) -> str:
    return "unlimited" if plan.included == UNLIMITED else str(max(plan.included - period_units, 0))


def period_seed(*, customer_id: int, period: Period) -> None:
    """Create the period's quota counter, and each key's (for keys' own caps), from the exact
    usage so far (cold path: first call of a period, or after Redis lost its data)."""
    usage = selectors.customer_usage(customer_id=customer_id, start=period.start, end=period.end)
    keys_units: list = []
    for key_id, counts in usage.by_key.items():
        if counts.units:
            keys_units += [f"k{key_id}", counts.units]
    store.seed_period_script()(
        keys=[store.period_key(customer_id, period.id)],
        args=[int((period.end + PERIOD_KEY_GRACE).timestamp()), usage.total.units, *keys_units],
    )


def admission_call(
    counted: CountedRequest,
    digest: str,
    *,
    feature: str = "",
    account: bool = False,
    explicit: PlanRules | None = None,
) -> tuple[list[str], list]:
    """KEYS and ARGV of the admission script (metering.store.METER_LUA) for one request.
    `explicit` sends a plan's limits along (after the script said the grant's copy is old)."""
    tag = store.tag(counted.customer_id)
    args = [
        digest,
        rules.plans_version,
        WINDOW_MS,
        counted.weight,
        feature,
        counted.endpoint,
        counted.request_id,
        store.REQUEST_RECORD_TTL_SECONDS,
        settings.ACCOUNT_RATE_LIMIT_PER_MINUTE if account else "",
    ]
    if explicit is None:
        args.append("")
    else:
        args += [
            explicit.id,
            explicit.rate_limit,
            explicit.included,
            explicit.block_field,
            explicit.features_field,
        ]
    return (
        [
            f"{tag}:cfg",
            f"{tag}:grant",
            f"{tag}:rw:acct" if account else f"{tag}:rw",
            f"{tag}:q:{counted.period_id}",
            f"{tag}:pending",
            f"{tag}:req:{counted.bucket}",
        ],
        args,
    )


def _refused_key(raw_key: str, digest: str, customer_id: int, label: str) -> None:
    """The script did not find the key in the customer's current grant: a key created since
    the load (reload, then retry), a revoked key older than the grant keeps (counted and
    refused), or no key of this customer at all (refused)."""
    if grants.is_unknown(digest):
        raise InvalidApiKey()
    found = grant_for_key(raw_key, refresh=True)  # InvalidApiKey if it is no key at all
    if found.customer_id != customer_id:
        grants.mark_unknown(digest)
        raise InvalidApiKey()
    if found.revoked:
        _count_refusal(customer_id, label, "refused_key")
        raise InvalidApiKey("This API key has been revoked.")
    grant_load(customer_id)


@dataclass
class AdmissionRequest:
    """One request's admission, prepared (and possibly sent ahead: `admission_send`)."""

    raw_key: str
    route: str
    rule: EndpointRule
    digest: str
    customer_id: int
    period: Period
    counted: CountedRequest
    sent: store.SentScript | None = None


def _admission_prepare(*, raw_key: str | None, method: str, route: str) -> AdmissionRequest:
    if not raw_key:
        raise InvalidApiKey(
            "Missing API key: send it in the X-API-Key header (or Authorization: Bearer)."
        )
    rule = rules.endpoint(method, route)
    customer_id = customer_of_key(raw_key)
    digest = hash_key(raw_key)
    # One id and one record bucket for the request, whatever is re-sent below: every copy of
    # the script finds the first one's record.
    period = current_period()
    counted = CountedRequest(
        customer_id,
        _request_member(),
        store.request_bucket(time.time()),
        period.id,
        rule.label,
        rule.weight,
        digest,
    )
    return AdmissionRequest(raw_key, route, rule, digest, customer_id, period, counted)


def admission_send(*, raw_key: str | None, method: str, route: str) -> AdmissionRequest | None:
    """Prepare a request's admission and send its script ahead, so that Redis runs it while the
    web process goes on with the request (the middleware chain, the URL resolution); its answer
    is read by `request_admit(ahead=…)`, which must then be called. None when it cannot be sent
    ahead (no key, an unknown key: `request_admit` refuses it the usual way)."""
    try:
        ahead = _admission_prepare(raw_key=raw_key, method=method, route=route)
    except ApplicationError:
        return None
    ahead.sent = store.meter_send(
        *admission_call(
            ahead.counted, ahead.digest, feature=ahead.rule.feature, account=ahead.rule.account
        )
    )
    return ahead


def request_admit(
    *,
    raw_key: str | None,
    method: str,
    route: str,
    ahead: AdmissionRequest | None = None,
) -> Admission:
    """Authenticate, gate, rate-limit, check the quota and count a request: one Redis round trip
    when the customer's grant is in Redis (`ahead`: its script was sent by `admission_send`).
    Raises an ApplicationError refusal."""
    if ahead is None:
        ahead = _admission_prepare(raw_key=raw_key, method=method, route=route)
    raw_key, rule, digest, customer_id = ahead.raw_key, ahead.rule, ahead.digest, ahead.customer_id
    period, counted, sent = ahead.period, ahead.counted, ahead.sent
    ahead.sent = None  # its answer is read once
    explicit: PlanRules | None = None
    for _ in range(4):
        try:
            result = store.meter(
                *admission_call(
                    counted, digest, feature=rule.feature, account=rule.account, explicit=explicit
                ),
                sent,
            )
            sent = None
        except store.ScriptUnanswered as exc:
            raise UnconfirmedAdmission(counted, exc) from exc
        status = result[0]
        if status < 0:
            if status in (-1, -4) and not is_well_formed(raw_key):
                raise InvalidApiKey(MALFORMED)
            if status == -1:
                if grants.is_unknown(digest):
                    raise InvalidApiKey()
                if not grant_load(customer_id):
                    grants.mark_unknown(digest)
                    raise InvalidApiKey()
            elif status == -2:
                period_seed(customer_id=customer_id, period=period)
            elif status == -3:  # only a copy nobody waits for can meet its own tombstone
                raise UnconfirmedAdmission(counted, RedisError("request already voided"))
            elif status == -4:
                _refused_key(raw_key, digest, customer_id, rule.label)
            else:  # -5: the grant's copy of the plan's limits is older than ours
                explicit = rules.plan(result[1])
            continue
        _, remaining, wait_or_reset, period_units, hour, fresh, plan_id, key_id, first, limit = (
            result
        )
        plan = rules.plan(plan_id)
        grant = Grant(key_id, customer_id, plan_id, "", None, bool(first))
        if fresh:
            try:
                _mark_dirty(customer_id)
            except RedisError as exc:
                # Counted but not findable by the flush: void it (the flush re-marks).
                raise UnconfirmedAdmission(counted, exc) from exc
        if status:
            _refuse(
                status, rule, plan, period, limit, remaining, wait_or_reset, period_units, grant
            )
        return Admission(
            grant,
            rule,
            plan,
            period,
            hour,
            limit,
            remaining,
            wait_or_reset,
            period_units,
            counted,
        )
    raise InvalidApiKey("The API key could not be verified. Retry.")


CREDITS_EXHAUSTED = 6  # METER_LUA's status for the prepaid cap
KEY_CAP_EXCEEDED = 7  # METER_LUA's status for a key's own monthly cap


def _credits_exhausted(customer_id, rule, period, limit, remaining, period_units):
    """The prepaid plan's credits are spent: 429 credits_exhausted, with the balance and where to
    buy credits, from whatever app prices credits (`METERING_CREDITS_EXHAUSTED` names a
    callable(customer_id, period, period_units) returning the error's extra fields, among them
    `balance` and `message`; metering knows no money)."""
    path = getattr(settings, "METERING_CREDITS_EXHAUSTED", "")
    extra = dict(import_string(path)(customer_id, period, period_units)) if path else {}
    message = extra.pop("message", None)
    extra.update({"used": period_units, "cost": rule.weight})
    extra.setdefault("balance", "0.00")
    extra.setdefault("buy_credits_url", upgrade_url())
    # Retry-After: when the period ends (a new allowance, and any monthly credit); buying
    # credits lifts the refusal at once.
    resets_in = int((period.end - datetime.now(UTC)).total_seconds()) + 1
    raise CreditsExhausted(
        message,
        extra=extra,
        headers={
            "Retry-After": str(resets_in),
            "X-Quota-Remaining": "0",
            **rate_headers(limit, remaining, 0),
        },
    )


def _refuse(status, rule, plan, period, limit, remaining, wait_or_reset, period_units, grant):
    if status == CREDITS_EXHAUSTED:
        _credits_exhausted(grant.customer_id, rule, period, limit, remaining, period_units)
    if status == KEY_CAP_EXCEEDED:
        # The key's own cap: wait_or_reset is the cap, period_units the key's units.
        cap, used = wait_or_reset, period_units
        raise KeyCapExceeded(
            f"This API key (id {grant.key_id}) has used {used} of its monthly cap of {cap} "
            f"units; this call costs {rule.weight}. The cap renews on {period.end:%Y-%m-%d}. "
            "Your other keys keep working; raise or remove the cap with "
            f"PATCH /api/v1/keys/{grant.key_id} or on the dashboard's keys page.",
            extra={
                "cap": cap,
                "used": used,
                "cost": rule.weight,
                "key_id": grant.key_id,
                "period_end": period.end.isoformat(),
            },
            headers=rate_headers(limit, remaining, 0),
        )
    if status == 4:
        raise InvalidApiKey("This API key has been revoked.")
    if status == 3:
        raise FeatureNotInPlan(
            f"{rule.label} needs the '{rule.feature}' feature, which the {plan.name} plan "
            "does not include. Upgrade to use it.",
            extra={"feature": rule.feature, "plan": plan.slug, "upgrade_url": upgrade_url()},
        )
    if status == 1:
        retry_after = max(math.ceil(wait_or_reset / 1000), 1)
        if rule.account:
            message = (
                f"Rate limit of {limit} requests per minute on the account endpoints (usage, "
                f"keys, billing, webhooks) exceeded. Retry in {retry_after} s. It is separate "
                "from your plan's limit on the API."
            )
        else:
            message = (
                f"Rate limit of {limit} requests per minute exceeded on the {plan.name} plan. "
                f"Retry in {retry_after} s, or upgrade for a higher limit."
            )
        raise RateLimited(
            message,
            extra={
                "limit": limit,
                "window": "60s",
                "retry_after": retry_after,
                "upgrade_url": upgrade_url(),
            },
            headers={
                "Retry-After": str(retry_after),
                **rate_headers(limit, 0, wait_or_reset, account=rule.account),
            },
        )
    resets_in = int((period.end - datetime.now(UTC)).total_seconds()) + 1
    raise QuotaExceeded(
        f"The {plan.name} plan includes {plan.included} units a month and "
        f"{period_units} are used; this call costs {rule.weight}. The quota renews "
        f"on {period.end:%Y-%m-%d}; upgrade to keep going now.",
        extra={
            "included": plan.included,
            "used": period_units,
            "cost": rule.weight,
            "period_end": period.end.isoformat(),
            "upgrade_url": upgrade_url(),
        },
        headers={
            "Retry-After": str(resets_in),
            "X-Quota-Remaining": "0",
            **rate_headers(limit, remaining, 0),
        },
    )


def request_finish(admission: Admission, status_code: int) -> dict[str, str]:
    """Settle an admitted request: a 4xx/5xx answer gives back its units (once, however often
    the refund is sent; voided later if its outcome is unknown). Returns the headers every
    metered response carries."""
    billable = 200 <= status_code < 400
    grant, rule = admission.grant, admission.rule
    if billable:
        if not grant.first_call_recorded:
            record_first_call(customer_id=grant.customer_id)
    else:
        counted = admission.counted
        try:
            _, fresh = store.uncount_script()(
                keys=counted.uncount_keys(), args=counted.uncount_args("f")
            )
            if fresh:
                _mark_dirty(grant.customer_id)
        except RedisError:
            logger.warning(
                "metering: refund of request %s not confirmed; voiding it", counted.request_id
            )
            request_void(counted)
        admission.period_units -= rule.weight
    return {
        **rate_headers(
            admission.limit, admission.remaining, admission.reset_ms, account=rule.account
        ),
        "X-Usage-Cost": str(rule.weight if billable else 0),
        "X-Quota-Remaining": quota_remaining(admission.plan, admission.period_units),
    }


def request_void(counted: CountedRequest) -> None:
    """Make sure a request answered without billing counts nothing, whatever its admission or
    refund did in Redis. Written to the database (Redis is what could not be reached); the next
    flush applies it in Redis (`voids_apply`). Idempotent per request id."""
    RequestVoid.objects.get_or_create(
        request_id=counted.request_id,
        defaults={
            "customer_id": counted.customer_id,
            "bucket": counted.bucket,
            "period_id": counted.period_id,
            "endpoint": counted.endpoint,
            "weight": counted.weight,
            "key_digest": counted.key_digest,
        },
    )
