"""What pricing adds to accounts' plan page: the pricing JSON is refused unless the rating
engine can parse it and Stripe could bill it as the engine prices it (docs/pricing.md)."""

from __future__ import annotations

from django.core.exceptions import ValidationError

from accounts.models import Plan
from core.admin_tools import admin_extend
from pricing.engine import PricingError, parse_pricing


def pricing_is_valid(value) -> None:
    try:
        parse_pricing(value)
    except PricingError as exc:
        raise ValidationError(str(exc)) from exc


admin_extend(Plan, validators={"pricing": [pricing_is_valid]})
