"""The SQL behind the business metrics: plan state at an instant, transitions, activation
and usage revenue (console.metrics composes them into a month's figures)."""

from __future__ import annotations

import logging
from collections import defaultdict
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, Exists, OuterRef

from accounts.models import Customer, Plan, PlanChange
from metering.models import UsageRecord
from pricing.engine import (
    PricingError,
    Usage,
    parse_pricing,
    plan_terms,
    quote_for_usage,
    round_money,
)
from pricing.selectors import billing_classes, calls_per_class

logger = logging.getLogger(__name__)

ZERO = Decimal("0.00")


# --- plans ------------------------------------------------------------------------------------


def plan_is_paid(plan: Plan) -> bool:
    """Paid: a base fee, usage pricing, or a custom price (Enterprise: a contract)."""
    return plan.is_custom_priced or plan.is_paid


def _usage_priced(plan: Plan) -> bool:
    if plan.is_custom_priced:
        return False
    try:
        return parse_pricing(plan.pricing).model != "none"
    except PricingError:
        logger.exception("metrics: plan %s has an invalid pricing definition", plan.slug)
        return False


def _in(column: str, ids: list[int]) -> str:
    """`column IN (…)` of trusted integer ids; false (not NULL) when there are none."""
    return f"{column} IN ({', '.join(str(int(i)) for i in ids)})" if ids else "1 = 0"


def _cents(expression: str) -> str:
    # Money is summed in integer cents: SQLite stores decimals as floating point.
    return f"CAST(ROUND(({expression}) * 100) AS BIGINT)"


def _adapt(moment: datetime):
    return connection.ops.adapt_datetimefield_value(moment)


# --- plan state at an instant -------------------------------------------------------------------


def _without_history() -> list[int]:
    """Customers with no plan-change row at all (from before the history existed)."""
    return list(
        Customer.objects.filter(
            ~Exists(PlanChange.objects.filter(customer=OuterRef("pk")))
        ).values_list("pk", flat=True)
    )


# A customer whose last plan change started a free trial is on the plan without paying yet.
TRIALING = "CASE WHEN reason = 'trial' THEN 1 ELSE 0 END"


def _paying(alias: str, paid: list[int]) -> str:
    """The state `alias` is on a paid plan, and not on its free trial."""
    return f"({_in(f'{alias}.plan_id', paid)} AND {alias}.trialing = 0)"


def _state_sql(legacy: list[int]) -> str:
    """Each customer's (plan, MRR, on a trial) just before an instant: one row per customer
    that existed.
    `legacy`: the customers without history (they count on their current plan from sign-up).
    Takes the instant twice as parameters."""
    changes = PlanChange._meta.db_table
    customers = Customer._meta.db_table
    plans = Plan._meta.db_table
    if connection.vendor == "postgresql":
        # An index scan of (customer_id, changed_at DESC, id DESC) when it exists: no sort.
        last = (
            f"(SELECT DISTINCT ON (customer_id) customer_id, to_plan_id AS plan_id, "  # noqa: S608
            f"to_mrr AS mrr, {TRIALING} AS trialing FROM {changes} WHERE changed_at < %s "
            f"ORDER BY customer_id, changed_at DESC, id DESC)"
        )
    else:
        last = (
            f"SELECT customer_id, plan_id, mrr, trialing FROM (SELECT customer_id, "  # noqa: S608
            f"to_plan_id AS plan_id, to_mrr AS mrr, {TRIALING} AS trialing, "
            f"ROW_NUMBER() OVER (PARTITION BY customer_id "
            f"ORDER BY changed_at DESC, id DESC) AS rn FROM {changes} WHERE changed_at < %s) r "
            f"WHERE rn = 1"
        )
    without_history = (
        f"SELECT c.id, c.plan_id, COALESCE(p.monthly_price, 0), 0 FROM {customers} c "  # noqa: S608
        f"JOIN {plans} p ON p.id = c.plan_id WHERE c.created_at < %s AND {_in('c.id', legacy)}"
    )
    return f"{last} UNION ALL {without_history}"


