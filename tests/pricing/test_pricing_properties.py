"""Properties of the rating engine that must hold for any plan and any usage (hypothesis)."""

from __future__ import annotations

from decimal import Decimal as D

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from pricing.engine import (
    BILLABLE_CLASSES,
    MODELS_WITH_INCLUDED,
    PlanTerms,
    Usage,
    cheapest_plan,
    parse_pricing,
    quote_for_usage,
)

# Per test, not a global profile: other apps' suites keep their own hypothesis settings.
thorough = settings(max_examples=150, deadline=None)

units = st.integers(min_value=0, max_value=5_000_000)
prices = st.decimals(min_value=0, max_value=2, places=5, allow_nan=False, allow_infinity=False)
fees = st.decimals(min_value=0, max_value=50, places=2, allow_nan=False, allow_infinity=False)


@st.composite
def tier_bounds(draw) -> list[int | None]:
    bounds = sorted(draw(st.lists(st.integers(1, 2_000_000), unique=True, max_size=4)))
    return [*bounds, None]


@st.composite
def tiers(draw, *, with_fees: bool = True, order: str | None = None) -> list[dict]:
    bounds = draw(tier_bounds())
    unit_prices = draw(st.lists(prices, min_size=len(bounds), max_size=len(bounds)))
    if order == "non_increasing":
        unit_prices.sort(reverse=True)
    elif order == "non_decreasing":
        unit_prices.sort()
    flat = draw(st.lists(fees, min_size=len(bounds), max_size=len(bounds)))
    if order == "non_decreasing":
        flat.sort()
    return [
        {"up_to": up_to, "unit_price": str(price), **({"flat_fee": str(fee)} if with_fees else {})}
        for up_to, price, fee in zip(bounds, unit_prices, flat, strict=True)
    ]


@st.composite
def discount_bands(draw) -> list[dict]:
    bounds = draw(tier_bounds())
    discounts = draw(
        st.lists(
            st.decimals(min_value=0, max_value=D("0.9"), places=2),
            min_size=len(bounds),
            max_size=len(bounds),
        )
    )
    return [
        {"up_to": up_to, "discount": str(discount)}
        for up_to, discount in zip(bounds, discounts, strict=True)
    ]


def per_unit() -> st.SearchStrategy[dict]:
    return st.builds(lambda p: {"model": "per_unit", "unit_price": str(p)}, prices)


def package() -> st.SearchStrategy[dict]:
    return st.builds(
        lambda size, p: {"model": "package", "package_size": size, "package_price": str(p)},
        st.integers(1, 100_000),
        st.decimals(min_value=0, max_value=100, places=3),
    )


def tiered(model: str, **kwargs) -> st.SearchStrategy[dict]:
    return tiers(**kwargs).map(lambda t: {"model": model, "tiers": t})


def per_class() -> st.SearchStrategy[dict]:
    class_prices = st.dictionaries(
        st.sampled_from(BILLABLE_CLASSES[1:]), prices.map(str), max_size=3
    ).flatmap(lambda d: prices.map(lambda p: {"default": str(p), **d}))
    return st.builds(
        lambda cp, bands: {
            "model": "per_class",
            "class_prices": cp,
            **({"volume_discounts": bands} if bands else {}),
        },
        class_prices,
        st.one_of(st.just([]), discount_bands()),
    )


MONOTONE_MODELS = st.one_of(
    st.just({}),
    per_unit(),
    package(),
    tiered("graduated"),
    tiered("volume", order="non_decreasing"),
)
ANY_MODEL = st.one_of(
    st.just({}), per_unit(), package(), tiered("graduated"), tiered("volume"), per_class()
)


@st.composite
def plans(draw, pricing: st.SearchStrategy[dict] = ANY_MODEL) -> PlanTerms:
    definition = draw(pricing)
    usage_pricing = parse_pricing(definition)
    included = None
    if usage_pricing.model in MODELS_WITH_INCLUDED:
        included = draw(st.one_of(st.none(), st.integers(0, 1_000_000)))
    return PlanTerms(
        slug="p",
        name="P",
        base_fee=draw(fees),
        included_units=included,
        overage_policy=draw(st.sampled_from(["bill", "block"])),
        pricing=usage_pricing,
    )


class_calls = st.one_of(
    st.none(), st.dictionaries(st.sampled_from(BILLABLE_CLASSES), units, max_size=4)
)


def total(plan: PlanTerms, usage: Usage) -> D:
    value = quote_for_usage(plan, usage).total
    assert value is not None
    return value


# --- totals never decrease as usage grows ---------------------------------------------------


@thorough
@given(plans(MONOTONE_MODELS), units, units)
def test_totals_never_decrease_as_units_grow(plan, start, more):
    assert total(plan, Usage(start)) <= total(plan, Usage(start + more))


