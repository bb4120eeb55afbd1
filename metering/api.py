from __future__ import annotations

from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import ApiKey, Customer
from core.periods import current_period
from metering.forecast import Forecast, customer_forecast, projected_breakdown
from metering.selectors import UsageBreakdown, customer_usage


def usage_estimate(customer: Customer, breakdown) -> dict | None:
    """The estimated bill, from whatever app prices usage (configured, so metering does not
    depend on billing): `METERING_USAGE_ESTIMATOR` names a callable(customer, breakdown)."""
    path = getattr(settings, "METERING_USAGE_ESTIMATOR", "")
    return import_string(path)(customer, breakdown) if path else None


def forecast_summary(customer: Customer, forecast: Forecast, usage: UsageBreakdown) -> dict:
    """The forecast as the API answers it, its bill priced like `estimated_bill`."""
    bill = None
    if forecast.units_at_period_end is not None:
        bill = usage_estimate(customer, projected_breakdown(usage, forecast.units_at_period_end))
    exhausted = forecast.quota_exhausted_at
    return {
        "method": forecast.method,
        "sufficient_history": forecast.sufficient_history,
        "daily_units": forecast.daily_units,
        "units_at_period_end": forecast.units_at_period_end,
        "bill_at_period_end": bill,
        "quota_exhausted_at": exhausted.isoformat() if exhausted else None,
    }


def keys_summary(customer: Customer, usage: UsageBreakdown) -> list[dict]:
    """Usage per key this period: every active key, and any other key with usage."""
    keys = ApiKey.objects.filter(customer=customer).order_by("id")
    rows = []
    for api_key in keys:
        counts = usage.by_key.get(api_key.pk)
        if counts is None and not api_key.is_active():
            continue
        rows.append(
            {
                "key_id": api_key.pk,
                "name": api_key.name,
                "prefix": api_key.prefix,
                "active": api_key.is_active(),
                "calls": counts.calls if counts else 0,
                "units": counts.units if counts else 0,
                "refused_key_cap": counts.refused_key_cap if counts else 0,
                "monthly_unit_cap": api_key.monthly_unit_cap,
                "monthly_spend_cap": (
                    None
                    if api_key.monthly_spend_cap is None
                    else f"{api_key.monthly_spend_cap:.2f}"
                ),
                "cap_units": api_key.unit_cap,
            }
        )
    return rows


def usage_summary(customer: Customer) -> dict:
    period = current_period()
    usage = customer_usage(customer_id=customer.pk, start=period.start, end=period.end)
    forecast = customer_forecast(customer, usage, period, timezone.now())
    plan = customer.plan
    used = usage.total.units
    included = plan.included_units
    return {
        "period": {"start": period.start.isoformat(), "end": period.end.isoformat()},
        "plan": {"slug": plan.slug, "name": plan.name, "overage_policy": plan.overage_policy},
        "units_used": used,
        "included_units": included,
        "remaining_units": None if included is None else max(included - used, 0),
        "overage_units": 0 if included is None else max(used - included, 0),
        "calls": usage.total.calls,
        "errors": usage.total.errors,
        "refused": usage.total.refused,
        "by_endpoint": [
            {"endpoint": endpoint, **counts.as_dict()}
            for endpoint, counts in sorted(usage.by_endpoint.items())
        ],
        "by_day": [
            {"date": day.isoformat(), **counts.as_dict()}
            for day, counts in sorted(usage.by_day.items())
        ],
        "by_key": keys_summary(customer, usage),
        "estimated_bill": usage_estimate(customer, usage),
        "forecast": forecast_summary(customer, forecast, usage),
    }