def _cohort_columns(st: str, en: str, paid: list[int]) -> list[str]:
    """Aggregates comparing each customer's state in `st` (start) with `en` (end)."""
    st_paid, en_paid = _paying(st, paid), _paying(en, paid)
    churned = f"{st_paid} AND NOT ({en_paid})"
    kept = f"{st_paid} AND {en_paid}"
    return [
        f"SUM(CASE WHEN {st}.customer_id IS NOT NULL THEN {_cents(f'{st}.mrr')} ELSE 0 END)",
        f"SUM(CASE WHEN {st_paid} THEN 1 ELSE 0 END)",
        f"SUM(CASE WHEN {churned} THEN 1 ELSE 0 END)",
        f"SUM(CASE WHEN {churned} THEN {_cents(f'{st}.mrr')} ELSE 0 END)",
        f"SUM(CASE WHEN {kept} AND {en}.mrr > {st}.mrr "
        f"THEN {_cents(f'{en}.mrr - {st}.mrr')} ELSE 0 END)",
        f"SUM(CASE WHEN {kept} AND {en}.mrr < {st}.mrr "
        f"THEN {_cents(f'{st}.mrr - {en}.mrr')} ELSE 0 END)",
    ]


COHORT = ["mrr_start", "paid_start", "churned", "churned_mrr", "expansion", "contraction"]


def _transitions(
    year_start: datetime, start: datetime, end: datetime, paid: list[int], legacy: list[int]
) -> tuple[dict[str, int], dict[str, int]]:
    """Every customer's state at `start` and at `year_start` compared with its state at `end`,
    in one pass: MRR and paying customers at the end; the cohorts paying at `start` (the
    month) and at `year_start` (twelve months): kept, expanded, contracted, churned; and the
    conversion of the non-paying at `start` plus the sign-ups since."""
    st_paid, en_paid = _paying("st", paid), _paying("en", paid)
    not_paying = f"(st.customer_id IS NULL OR NOT ({st_paid}))"
    columns = [
        f"SUM({_cents('en.mrr')})",
        f"SUM(CASE WHEN {en_paid} THEN 1 ELSE 0 END)",
        f"SUM(CASE WHEN {not_paying} THEN 1 ELSE 0 END)",
        f"SUM(CASE WHEN {not_paying} AND {en_paid} THEN 1 ELSE 0 END)",
        "SUM(en.trialing)",
        *_cohort_columns("st", "en", paid),
        *_cohort_columns("sy", "en", paid),
    ]
    state = _state_sql(legacy)
    sql = f"""
        WITH sy AS ({state}), st AS ({state}), en AS ({state})
        SELECT {", ".join(f"COALESCE({c}, 0)" for c in columns)}
        FROM en LEFT JOIN st ON st.customer_id = en.customer_id
        LEFT JOIN sy ON sy.customer_id = en.customer_id
    """  # noqa: S608 (table names and integer ids only; values are parameters)
    params = [_adapt(moment) for moment in (year_start, year_start, start, start, end, end)]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = [int(v or 0) for v in cursor.fetchone()]
    head = ["mrr_end", "paid_end", "conversion_base", "converted", "trialing_end"]
    month = dict(zip(head + COHORT, row[: len(head) + len(COHORT)], strict=True))
    year = dict(zip(COHORT, row[len(head) + len(COHORT) :], strict=True))
    return month, year


