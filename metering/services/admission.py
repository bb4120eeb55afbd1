"""Admitting and settling metered requests: one Redis round trip on the warm path (the
Lua scripts and key layout are in metering/store.py)."""

from __future__ import annotations

import itertools
import logging
import math
import os
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from metering import selectors, store
from metering.catalogue import UNLIMITED, EndpointRule, PlanRules, catalogue
from metering.errors import FeatureNotInPlan, InvalidApiKey, QuotaExceeded, RateLimited, upgrade_url
from metering.grants import Grant, grant_for_key, record_first_call
from metering.periods import Period, current_period

logger = logging.getLogger(__name__)

WINDOW_MS = 60_000
PERIOD_KEY_GRACE = timedelta(days=40)  # period counters outlive their month for late refunds


_process_token = uuid.uuid4().hex[:12]
_sequence = itertools.count()


def _new_process_token() -> None:
    global _process_token, _sequence
    _process_token, _sequence = uuid.uuid4().hex[:12], itertools.count()


os.register_at_fork(after_in_child=_new_process_token)  # forked workers must not share it


def _request_member() -> str:
    """A unique member for the rate-limit window: a per-process random token + a counter."""
    return f"{_process_token}:{next(_sequence)}"


@dataclass
class Admission:
    grant: Grant
    rule: EndpointRule
    plan: PlanRules
    period: Period
    hour: int
    remaining: int
    reset_ms: int
    period_units: int


def _mark_dirty(customer_id: int) -> None:
    store.client().sadd(store.DIRTY_SET, customer_id)


def _count_refusal(customer_id: int, label: str, reason: str) -> None:
    fresh = store.refuse_script()(keys=[store.pending_key(customer_id)], args=[label, reason])
    if fresh:
        _mark_dirty(customer_id)


def rate_headers(plan: PlanRules, remaining: int, reset_ms: int) -> dict[str, str]:
    return {
        "X-RateLimit-Limit": str(plan.rate_limit),
        "X-RateLimit-Remaining": str(max(remaining, 0)),
        "X-RateLimit-Reset": str(max(math.ceil(reset_ms / 1000), 0)),
    }


def quota_remaining(plan: PlanRules, period_units: int) -> str:
    return "unlimited" if plan.included == UNLIMITED else str(max(plan.included - period_units, 0))


def period_seed(*, customer_id: int, period: Period) -> None:
    """Create the period's quota counter from the exact usage so far (cold path: first call of
    a period, or after Redis lost its data)."""
    units = selectors.customer_period_units(customer_id=customer_id, period=period)
    key = store.period_key(customer_id, period.id)
    pipe = store.client().pipeline(transaction=False)
    pipe.hsetnx(key, "units", units)
    pipe.expireat(key, period.end + PERIOD_KEY_GRACE)
    pipe.execute()


def _token_is_current(grant: Grant) -> bool:
    return store.client().get(store.cfg_key(grant.customer_id)) == grant.token


def request_admit(*, raw_key: str | None, method: str, route: str) -> Admission:
    """Authenticate, gate, rate-limit, check the quota and count a request: one Redis round trip
    when caches are warm. Raises an ApplicationError refusal."""
    if not raw_key:
        raise InvalidApiKey(
            "Missing API key: send it in the X-API-Key header (or Authorization: Bearer)."
        )
    grant = grant_for_key(raw_key)
    rule = catalogue.endpoint(method, route)
    for _ in range(4):
        plan = catalogue.plan(grant.plan_id)
        if grant.revoked or not plan.allows(rule.feature):
            # Refusals are rare: confirm against the current token before refusing.
            if not _token_is_current(grant):
                grant = grant_for_key(raw_key, refresh=True)
                continue
            _count_refusal(
                grant.customer_id, rule.label, "refused_key" if grant.revoked else "refused_feature"
            )
            if grant.revoked:
                raise InvalidApiKey("This API key has been revoked.")
            raise FeatureNotInPlan(
                f"{rule.label} needs the '{rule.feature}' feature, which the {plan.name} plan "
                "does not include. Upgrade to use it.",
                extra={"feature": rule.feature, "plan": plan.slug, "upgrade_url": upgrade_url()},
            )
        period = current_period()
        result = store.meter(
            [
                store.cfg_key(grant.customer_id),
                store.rate_key(grant.customer_id),
                store.period_key(grant.customer_id, period.id),
                store.pending_key(grant.customer_id),
            ],
            [
                grant.token,
                plan.rate_limit,
                WINDOW_MS,
                rule.weight,
                plan.included,
                "1" if plan.block_over_quota else "0",
                rule.label,
                grant.key_id,
                _request_member(),
            ],
        )
        status = int(result[0])
        if status == -1:
            grant = grant_for_key(raw_key, refresh=True)
            continue
        if status == -2:
            period_seed(customer_id=grant.customer_id, period=period)
            continue
        _, remaining, wait_or_reset, period_units, hour, fresh = (int(v) for v in result)
        if fresh:
            _mark_dirty(grant.customer_id)
        if status == 1:
            retry_after = max(math.ceil(wait_or_reset / 1000), 1)
            raise RateLimited(
                f"Rate limit of {plan.rate_limit} requests per minute exceeded on the "
                f"{plan.name} plan. Retry in {retry_after} s, or upgrade for a higher limit.",
                extra={
                    "limit": plan.rate_limit,
                    "window": "60s",
                    "retry_after": retry_after,
                    "upgrade_url": upgrade_url(),
                },
                headers={"Retry-After": str(retry_after), **rate_headers(plan, 0, wait_or_reset)},
            )
        if status == 2:
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
                    **rate_headers(plan, remaining, 0),
                },
            )
        return Admission(grant, rule, plan, period, hour, remaining, wait_or_reset, period_units)
    raise InvalidApiKey("The API key could not be verified. Retry.")


def request_finish(admission: Admission, status_code: int) -> dict[str, str]:
    """Settle an admitted request: a 4xx/5xx answer gives back its units. Returns the headers
    every metered response carries."""
    billable = 200 <= status_code < 400
    grant, rule = admission.grant, admission.rule
    if billable:
        if not grant.first_call_recorded:
            record_first_call(grant)
    else:
        fresh = store.refund_script()(
            keys=[
                store.period_key(grant.customer_id, admission.period.id),
                store.pending_key(grant.customer_id),
            ],
            args=[rule.weight, f"{rule.label}|{admission.hour}|"],
        )
        if fresh:
            _mark_dirty(grant.customer_id)
        admission.period_units -= rule.weight
    return {
        **rate_headers(admission.plan, admission.remaining, admission.reset_ms),
        "X-Usage-Cost": str(rule.weight if billable else 0),
        "X-Quota-Remaining": quota_remaining(admission.plan, admission.period_units),
    }
