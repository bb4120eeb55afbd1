"""Promotion codes as the quote and the subscription read them: a code typed by a customer
becomes the discount the rating engine prices, or a clear refusal (400 `promotion_code_invalid`
saying whether it is unknown, inactive, expired or used up)."""

from __future__ import annotations

from core.errors import ApplicationError
from pricing.models import CODE_RE, PromotionCode


class PromotionCodeInvalid(ApplicationError):
    status_code = 400
    code = "promotion_code_invalid"
    default_message = "This promotion code cannot be used."
    schema_component = "ParameterError"

    def __init__(self, message: str | None = None, **kwargs):
        kwargs.setdefault("extra", {"param": "promotion_code"})
        super().__init__(message, **kwargs)


def promotion_code_find(code: str) -> PromotionCode | None:
    """The promotion code a customer typed (any case), or None."""
    if not CODE_RE.match(code or ""):
        return None
    return PromotionCode.objects.filter(code__iexact=code).first()


def promotion_code_redeemable(code: str) -> PromotionCode:
    """The promotion code, if it can be redeemed now; else PromotionCodeInvalid saying why."""
    promotion = promotion_code_find(code)
    if promotion is None:
        raise PromotionCodeInvalid(f"There is no promotion code {code[:40]!r}.")
    if reason := promotion.refusal():
        raise PromotionCodeInvalid(reason)
    return promotion