def _movement(start: datetime, end: datetime, paid: list[int]) -> dict[str, int]:
    """MRR movement of the plan changes in [start, end), one change at a time. A trial's start
    and its end without a card move nothing; its conversion is new MRR."""
    fp = (
        f"(from_plan_id IS NOT NULL AND {_in('from_plan_id', paid)} "
        "AND reason NOT IN ('trial_converted', 'trial_ended'))"
    )
    tp = f"({_in('to_plan_id', paid)} AND reason <> 'trial')"
    sql = f"""
        SELECT
          COALESCE(SUM(CASE WHEN NOT {fp} AND {tp} THEN {_cents("to_mrr")} ELSE 0 END), 0),
          COALESCE(SUM(CASE WHEN {fp} AND {tp} AND to_mrr > from_mrr
                       THEN {_cents("to_mrr - from_mrr")} ELSE 0 END), 0),
          COALESCE(SUM(CASE WHEN {fp} AND {tp} AND to_mrr < from_mrr
                       THEN {_cents("from_mrr - to_mrr")} ELSE 0 END), 0),
          COALESCE(SUM(CASE WHEN {fp} AND NOT ({tp}) THEN {_cents("from_mrr")} ELSE 0 END), 0),
          COALESCE(SUM(CASE WHEN NOT {fp} AND {tp} THEN 1 ELSE 0 END), 0),
          COALESCE(SUM(CASE WHEN {fp} AND NOT ({tp}) THEN 1 ELSE 0 END), 0)
        FROM {PlanChange._meta.db_table} WHERE changed_at >= %s AND changed_at < %s
    """  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, [_adapt(start), _adapt(end)])
        row = [int(v or 0) for v in cursor.fetchone()]
    names = ["new", "expansion", "contraction", "churned", "new_customers", "churned_customers"]
    return dict(zip(names, row, strict=True))


def _trials(start: datetime, end: datetime) -> dict[str, int]:
    """Trials started in [start, end), and those that ended then: converted into a paid
    subscription, or ended without one."""
    counts = dict(
        PlanChange.objects.filter(
            changed_at__gte=start,
            changed_at__lt=end,
            reason__in=["trial", "trial_converted", "trial_ended"],
        )
        .values_list("reason")
        .annotate(n=Count("id"))
        .values_list("reason", "n")
    )
    return {
        "trials_started": counts.get("trial", 0),
        "trials_converted": counts.get("trial_converted", 0),
        "trials_ended_unpaid": counts.get("trial_ended", 0),
    }


# --- sign-ups, activation, time to first call ---------------------------------------------------


def _activation(start: datetime, end: datetime, as_of: datetime) -> dict[str, Any]:
    """Sign-ups of [start, as_of) and those whose first successful call fell before `end`
    (the month's end: the same month; by now for the live month), with the time it took."""
    signups = Customer.objects.filter(created_at__gte=start, created_at__lt=as_of)
    activated = signups.filter(first_call_at__isnull=False, first_call_at__lt=end)
    counts = {"signups": signups.count(), "activated": activated.count()}
    table = Customer._meta.db_table
    where = (
        f"FROM {table} WHERE created_at >= %s AND created_at < %s "
        f"AND first_call_at IS NOT NULL AND first_call_at < %s"
    )
    params = [_adapt(start), _adapt(as_of), _adapt(end)]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY s), "  # noqa: S608
                "percentile_cont(0.9) WITHIN GROUP (ORDER BY s) FROM (SELECT "
                f"EXTRACT(EPOCH FROM (first_call_at - created_at)) AS s {where}) d",
                params,
            )
            median, p90 = cursor.fetchone()
        else:
            # percentile_cont by hand: the value at rank p·(n−1), interpolated between the two
            # nearest ranks (as PostgreSQL does).
            picks = []
            for p in ("0.5", "0.9"):
                rank = f"CAST((n - 1) * {p} AS INTEGER)"
                picks += [
                    f"MAX(CASE WHEN i = {rank} THEN s END)",
                    f"MAX(CASE WHEN i = {rank} + 1 THEN s END)",
                    f"MAX((n - 1) * {p} - {rank})",
                ]
            cursor.execute(
                f"WITH d AS (SELECT (julianday(first_call_at) - julianday(created_at)) * 86400.0 "  # noqa: S608
                f"AS s {where}), r AS (SELECT s, ROW_NUMBER() OVER (ORDER BY s) - 1 AS i, "
                f"COUNT(*) OVER () AS n FROM d) SELECT {', '.join(picks)} FROM r",
                params,
            )
            row = cursor.fetchone()
            median, p90 = (
                None if lo is None else lo + ((hi - lo) * frac if hi is not None else 0)
                for lo, hi, frac in (row[0:3], row[3:6])
            )
    counts["ttfc_median_seconds"] = None if median is None else round(float(median), 1)
    counts["ttfc_p90_seconds"] = None if p90 is None else round(float(p90), 1)
    return counts


