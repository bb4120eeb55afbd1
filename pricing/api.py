"""Pricing API: the public pricing calculator, `GET /api/v1/pricing/quote` (no key)."""

from __future__ import annotations

import re
from decimal import Decimal

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.errors import PlanNotFound
from accounts.models import Plan
from core.api_schema import refusals
from core.errors import ApplicationError
from pricing import selectors
from pricing.engine import quote_for_plan
from pricing.engine.credits import quote_with_credits
from pricing.promotions import PromotionCodeInvalid, promotion_code_redeemable

MAX_COUNT = 10_000_000_000
CLASS_PARAMS = ("read", "write", "image")
_DIGITS = re.compile(r"[0-9]+")
_DOLLARS = re.compile(r"[0-9]{1,9}(\.[0-9]{1,2})?")


class InvalidParameter(ApplicationError):
    status_code = 400
    code = "invalid_parameter"
    default_message = "A parameter is missing or out of range: `param` names it."
    schema_component = "ParameterError"


def _count(params, name: str) -> int | None:
    raw = params.get(name)
    if raw is None:
        return None
    digits = raw.lstrip("0") or "0"  # leading zeros are fine; huge numbers are never parsed
    if not _DIGITS.fullmatch(raw) or len(digits) > 11 or int(digits) > MAX_COUNT:
        raise InvalidParameter(
            f"{name} must be a whole number from 0 to {MAX_COUNT:,}.", extra={"param": name}
        )
    return int(digits)


class QuoteLineSerializer(serializers.Serializer):
    description = serializers.CharField()
    quantity = serializers.IntegerField()
    unit_price = serializers.CharField(allow_null=True, help_text='Dollars, e.g. "0.001".')
    amount = serializers.CharField(allow_null=True, help_text='Dollars, 2 places: "78.00".')
    kind = serializers.ChoiceField(
        choices=[
            "base",
            "included",
            "usage",
            "tier",
            "flat_fee",
            "cap",
            "custom",
            "discount",
            "trial",
            "credits",
        ]
    )


class QuoteSuggestionSerializer(serializers.Serializer):
    plan = serializers.CharField()
    plan_name = serializers.CharField()
    total = serializers.CharField()


class QuoteDiscountSerializer(serializers.Serializer):
    code = serializers.CharField()
    percent_off = serializers.CharField(allow_null=True, help_text='Percent, e.g. "20".')
    amount_off = serializers.CharField(allow_null=True, help_text='Dollars, e.g. "10.00".')
    duration = serializers.ChoiceField(choices=["once", "repeating", "forever"])
    duration_in_months = serializers.IntegerField(allow_null=True)
    description = serializers.CharField(help_text='"20% off for 3 months".')

    class Meta:
        ref_name = "QuoteDiscount"


class PricingQuoteApi(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema_serializer(component_name="PricingQuote")
    class OutputSerializer(serializers.Serializer):
        plan = serializers.CharField()
        plan_name = serializers.CharField()
        currency = serializers.CharField()
        total = serializers.CharField(allow_null=True, help_text="None: custom pricing.")
        lines = QuoteLineSerializer(many=True)
        custom = serializers.BooleanField(help_text="Custom pricing: contact sales.")
        capped = serializers.BooleanField(help_text="Part of the usage is above a hard cap.")
        suggestion = QuoteSuggestionSerializer(
            allow_null=True, help_text="The cheapest self-serve plan, when it beats this one."
        )
        discount = QuoteDiscountSerializer(
            allow_null=True,
            help_text="The promotion code's discount (a `discount` line takes it off); null "
            "without a code.",
        )
        trial_days = serializers.IntegerField(
            help_text="The plan's free trial, in days (0: none); the quote is for a paid month."
        )

    @extend_schema(
        auth=[],
        operation_id="pricing_quote",
        summary="Price a monthly usage on a plan, line by line (the pricing calculator)",
        description="Public (no key, not metered). With no count at all, the quote is for a "
        "month without calls (the plan's base price).",
        parameters=[
            OpenApiParameter(
                "plan",
                OpenApiTypes.STR,
                required=True,
                description="Plan slug.",
                pattern=r"^[^\x00]*$",
                allow_blank=False,
            ),
            OpenApiParameter(
                "calls",
                {"type": "integer", "minimum": 0, "maximum": MAX_COUNT},
                description=f"Calls in the month (0–{MAX_COUNT:,}; default 0).",
            ),
            OpenApiParameter(
                "credits",
                {"type": "string", "pattern": r"^[0-9]{1,9}(\.[0-9]{1,2})?$"},
                description="A prepaid credit balance (USD, e.g. 50 or 12.50): the quote gets a "
                "credits line taking what they pay of the usage (never the base fee), as the "
                "invoice would.",
            ),
            *[
                OpenApiParameter(
                    name,
                    {"type": "integer", "minimum": 0, "maximum": MAX_COUNT},
                    description=f"{name.capitalize()} calls, for class-priced plans (a "
                    "unit-priced plan counts them at their weight in units).",
                )
                for name in CLASS_PARAMS
            ],
            OpenApiParameter(
                "promotion_code",
                OpenApiTypes.STR,
                description="A promotion code: the quote shows its discount (400 "
                "`promotion_code_invalid` if it is unknown, inactive, expired or used up).",
                pattern=r"^[^\x00]*$",
            ),
        ],
        responses={200: OutputSerializer},
        extensions=refusals(InvalidParameter, PromotionCodeInvalid, PlanNotFound),
    )
    def get(self, request):
        params = request.query_params
        slug = params.get("plan", "")
        if not slug:
            raise InvalidParameter("Give the plan to quote: ?plan=pro.", extra={"param": "plan"})
        calls = _count(params, "calls")
        by_class = {name: n for name in CLASS_PARAMS if (n := _count(params, name)) is not None}
        plan = Plan.objects.filter(slug=slug, is_active=True).first()
        if plan is None:
            raise PlanNotFound(f"No plan on offer has the slug {slug!r}.", extra={"param": "plan"})
        discount = None
        if code := params.get("promotion_code"):
            discount = promotion_code_redeemable(code).discount
        usage = selectors.calculator_usage(calls=calls, by_class=by_class)
        quote = quote_for_plan(plan, usage, discount=discount)
        credits = params.get("credits")
        if credits is not None:
            if not _DOLLARS.fullmatch(credits):
                raise InvalidParameter(
                    "credits is a dollar amount such as 50 or 12.50.", extra={"param": "credits"}
                )
            quote = quote_with_credits(quote, Decimal(credits))
        body = {
            **quote.to_dict(),
            "suggestion": selectors.quote_suggestion(quote, usage),
            "discount": discount.to_dict() if discount else None,
            "trial_days": plan.trial_days,
        }
        return Response(body)
