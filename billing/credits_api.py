"""Prepaid credits API: `GET /api/v1/billing/credits` (balance, grants, burn-down, forecast) and
`POST /api/v1/billing/credits` {"pack"} (a Checkout URL to pay for a pack; the credits are
granted when the payment completes). Authenticated by API key; weight 0 (account endpoints)."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Customer
from billing.api import BILLING_REQUEST_INVALID
from billing.credits import (
    buy_credits_url,
    credit_packs,
    credits_checkout_start,
    credits_summary,
)
from billing.errors import StripeUnavailable
from billing.models import CreditEntry
from core.api_schema import refusals
from core.serializers import StrictSerializer

_MONEY = r"^-?[0-9]+\.[0-9]{2}$"


def _money(value) -> str:
    return f"{value:.2f}"


class CreditPackSerializer(serializers.Serializer):
    pack = serializers.CharField(help_text='The pack\'s name, e.g. "50".')
    amount = serializers.CharField(help_text="USD, 2 places.")

    class Meta:
        ref_name = "CreditPack"


class CreditGrantSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(
        choices=[c for c, _ in CreditEntry.Kind.choices],
        help_text="purchase: a pack bought; monthly: the plan's monthly credit; applied: what "
        "the credits paid of a closed period (negative).",
    )
    amount = serializers.CharField(help_text="USD, 2 places; negative for `applied`.")
    period = serializers.CharField(help_text="YYYYMM: the period granted for or paid.")
    created = serializers.DateTimeField()
    stripe_credit_grant_id = serializers.CharField(allow_blank=True)

    class Meta:
        ref_name = "CreditGrant"


class BurnDownDaySerializer(serializers.Serializer):
    date = serializers.DateField()
    units = serializers.IntegerField(help_text="Billable units used that day.")
    balance = serializers.CharField(help_text="Credits left at the end of the day (USD).")

    class Meta:
        ref_name = "CreditBurnDownDay"


class CreditsSerializer(serializers.Serializer):
    currency = serializers.CharField()
    balance = serializers.CharField(help_text="Credits left now (USD), after this period's usage.")
    period_balance = serializers.CharField(
        help_text="The credits paying this period's usage (USD): the balance it started with "
        "plus what was granted since."
    )
    used_this_period = serializers.CharField(help_text="What this period's usage took (USD).")
    prepaid = serializers.BooleanField(
        help_text="The plan's overage policy is `prepaid`: calls beyond what the included units "
        "and the credits pay for are refused (429 credits_exhausted)."
    )
    allowance_units = serializers.IntegerField(
        allow_null=True,
        help_text="Prepaid plans: the units this period may use in all (null: no limit, or "
        "not a prepaid plan).",
    )
    runs_out_on = serializers.DateField(
        allow_null=True,
        help_text="Forecast: the day the credits run out (null: not within a year).",
    )
    forecast_method = serializers.CharField()
    daily_units = serializers.FloatField(allow_null=True)
    burn_down = BurnDownDaySerializer(many=True, help_text="The balance by day this period.")
    grants = CreditGrantSerializer(many=True, help_text="The ledger, newest first (last 50).")
    packs = CreditPackSerializer(many=True, help_text="The packs on sale.")

    class Meta:
        ref_name = "Credits"


class CreditsPurchaseSerializer(serializers.Serializer):
    pack = serializers.CharField()
    amount = serializers.CharField(help_text="USD, 2 places.")
    checkout_url = serializers.URLField(
        help_text="Stripe's hosted payment page: the credits are granted once it is paid."
    )
    session_id = serializers.CharField()

    class Meta:
        ref_name = "CreditsPurchase"


def _packs() -> list[dict[str, str]]:
    return [{"pack": name, "amount": _money(amount)} for name, amount in credit_packs().items()]


class PackField(serializers.ChoiceField):
    """A pack's name: a JSON string among the packs on sale (settings.CREDIT_PACKS)."""

    default_error_messages = {"invalid_choice": "There is no credit pack {input!r}: see `packs`."}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid_choice", input=data)
        return super().to_internal_value(data)


class CreditsApi(APIView):
    class InputSerializer(StrictSerializer):
        pack = PackField(
            choices=list(settings.CREDIT_PACKS), help_text='A pack\'s name (`packs`), e.g. "50".'
        )

        class Meta:
            ref_name = "CreditsPurchaseInput"

    @extend_schema(
        responses=CreditsSerializer,
        operation_id="billing_credits_get",
        summary="Your prepaid credits: balance, ledger, burn-down and run-out forecast",
    )
    def get(self, request):
        customer = Customer.objects.select_related("plan").get(pk=request.user.customer_id)
        summary = credits_summary(customer)
        entries = CreditEntry.objects.filter(customer=customer)[:50]
        body = {
            "currency": "usd",
            "balance": _money(summary.balance),
            "period_balance": _money(summary.period_balance),
            "used_this_period": _money(summary.used_this_period),
            "prepaid": summary.prepaid,
            "allowance_units": summary.allowance_units,
            "runs_out_on": summary.runs_out_on,
            "forecast_method": summary.forecast_method,
            "daily_units": summary.daily_units,
            "burn_down": [
                {"date": row["date"], "units": row["units"], "balance": _money(row["balance"])}
                for row in summary.burn_down
            ],
            "grants": [
                {
                    "kind": e.kind,
                    "amount": _money(e.amount),
                    "period": e.period,
                    "created": e.created_at,
                    "stripe_credit_grant_id": e.stripe_credit_grant_id,
                }
                for e in entries
            ],
            "packs": _packs(),
        }
        return Response(CreditsSerializer(body).data)

    @extend_schema(
        request=InputSerializer,
        responses={201: CreditsPurchaseSerializer},
        operation_id="billing_credits_buy",
        summary="Buy a credit pack: a Stripe Checkout page to pay for it",
        description="Answers the hosted payment page's URL; the credits are granted (once) "
        "when the payment completes, and then pay usage before the card.",
        extensions=refusals(BILLING_REQUEST_INVALID, StripeUnavailable),
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        customer = Customer.objects.get(pk=request.user.customer_id)
        pack = data.validated_data["pack"]
        session = credits_checkout_start(
            customer=customer,
            pack=pack,
            success_url=settings.SITE_URL + reverse("dashboard-checkout-done"),
            cancel_url=buy_credits_url(),
        )
        body = {
            "pack": pack,
            "amount": _money(credit_packs()[pack]),
            "checkout_url": session.url,
            "session_id": session.id,
        }
        return Response(CreditsPurchaseSerializer(body).data, status=201)
