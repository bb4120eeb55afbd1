"""Business metrics of a month, computed in SQL from the history tables (selectors: reads only).

Every figure is defined in docs/metrics.md and on the /admin/metrics/ page. In short:

- a customer's plan at an instant is the `to_plan` (and MRR the `to_mrr`) of its last
  `accounts.PlanChange` strictly before that instant (sign-ups write one too); a customer with
  no history row at all counts on its current plan from `created_at`;
- a *paid* plan has a base fee, usage pricing, or a custom (negotiated) price;
- the month's figures are as of its end, or as of now for the live month.

Aggregates run in the database (a handful of queries per month, none per customer); only the
month's usage of customers on usage-priced plans is priced in Python, by the rating engine.
Closed months are cached for a few minutes; the live month never is (a sign-up or a first call
shows at once).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.conf import settings
from django.core.cache import cache

from accounts.models import Plan, PlanChange
from console.metrics.queries import (
    _activation,
    _movement,
    _transitions,
    _trials,
    _tuned,
    _usage_revenue,
    _without_history,
    plan_is_paid,
)
from core.money import cents_to_dollars
from core.periods import Period, period_containing

logger = logging.getLogger(__name__)

CACHE_VERSION = "v2"

# What a healthy API business aims for: (figure, comparison, target). Shown on the page.
TARGETS: dict[str, tuple[str, Decimal]] = {
    "activation_rate": (">", Decimal("0.40")),
    "ttfc_median_seconds": ("<", Decimal("300")),
    "conversion_rate": (">=", Decimal("0.02")),
    "logo_churn_rate": ("<", Decimal("0.05")),
    "revenue_churn_rate": ("<", Decimal("0.05")),
    "nrr": (">", Decimal("1.00")),
    "nrr_12m": (">", Decimal("1.00")),
}


# --- the month ----------------------------------------------------------------------------------


def _rate(numerator: Decimal | int, denominator: Decimal | int) -> Decimal | None:
    if not denominator:
        return None
    return (Decimal(numerator) / Decimal(denominator)).quantize(
        Decimal("0.0001"), rounding=ROUND_HALF_UP
    )


def _json_rate(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _json_money(value: Decimal | None) -> str | None:
    return None if value is None else f"{value.quantize(Decimal('0.01'), ROUND_HALF_UP)}"


def meets_target(name: str, value: Any) -> bool | None:
    """True/False against the benchmark of `name`; None when there is no value or target."""
    if name not in TARGETS or value is None:
        return None
    op, target = TARGETS[name]
    value = Decimal(str(value))
    return {">": value > target, "<": value < target, ">=": value >= target}[op]


def compute_month_metrics(period: Period, *, now: datetime | None = None) -> dict[str, Any]:
    """Every figure of `period`, JSON-ready (rates as decimals, money as decimal strings)."""
    now = now or datetime.now(UTC)
    start, end = period.start, period.end
    live = start <= now < end
    as_of = min(end, now)
    paid = [plan.pk for plan in Plan.objects.all() if plan_is_paid(plan)]

    with _tuned():
        activation = _activation(start, end, as_of)
        legacy = _without_history()
        year_start = period.shifted(-11).start
        month, year = _transitions(year_start, start, as_of, paid, legacy)
        movement = _movement(start, as_of, paid)
        trials = _trials(start, as_of)
        usage_revenue = _usage_revenue(start, end, as_of, legacy)

    mrr, mrr_start = cents_to_dollars(month["mrr_end"]), cents_to_dollars(month["mrr_start"])
    cohort_churned = cents_to_dollars(month["churned_mrr"])
    kept = month["mrr_start"] + month["expansion"] - month["contraction"] - month["churned_mrr"]
    kept_12m = year["mrr_start"] + year["expansion"] - year["contraction"] - year["churned_mrr"]
    revenue_churn = _rate(month["churned_mrr"], month["mrr_start"])
    arpa = mrr / month["paid_end"] if month["paid_end"] else None
    # LTV = ARPA / revenue churn, from the unrounded ratio (churned MRR / start MRR).
    ltv = (
        arpa * month["mrr_start"] / month["churned_mrr"]
        if arpa is not None and month["churned_mrr"]
        else None
    )

    figures: dict[str, Any] = {
        "month": period.label,
        "live": live,
        "as_of": as_of.isoformat(),
        "signups": activation["signups"],
        "activated": activation["activated"],
        "activation_rate": _json_rate(_rate(activation["activated"], activation["signups"])),
        "ttfc_median_seconds": activation["ttfc_median_seconds"],
        "ttfc_p90_seconds": activation["ttfc_p90_seconds"],
        "conversion_base": month["conversion_base"],
        "converted": month["converted"],
        "conversion_rate": _json_rate(_rate(month["converted"], month["conversion_base"])),
        "mrr": _json_money(mrr),
        "mrr_start": _json_money(mrr_start),
        "usage_revenue": _json_money(usage_revenue),
        "paid_customers": month["paid_end"],
        "paid_customers_start": month["paid_start"],
        "arpa": _json_money(arpa),
        "mrr_new": _json_money(cents_to_dollars(movement["new"])),
        "mrr_expansion": _json_money(cents_to_dollars(movement["expansion"])),
        "mrr_contraction": _json_money(cents_to_dollars(movement["contraction"])),
        "mrr_churned": _json_money(cents_to_dollars(movement["churned"])),
        "new_paid_customers": movement["new_customers"],
        "churned_paid_customers": movement["churned_customers"],
        "cohort": {
            "customers": month["paid_start"],
            "mrr_start": _json_money(mrr_start),
            "expansion": _json_money(cents_to_dollars(month["expansion"])),
            "contraction": _json_money(cents_to_dollars(month["contraction"])),
            "churned_customers": month["churned"],
            "churned_mrr": _json_money(cohort_churned),
        },
        "logo_churn_rate": _json_rate(_rate(month["churned"], month["paid_start"])),
        "revenue_churn_rate": _json_rate(revenue_churn),
        "ltv": _json_money(ltv),
        "nrr": _json_rate(_rate(kept, month["mrr_start"])),
        "nrr_12m": _json_rate(_rate(kept_12m, year["mrr_start"])),
        # Free trials: on a paid plan without paying yet (not in MRR nor paying customers).
        "trials_started": trials["trials_started"],
        "trialing_customers": month["trialing_end"],
        "trials_converted": trials["trials_converted"],
        "trials_ended_unpaid": trials["trials_ended_unpaid"],
        "trial_conversion_rate": _json_rate(
            _rate(
                trials["trials_converted"],
                trials["trials_converted"] + trials["trials_ended_unpaid"],
            )
        ),
    }
    figures["health"] = {name: meets_target(name, figures[name]) for name in TARGETS}
    return figures


def _cache_key(period: Period) -> str:
    return f"billing:metrics:{CACHE_VERSION}:{period.label}"


def month_metrics(
    period: Period, *, now: datetime | None = None, use_cache: bool = True
) -> dict[str, Any]:
    """The figures of a month: cached for a few minutes once the month is over, never while it
    is live. A cache outage only costs the recomputation."""
    now = now or datetime.now(UTC)
    closed = period.end <= now
    if use_cache and closed:
        try:
            cached = cache.get(_cache_key(period))
        except Exception:  # the cache is an optimisation: never fail the page for it
            logger.warning("metrics: cache unavailable", exc_info=True)
            cached = None
        if cached is not None:
            return cached
    figures = compute_month_metrics(period, now=now)
    if use_cache and closed:
        try:
            cache.set(_cache_key(period), figures, settings.METRICS_CACHE_SECONDS)
        except Exception:
            logger.warning("metrics: cache unavailable", exc_info=True)
    return figures


def metrics_cache_clear(periods: list[Period]) -> None:
    """Forget cached figures (after a history was rewritten, e.g. by seed_demo)."""
    try:
        cache.delete_many([_cache_key(period) for period in periods])
    except Exception:
        logger.warning("metrics: cache unavailable", exc_info=True)


def trend(period: Period, *, months: int = 12, now: datetime | None = None) -> list[dict]:
    """Figures of the `months` months ending with `period`, oldest first."""
    periods = period.back(months)[::-1]
    return [month_metrics(p, now=now) for p in periods]


def recent_plan_changes(period: Period, *, limit: int = 20, now: datetime | None = None):
    """The latest plan changes (sign-ups excluded) up to the end of `period`."""
    end = min(period.end, now or datetime.now(UTC))
    return (
        PlanChange.objects.filter(changed_at__lt=end, from_plan__isnull=False)
        .select_related("customer", "from_plan", "to_plan")
        .order_by("-changed_at", "-id")[:limit]
    )


def current_month(now: datetime | None = None) -> Period:
    return period_containing(now or datetime.now(UTC))