# --- usage revenue ------------------------------------------------------------------------------


def _ledger_usage(ids: list[int], start: datetime, end: datetime, by_endpoint: bool):
    """(customer, endpoint or "", calls, units) of the customers' ledger rows in [start, end),
    through the (customer, hour) index."""
    table = UsageRecord._meta.db_table
    endpoint = "endpoint" if by_endpoint else "''"
    group = "customer_id, endpoint" if by_endpoint else "customer_id"
    with connection.cursor() as cursor:
        for i in range(0, len(ids), 5000):
            chunk = ids[i : i + 5000]
            if connection.vendor == "postgresql":
                match, params = "customer_id = ANY(%s)", [chunk]
            else:
                match, params = f"customer_id IN ({', '.join(['%s'] * len(chunk))})", chunk
            cursor.execute(
                f"SELECT customer_id, {endpoint}, SUM(calls), SUM(units) FROM {table} "  # noqa: S608
                f"WHERE {match} AND hour >= %s AND hour < %s GROUP BY {group}",
                [*params, _adapt(start), _adapt(end)],
            )
            yield from cursor.fetchall()


def _usage_revenue(start: datetime, end: datetime, as_of: datetime, legacy: list[int]) -> Decimal:
    """The month's ledger usage of customers on a usage-priced plan at `as_of`, priced by the
    rating engine on that plan, less the base fee (which is MRR): overage and per-call charges.
    Units are summed per customer in SQL (per endpoint only on class-priced plans)."""
    plans = {plan.pk: plan for plan in Plan.objects.all() if _usage_priced(plan)}
    if not plans:
        return ZERO
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT customer_id, plan_id FROM ({_state_sql(legacy)}) en "  # noqa: S608
            f"WHERE {_in('plan_id', list(plans))} AND trialing = 0",
            [_adapt(as_of)] * 2,
        )
        plan_of = dict(cursor.fetchall())
    per_class = {pk for pk, plan in plans.items() if plan.pricing.get("model") == "per_class"}
    usage: dict[int, dict[str, tuple[int, int]]] = defaultdict(dict)
    for by_endpoint in (False, True):
        ids = sorted(c for c, p in plan_of.items() if (p in per_class) == by_endpoint)
        for customer_id, endpoint, calls, units in _ledger_usage(ids, start, end, by_endpoint):
            usage[customer_id][endpoint] = (int(calls or 0), int(units or 0))
    classes_of = billing_classes()
    terms = {pk: plan_terms(plan) for pk, plan in plans.items()}
    total = ZERO
    for customer_id, by_endpoint in usage.items():
        plan_id = plan_of[customer_id]
        units = max(sum(u for _, u in by_endpoint.values()), 0)
        classes: dict[str, int] | None = None
        if plan_id in per_class:
            classes = calls_per_class(
                ((label, calls) for label, (calls, _) in by_endpoint.items()), classes_of
            )
        elif units <= terms[plan_id].included:
            continue  # within the included units: no usage charge on a unit-priced plan
        try:
            quote = quote_for_usage(terms[plan_id], Usage(units=units, calls=classes))
        except (PricingError, ValueError):
            logger.exception("metrics: could not price usage on plan %s", plans[plan_id].slug)
            continue
        total += sum((line.amount or ZERO for line in quote.lines if line.kind != "base"), ZERO)
    return round_money(total)


@contextmanager
def _tuned():
    """On PostgreSQL, one transaction for the month's queries, with no JIT (these aggregates
    are estimated expensive enough to trigger it, and compiling costs more than running them)
    and enough memory to sort without spilling to disk. On SQLite nothing: a transaction there
    takes the write lock (IMMEDIATE mode)."""
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL jit = off")
            cursor.execute("SET LOCAL work_mem = '32MB'")
        yield
