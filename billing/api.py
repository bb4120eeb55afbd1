"""Billing API: subscribe, cancel and invoices (authenticated by API key; weight 0), one class
per operation."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.errors import PlanNotFound
from accounts.models import Customer, Plan
from billing import selectors
from billing import services as billing_services
from billing.errors import (
    CardDeclined,
    ContractPlan,
    InvalidPaymentMethod,
    NoSubscription,
    PaymentMethodRequired,
    PlanNotSelfServe,
    StripeUnavailable,
    TrialAlreadyUsed,
    TrialNotAvailable,
)
from billing.promotions import promotion_discounts, promotion_redeemed
from billing.stripe_api import StripeRequestError
from billing.trials import trial_start
from core.api_schema import Refusal, refusals
from core.serializers import StrictCharField, StrictSerializer, StrictSlugField
from pricing.promotions import PromotionCodeInvalid


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
    trial_end = serializers.DateTimeField(
        allow_null=True, help_text="When the free trial ends (status `trialing`); else null."
    )

    class Meta:
        ref_name = "Subscription"


BILLING_REQUEST_INVALID = Refusal.of(StripeRequestError, "Stripe refused the request.")


class SubscribeResultSerializer(serializers.Serializer):
    plan = serializers.CharField(help_text="Your plan now.")
    subscription = SubscriptionOutputSerializer(
        allow_null=True, help_text="null on the free plan (no Stripe subscription)."
    )

    class Meta:
        ref_name = "SubscribeResult"


class CancelResultSerializer(serializers.Serializer):
    subscription = SubscriptionOutputSerializer()

    class Meta:
        ref_name = "CancelResult"


class StrictBooleanField(serializers.BooleanField):
    """JSON true/false only (DRF's takes "yes", 1, "on"...)."""

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


class SubscribeApi(APIView):
    class InputSerializer(StrictSerializer):
        plan = StrictSlugField(max_length=50)
        payment_method = StrictCharField(
            required=False,
            max_length=120,
            help_text="A Stripe payment method id (test mode: pm_card_visa). Needed for the "
            "first paid subscription unless one is already on file, or a trial.",
        )
        trial = StrictBooleanField(
            required=False,
            default=False,
            help_text="Start the plan's free trial (`trial_days` days, no card needed; once per "
            "customer: 409 `trial_already_used`). Without a card by its end, you go back to the "
            "free plan; with one, the subscription goes on, paid.",
        )
        promotion_code = StrictCharField(
            required=False,
            max_length=40,
            help_text="A promotion code: its discount applies to the subscription (400 "
            "`promotion_code_invalid` if it is unknown, inactive, expired or used up).",
        )

        class Meta:
            ref_name = "SubscribeInput"

    @extend_schema(
        request=InputSerializer,
        responses=SubscribeResultSerializer,
        operation_id="billing_subscribe",
        summary="Subscribe to a plan, or upgrade/downgrade (prorated)",
        description="A customer on a contract plan (not self-serve, e.g. Enterprise) cannot "
        "change it here: 409 `contract_plan`; staff change it.",
        extensions=refusals(
            PaymentMethodRequired,
            InvalidPaymentMethod,
            PlanNotSelfServe,
            PromotionCodeInvalid,
            TrialNotAvailable,
            BILLING_REQUEST_INVALID,
            CardDeclined,
            PlanNotFound,
            ContractPlan,
            TrialAlreadyUsed,
            StripeUnavailable,
        ),
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
        payment_method = data.validated_data.get("payment_method")
        code = data.validated_data.get("promotion_code")
        if code and not plan.is_paid:
            raise PromotionCodeInvalid("A promotion code applies to a paid plan.")
        promotion, discounts = promotion_discounts(code)
        if data.validated_data["trial"]:
            if payment_method:
                billing_services.payment_method_set(
                    customer=customer, payment_method=payment_method
                )
            state = trial_start(customer=customer, plan=plan, discounts=discounts)
        else:
            state = billing_services.subscription_change(
                customer=customer, plan=plan, payment_method=payment_method, discounts=discounts
            )
        promotion_redeemed(promotion, customer)
        customer.refresh_from_db()
        body = {
            "plan": customer.plan.slug,
            "subscription": SubscriptionOutputSerializer(state).data if state else None,
        }
        return Response(body)


class CancelApi(APIView):
    @extend_schema(
        request=None,
        responses=CancelResultSerializer,
        operation_id="billing_cancel",
        extensions=refusals(
            NoSubscription, BILLING_REQUEST_INVALID, ContractPlan, StripeUnavailable
        ),
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


class InvoiceListSerializer(serializers.Serializer):
    results = InvoiceOutputSerializer(many=True)

    class Meta:
        ref_name = "InvoiceList"


class InvoicesApi(APIView):
    @extend_schema(
        responses=InvoiceListSerializer,
        operation_id="billing_invoices_list",
        summary="Your invoices, newest first (the last 24, in one page)",
        extensions=refusals(BILLING_REQUEST_INVALID, StripeUnavailable),
    )
    def get(self, request):
        invoices = selectors.customer_invoices(_caller_customer(request))
        return Response({"results": InvoiceOutputSerializer(invoices, many=True).data})
