"""Accounts API: self-serve registration and key management (one class per operation)."""

from __future__ import annotations

import re
from datetime import timedelta

from django.conf import settings
from django_redis.exceptions import ConnectionInterrupted
from drf_spectacular.utils import extend_schema, extend_schema_field
from redis.exceptions import RedisError
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from accounts import services
from accounts.errors import (
    EmailTaken,
    KeyLimitReached,
    KeyNotFound,
    SignupUnavailable,
    SpendCapNotAvailable,
)
from accounts.models import ApiKey, Customer
from accounts.selectors import keys_usage
from core.api_schema import Refusal, refusals
from core.errors import ApplicationError
from core.serializers import (
    StrictCharField,
    StrictEmailField,
    StrictIntegerField,
    StrictSerializer,
)


class RegistrationRateLimited(ApplicationError):
    status_code = 429
    code = "rate_limit_exceeded"
    default_message = "Too many sign-ups from this address (REGISTRATION_RATE, 5 an hour)."
    schema_component = "RateLimitError"


class RegistrationThrottle(SimpleRateThrottle):
    """Sign-ups per client IP (`REGISTRATION_RATE`, default 5/hour), counted in the shared cache."""

    scope = "registration"

    def get_rate(self):
        return settings.REGISTRATION_RATE

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}

    def allow_request(self, request, view):
        """Raises SignupUnavailable (503) when the cache cannot be read or written."""
        try:
            return super().allow_request(request, view)
        except (ConnectionInterrupted, RedisError) as exc:
            raise SignupUnavailable() from exc


