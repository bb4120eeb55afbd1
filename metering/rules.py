"""The rules metering enforces, as a process-local snapshot: each plan's limits (rate, quota,
features) and the endpoint cost table.

Both are small and read on every request, so each process keeps them in memory. At most once a
second a process reads `metering:catalog` (one GET) and reloads from the database only when the
version moved; saving a Plan or an Endpoint bumps it (metering.receivers). Edits therefore apply
everywhere within about a second, without a restart and without a query per request.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
import uuid
from dataclasses import dataclass

from django.conf import settings

from accounts.models import Plan
from metering import store
from metering.models import Endpoint

CHECK_EVERY_SECONDS = 1.0
DEFAULT_WEIGHT = 1
UNLIMITED = -1


@dataclass(frozen=True)
class PlanRules:
    id: int
    slug: str
    name: str
    rate_limit: int
    included: int  # UNLIMITED (-1) when the plan has no quota
    block_over_quota: bool
    features: frozenset[str]
    # The `prepaid` overage policy: the cap is the credit allowance in the customer's grant
    # (metering.grants), refused as credits_exhausted.
    prepaid: bool = False

    def allows(self, feature: str) -> bool:
        return not feature or feature in self.features

    @property
    def block_field(self) -> str:
        """The grant's `blk`: 1 hard cap at the quota, 2 prepaid (the credit allowance), 0."""
        return "2" if self.prepaid else "1" if self.block_over_quota else "0"

    @property
    def features_field(self) -> str:
        """The features as the admission script matches them: ',analytics,images,'."""
        return "," + "".join(f"{feature}," for feature in sorted(self.features))


@dataclass(frozen=True)
class EndpointRule:
    method: str
    path: str
    weight: int
    feature: str
    billable_class: str
    account: bool = False  # usage, keys, billing, webhooks: their own rate limit, no quota

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"


_CONVERTER_RE = re.compile(r"<(?:\w+:)?(\w+)>")
_REGEX_GROUP_RE = re.compile(r"\(\?P<(\w+)>[^)]*\)")


def is_account_path(path: str) -> bool:
    """Account endpoints (settings.METERING_ACCOUNT_PATHS and everything under them) have a rate
    limit of their own and never spend the plan's."""
    return any(
        path == prefix or path.startswith(f"{prefix}/")
        for prefix in settings.METERING_ACCOUNT_PATHS
    )


def route_template(route: str) -> str:
    """Django route → display template: 'api/v1/pets/<int:pk>' → '/api/v1/pets/{pk}'.
    Also accepts regex routes from DRF's default routers."""
    text = _REGEX_GROUP_RE.sub(r"{\1}", route)
    text = _CONVERTER_RE.sub(r"{\1}", text).lstrip("^").rstrip("$")
    text = text.replace("\\.", ".").rstrip("/") or "/"
    return text if text.startswith("/") else f"/{text}"


class RuleSnapshot:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._plans: dict[int, PlanRules] = {}
        self._endpoints: dict[tuple[str, str], EndpointRule] = {}
        self._version: str | None = None
        # Fingerprint of every plan's limits: the Redis grants hold a copy of their plan's
        # limits stamped with it (metering.grants), refreshed when it moves.
        self.plans_version = ""
        self._checked_at = 0.0
        self._templates: dict[str, str] = {}

    def _refresh_if_due(self) -> None:
        now = time.monotonic()
        if now - self._checked_at < CHECK_EVERY_SECONDS:
            return
        with self._lock:
            if now - self._checked_at < CHECK_EVERY_SECONDS:
                return
            version = store.client().get(store.RULES_VERSION)
            if version is None:
                version = uuid.uuid4().hex
                store.client().set(store.RULES_VERSION, version, nx=True)
                version = store.client().get(store.RULES_VERSION)
            if version != self._version:
                self._load()
                self._version = version
            self._checked_at = now

    def _load(self) -> None:
        self._plans = {
            plan.id: PlanRules(
                id=plan.id,
                slug=plan.slug,
                name=plan.name,
                rate_limit=plan.rate_limit_per_minute,
                included=UNLIMITED if plan.included_units is None else plan.included_units,
                block_over_quota=plan.overage_policy == "block",
                features=frozenset(plan.features or []),
                prepaid=plan.overage_policy == "prepaid",
            )
            for plan in Plan.objects.all()
        }
        limits = sorted(
            (p.id, p.rate_limit, p.included, p.block_over_quota, p.features_field, p.prepaid)
            for p in self._plans.values()
        )
        self.plans_version = hashlib.sha256(repr(limits).encode()).hexdigest()[:12]
        self._endpoints = {
            (e.method, e.path): EndpointRule(
                e.method, e.path, e.weight, e.feature, e.billable_class, is_account_path(e.path)
            )
            for e in Endpoint.objects.all()
        }

    def invalidate(self) -> None:
        self._checked_at = 0.0
        self._version = None

    def current_plans_version(self) -> str:
        self._refresh_if_due()
        return self.plans_version

    def plan(self, plan_id: int) -> PlanRules:
        self._refresh_if_due()
        rules = self._plans.get(plan_id)
        if rules is None:  # a plan created since the last load
            self.invalidate()
            self._refresh_if_due()
            rules = self._plans[plan_id]
        return rules

    def endpoint(self, method: str, route: str) -> EndpointRule:
        self._refresh_if_due()
        path = self._templates.get(route)
        if path is None:
            path = self._templates[route] = route_template(route)
        if method == "HEAD":
            method = "GET"
        rule = self._endpoints.get((method, path))
        if rule is None:
            weight = 0 if method == "OPTIONS" else DEFAULT_WEIGHT
            billable_class = "read" if method in ("GET", "OPTIONS") else "write"
            rule = EndpointRule(method, path, weight, "", billable_class, is_account_path(path))
        return rule


rules = RuleSnapshot()
