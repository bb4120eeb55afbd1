"""Webhooks API: a customer's endpoints (one class per operation). Gated by the `webhooks` plan
feature: the endpoint table marks these routes with it, so the metering middleware refuses other
plans with 403 `feature_not_in_plan` before the view runs (and the create service checks again).
Account endpoints: weight 0, like keys, usage and billing."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Customer
from alerts.models import WebhookEndpoint
from alerts.webhooks import selectors, services
from alerts.webhooks.addresses import MAX_URL_LENGTH
from core.events import EVENT_TYPES


@extend_schema_serializer(component_name="WebhookError")
class WebhookErrorSerializer(serializers.Serializer):
    error = serializers.CharField(
        help_text="A stable code: validation_error, invalid_webhook_url (400), invalid_api_key "
        "(401), feature_not_in_plan (403, with upgrade_url), not_found (404), "
        "webhook_limit_reached (409)…"
    )
    message = serializers.CharField()
    upgrade_url = serializers.URLField(required=False, help_text="403 feature_not_in_plan")
    feature = serializers.CharField(required=False, help_text="403 feature_not_in_plan")
    plan = serializers.CharField(required=False, help_text="403 feature_not_in_plan")
    limit = serializers.IntegerField(required=False, help_text="409 webhook_limit_reached")
    fields = serializers.DictField(required=False, help_text="400 validation_error: by field")


ERRORS = {
    401: OpenApiResponse(WebhookErrorSerializer, description="Missing or invalid API key."),
    403: OpenApiResponse(
        WebhookErrorSerializer,
        description="feature_not_in_plan: the plan has no webhooks (see upgrade_url).",
    ),
}


class WebhookEndpointSerializer(serializers.ModelSerializer):
    events = serializers.ListField(child=serializers.ChoiceField(choices=list(EVENT_TYPES)))
    enabled = serializers.BooleanField(source="is_enabled")

    class Meta:
        model = WebhookEndpoint
        fields = ["id", "url", "events", "enabled", "created_at", "disabled_at", "disabled_reason"]
        ref_name = "WebhookEndpoint"


class NewWebhookEndpointSerializer(WebhookEndpointSerializer):
    secret = serializers.CharField(
        help_text="whsec_…: signs every delivery (PetStore-Signature). Shown once: store it now."
    )

    class Meta(WebhookEndpointSerializer.Meta):
        fields = [*WebhookEndpointSerializer.Meta.fields, "secret"]
        ref_name = "NewWebhookEndpoint"


def _customer(request) -> Customer:
    return Customer.objects.select_related("plan").get(pk=request.user.customer_id)


class WebhookListCreateApi(APIView):
    class InputSerializer(serializers.Serializer):
        url = serializers.CharField(
            max_length=MAX_URL_LENGTH,
            help_text="Where events are POSTed: http(s), a public address (private, loopback "
            "and link-local addresses are refused: 400 invalid_webhook_url).",
        )
        events = serializers.ListField(
            child=serializers.ChoiceField(choices=list(EVENT_TYPES)),
            min_length=1,
            max_length=len(EVENT_TYPES),
            help_text="Event types to receive: "
            + "; ".join(f"`{name}`: {text}" for name, text in EVENT_TYPES.items()),
        )

        class Meta:
            ref_name = "WebhookEndpointCreate"

    @extend_schema(
        operation_id="webhooks_list",
        responses={200: WebhookEndpointSerializer(many=True), **ERRORS},
        summary="List your webhook endpoints",
    )
    def get(self, request):
        endpoints = selectors.customer_endpoints(_customer(request))
        return Response({"results": WebhookEndpointSerializer(endpoints, many=True).data})

    @extend_schema(
        operation_id="webhooks_create",
        request=InputSerializer,
        responses={
            201: NewWebhookEndpointSerializer,
            400: OpenApiResponse(
                WebhookErrorSerializer,
                description="validation_error (a field), or invalid_webhook_url: not http(s), "
                "unresolvable, or resolving to a private, loopback or link-local address.",
            ),
            **ERRORS,
            409: OpenApiResponse(
                WebhookErrorSerializer,
                description=f"webhook_limit_reached: {services.MAX_ENDPOINTS} endpoints at most.",
            ),
        },
        summary="Add a webhook endpoint (its signing secret is shown once)",
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        endpoint, secret = services.webhook_endpoint_create(
            customer=_customer(request),
            url=data.validated_data["url"],
            events=data.validated_data["events"],
        )
        endpoint.secret = secret
        return Response(NewWebhookEndpointSerializer(endpoint).data, status=status.HTTP_201_CREATED)


class WebhookDestroyApi(APIView):
    @extend_schema(
        operation_id="webhooks_destroy",
        responses={
            204: None,
            **ERRORS,
            404: OpenApiResponse(WebhookErrorSerializer, description="not_found"),
        },
        summary="Delete a webhook endpoint and its delivery log",
    )
    def delete(self, request, pk: int):
        endpoint = selectors.customer_endpoint(_customer(request), pk)
        services.webhook_endpoint_delete(endpoint=endpoint)
        return Response(status=status.HTTP_204_NO_CONTENT)
