"""Pricing definitions: money constants, the one rounding function, and the parsed, validated
form of a plan's pricing JSON (docs/pricing.md)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Context, Decimal, Inexact, InvalidOperation
from typing import Any

CURRENCY = "usd"
CENT = Decimal("0.01")
ZERO = Decimal("0.00")
BILLABLE_CLASSES = ("default", "read", "write", "image")
CLASS_LABELS = {
    "default": "Calls",
    "read": "Read calls",
    "write": "Write calls",
    "image": "Image-processing calls",
}
# Stripe can only express "included units" as a free first tier of a graduated metered price,
# so they combine with these models only (per_unit becomes a two-tier graduated price).
MODELS_WITH_INCLUDED = ("none", "per_unit", "graduated")
# Stripe's unit_amount_decimal takes at most 12 decimal places of a cent: 14 of a dollar.
MAX_PRICE_PLACES = 14
_MODEL_KEYS = {
    "none": {"model"},
    "per_unit": {"model", "unit_price"},
    "package": {"model", "package_size", "package_price"},
    "graduated": {"model", "tiers"},
    "volume": {"model", "tiers"},
    "per_class": {"model", "class_prices", "volume_discounts"},
}
# Products of quantities and prices are computed exactly (a trap, not a silent rounding, if they
# ever did not fit): round_money is the only place where money is rounded.
_EXACT = Context(prec=80, traps=[Inexact, InvalidOperation])


def round_money(amount: Decimal) -> Decimal:
    """Round a line amount to the cent, half up. The engine's only rounding.

    Stripe multiplies a decimal price by the quantity and rounds "to the nearest whole cent" at
    the line-item level, each line before the invoice is summed (its example: 30 × 0.05¢ =
    1.5¢ → 2¢; https://stripe.com/docs/billing/subscriptions/decimal-amounts). Ties go up: its
    rounding-rules page (support.stripe.com/questions/rounding-rules-for-stripe-fees) gives
    0.025 → 0.03, and its tax-rate docs use "commercial rounding", 0.5 → 1 (as quoted in
    adrienverge/localstripe#245). Half-even would give 0.02, so it is half up. A tiered price is
    one invoice line item (one subscription item), so its tiers are summed exactly and rounded
    once; the quote shows a line per tier and gives the rounding difference to the last one.
    """
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


class PricingError(ValueError):
    """A pricing definition that is malformed or that Stripe could not bill as we would."""


# --- definitions ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tier:
    up_to: int | None  # inclusive upper bound; None: the last, open-ended tier
    unit_price: Decimal
    flat_fee: Decimal = ZERO


@dataclass(frozen=True)
class DiscountBand:
    up_to: int | None
    discount: Decimal  # fraction off the class price: "0.20" is 20% off


@dataclass(frozen=True)
class UsagePricing:
    """A parsed, validated `Plan.pricing`."""

    model: str = "none"
    unit_price: Decimal = ZERO
    package_size: int = 1
    package_price: Decimal = ZERO
    tiers: tuple[Tier, ...] = ()
    class_prices: Mapping[str, Decimal] = field(default_factory=dict)
    volume_discounts: tuple[DiscountBand, ...] = ()


def _decimal(value: Any, where: str, *, places: int = MAX_PRICE_PLACES) -> Decimal:
    # Floats are refused: 0.1 in JSON is not 0.1, and money must be exact.
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise PricingError(f'{where}: give amounts as decimal strings like "0.001", not {value!r}')
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise PricingError(f"{where}: {value!r} is not a decimal number") from None
    if not amount.is_finite() or amount < 0:
        raise PricingError(f"{where}: {value!r} must be a finite amount ≥ 0")
    try:
        too_fine = _places(amount) > places
    except ArithmeticError:  # more digits than any price has
        raise PricingError(f"{where}: {value!r} has too many digits") from None
    if too_fine:
        raise PricingError(f"{where}: {value!r} has more than {places} decimal places")
    return amount.copy_abs()  # "-0" is 0: never print "-0.00"


def _places(amount: Decimal) -> int:
    """Significant decimal places: 0.0010 has 3, 49.00 has 0."""
    exponent = amount.normalize(_EXACT).as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def _count(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise PricingError(f"{where}: {value!r} must be a whole number ≥ 1")
    return value


def _bounds(items: Any, where: str) -> list[tuple[int | None, Mapping[str, Any]]]:
    """Check a tier-like list: ascending `up_to`, only the last one open-ended (null)."""
    if not isinstance(items, list) or not items:
        raise PricingError(f"{where}: give a non-empty list")
    bounds: list[tuple[int | None, Mapping[str, Any]]] = []
    previous = 0
    for i, item in enumerate(items):
        here = f"{where}[{i}]"
        if not isinstance(item, Mapping) or "up_to" not in item:
            raise PricingError(f"{here}: each entry needs an up_to (null for the last)")
        up_to = item["up_to"]
        last = i == len(items) - 1
        if up_to is None:
            if not last:
                raise PricingError(f"{here}: only the last entry may have up_to null")
        elif last:
            raise PricingError(f"{here}: the last entry must have up_to null (open-ended)")
        elif _count(up_to, f"{here}.up_to") <= previous:
            raise PricingError(f"{here}: up_to must increase ({up_to} ≤ {previous})")
        else:
            previous = up_to
        bounds.append((up_to, item))
    return bounds


def _tiers(items: Any, where: str) -> tuple[Tier, ...]:
    tiers = []
    for i, (up_to, item) in enumerate(_bounds(items, where)):
        here = f"{where}[{i}]"
        if extra := set(item) - {"up_to", "unit_price", "flat_fee"}:
            raise PricingError(f"{here}: unknown keys {sorted(extra)}")
        if "unit_price" not in item:
            raise PricingError(f"{here}: unit_price is required")
        # Stripe's flat_amount_decimal must be a whole number of cents.
        flat = _decimal(item.get("flat_fee", "0"), f"{here}.flat_fee", places=2)
        tiers.append(Tier(up_to, _decimal(item["unit_price"], f"{here}.unit_price"), flat))
    return tuple(tiers)


def _discounted(price: Decimal, discount: Decimal) -> Decimal:
    return _EXACT.multiply(price, _EXACT.subtract(Decimal(1), discount)).normalize(_EXACT)


def _class_pricing(definition: Mapping[str, Any]) -> UsagePricing:
    prices = definition.get("class_prices")
    if not isinstance(prices, Mapping) or "default" not in prices:
        raise PricingError('per_class: class_prices must be an object with a "default" price')
    if extra := set(prices) - set(BILLABLE_CLASSES):
        raise PricingError(f"per_class: unknown classes {sorted(extra)} (use {BILLABLE_CLASSES})")
    class_prices = {
        name: _decimal(prices[name], f"class_prices.{name}")
        for name in BILLABLE_CLASSES
        if name in prices
    }
    bands: tuple[DiscountBand, ...] = ()
    if "volume_discounts" in definition:
        raw = definition["volume_discounts"]
        parsed = []
        for i, (up_to, item) in enumerate(_bounds(raw, "volume_discounts")):
            if set(item) != {"up_to", "discount"}:
                raise PricingError(f"volume_discounts[{i}]: give exactly up_to and discount")
            discount = _decimal(item["discount"], f"volume_discounts[{i}].discount")
            if discount >= 1:
                raise PricingError(f"volume_discounts[{i}]: discount must be below 1 (100%)")
            parsed.append(DiscountBand(up_to, discount))
        bands = tuple(parsed)
        # Each band becomes a Stripe volume tier at price × (1 - discount): it must fit too.
        for name, price in class_prices.items():
            for band in bands:
                if _places(_discounted(price, band.discount)) > MAX_PRICE_PLACES:
                    raise PricingError(
                        f"class_prices.{name} with a {band.discount} discount has more than "
                        f"{MAX_PRICE_PLACES} decimal places"
                    )
    return UsagePricing("per_class", class_prices=class_prices, volume_discounts=bands)


def parse_pricing(definition: Mapping[str, Any] | None) -> UsagePricing:
    """Validate a `Plan.pricing` JSON object; raises PricingError naming what is wrong."""
    if not definition:
        return UsagePricing()
    if not isinstance(definition, Mapping):
        raise PricingError("pricing must be a JSON object")
    model = definition.get("model")
    if model not in _MODEL_KEYS:
        raise PricingError(f"unknown pricing model {model!r} (use one of {sorted(_MODEL_KEYS)})")
    if extra := set(definition) - _MODEL_KEYS[model]:
        raise PricingError(f"{model}: unknown keys {sorted(extra)}")
    if model == "none":
        return UsagePricing()
    if model == "per_unit":
        if "unit_price" not in definition:
            raise PricingError("per_unit: unit_price is required")
        return UsagePricing(model, unit_price=_decimal(definition["unit_price"], "unit_price"))
    if model == "package":
        if not {"package_size", "package_price"} <= set(definition):
            raise PricingError("package: package_size and package_price are required")
        return UsagePricing(
            model,
            package_size=_count(definition["package_size"], "package_size"),
            package_price=_decimal(definition["package_price"], "package_price"),
        )
    if model in ("graduated", "volume"):
        return UsagePricing(model, tiers=_tiers(definition.get("tiers"), "tiers"))
    return _class_pricing(definition)


@dataclass(frozen=True)
class PlanTerms:
    """What the engine needs of a plan. `base_fee` None means custom (negotiated) pricing."""

    slug: str
    name: str
    base_fee: Decimal | None
    included_units: int | None = None  # None: no quota, every unit goes to the usage model
    # "block": usage above the included units is refused; "prepaid": usage is priced as on
    # "bill" and paid from prepaid credits, refused once they are spent (pricing/credits.py)
    overage_policy: str = "bill"
    pricing: UsagePricing = field(default_factory=UsagePricing)
    self_serve: bool = True

    def __post_init__(self) -> None:
        if self.base_fee is not None:
            _decimal(str(self.base_fee), f"{self.slug}: monthly_price", places=2)
        if self.included_units is not None and self.included_units < 0:
            raise PricingError(f"{self.slug}: included_units must be ≥ 0")
        if self.overage_policy not in ("block", "bill", "prepaid"):
            raise PricingError(f"{self.slug}: overage_policy must be block, bill or prepaid")
        if self.included and self.pricing.model not in MODELS_WITH_INCLUDED:
            raise PricingError(
                f"{self.slug}: included units cannot be combined with the {self.pricing.model} "
                "model (Stripe expresses them only as a free first tier of a graduated price); "
                f"use one of {MODELS_WITH_INCLUDED}"
            )

    @property
    def custom(self) -> bool:
        return self.base_fee is None

    @property
    def included(self) -> int:
        return self.included_units or 0

    def caps(self, units: int) -> bool:
        """True when this usage would be (partly) refused by the plan's hard cap."""
        return (
            self.overage_policy == "block"
            and self.included_units is not None
            and units > self.included_units
        )


@dataclass(frozen=True)
class Usage:
    """Weighted usage units, and/or calls by billable class (None: not split by class, so a
    class-priced plan prices the units as "default" calls)."""

    units: int = 0
    calls: Mapping[str, int] | None = None

    def __post_init__(self) -> None:
        if self.units < 0 or any(n < 0 for n in (self.calls or {}).values()):
            raise ValueError("usage cannot be negative")
        if extra := set(self.calls or {}) - set(BILLABLE_CLASSES):
            raise ValueError(f"unknown billable classes {sorted(extra)}")