class RegisterApi(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [RegistrationThrottle]

    class InputSerializer(StrictSerializer):
        # Spaces around a pasted address are dropped (the only field that trims).
        email = StrictEmailField(max_length=254, trim_whitespace=True)
        name = StrictCharField(max_length=120, required=False, allow_blank=True)

        class Meta:
            ref_name = "RegisterInput"

    class OutputSerializer(serializers.Serializer):
        customer_id = serializers.IntegerField()
        api_key = serializers.CharField(help_text="Shown once. Store it now.")
        plan = serializers.CharField()

        class Meta:
            ref_name = "RegisterOutput"

    def throttled(self, request, wait):
        seconds = int(wait or 0) + 1
        limit, duration = RegistrationThrottle().parse_rate(settings.REGISTRATION_RATE)
        raise RegistrationRateLimited(
            f"Too many sign-ups from this address. Try again in {seconds} seconds.",
            extra={"limit": limit, "window": f"{duration}s", "retry_after": seconds},
            headers={"Retry-After": str(seconds)},
        )

    @extend_schema(
        request=InputSerializer,
        responses={201: OutputSerializer},
        auth=[],
        operation_id="auth_register",
        summary="Sign up and get an API key (no credit card)",
        description="Public (no key). An Idempotency-Key is ignored here: there is no customer "
        "yet to keep it for.",
        extensions=refusals(EmailTaken, RegistrationRateLimited, SignupUnavailable),
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        customer, raw_key = services.customer_register(
            email=data.validated_data["email"], name=data.validated_data.get("name", "")
        )
        body = {"customer_id": customer.pk, "api_key": raw_key, "plan": customer.plan.slug}
        return Response(self.OutputSerializer(body).data, status=status.HTTP_201_CREATED)


class KeyOutputSerializer(serializers.ModelSerializer):
    active = serializers.SerializerMethodField()
    monthly_spend_cap = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        allow_null=True,
        help_text="USD of usage this key may spend per period (null: none), as a string.",
    )
    spend_cap_units = serializers.IntegerField(
        allow_null=True,
        help_text="The spend cap in usage units at the plan's prices (null: no spend cap, or "
        "it cannot bind on this plan). The key is refused past the lower of this and "
        "monthly_unit_cap.",
    )
    units_used = serializers.SerializerMethodField(
        help_text="Billable units this key used this period (exact to the last request)."
    )

    class Meta:
        model = ApiKey
        fields = [
            "id",
            "name",
            "prefix",
            "created_at",
            "last_used_at",
            "revoked_at",
            "expires_at",
            "active",
            "monthly_unit_cap",
            "monthly_spend_cap",
            "spend_cap_units",
            "units_used",
        ]

    def get_active(self, obj: ApiKey) -> bool:
        return obj.is_active()

    def get_units_used(self, obj: ApiKey) -> int:
        counts = self.context.get("keys_usage", {}).get(obj.pk)
        return counts.units if counts is not None else 0


class NewKeyOutputSerializer(KeyOutputSerializer):
    api_key = serializers.CharField(help_text="Shown once. Store it now.")

    class Meta(KeyOutputSerializer.Meta):
        fields = [*KeyOutputSerializer.Meta.fields, "api_key"]


def _customer(request) -> Customer:
    return Customer.objects.select_related("plan").get(pk=request.user.customer_id)


def _own_key(request, key_id: int) -> ApiKey:
    api_key = ApiKey.objects.filter(pk=key_id, customer_id=request.user.customer_id).first()
    if api_key is None:
        raise KeyNotFound()
    return api_key


class KeyListSerializer(serializers.Serializer):
    results = KeyOutputSerializer(many=True)

    class Meta:
        ref_name = "KeyList"


class KeyListCreateApi(APIView):
    class InputSerializer(StrictSerializer):
        name = StrictCharField(max_length=60, required=False, default="default")

        class Meta:
            ref_name = "KeyCreateInput"

    @extend_schema(
        responses=KeyListSerializer,
        operation_id="keys_list",
        summary="List your API keys (all of them, in one page)",
    )
    def get(self, request):
        keys = ApiKey.objects.filter(customer_id=request.user.customer_id)
        context = {"keys_usage": keys_usage(request.user.customer_id)}
        return Response({"results": KeyOutputSerializer(keys, many=True, context=context).data})

    @extend_schema(
        request=InputSerializer,
        responses={201: NewKeyOutputSerializer},
        operation_id="keys_create",
        summary="Create an API key (shown once)",
        extensions=refusals(
            Refusal.of(KeyLimitReached, "You have the most active keys allowed: revoke one first.")
        ),
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        api_key, raw = services.api_key_create(
            customer=_customer(request), name=data.validated_data["name"]
        )
        api_key.api_key = raw
        return Response(NewKeyOutputSerializer(api_key).data, status=status.HTTP_201_CREATED)


# A positive amount of dollars with at most two decimals, as a string: "25", "25.5", "0.01".
POSITIVE_AMOUNT = r"^(0\.(0[1-9]|[1-9][0-9]?)|[1-9][0-9]{0,9}(\.[0-9]{1,2})?)$"


@extend_schema_field(
    {
        "type": "string",
        "pattern": POSITIVE_AMOUNT,
        "nullable": True,
        "description": 'A positive amount in USD with at most two decimals, as a string ("25.00")',
    }
)
class PositiveAmountField(serializers.DecimalField):
    """Money as a JSON string ("25.00"), as the API answers it: not a float, and exactly what
    the schema's pattern says."""

    default_error_messages = {
        "amount": 'Send a positive amount in USD as a string with at most two decimals ("25.00").'
    }

    def __init__(self, **kwargs):
        super().__init__(max_digits=12, decimal_places=2, **kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str) or not re.fullmatch(POSITIVE_AMOUNT, data):
            self.fail("amount")
        return super().to_internal_value(data)


class KeyDetailApi(APIView):
    """One key: read it, set its monthly caps, revoke it."""

    class InputSerializer(StrictSerializer):
        monthly_unit_cap = StrictIntegerField(
            min_value=1,
            max_value=10**15,
            allow_null=True,
            required=False,
            help_text="Usage units this key may use per period; null removes the cap.",
        )
        monthly_spend_cap = PositiveAmountField(
            allow_null=True,
            required=False,
            help_text='USD of usage this key may spend per period, as a string ("25.00"); null '
            "removes it. Only on plans that bill overage.",
        )

        class Meta:
            ref_name = "KeyUpdateInput"

    def _output(self, request, api_key: ApiKey) -> Response:
        context = {"keys_usage": keys_usage(request.user.customer_id)}
        return Response(KeyOutputSerializer(api_key, context=context).data)

    @extend_schema(
        responses=KeyOutputSerializer,
        operation_id="keys_retrieve",
        summary="An API key, with its caps and this period's usage",
        extensions=refusals(KeyNotFound),
    )
    def get(self, request, pk: int):
        return self._output(request, _own_key(request, pk))

    @extend_schema(
        request=InputSerializer,
        responses=KeyOutputSerializer,
        operation_id="keys_update",
        summary="Set or remove an API key's monthly caps",
        description="`monthly_unit_cap` (units) and `monthly_spend_cap` (USD, plans that bill "
        "overage only): past the lower of the two, this key is refused with 429 "
        "`key_cap_exceeded` until the period renews; your other keys keep working. A field "
        "left out is kept; null removes it. Takes effect on the key's next request.",
        extensions=refusals(
            Refusal.of(KeyNotFound, "No such API key among yours."),
            SpendCapNotAvailable,
        ),
    )
    def patch(self, request, pk: int):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        api_key = services.api_key_caps_set(
            api_key=_own_key(request, pk),
            **{
                name: data.validated_data[name]
                for name in ("monthly_unit_cap", "monthly_spend_cap")
                if name in data.validated_data
            },
        )
        return self._output(request, api_key)

    @extend_schema(
        responses={204: None},
        operation_id="keys_destroy",
        summary="Revoke an API key",
        extensions=refusals(KeyNotFound),
    )
    def delete(self, request, pk: int):
        services.api_key_revoke(api_key=_own_key(request, pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


class KeyRotateApi(APIView):
    class InputSerializer(StrictSerializer):
        grace_hours = StrictIntegerField(
            min_value=0,
            max_value=168,
            required=False,
            default=0,
            help_text="Hours the old key keeps working (0: revoke it now).",
        )

        class Meta:
            ref_name = "KeyRotateInput"

    @extend_schema(
        request=InputSerializer,
        responses={201: NewKeyOutputSerializer},
        operation_id="keys_rotate",
        summary="Rotate an API key: a new key replaces it",
        extensions=refusals(
            Refusal.of(KeyNotFound, "No such API key, or it is already revoked or expired.")
        ),
    )
    def post(self, request, pk: int):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        old = _own_key(request, pk)
        if not old.is_active():
            raise KeyNotFound("This key is already revoked or expired.")
        new_key, raw = services.api_key_rotate(
            api_key=old, grace=timedelta(hours=data.validated_data["grace_hours"])
        )
        new_key.api_key = raw
        return Response(NewKeyOutputSerializer(new_key).data, status=status.HTTP_201_CREATED)
