"""Webhooks API: a customer's endpoints (one class per operation). Gated by the `webhooks` plan
feature: the endpoint table marks these routes with it, so the metering middleware refuses other
plans with 403 `feature_not_in_plan` before the view runs (and the create service checks again);
the schema documents that refusal, the key's, the idempotency layer's and the body's from the
same table (metering.schema). Account endpoints: weight 0, like keys, usage and billing."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Customer
from alerts.models import WebhookEndpoint
from alerts.webhooks import selectors, services
from alerts.webhooks.addresses import MAX_URL_LENGTH, InvalidWebhookUrl
from core.api_schema import Refusal, refusals
from core.events import EVENT_TYPES
from core.serializers import StrictCharField, StrictSerializer

EVENTS_HELP = "Event types to receive: " + "; ".join(
    f"`{name}`: {text}" for name, text in EVENT_TYPES.items()
)


class WebhookEndpointSerializer(serializers.ModelSerializer):
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=list(EVENT_TYPES)), help_text=EVENTS_HELP
    )
    enabled = serializers.BooleanField(
        source="is_enabled", help_text="false: disabled after failing for 3 days"
    )

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


class WebhookEndpointListSerializer(serializers.Serializer):
    results = WebhookEndpointSerializer(many=True)

    class Meta:
        ref_name = "WebhookEndpointList"


def _customer(request) -> Customer:
    return Customer.objects.select_related("plan").get(pk=request.user.customer_id)


class WebhookListCreateApi(APIView):
    class InputSerializer(StrictSerializer):
        url = StrictCharField(
            max_length=MAX_URL_LENGTH,
            help_text="Where events are POSTed: an http(s) URL on a public address (private, "
            "loopback and link-local addresses, and hosts that do not resolve, are refused: "
            "400 invalid_webhook_url).",
        )
        events = serializers.ListField(
            child=serializers.ChoiceField(choices=list(EVENT_TYPES)),
            min_length=1,
            max_length=len(EVENT_TYPES),
            help_text=EVENTS_HELP,
        )

        class Meta:
            ref_name = "WebhookEndpointCreate"

    @extend_schema(
        responses=WebhookEndpointListSerializer,
        operation_id="webhooks_list",
        summary="List your webhook endpoints (all of them, in one page)",
    )
    def get(self, request):
        endpoints = selectors.customer_endpoints(_customer(request))
        return Response({"results": WebhookEndpointSerializer(endpoints, many=True).data})

    @extend_schema(
        request=InputSerializer,
        responses={201: NewWebhookEndpointSerializer},
        operation_id="webhooks_create",
        summary="Add a webhook endpoint (its signing secret is shown once)",
        extensions=refusals(
            Refusal.of(
                InvalidWebhookUrl,
                "The URL is not http(s), does not resolve, or resolves to a private, loopback "
                "or link-local address.",
            ),
            Refusal.of(
                services.WebhookLimitReached,
                f"The account has {services.MAX_ENDPOINTS} endpoints, the most allowed.",
            ),
        ),
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
        responses={204: None},
        operation_id="webhooks_destroy",
        summary="Delete a webhook endpoint and its delivery log",
        extensions=refusals(selectors.WebhookNotFound),
    )
    def delete(self, request, pk: int):
        endpoint = selectors.customer_endpoint(_customer(request), pk)
        services.webhook_endpoint_delete(endpoint=endpoint)
        return Response(status=status.HTTP_204_NO_CONTENT)
