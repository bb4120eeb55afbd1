"""The engine's credits: what they pay of a quote (metered lines only) and the allowance of a
balance (the largest period usage every count up to which the balance pays), for every model."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from pricing.engine import PlanTerms, Usage, parse_pricing, quote_for_usage
from pricing.engine.credits import (
    credit_allowance,
    credits_applied,
    metered_charge,
    quote_with_credits,
)

PRO = PlanTerms(
    slug="pro",
    name="Pro",
    base_fee=Decimal("49.00"),
    included_units=50_000,
    overage_policy="prepaid",
    pricing=parse_pricing({"model": "per_unit", "unit_price": "0.001"}),
)
MODELS = {
    "per_unit": PRO,
    "graduated": PlanTerms(
        slug="g",
        name="G",
        base_fee=Decimal("0"),
        included_units=1_000,
        overage_policy="prepaid",
        pricing=parse_pricing(
            {
                "model": "graduated",
                "tiers": [
                    {"up_to": 5_000, "unit_price": "0.002", "flat_fee": "1.00"},
                    {"up_to": None, "unit_price": "0.0005"},
                ],
            }
        ),
    ),
    "volume": PlanTerms(
        slug="v",
        name="V",
        base_fee=Decimal("10"),
        overage_policy="prepaid",
        pricing=parse_pricing(
            {
                "model": "volume",
                "tiers": [
                    {"up_to": 1_000, "unit_price": "0.01"},
                    {"up_to": None, "unit_price": "0.004"},
                ],
            }
        ),
    ),
    "package": PlanTerms(
        slug="p",
        name="P",
        base_fee=Decimal("5"),
        overage_policy="prepaid",
        pricing=parse_pricing({"model": "package", "package_size": 1000, "package_price": "2"}),
    ),
}


def charge(terms: PlanTerms, units: int) -> Decimal:
    return metered_charge(quote_for_usage(terms, Usage(units=units)))


def test_credits_pay_usage_lines_never_the_base_fee():
    quote = quote_for_usage(PRO, Usage(units=57_000))
    assert quote.total == Decimal("56.00") and metered_charge(quote) == Decimal("7.00")
    assert credits_applied(quote, Decimal("5")) == Decimal("5.00")
    assert credits_applied(quote, Decimal("500")) == Decimal("7.00")
    paid = quote_with_credits(quote, Decimal("5"))
    assert paid.total == Decimal("51.00")
    line = paid.lines[-1]
    assert line.kind == "credits" and line.amount == Decimal("-5.00")
    assert "balance left $0.00" in line.description
    assert paid.to_dict()["lines"][-1]["amount"] == "-5.00"
    assert quote_with_credits(quote, Decimal("0")) is quote


def test_allowance_is_exact_to_the_cent_rounding():
    # 10 dollars at $0.001 a unit past 50,000 included: 10,004 units round to $10.00 (half up).
    assert credit_allowance(PRO, Decimal("10")) == 60_004
    assert charge(PRO, 60_004) == Decimal("10.00") and charge(PRO, 60_005) == Decimal("10.01")
    assert credit_allowance(PRO, Decimal("0")) == 50_004  # rounding pays four units
    unlimited = PlanTerms(slug="u", name="U", base_fee=Decimal("0"), overage_policy="prepaid")
    assert credit_allowance(unlimited, Decimal("1")) is None  # no usage price
    custom = PlanTerms(slug="c", name="C", base_fee=None)
    assert credit_allowance(custom, Decimal("1")) is None


def test_volume_bands_end_the_allowance_at_the_first_count_that_does_not_fit():
    volume = MODELS["volume"]
    # $9 pays 900 units in the first band; 1,001+ units would cost $4.00+ again but the 901st
    # unit already does not fit, so the allowance stops there.
    assert credit_allowance(volume, Decimal("9")) == 900
    assert credit_allowance(volume, Decimal("12")) == 3_001  # 1,000 at $10 fits; then 0.004


@settings(max_examples=60, deadline=None)
@given(
    model=st.sampled_from(sorted(MODELS)),
    cents=st.integers(min_value=0, max_value=50_000),
)
def test_every_count_up_to_the_allowance_fits_and_the_next_does_not(model, cents):
    terms = MODELS[model]
    balance = Decimal(cents) / 100
    allowance = credit_allowance(terms, balance)
    assert allowance is not None
    assert charge(terms, allowance) <= balance
    assert charge(terms, allowance + 1) > balance
    for units in {0, allowance // 3, allowance // 2, max(allowance - 1, 0)}:
        assert charge(terms, units) <= balance