class CountsSerializer(serializers.Serializer):
    calls = serializers.IntegerField(help_text="Billable (2xx/3xx) calls")
    units = serializers.IntegerField(help_text="Billable usage units (calls × weight)")
    errors = serializers.IntegerField(help_text="4xx/5xx answers: not billed")
    refused = serializers.IntegerField(help_text="401/403/429 refusals: not billed")
    refused_rate_limit = serializers.IntegerField(help_text="429 rate_limit_exceeded")
    refused_quota = serializers.IntegerField(help_text="429 quota_exceeded")
    refused_feature = serializers.IntegerField(help_text="403 feature_not_in_plan")
    refused_key = serializers.IntegerField(help_text="401 with a revoked key")
    refused_key_cap = serializers.IntegerField(help_text="429 key_cap_exceeded (a key's own cap)")


class EndpointUsageSerializer(CountsSerializer):
    endpoint = serializers.CharField()


class DayUsageSerializer(CountsSerializer):
    date = serializers.DateField()


class KeyUsageSerializer(serializers.Serializer):
    key_id = serializers.IntegerField()
    name = serializers.CharField()
    prefix = serializers.CharField(help_text="The key's lookup prefix (not secret)")
    active = serializers.BooleanField()
    calls = serializers.IntegerField(help_text="Billable (2xx/3xx) calls with this key")
    units = serializers.IntegerField(help_text="Billable usage units of this key")
    refused_key_cap = serializers.IntegerField(help_text="429 key_cap_exceeded of this key")
    monthly_unit_cap = serializers.IntegerField(allow_null=True, help_text="null: none")
    monthly_spend_cap = serializers.CharField(
        allow_null=True, help_text='USD as a string ("25.00"); null: none'
    )
    cap_units = serializers.IntegerField(
        allow_null=True,
        help_text="The cap enforced, in units: the lower of monthly_unit_cap and the spend "
        "cap's unit equivalent (null: uncapped)",
    )

    class Meta:
        ref_name = "KeyUsage"


class ForecastSerializer(serializers.Serializer):
    method = serializers.CharField(
        help_text="How it is computed (e.g. the mean daily units of the last 28 complete days, "
        "projected to period end), or why there is none (under a day of history)."
    )
    sufficient_history = serializers.BooleanField(
        help_text="false: under a day of usage history; the numbers below are null"
    )
    daily_units = serializers.FloatField(allow_null=True, help_text="The daily rate projected")
    units_at_period_end = serializers.IntegerField(
        allow_null=True, help_text="Units used when the period ends, at this rate"
    )
    bill_at_period_end = serializers.DictField(
        allow_null=True, help_text="A pricing quote of units_at_period_end (estimated_bill's shape)"
    )
    quota_exhausted_at = serializers.DateTimeField(
        allow_null=True,
        help_text="When the included units run out at this rate (or ran out); null when the "
        "quota holds to the period's end or there is none",
    )

    class Meta:
        ref_name = "UsageForecast"


class UsageOutputSerializer(serializers.Serializer):
    period = serializers.DictField(child=serializers.DateTimeField())
    plan = serializers.DictField(child=serializers.CharField())
    units_used = serializers.IntegerField()
    included_units = serializers.IntegerField(allow_null=True, help_text="null: unlimited")
    remaining_units = serializers.IntegerField(allow_null=True)
    overage_units = serializers.IntegerField()
    calls = serializers.IntegerField()
    errors = serializers.IntegerField()
    refused = serializers.IntegerField()
    by_endpoint = EndpointUsageSerializer(many=True)
    by_day = DayUsageSerializer(many=True)
    by_key = KeyUsageSerializer(many=True, help_text="Usage per API key this period")
    estimated_bill = serializers.DictField(allow_null=True, help_text="A pricing quote")
    forecast = ForecastSerializer()

    class Meta:
        ref_name = "Usage"


class UsageApi(APIView):
    @extend_schema(
        summary="Usage of the current billing period, exact to the last request",
        responses=UsageOutputSerializer,
    )
    def get(self, request):
        customer = Customer.objects.select_related("plan").get(pk=request.user.customer_id)
        return Response(usage_summary(customer))
