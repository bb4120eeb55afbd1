"""Pricing API: the public pricing calculator, `GET /api/v1/pricing/quote` (no key)."""

from __future__ import annotations

import re

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.errors import PlanNotFound
from accounts.models import Plan
from core.errors import ApplicationError
from pricing import selectors
from pricing.engine import quote_for_plan

MAX_COUNT = 10_000_000_000
CLASS_PARAMS = ("read", "write", "image")
_DIGITS = re.compile(r"[0-9]{1,11}")


class InvalidParameter(ApplicationError):
    status_code = 400
    code = "invalid_parameter"


def _count(params, name: str) -> int | None:
    raw = params.get(name)
    if raw is None:
        return None
    if not _DIGITS.fullmatch(raw) or int(raw) > MAX_COUNT:
        raise InvalidParameter(
            f"{name} must be a whole number from 0 to {MAX_COUNT:,}.", extra={"param": name}
        )
    return int(raw)


class QuoteLineSerializer(serializers.Serializer):
    description = serializers.CharField()
    quantity = serializers.IntegerField()
    unit_price = serializers.CharField(allow_null=True, help_text='Dollars, e.g. "0.001".')
    amount = serializers.CharField(allow_null=True, help_text='Dollars, 2 places: "78.00".')
    kind = serializers.ChoiceField(
        choices=["base", "included", "usage", "tier", "flat_fee", "cap", "custom"]
    )


class QuoteSuggestionSerializer(serializers.Serializer):
    plan = serializers.CharField()
    plan_name = serializers.CharField()
    total = serializers.CharField()


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

    @extend_schema_serializer(component_name="PricingQuoteError")
    class ErrorSerializer(serializers.Serializer):
        error = serializers.CharField()
        message = serializers.CharField()
        param = serializers.CharField(required=False)

    @extend_schema(
        auth=[],
        summary="Price a monthly usage on a plan, line by line (the pricing calculator)",
        parameters=[
            OpenApiParameter("plan", OpenApiTypes.STR, required=True, description="Plan slug."),
            OpenApiParameter(
                "calls", OpenApiTypes.INT, description=f"Calls in the month (0–{MAX_COUNT:,})."
            ),
            *[
                OpenApiParameter(
                    name,
                    OpenApiTypes.INT,
                    description=f"{name.capitalize()} calls, for class-priced plans (a "
                    "unit-priced plan counts them at their weight in units).",
                )
                for name in CLASS_PARAMS
            ],
        ],
        responses={200: OutputSerializer, 400: ErrorSerializer, 404: ErrorSerializer},
    )
    def get(self, request):
        params = request.query_params
        slug = params.get("plan", "")
        if not slug:
            raise InvalidParameter("Give the plan to quote: ?plan=pro.", extra={"param": "plan"})
        calls = _count(params, "calls")
        by_class = {name: n for name in CLASS_PARAMS if (n := _count(params, name)) is not None}
        if calls is None and not by_class:
            raise InvalidParameter(
                "Give the usage to price: calls=N (or read=, write=, image= counts).",
                extra={"param": "calls"},
            )
        plan = Plan.objects.filter(slug=slug, is_active=True).first()
        if plan is None:
            raise PlanNotFound(f"No plan on offer has the slug {slug!r}.")
        usage = selectors.calculator_usage(calls=calls, by_class=by_class)
        quote = quote_for_plan(plan, usage)
        body = {
            **quote.to_dict(),
            "suggestion": selectors.quote_suggestion(quote, usage),
        }
        return Response(body)
