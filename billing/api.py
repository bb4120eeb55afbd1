"""Billing API: the public pricing calculator (one class per operation)."""

from __future__ import annotations

import re

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Customer, Plan
from billing import selectors
from billing import services as billing_services
from billing.pricing import quote_for_plan
from petstore.errors import ApplicationError

MAX_COUNT = 10_000_000_000
CLASS_PARAMS = ("read", "write", "image")
_DIGITS = re.compile(r"[0-9]{1,11}")


class InvalidParameter(ApplicationError):
    status_code = 400
    code = "invalid_parameter"


class PlanNotFound(ApplicationError):
    status_code = 404
    code = "plan_not_found"
    default_message = "No plan on offer has this slug."


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


# --- Subscriptions (authenticated by API key; weight 0) ----------------------------------------


def _caller_customer(request) -> Customer:
    return Customer.objects.select_related("plan").get(pk=request.user.customer_id)


class PaymentMethodOutputSerializer(serializers.Serializer):
    id = serializers.CharField()
    brand = serializers.CharField()
    last4 = serializers.CharField()
    exp_month = serializers.IntegerField()
    exp_year = serializers.IntegerField()

    class Meta:
        ref_name = "PaymentMethod"


class SubscriptionOutputSerializer(serializers.Serializer):
    plan = serializers.CharField(source="plan_slug")
    plan_name = serializers.CharField()
    status = serializers.CharField()
    current_period_end = serializers.DateTimeField(allow_null=True)
    cancel_at_period_end = serializers.BooleanField()
    payment_method = PaymentMethodOutputSerializer(allow_null=True)
    subscription_id = serializers.CharField(source="stripe_subscription_id")

    class Meta:
        ref_name = "Subscription"


@extend_schema_serializer(component_name="BillingError")
class BillingErrorSerializer(serializers.Serializer):
    error = serializers.CharField(
        help_text="A stable code: payment_method_required, card_declined, plan_not_available, "
        "plan_not_found, no_subscription, contract_plan (409: the plan is a contract that only "
        "staff change), billing_unavailable (503)…"
    )
    message = serializers.CharField()


class SubscribeApi(APIView):
    class InputSerializer(serializers.Serializer):
        plan = serializers.SlugField()
        payment_method = serializers.CharField(
            required=False,
            max_length=120,
            help_text="A Stripe payment method id (test mode: pm_card_visa). Needed for the "
            "first paid subscription unless one is already on file.",
        )

        class Meta:
            ref_name = "SubscribeInput"

    @extend_schema(
        request=InputSerializer,
        responses={
            200: SubscriptionOutputSerializer,
            **dict.fromkeys((400, 402, 404, 409, 503), BillingErrorSerializer),
        },
        summary="Subscribe to a plan, or upgrade/downgrade (prorated)",
        description="A customer on a contract plan (not self-serve, e.g. Enterprise) cannot "
        "change it here: 409 `contract_plan`; staff change it.",
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        plan = Plan.objects.filter(slug=data.validated_data["plan"], is_active=True).first()
        if plan is None:
            raise PlanNotFound(
                f"There is no plan {data.validated_data['plan']!r}.", extra={"param": "plan"}
            )
        customer = _caller_customer(request)
        state = billing_services.subscription_change(
            customer=customer,
            plan=plan,
            payment_method=data.validated_data.get("payment_method"),
        )
        customer.refresh_from_db()
        body = {
            "plan": customer.plan.slug,
            "subscription": SubscriptionOutputSerializer(state).data if state else None,
        }
        return Response(body)


class CancelApi(APIView):
    @extend_schema(
        request=None,
        responses={
            200: SubscriptionOutputSerializer,
            **dict.fromkeys((400, 409, 503), BillingErrorSerializer),
        },
        summary="Cancel the subscription at the end of the period",
        description="A contract plan (not self-serve) is cancelled by staff only: 409 "
        "`contract_plan`.",
    )
    def post(self, request):
        state = billing_services.subscription_cancel(customer=_caller_customer(request))
        return Response({"subscription": SubscriptionOutputSerializer(state).data})


class InvoiceOutputSerializer(serializers.Serializer):
    id = serializers.CharField()
    number = serializers.CharField()
    status = serializers.CharField()
    total = serializers.CharField()
    amount_due = serializers.CharField()
    amount_paid = serializers.CharField()
    currency = serializers.CharField()
    period_start = serializers.DateTimeField(allow_null=True)
    period_end = serializers.DateTimeField(allow_null=True)
    created = serializers.DateTimeField(allow_null=True)
    hosted_invoice_url = serializers.CharField()

    class Meta:
        ref_name = "Invoice"


class InvoicesApi(APIView):
    @extend_schema(responses=InvoiceOutputSerializer(many=True), summary="Your invoices")
    def get(self, request):
        invoices = selectors.customer_invoices(_caller_customer(request))
        return Response({"results": InvoiceOutputSerializer(invoices, many=True).data})
