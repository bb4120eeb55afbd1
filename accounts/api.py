"""Accounts API: self-serve registration and key management (one class per operation)."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django_redis.exceptions import ConnectionInterrupted
from drf_spectacular.utils import extend_schema
from redis.exceptions import RedisError
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from accounts import services
from accounts.errors import EmailTaken, KeyLimitReached, KeyNotFound, SignupUnavailable
from accounts.models import ApiKey, Customer
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
        ]

    def get_active(self, obj: ApiKey) -> bool:
        return obj.is_active()


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
        return Response({"results": KeyOutputSerializer(keys, many=True).data})

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


class KeyRevokeApi(APIView):
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
