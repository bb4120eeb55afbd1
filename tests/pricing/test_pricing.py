"""The rating engine, on hand-computed cases: every model, every preset, rounding, bad input."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from pricing.engine import (
    PlanTerms,
    PricingError,
    Usage,
    cheapest_plan,
    format_unit_price,
    parse_pricing,
    quote_for_usage,
    round_money,
)
from pricing.presets import PRESETS, preset_plan_fields

METERED_TIERS = [
    {"up_to": 100_000, "unit_price": "0.01"},
    {"up_to": 1_000_000, "unit_price": "0.005"},
    {"up_to": None, "unit_price": "0.003"},
]
PAYG = {
    "model": "per_class",
    "class_prices": {"default": "0.01", "read": "0.005", "write": "0.02", "image": "0.10"},
    "volume_discounts": [
        {"up_to": 100_000, "discount": "0"},
        {"up_to": 1_000_000, "discount": "0.20"},
        {"up_to": None, "discount": "0.40"},
    ],
}


def terms(
    pricing: dict | None = None,
    *,
    base: str | None = "0",
    included: int | None = None,
    policy: str = "bill",
    slug: str = "p",
) -> PlanTerms:
    return PlanTerms(
        slug=slug,
        name=slug.title(),
        base_fee=None if base is None else D(base),
        included_units=included,
        overage_policy=policy,
        pricing=parse_pricing(pricing or {}),
    )


def total(plan: PlanTerms, units: int = 0, calls: dict | None = None) -> D | None:
    return quote_for_usage(plan, Usage(units, calls)).total


PRO = terms({"model": "per_unit", "unit_price": "0.001"}, base="49.00", included=50_000)


# --- the two examples the pricing page shows ------------------------------------------------


def test_pro_with_128k_units_is_127_dollars_with_the_pricing_page_lines():
    quote = quote_for_usage(PRO, Usage(128_000))
    assert quote.total == D("127.00")
    descriptions = [line.description for line in quote.lines]
    assert "Base plan $49.00 (includes 50,000 calls)" in descriptions
    assert "Additional calls 78,000 × $0.001 = $78.00" in descriptions
    assert [line.kind for line in quote.lines] == ["base", "included", "usage"]
    assert quote.to_dict()["lines"][2] == {
        "description": "Additional calls 78,000 × $0.001 = $78.00",
        "quantity": 78_000,
        "unit_price": "0.001",
        "amount": "78.00",
        "kind": "usage",
    }


def test_graduated_with_1_5m_units_is_7000_dollars_one_line_per_tier():
    quote = quote_for_usage(terms({"model": "graduated", "tiers": METERED_TIERS}), Usage(1_500_000))
    assert [line.amount for line in quote.lines] == [D("1000.00"), D("4500.00"), D("1500.00")]
    assert [line.quantity for line in quote.lines] == [100_000, 900_000, 500_000]
    assert quote.total == D("7000.00")
    assert quote.to_dict()["total"] == "7000.00"


# --- rounding -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "rounded"),
    [
        ("0.025", "0.03"),  # half up, not half even (which would give 0.02): Stripe's example
        ("0.015", "0.02"),
        ("0.0249", "0.02"),
        ("0.125", "0.13"),
        ("1.005", "1.01"),
        ("78", "78.00"),
        ("0", "0.00"),
    ],
)
def test_round_money_is_half_up_to_the_cent(amount, rounded):
    assert round_money(D(amount)) == D(rounded)
    assert str(round_money(D(amount))) == rounded


def test_stripes_decimal_amount_example_rounds_the_line():
    # Stripe: unit_amount_decimal 0.05 cents × 30 = 1.5 cents → 2 cents.
    plan = terms({"model": "per_unit", "unit_price": "0.0005"})
    assert total(plan, 30) == D("0.02")


def test_a_tiered_price_is_rounded_once_like_one_stripe_line_item():
    # Tiers of 3 and 1 units at half a cent: 4 × 0.005 = 0.02 exactly. Rounding each tier
    # (0.015 → 0.02, 0.005 → 0.01) would bill 0.03; the last tier line absorbs the difference.
    tiers = [{"up_to": 3, "unit_price": "0.005"}, {"up_to": None, "unit_price": "0.005"}]
    quote = quote_for_usage(terms({"model": "graduated", "tiers": tiers}), Usage(4))
    assert [line.amount for line in quote.lines] == [D("0.02"), D("0.00")]
    assert quote.total == D("0.02")
    two = quote_for_usage(terms({"model": "graduated", "tiers": tiers}), Usage(1))
    assert two.total == D("0.01")  # 0.005 rounds half up


def test_each_class_line_is_rounded_then_summed():
    plan = terms(PAYG)
    quote = quote_for_usage(plan, Usage(0, {"read": 3, "write": 1}))
    assert [line.amount for line in quote.lines] == [D("0.02"), D("0.02")]  # 0.015 → 0.02
    assert quote.total == D("0.04")


@pytest.mark.parametrize(
    ("price", "text"), [("0.001", "0.001"), ("0.0010", "0.001"), ("49", "49.00"), ("0.1", "0.10")]
)
def test_unit_prices_are_plain_decimal_strings(price, text):
    assert format_unit_price(D(price)) == text


# --- each model -----------------------------------------------------------------------------


@pytest.mark.parametrize("pricing", [{}, {"model": "none"}, None])
def test_no_usage_model_charges_nothing_for_usage(pricing):
    assert total(terms(pricing), 10**9) == D("0.00")
    assert total(terms(pricing, base="19.00"), 10**9) == D("19.00")


def test_per_unit_without_included_units():
    plan = terms({"model": "per_unit", "unit_price": "0.002"})
    quote = quote_for_usage(plan, Usage(1234))
    assert quote.total == D("2.47")  # 2.468
    assert [line.description for line in quote.lines] == ["Calls 1,234 × $0.002 = $2.47"]


@pytest.mark.parametrize(
    ("units", "packages", "expected"),
    [(0, 0, "0.00"), (1, 1, "5.00"), (1000, 1, "5.00"), (1001, 2, "10.00"), (2500, 3, "15.00")],
)
def test_package_rounds_partial_packages_up(units, packages, expected):
    plan = terms({"model": "package", "package_size": 1000, "package_price": "5.00"})
    quote = quote_for_usage(plan, Usage(units))
    assert quote.total == D(expected)
    assert quote.lines[0].quantity == packages
    assert quote.lines[0].unit_price == D("5.00")


@pytest.mark.parametrize(
    ("units", "expected"),
    [
        (0, "0.00"),
        (1, "0.01"),
        (100_000, "1000.00"),
        (100_001, "1000.01"),  # 1,000 + 0.005 → 0.01
        (250_000, "1750.00"),
        (1_000_000, "5500.00"),
        (1_500_000, "7000.00"),
    ],
)
def test_graduated(units, expected):
    assert total(terms({"model": "graduated", "tiers": METERED_TIERS}), units) == D(expected)


def test_graduated_flat_fees_are_charged_once_a_tier_is_reached():
    tiers = [
        {"up_to": 10, "unit_price": "1", "flat_fee": "5.00"},
        {"up_to": None, "unit_price": "0.50", "flat_fee": "2"},
    ]
    plan = terms({"model": "graduated", "tiers": tiers})
    assert total(plan, 0) == D("0.00")
    assert total(plan, 3) == D("8.00")  # 3 + 5
    quote = quote_for_usage(plan, Usage(15))
    assert [(line.kind, line.amount) for line in quote.lines] == [
        ("tier", D("10.00")),
        ("flat_fee", D("5.00")),
        ("tier", D("2.50")),
        ("flat_fee", D("2.00")),
    ]
    assert quote.total == D("19.50")


@pytest.mark.parametrize(
    ("units", "expected"),
    [
        (0, "0.00"),
        (100_000, "1000.00"),
        (100_001, "500.01"),  # the whole quantity at $0.005: 500.005 → 500.01
        (150_000, "750.00"),
        (1_500_000, "4500.00"),
    ],
)
def test_volume(units, expected):
    plan = terms({"model": "volume", "tiers": METERED_TIERS})
    quote = quote_for_usage(plan, Usage(units))
    assert quote.total == D(expected)
    assert len(quote.lines) == 1


def test_volume_flat_fee_is_the_tier_of_the_quantity():
    tiers = [
        {"up_to": 10, "unit_price": "1", "flat_fee": "5"},
        {"up_to": None, "unit_price": "0.5", "flat_fee": "20"},
    ]
    plan = terms({"model": "volume", "tiers": tiers})
    assert total(plan, 10) == D("15.00")
    assert total(plan, 11) == D("25.50")


def test_per_class_prices_each_class_with_its_own_volume_discount():
    quote = quote_for_usage(
        terms(PAYG), Usage(0, {"read": 200_000, "write": 50_000, "image": 2_000_000})
    )
    assert [(line.quantity, line.unit_price, line.amount) for line in quote.lines] == [
        (200_000, D("0.004"), D("800.00")),  # 20% off
        (50_000, D("0.02"), D("1000.00")),  # under 100K: standard
        (2_000_000, D("0.06"), D("120000.00")),  # 40% off
    ]
    assert quote.lines[0].description == (
        "Read calls 200,000 × $0.004 = $800.00 (20% volume discount)"
    )
    assert quote.total == D("121800.00")


@pytest.mark.parametrize(
    ("default_calls", "expected"),
    [(100_000, "1000.00"), (100_001, "800.01"), (1_000_000, "8000.00"), (1_000_001, "6000.01")],
)
def test_per_class_discount_bands_are_inclusive_and_cover_the_whole_quantity(
    default_calls, expected
):
    assert total(terms(PAYG), 0, {"default": default_calls}) == D(expected)


def test_per_class_volume_cliff_is_what_stripe_bills():
    # By design (Stripe volume tiers): one read more moves every read into the cheaper band.
    assert total(terms(PAYG), 0, {"read": 100_000}) == D("500.00")
    assert total(terms(PAYG), 0, {"read": 100_001}) == D("400.00")


def test_per_class_without_a_split_prices_units_as_default_calls():
    assert total(terms(PAYG), 300) == D("3.00")


def test_per_class_class_without_a_price_is_billed_at_the_default_price():
    plan = terms({"model": "per_class", "class_prices": {"default": "0.01", "read": "0.001"}})
    quote = quote_for_usage(plan, Usage(0, {"read": 1000, "image": 10, "write": 5}))
    assert [(line.description, line.amount) for line in quote.lines] == [
        ("Calls 15 × $0.01 = $0.15", D("0.15")),
        ("Read calls 1,000 × $0.001 = $1.00", D("1.00")),
    ]


def test_per_class_with_no_calls_still_shows_the_default_rate():
    quote = quote_for_usage(terms(PAYG), Usage(0, {}))
    assert quote.total == D("0.00")
    assert [line.description for line in quote.lines] == ["Calls 0 × $0.01 = $0.00"]


# --- plan level: base fee, included units, overage policy, custom ---------------------------


@pytest.mark.parametrize(
    ("units", "expected"), [(0, "49.00"), (30_000, "49.00"), (50_000, "49.00"), (50_001, "49.00")]
)
def test_included_units_cost_nothing(units, expected):
    # 50,001: one call over at $0.001 rounds to $0.00 on its line.
    assert total(PRO, units) == D(expected)


def test_included_units_come_before_graduated_tiers():
    tiers = [{"up_to": 1000, "unit_price": "0.01"}, {"up_to": None, "unit_price": "0.005"}]
    plan = terms({"model": "graduated", "tiers": tiers}, base="10", included=1000)
    quote = quote_for_usage(plan, Usage(3500))
    assert [line.amount for line in quote.lines] == [
        D("10.00"),
        D("0.00"),
        D("10.00"),
        D("7.50"),
    ]
    assert quote.lines[2].description == "Additional calls 1–1,000: 1,000 × $0.01 = $10.00"
    assert quote.total == D("27.50")


def test_block_policy_shows_the_cap_and_bills_nothing_above_it():
    free = terms({}, base="0.00", included=10_000, policy="block", slug="free")
    quote = quote_for_usage(free, Usage(12_000))
    assert quote.total == D("0.00")
    assert quote.capped is True
    assert [line.kind for line in quote.lines] == ["base", "included", "cap"]
    assert quote.lines[0].description == "Base plan $0.00 (includes 10,000 calls)"
    assert quote.lines[2].quantity == 2000
    assert "refused" in quote.lines[2].description
    assert quote_for_usage(free, Usage(10_000)).capped is False


def test_block_policy_with_usage_pricing_never_bills_the_refused_part():
    capped = terms({"model": "per_unit", "unit_price": "1"}, base="5", included=10, policy="block")
    assert total(capped, 1000) == D("5.00")


def test_custom_plan_has_no_total_and_says_contact_sales():
    quote = quote_for_usage(terms({}, base=None, slug="enterprise"), Usage(10**9))
    assert quote.custom is True
    assert quote.total is None
    data = quote.to_dict()
    assert data["total"] is None
    assert data["custom"] is True
    assert data["lines"][0]["kind"] == "custom"
    assert "contact sales" in data["lines"][0]["description"]


def test_quote_dict_shape():
    data = quote_for_usage(PRO, Usage(1)).to_dict()
    assert set(data) == {"plan", "plan_name", "currency", "total", "lines", "custom", "capped"}
    assert data["currency"] == "usd"
    for line in data["lines"]:
        assert set(line) == {"description", "quantity", "unit_price", "amount", "kind"}
        assert isinstance(line["amount"], str)
        assert len(line["amount"].split(".")[1]) == 2


# --- bad definitions ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pricing", "message"),
    [
        ({"model": "tiered"}, "unknown pricing model"),
        ({"model": "per_unit"}, "unit_price is required"),
        ({"model": "per_unit", "unit_price": 0.001}, "decimal strings"),
        ({"model": "per_unit", "unit_price": "-1"}, "≥ 0"),
        ({"model": "per_unit", "unit_price": "abc"}, "not a decimal"),
        ({"model": "per_unit", "unit_price": "NaN"}, "finite"),
        ({"model": "per_unit", "unit_price": "0.000000000000001"}, "14 decimal places"),
        ({"model": "per_unit", "unit_price": "0.1", "unit": "call"}, "unknown keys"),
        ({"model": "per_unit", "unit_price": "1" * 100}, "too many digits"),
        ({"model": "package", "package_size": 1000}, "required"),
        ({"model": "package", "package_size": 0, "package_price": "1"}, "≥ 1"),
        ({"model": "package", "package_size": 1.5, "package_price": "1"}, "≥ 1"),
        ({"model": "graduated"}, "non-empty list"),
        ({"model": "graduated", "tiers": []}, "non-empty list"),
        ({"model": "graduated", "tiers": [{"up_to": 10, "unit_price": "1"}]}, "last entry"),
        ({"model": "volume", "tiers": [{"unit_price": "1"}]}, "up_to"),
        (
            {
                "model": "graduated",
                "tiers": [{"up_to": None, "unit_price": "1"}, {"up_to": None, "unit_price": "1"}],
            },
            "only the last",
        ),
        (
            {
                "model": "graduated",
                "tiers": [
                    {"up_to": 10, "unit_price": "1"},
                    {"up_to": 10, "unit_price": "1"},
                    {"up_to": None, "unit_price": "1"},
                ],
            },
            "must increase",
        ),
        ({"model": "volume", "tiers": [{"up_to": None}]}, "unit_price is required"),
        (
            {"model": "graduated", "tiers": [{"up_to": None, "unit_price": "1", "flat": "1"}]},
            "unknown keys",
        ),
        (
            {
                "model": "graduated",
                "tiers": [{"up_to": None, "unit_price": "1", "flat_fee": "0.5"}],
            },
            "",
        ),
        (
            {
                "model": "graduated",
                "tiers": [{"up_to": None, "unit_price": "1", "flat_fee": "0.005"}],
            },
            "2 decimal places",
        ),
        ({"model": "per_class", "class_prices": {"read": "0.01"}}, '"default"'),
        ({"model": "per_class", "class_prices": {"default": "1", "video": "1"}}, "unknown classes"),
        (
            {
                "model": "per_class",
                "class_prices": {"default": "1"},
                "volume_discounts": [{"up_to": None, "discount": "1"}],
            },
            "below 1",
        ),
        (
            {
                "model": "per_class",
                "class_prices": {"default": "1"},
                "volume_discounts": [{"up_to": None}],
            },
            "exactly up_to and discount",
        ),
        ("per_unit", "JSON object"),
    ],
)
def test_bad_definitions_are_refused_clearly(pricing, message):
    if not message:  # a valid edge case kept next to its invalid neighbour
        parse_pricing(pricing)
        return
    with pytest.raises(PricingError, match=message):
        parse_pricing(pricing)


def test_negative_zero_prices_print_as_zero():
    quote = quote_for_usage(terms({"model": "per_unit", "unit_price": "-0"}), Usage(5))
    assert quote.to_dict()["lines"][0]["amount"] == "0.00"
    assert quote.to_dict()["total"] == "0.00"


def test_pricing_error_is_a_value_error():
    assert issubclass(PricingError, ValueError)


@pytest.mark.parametrize(
    "pricing",
    [
        {"model": "volume", "tiers": METERED_TIERS},
        {"model": "package", "package_size": 10, "package_price": "1"},
        PAYG,
    ],
)
def test_included_units_are_refused_where_stripe_cannot_express_them(pricing):
    with pytest.raises(PricingError, match="included units cannot be combined"):
        terms(pricing, base="10", included=1000)
    terms(pricing, base="10", included=0)  # zero included is no included
    terms(pricing, base="10", included=None)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"policy": "throttle"}, "overage_policy"),
        ({"base": "-1"}, "≥ 0"),
        ({"base": "0.001"}, "2 decimal places"),
        ({"included": -1}, "included_units"),
    ],
)
def test_bad_plan_terms_are_refused(kwargs, message):
    with pytest.raises(PricingError, match=message):
        terms({}, **kwargs)


def test_negative_usage_is_refused():
    with pytest.raises(ValueError):
        Usage(-1)
    with pytest.raises(ValueError):
        Usage(0, {"read": -1})
    with pytest.raises(ValueError):
        Usage(0, {"video": 1})


# --- the cheapest plan ----------------------------------------------------------------------


def stack_terms() -> list[PlanTerms]:
    return [preset_terms("stack", spec["slug"]) for spec in PRESETS["stack"].plans]


@pytest.mark.parametrize(
    ("units", "slug", "expected"),
    [
        (5_000, "free", "0.00"),
        (10_000, "free", "0.00"),
        (10_001, "pro", "49.00"),  # Free's cap is below the usage: not a candidate
        (100_000, "pro", "99.00"),
        (600_000, "business", "299.00"),  # Pro would be 599.00
    ],
)
def test_cheapest_plan(units, slug, expected):
    best = cheapest_plan(stack_terms(), Usage(units))
    assert best is not None
    assert (best.plan, best.total) == (slug, D(expected))


def test_cheapest_plan_skips_custom_and_sales_led_plans_and_may_find_none():
    enterprise = preset_terms("stack", "enterprise")
    free = preset_terms("stack", "free")
    assert cheapest_plan([enterprise, free], Usage(20_000)) is None


# --- every preset, hand-computed --------------------------------------------------------------


def preset_terms(preset: str, slug: str) -> PlanTerms:
    spec = next(p for p in PRESETS[preset].plans if p["slug"] == slug)
    fields = preset_plan_fields(spec)
    return PlanTerms(
        slug=slug,
        name=fields["name"],
        base_fee=fields["monthly_price"],
        included_units=fields["included_units"],
        overage_policy=fields["overage_policy"],
        pricing=parse_pricing(fields["pricing"]),
        self_serve=fields["self_serve"],
    )


PRESET_CASES = [
    # preset, plan, units, calls by class, total (None: custom), capped
    ("stack", "free", 10_000, None, "0.00", False),
    ("stack", "free", 10_001, None, "0.00", True),
    ("stack", "pro", 128_000, None, "127.00", False),
    ("stack", "business", 600_000, None, "299.00", False),  # 199 + 100,000 × 0.001
    ("stack", "enterprise", 5_000_000, None, None, False),
    ("freemium", "free", 1_000, None, "0.00", False),
    ("freemium", "free", 1_500, None, "0.00", True),
    ("freemium", "pro", 50_000, None, "49.00", False),
    ("freemium", "pro", 60_000, None, "49.00", True),
    ("freemium", "enterprise", 1_000_000, None, "499.00", False),
    # 150,000 reads × 0.004 (20% off) + 10,000 writes × 0.02 + 1,000 images × 0.10
    (
        "pay-per-call",
        "payg",
        0,
        {"read": 150_000, "write": 10_000, "image": 1_000},
        "900.00",
        False,
    ),
    ("pay-per-call", "payg", 1_234, None, "12.34", False),  # default calls × 0.01
    ("graduated", "metered", 1_500_000, None, "7000.00", False),
    ("graduated", "metered", 250_000, None, "1750.00", False),  # 1,000 + 150,000 × 0.005
    ("tiered", "starter", 10_000, None, "29.00", False),
    ("tiered", "starter", 10_001, None, "29.00", True),
    ("tiered", "growth", 100_000, None, "99.00", False),
    ("tiered", "enterprise", 10**8, None, None, False),
    ("hybrid", "hybrid", 25_000, None, "124.00", False),  # 49 + 15,000 × 0.005
    ("hybrid", "hybrid", 10_000, None, "49.00", False),
]


@pytest.mark.parametrize(("preset", "slug", "units", "calls", "expected", "capped"), PRESET_CASES)
def test_presets_price_as_hand_computed(preset, slug, units, calls, expected, capped):
    quote = quote_for_usage(preset_terms(preset, slug), Usage(units, calls))
    assert quote.total == (None if expected is None else D(expected))
    assert quote.capped is capped


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_plan_is_valid(name):
    for spec in PRESETS[name].plans:
        preset_terms(name, spec["slug"])