@thorough
@given(plans(st.one_of(tiered("volume"), per_class())), units, units)
def test_volume_totals_never_decrease_within_a_band(plan, start, more):
    # Across a band boundary a volume price may fall (the "volume cliff", as Stripe bills it:
    # see test_pricing.py); within one band, more usage never costs less.
    pricing = plan.pricing
    bounds = [t.up_to for t in pricing.tiers] or [b.up_to for b in pricing.volume_discounts]
    band = [b for b in bounds if b is not None]

    def band_of(n: int) -> int:
        return sum(n > b for b in band)

    assume(band_of(start) == band_of(start + more))
    calls_before = {"read": start} if pricing.model == "per_class" else None
    calls_after = {"read": start + more} if pricing.model == "per_class" else None
    assert total(plan, Usage(start, calls_before)) <= total(plan, Usage(start + more, calls_after))


@thorough
@given(plans(per_class()), st.sampled_from(BILLABLE_CLASSES), units, units)
def test_class_totals_never_decrease_without_discounts(plan, name, start, more):
    assume(not plan.pricing.volume_discounts)
    before = total(plan, Usage(0, {name: start}))
    assert before <= total(plan, Usage(0, {name: start + more}))


# --- the lines add up -----------------------------------------------------------------------


@thorough
@given(plans(), units, class_calls)
def test_the_lines_of_a_quote_add_up_to_its_total(plan, quantity, calls):
    quote = quote_for_usage(plan, Usage(quantity, calls))
    assert quote.total == sum(line.amount for line in quote.lines)
    for line in quote.lines:
        assert line.amount == line.amount.quantize(D("0.01"))
        assert line.amount >= 0
    data = quote.to_dict()
    assert D(data["total"]) == sum(D(line["amount"]) for line in data["lines"])


# --- graduated against volume ---------------------------------------------------------------


@thorough
@given(tiers(with_fees=False, order="non_increasing"), units)
def test_graduated_is_never_below_volume_when_prices_fall(tier_list, quantity):
    # With non-increasing prices, volume prices every unit at the lowest price reached, while
    # graduated charges the earlier units at their (higher) prices: graduated ≥ volume. Each
    # rounded line may move by half a cent, hence the tolerance.
    graduated = PlanTerms(
        "g", "G", D(0), pricing=parse_pricing({"model": "graduated", "tiers": tier_list})
    )
    volume = PlanTerms(
        "v", "V", D(0), pricing=parse_pricing({"model": "volume", "tiers": tier_list})
    )
    g_quote = quote_for_usage(graduated, Usage(quantity))
    tolerance = D("0.005") * (len(g_quote.lines) + 1)
    assert g_quote.total >= total(volume, Usage(quantity)) - tolerance


@thorough
@given(tiers(with_fees=False, order="non_increasing"), units)
def test_graduated_equals_volume_within_the_first_tier(tier_list, quantity):
    first = tier_list[0]["up_to"]
    assume(first is None or quantity <= first)
    graduated = PlanTerms(
        "g", "G", D(0), pricing=parse_pricing({"model": "graduated", "tiers": tier_list})
    )
    volume = PlanTerms(
        "v", "V", D(0), pricing=parse_pricing({"model": "volume", "tiers": tier_list})
    )
    assert total(graduated, Usage(quantity)) == total(volume, Usage(quantity))


# --- per_unit is a one-tier graduated price -------------------------------------------------


@thorough
@given(prices, fees, st.one_of(st.none(), st.integers(0, 1_000_000)), units)
def test_per_unit_equals_a_single_tier_graduated_price(price, base, included, quantity):
    per_unit_plan = PlanTerms(
        "a",
        "A",
        base,
        included,
        pricing=parse_pricing({"model": "per_unit", "unit_price": str(price)}),
    )
    one_tier = {"model": "graduated", "tiers": [{"up_to": None, "unit_price": str(price)}]}
    graduated_plan = PlanTerms("b", "B", base, included, pricing=parse_pricing(one_tier))
    assert total(per_unit_plan, Usage(quantity)) == total(graduated_plan, Usage(quantity))


# --- included units are free ----------------------------------------------------------------


@thorough
@given(plans(st.one_of(st.just({}), per_unit(), tiered("graduated"))), units)
def test_included_units_never_cost_anything(plan, quantity):
    assume(plan.included_units)
    quantity = min(quantity, plan.included_units)
    assert total(plan, Usage(quantity)) == plan.base_fee
    for line in quote_for_usage(plan, Usage(quantity * 3)).lines:
        if line.kind == "included":
            assert line.amount == 0


# --- the cheapest plan ----------------------------------------------------------------------


@thorough
@given(st.lists(plans(), min_size=1, max_size=5), units)
def test_cheapest_plan_is_never_beaten_by_a_candidate(candidates, quantity):
    candidates = [
        PlanTerms(f"p{i}", "P", p.base_fee, p.included_units, p.overage_policy, p.pricing)
        for i, p in enumerate(candidates)
    ]
    usage = Usage(quantity)
    best = cheapest_plan(candidates, usage)
    eligible = [p for p in candidates if not p.caps(quantity)]
    if not eligible:
        assert best is None
        return
    assert best is not None
    assert all(best.total <= total(p, usage) for p in eligible)
